package replay

import (
	"fmt"
	"strconv"
	"time"

	"github.com/atbridge/atbridge/capture"
)

// Miss is host input the capture does not have where it came.
type Miss struct {
	// Tx is the transaction (from 0) the mock expected, -1 past the end.
	Tx       int
	Expected string // the expected command line or payload, "" past the end
	Got      string // what the host sent (CRLF excluded)
	What     string // "command" or "payload"
	Loc      Loc    // where the expected input is in the capture
	Closest  string // the recorded command nearest to Got by edit distance
	ClosestN int    // its transaction number from 1, 0 when none
	At       time.Duration
}

// String formats the miss as the one line the mock prints.
func (m Miss) String() string {
	where := "past the end of the capture"
	if m.Tx >= 0 {
		where = fmt.Sprintf("at transaction #%d (%s)", m.Tx+1, m.Loc)
	}
	s := fmt.Sprintf("miss %s after %s: expected %s %s, got %s", where, m.At.Round(time.Microsecond), m.What, strconv.Quote(m.Expected), strconv.Quote(m.Got))
	if m.ClosestN > 0 {
		s += fmt.Sprintf("; closest recorded command: %s (#%d)", strconv.Quote(m.Closest), m.ClosestN)
	}
	return s
}

func (r *mockRun) miss(what string, got []byte, now time.Time) {
	s := r.m.s
	x := Miss{Tx: -1, Got: string(got), What: what}
	if r.cur < len(s.Host) {
		h := &s.Host[r.cur]
		x.Tx, x.Expected, x.Loc = h.Tx, string(trimCRLF(h.Raw)), h.Loc
	}
	r.missAt(x, now)
}

func (r *mockRun) missAt(x Miss, now time.Time) {
	x.At = now.Sub(r.start)
	if c := closestCommand(r.m.s, []byte(x.Got)); c >= 0 && x.What == "command" {
		x.Closest, x.ClosestN = string(r.m.s.Txs[c].Line), c+1
	}
	r.lastMiss = time.Now()
	r.m.mu.Lock()
	r.m.stats.Misses = append(r.m.stats.Misses, x)
	r.m.mu.Unlock()
	if r.m.opts.Log != nil {
		fmt.Fprintf(r.m.opts.Log, "atbridge mock: %s\n", x)
	}
	if r.m.opts.Record != nil {
		r.m.opts.Record(&capture.Record{Kind: capture.KindEvent, Time: r.now(), Event: capture.Event{Type: capture.EvNote, Text: "mock " + x.String()}})
	}
}
