package replay

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// FaultKind is what a fault does to the mock's answers.
type FaultKind uint8

// Fault kinds (docs/match-rules.md, "Faults").
const (
	FaultDelay         FaultKind = iota + 1 // hold the response back by Delay
	FaultDrop                               // send no response (the echo still comes)
	FaultBusy                               // answer "busy p..." instead of running the command; the host's retry is matched again
	FaultInject                             // send Text after the response (or at At)
	FaultGarbage                            // send Count garbage bytes before the response (or at At)
	FaultCorruptWSData                      // change the announced length of +WS_DATA messages by Delta
)

var faultNames = map[string]FaultKind{"delay": FaultDelay, "drop": FaultDrop, "busy": FaultBusy,
	"inject": FaultInject, "garbage": FaultGarbage, "corrupt-wsdata": FaultCorruptWSData}

// String returns the rules-file keyword.
func (k FaultKind) String() string {
	for n, v := range faultNames {
		if v == k {
			return n
		}
	}
	return fmt.Sprintf("fault(%d)", uint8(k))
}

// Fault is one injected failure. Which transactions it hits is given by
// Target: a glob over the command line ("AT+WSSEND=*", "*"), a transaction
// number ("#12", from 1), or a time ("@5s", inject and garbage only). For
// corrupt-wsdata the target counts +WS_DATA messages instead ("#2" the
// second one, "*" every one).
type Fault struct {
	Kind   FaultKind
	Target string
	glob   *regexp.Regexp
	nth    int           // #N targets, 1-based
	At     time.Duration // @T targets
	Delay  time.Duration // FaultDelay
	Times  int           // FaultBusy: how many busy answers per matching transaction (default 1)
	Text   []byte        // FaultInject
	Count  int           // FaultGarbage: bytes
	Delta  int           // FaultCorruptWSData: added to the length (default +1)
	Chance float64       // 0..1, applied with the mock's seeded generator (default 1)
}

// ParseFault parses the words after "fault" in a rules line, which is also
// the syntax of the CLI's --fault flag:
//
//	delay TARGET DURATION      drop TARGET            busy TARGET [TIMES]
//	inject TARGET TEXT         garbage TARGET COUNT   corrupt-wsdata [TARGET] [DELTA]
//
// Any of them may end in "p=0.3": the chance the fault fires each time.
func ParseFault(s string) (Fault, error) {
	args := strings.Fields(s)
	var f Fault
	f.Chance = 1
	if n := len(args); n > 0 && strings.HasPrefix(args[n-1], "p=") {
		p, err := strconv.ParseFloat(args[n-1][2:], 64)
		if err != nil || p < 0 || p > 1 {
			return f, fmt.Errorf("chance %q: want p=0..1", args[n-1])
		}
		f.Chance = p
		args = args[:n-1]
	}
	if len(args) == 0 {
		return f, errors.New("fault wants a kind: delay, drop, busy, inject, garbage or corrupt-wsdata")
	}
	k, ok := faultNames[args[0]]
	if !ok {
		return f, fmt.Errorf("unknown fault %q (want delay, drop, busy, inject, garbage or corrupt-wsdata)", args[0])
	}
	f.Kind = k
	args = args[1:]
	if k == FaultCorruptWSData {
		f.Target, f.Delta = "#1", 1
		if len(args) > 0 {
			f.Target = args[0]
		}
		if len(args) > 1 {
			d, err := strconv.Atoi(args[1])
			if err != nil || d == 0 || d < -1<<20 || d > 1<<20 {
				return f, fmt.Errorf("corrupt-wsdata delta %q: want a non-zero number such as +1 or -3", args[1])
			}
			f.Delta = d
		}
		if len(args) > 2 {
			return f, errors.New("corrupt-wsdata takes at most a target and a delta")
		}
		return f, f.setTarget(false)
	}
	if len(args) == 0 {
		return f, fmt.Errorf("%s wants a target: a command glob such as AT+WSSEND=*, #N or @TIME", k)
	}
	f.Target = args[0]
	args = args[1:]
	need := func(what string) error {
		if len(args) == 0 {
			return fmt.Errorf("%s wants %s", k, what)
		}
		return nil
	}
	switch k {
	case FaultDelay:
		if err := need("a duration, e.g. delay AT+GMR 2s"); err != nil {
			return f, err
		}
		d, err := time.ParseDuration(args[0])
		if err != nil || d < 0 || d > 24*time.Hour {
			return f, fmt.Errorf("delay %q: want a duration such as 500ms", args[0])
		}
		f.Delay = d
		args = args[1:]
	case FaultBusy:
		f.Times = 1
		if len(args) > 0 {
			t, err := strconv.Atoi(args[0])
			if err != nil || t < 1 || t > 1000 {
				return f, fmt.Errorf("busy count %q: want 1..1000", args[0])
			}
			f.Times = t
			args = args[1:]
		}
	case FaultInject:
		if err := need("a text, e.g. inject AT+WSSEND=* +WS_DISCONNECTED:0"); err != nil {
			return f, err
		}
		text := strings.Join(args, " ")
		args = nil
		if strings.HasPrefix(text, `"`) || strings.HasPrefix(text, "`") {
			u, err := strconv.Unquote(text)
			if err != nil {
				return f, fmt.Errorf("inject text %s: %v", text, err)
			}
			f.Text = []byte(u)
		} else {
			// A bare message is a URC line: no leading CRLF, one trailing.
			f.Text = []byte(text + "\r\n")
		}
	case FaultGarbage:
		if err := need("a byte count, e.g. garbage #3 16"); err != nil {
			return f, err
		}
		c, err := strconv.Atoi(args[0])
		if err != nil || c < 1 || c > 1<<20 {
			return f, fmt.Errorf("garbage count %q: want 1..1048576", args[0])
		}
		f.Count = c
		args = args[1:]
	}
	if len(args) > 0 {
		return f, fmt.Errorf("%s: unexpected %q", k, strings.Join(args, " "))
	}
	return f, f.setTarget(k == FaultInject || k == FaultGarbage)
}

func (f *Fault) setTarget(timed bool) error {
	t := f.Target
	switch {
	case strings.HasPrefix(t, "@"):
		if !timed {
			return fmt.Errorf("%s cannot take a time target (%s)", f.Kind, t)
		}
		d, err := time.ParseDuration(t[1:])
		if err != nil || d < 0 {
			return fmt.Errorf("time target %q: want @DURATION such as @5s", t)
		}
		f.At = d
	case strings.HasPrefix(t, "#"):
		n, err := strconv.Atoi(t[1:])
		if err != nil || n < 1 {
			return fmt.Errorf("target %q: want #N with N from 1", t)
		}
		f.nth = n
	default:
		var b strings.Builder
		b.WriteString("^")
		for _, r := range t {
			switch r {
			case '*':
				b.WriteString(".*")
			case '?':
				b.WriteString(".")
			default:
				b.WriteString(regexp.QuoteMeta(string(r)))
			}
		}
		b.WriteString("$")
		f.glob = regexp.MustCompile(b.String())
	}
	return nil
}

// timed reports whether the fault fires at a time rather than on a
// transaction.
func (f *Fault) timed() bool { return strings.HasPrefix(f.Target, "@") }

// hits reports whether the fault targets transaction index i (from 0) with
// command line line, or for corrupt-wsdata the i-th +WS_DATA.
func (f *Fault) hits(i int, line []byte) bool {
	switch {
	case f.timed():
		return false
	case f.nth > 0:
		return f.nth == i+1
	case f.glob != nil:
		return f.glob.Match(line)
	}
	return false
}
