package replay

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/atbridge/atbridge/formats/at"
)

// Match says how strictly recorded and live traffic must agree.
type Match uint8

// Match modes.
const (
	// Lenient, the zero value, compares after normalisation: the default
	// masks for volatile fields (unless "defaults off"), then the rules'
	// masks and ignored parameters.
	Lenient Match = iota
	// Strict compares command lines, payloads and device output byte for
	// byte; masks and ignore-param rules are not applied.
	Strict
)

// String returns "lenient" or "strict".
func (m Match) String() string {
	if m == Strict {
		return "strict"
	}
	return "lenient"
}

// ParseMatch is the inverse of Match.String.
func ParseMatch(s string) (Match, error) {
	switch s {
	case "lenient", "":
		return Lenient, nil
	case "strict":
		return Strict, nil
	}
	return Lenient, fmt.Errorf("unknown match mode %q (want strict or lenient)", s)
}

// Scope says which bytes a mask rewrites.
type Scope uint8

// Mask scopes; a mask may have several.
const (
	ScopeCommand  Scope = 1 << iota // host command lines (without CRLF)
	ScopeResponse                   // device lines that answer a command (info lines, results)
	ScopeURC                        // unsolicited lines, +WS_DATA headers excluded
	ScopePayload                    // bytes the host typed after a prompt
	ScopeData                       // the data of +WS_DATA and +IPD
	ScopeAll      = ScopeCommand | ScopeResponse | ScopeURC | ScopePayload | ScopeData
)

var scopeNames = map[string]Scope{"command": ScopeCommand, "response": ScopeResponse, "urc": ScopeURC,
	"payload": ScopePayload, "data": ScopeData, "all": ScopeAll}

// Mask replaces what a regular expression matches before comparing.
type Mask struct {
	Scope Scope
	Re    *regexp.Regexp
	Repl  string // Go regexp replacement ($1 expands); "<masked>" by default
	Line  int    // line in the rules file, 0 for built-in defaults
}

// Rules are the normalisation and fault-injection rules shared by mock,
// replay and diff. The zero value is lenient matching with the default
// masks, transactions in order, and no faults.
//
// Rules are read-only after parsing and safe for concurrent use.
type Rules struct {
	Match Match
	// AnyOrder lets the mock answer a recorded command that is not the next
	// one, and lets comparisons pair transactions by command rather than by
	// position. Set by "order any".
	AnyOrder bool
	// NoDefaults drops DefaultMasks (set by "defaults off").
	NoDefaults bool
	// IgnoreParams maps a command name ("+CWJAP") to the 1-based parameters
	// left out of comparisons.
	IgnoreParams map[string][]int
	// IgnoreCommands names commands whose response is not compared (the
	// command line still is).
	IgnoreCommands map[string]bool
	// IgnoreURCs names unsolicited messages left out of comparisons
	// ("+WS_DATA", "ready"; "unparsed" for bytes the decoder could not
	// place).
	IgnoreURCs map[string]bool
	Masks      []Mask
	// MaxSlowdown fails a transaction whose latency exceeds the original's
	// times this factor (0: no check). SlowdownFloor is the latency increase
	// below which no transaction fails (default 2 ms): timer noise.
	MaxSlowdown   float64
	SlowdownFloor time.Duration
	Faults        []Fault
}

// DefaultMasks are applied in lenient mode unless "defaults off": fields
// that differ on every run of the same firmware.
var DefaultMasks = []Mask{
	// AT+CIPSNTPTIME? answers the current date: +CIPSNTPTIME:Mon Oct 18 20:12:27 2021
	{Scope: ScopeResponse, Re: regexp.MustCompile(`^\+CIPSNTPTIME:.*$`), Repl: "+CIPSNTPTIME:<date>"},
	// AT+GMR: the build date in the AT version line and the compile time line.
	{Scope: ScopeResponse, Re: regexp.MustCompile(`[A-Z][a-z]{2} [ 0-9][0-9] [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2}`), Repl: "<date>"},
	{Scope: ScopeResponse, Re: regexp.MustCompile(`^compile time\([^)]*\):.*$`), Repl: "compile time(<commit>):<date>"},
	// Addresses the network hands out: +CIFSR, +CIPSTA, +CWJAP? and friends.
	// ESP-AT quotes them ("192.168.4.2"), which keeps version numbers
	// such as 5.0.1.0 out.
	{Scope: ScopeResponse | ScopeURC, Re: regexp.MustCompile(`"[0-9]{1,3}(\.[0-9]{1,3}){3}"`), Repl: `"<ip>"`},
	{Scope: ScopeResponse | ScopeURC, Re: regexp.MustCompile(`"[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}"`), Repl: `"<mac>"`},
	{Scope: ScopeResponse | ScopeURC, Re: regexp.MustCompile(`"[0-9a-fA-F]{0,4}(:[0-9a-fA-F]{0,4}){2,7}"`), Repl: `"<ipv6>"`},
	// Timestamps inside JSON payloads and +WS_DATA: "ts": 1732560000, "time": "2026-11-25T19:00:00Z".
	{Scope: ScopePayload | ScopeData, Re: regexp.MustCompile(`"(ts|time|timestamp|date)"\s*:\s*("[^"]*"|[0-9.]+)`), Repl: `"$1":<ts>`},
}

// Errors wrapped by the *RuleError that ParseRules returns.
var (
	// ErrRuleSyntax: a rules line that does not parse (unknown keyword,
	// missing argument, bad regular expression, bad number or duration).
	ErrRuleSyntax = errors.New("bad rule")
)

// RuleError reports the line of a rules file that does not parse.
type RuleError struct {
	Line int    // 1-based
	Msg  string // what is wrong
	Err  error  // ErrRuleSyntax
}

func (e *RuleError) Error() string { return fmt.Sprintf("rules line %d: %s", e.Line, e.Msg) }

// Unwrap returns e.Err.
func (e *RuleError) Unwrap() error { return e.Err }

// maxRuleLine bounds a rules line; maxRules bounds the lines.
const (
	maxRuleLine = 4096
	maxRules    = 10000
)

// LoadRules parses the rules file at path.
func LoadRules(path string) (*Rules, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("rules: %w", err)
	}
	defer f.Close()
	r, err := ParseRules(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}

// ParseRules reads rules in the format of docs/match-rules.md: one rule a
// line, "#" comments, blank lines ignored. Errors are *RuleError.
func ParseRules(rd io.Reader) (*Rules, error) {
	r := &Rules{}
	sc := bufio.NewScanner(rd)
	sc.Buffer(make([]byte, 0, 256), maxRuleLine)
	n := 0
	for sc.Scan() {
		n++
		if n > maxRules {
			return nil, &RuleError{n, fmt.Sprintf("more than %d lines", maxRules), ErrRuleSyntax}
		}
		if err := r.ParseLine(n, sc.Text()); err != nil {
			return nil, err
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, &RuleError{n + 1, fmt.Sprintf("line longer than %d bytes", maxRuleLine), ErrRuleSyntax}
		}
		return nil, fmt.Errorf("read rules: %w", err)
	}
	return r, nil
}

// ParseLine adds the rule on one line (numbered n for messages) to r. The
// CLI uses it for --fault flags, which take the words after "fault".
func (r *Rules) ParseLine(n int, line string) error {
	bad := func(format string, a ...any) error {
		return &RuleError{n, fmt.Sprintf(format, a...), ErrRuleSyntax}
	}
	line = strings.TrimSpace(line)
	if line == "" || line[0] == '#' {
		return nil
	}
	kw, rest, _ := strings.Cut(line, " ")
	rest = strings.TrimSpace(rest)
	args := strings.Fields(rest)
	switch kw {
	case "match":
		m, err := ParseMatch(rest)
		if err != nil {
			return bad("%v", err)
		}
		r.Match = m
	case "order":
		switch rest {
		case "strict":
			r.AnyOrder = false
		case "any":
			r.AnyOrder = true
		default:
			return bad("order must be strict or any, not %q", rest)
		}
	case "defaults":
		switch rest {
		case "on":
			r.NoDefaults = false
		case "off":
			r.NoDefaults = true
		default:
			return bad("defaults must be on or off, not %q", rest)
		}
	case "ignore-param":
		if len(args) < 2 {
			return bad("ignore-param wants a command and parameter numbers, e.g. ignore-param +CWJAP 2")
		}
		name := cmdNameArg(args[0])
		for _, a := range args[1:] {
			for _, f := range strings.Split(a, ",") {
				i, err := strconv.Atoi(f)
				if err != nil || i < 1 || i > 64 {
					return bad("parameter number %q: want 1..64", f)
				}
				if r.IgnoreParams == nil {
					r.IgnoreParams = map[string][]int{}
				}
				r.IgnoreParams[name] = append(r.IgnoreParams[name], i)
			}
		}
	case "ignore-command":
		if len(args) != 1 {
			return bad("ignore-command wants one command name, e.g. ignore-command +GMR")
		}
		if r.IgnoreCommands == nil {
			r.IgnoreCommands = map[string]bool{}
		}
		r.IgnoreCommands[cmdNameArg(args[0])] = true
	case "ignore-urc":
		if len(args) != 1 {
			return bad("ignore-urc wants one message name, e.g. ignore-urc +WS_DATA")
		}
		if r.IgnoreURCs == nil {
			r.IgnoreURCs = map[string]bool{}
		}
		r.IgnoreURCs[args[0]] = true
	case "mask":
		m, err := parseMask(rest)
		if err != nil {
			return bad("%v", err)
		}
		m.Line = n
		r.Masks = append(r.Masks, m)
	case "max-slowdown":
		f, err := ParseSlowdown(rest)
		if err != nil {
			return bad("%v", err)
		}
		r.MaxSlowdown = f
	case "slowdown-floor":
		d, err := time.ParseDuration(rest)
		if err != nil || d < 0 {
			return bad("slowdown-floor wants a duration such as 5ms, not %q", rest)
		}
		r.SlowdownFloor = d
	case "fault":
		f, err := ParseFault(rest)
		if err != nil {
			return bad("%v", err)
		}
		r.Faults = append(r.Faults, f)
	default:
		return bad("unknown rule %q (want match, order, defaults, ignore-param, ignore-command, ignore-urc, mask, max-slowdown, slowdown-floor or fault)", kw)
	}
	return nil
}

// cmdNameArg accepts "+CWJAP", "AT+CWJAP" and "CWJAP" for the same command.
func cmdNameArg(s string) string {
	s = strings.TrimPrefix(s, "AT")
	if s != "" && s[0] != '+' && len(s) > 2 {
		s = "+" + s
	}
	return s
}

// parseMask parses "SCOPE[,SCOPE] /REGEX/ [REPLACEMENT]".
func parseMask(s string) (Mask, error) {
	scopes, rest, ok := strings.Cut(s, " ")
	if !ok {
		return Mask{}, errors.New("mask wants a scope and /regex/, e.g. mask response /\\d+ms/ <ms>")
	}
	var m Mask
	for _, name := range strings.Split(scopes, ",") {
		sc, ok := scopeNames[name]
		if !ok {
			return Mask{}, fmt.Errorf("unknown mask scope %q (want command, response, urc, payload, data or all)", name)
		}
		m.Scope |= sc
	}
	rest = strings.TrimSpace(rest)
	if len(rest) < 2 || rest[0] != '/' {
		return Mask{}, errors.New("the regular expression must be written between slashes: /regex/")
	}
	end := -1
	for i := 1; i < len(rest); i++ {
		if rest[i] == '\\' {
			i++
			continue
		}
		if rest[i] == '/' {
			end = i
			break
		}
	}
	if end < 0 {
		return Mask{}, errors.New("unterminated /regex/")
	}
	expr := strings.ReplaceAll(rest[1:end], `\/`, "/")
	re, err := regexp.Compile(expr)
	if err != nil {
		return Mask{}, fmt.Errorf("regular expression: %v", err)
	}
	m.Re = re
	m.Repl = strings.TrimSpace(rest[end+1:])
	if m.Repl == "" {
		m.Repl = "<masked>"
	}
	return m, nil
}

// ParseSlowdown parses a slowdown factor: "2x", "2", "1.5x" or "150%".
func ParseSlowdown(s string) (float64, error) {
	s = strings.TrimSpace(s)
	var f float64
	var err error
	if p, ok := strings.CutSuffix(s, "%"); ok {
		f, err = strconv.ParseFloat(p, 64)
		f /= 100
	} else {
		f, err = strconv.ParseFloat(strings.TrimSuffix(s, "x"), 64)
	}
	if err != nil || f < 1 || f > 1e6 {
		return 0, fmt.Errorf("slowdown %q: want a factor of at least 1, such as 2x or 150%%", s)
	}
	return f, nil
}

// masks returns the masks in force for scope sc.
func (r *Rules) masks(sc Scope) []Mask {
	var out []Mask
	if r.Match == Strict {
		return nil
	}
	if !r.NoDefaults {
		for _, m := range DefaultMasks {
			if m.Scope&sc != 0 {
				out = append(out, m)
			}
		}
	}
	for _, m := range r.Masks {
		if m.Scope&sc != 0 {
			out = append(out, m)
		}
	}
	return out
}

func (r *Rules) apply(sc Scope, b []byte) string {
	s := string(b)
	for _, m := range r.masks(sc) {
		s = m.Re.ReplaceAllString(s, m.Repl)
	}
	return s
}

// CommandKey returns the form of a command line (without CRLF) that
// comparisons use: the line itself in strict mode; in lenient mode the line
// with ignored parameters replaced by "*" and command masks applied.
func (r *Rules) CommandKey(line []byte) string {
	if r.Match == Strict {
		return string(line)
	}
	if c, err := at.ParseCommand(line); err == nil && c.Type == at.CmdSet && len(r.IgnoreParams[c.Name]) > 0 {
		params := append([]at.Param(nil), c.Params...)
		for _, i := range r.IgnoreParams[c.Name] {
			if i-1 < len(params) {
				params[i-1] = at.Param{Value: "*"}
			}
		}
		cc := *c
		cc.Params = params
		line = at.FormatCommand(&cc)
	}
	return r.apply(ScopeCommand, line)
}

// PayloadKey returns the form of a typed payload that comparisons use.
func (r *Rules) PayloadKey(p []byte) string { return r.apply(ScopePayload, p) }

// OutKey returns the form of a device output that comparisons use: its raw
// bytes in strict mode; in lenient mode its line with masks applied, and
// for +WS_DATA and +IPD "NAME:<link>,*,<masked data>" (the length follows
// the data), and for the other length-counted replies (at.Event.Data)
// "NAME:<link>,"<topic>",*,<masked data>".
func (r *Rules) OutKey(o *OutItem) string {
	if r.Match == Strict {
		return string(o.Raw)
	}
	sc := ScopeResponse
	if o.Tx < 0 {
		sc = ScopeURC
	}
	switch {
	case o.Kind == at.EvURC && (o.Name == "+WS_DATA" || o.Name == "+IPD"):
		// "*" for the length: it follows the (masked) data.
		return fmt.Sprintf("%s:%d,*,%s", o.Name, o.Link, r.apply(ScopeData, o.Data))
	case o.Data != nil && (o.Kind == at.EvURC || o.Kind == at.EvInfo):
		// The other length-counted replies (+CIPRECVDATA, +MQTTSUBRECV
		// with its topic, HTTP body chunks, +FS, +SYSFLASH, +SYSMFG reads):
		// compared by their data, like +IPD.
		return fmt.Sprintf("%s:%d,%q,*,%s", o.Name, o.Link, o.Topic, r.apply(ScopeData, o.Data))
	case o.Line != nil:
		return r.apply(sc, o.Line)
	}
	return r.apply(sc, o.Raw)
}

// ignoredURC reports whether an unsolicited output is left out.
func (r *Rules) ignoredURC(o *OutItem) bool {
	if o.Kind == at.EvUnparsed {
		return r.IgnoreURCs["unparsed"] || (r.Match == Lenient && !r.NoDefaults)
	}
	return r.IgnoreURCs[o.Name]
}

func (r *Rules) floor() int64 {
	if r.SlowdownFloor > 0 {
		return int64(r.SlowdownFloor)
	}
	return int64(2 * time.Millisecond)
}
