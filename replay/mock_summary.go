package replay

import (
	"fmt"
	"io"
	"strconv"
	"time"
)

// WriteSummary writes the exit summary: answered, misses (each on its line)
// and unplayed transactions.
func (m *Mock) WriteSummary(w io.Writer) {
	st := m.Stats()
	fmt.Fprintf(w, "mock: %d of %d transactions answered, %d misses, %d not sent by the host", st.Answered, len(m.s.Txs), len(st.Misses), st.Unplayed)
	if st.Polls > 0 {
		fmt.Fprintf(w, ", %d polls repeated or skipped", st.Polls)
	}
	if st.Finished {
		fmt.Fprintf(w, "; last output at %s (recorded %s)", st.Done.Round(time.Microsecond), time.Duration(m.s.Duration))
	}
	fmt.Fprintln(w)
	for _, x := range st.Misses {
		fmt.Fprintf(w, "  %s\n", x)
	}
	if st.GaveUp > 0 && len(st.Misses) > 0 {
		// The first miss is where the host left the capture.
		first := st.Misses[0]
		fmt.Fprintf(w, "mock: stopped: the host sent nothing for %s after the last miss; it left the capture with %s", st.GaveUp.Round(time.Millisecond), strconv.Quote(first.Got))
		if first.ClosestN > 0 {
			fmt.Fprintf(w, ", closest recorded command %s (#%d)", strconv.Quote(first.Closest), first.ClosestN)
		}
		fmt.Fprintln(w)
	}
}
