package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/atbridge/atbridge/analysis"
)

// runStatsLatency is "atbridge stats --latency".
func runStatsLatency(ctx context.Context, e *env, args []string, asJSON bool) int {
	if len(args) != 1 {
		fmt.Fprintf(e.stderr, "atbridge stats: want one capture FILE, got %d arguments; see atbridge stats --help\n", len(args))
		return exitFailure
	}
	st, err := analysis.ReadLatency(ctx, args[0])
	if err != nil {
		fmt.Fprintf(e.stderr, "atbridge stats: %v\n", err)
		if ctx.Err() != nil {
			return exitSignal
		}
		return exitFailure
	}
	if asJSON {
		b, _ := json.MarshalIndent(st, "", "  ")
		fmt.Fprintf(e.stdout, "%s\n", b)
		return exitOK
	}
	writeLatencyText(e.stdout, st)
	return exitOK
}

// writeLatencyText prints st as "atbridge stats --latency" does: one row
// per segment of each command and WebSocket exchange.
func writeLatencyText(out io.Writer, st *analysis.LatencyStats) {
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	defer w.Flush()
	wire := "serial segments subtracted from the measured time"
	switch {
	case st.Line == "unknown":
		wire = "the capture does not say: serial segments are 0"
	case !st.Wire:
		wire = "no wire (in-process emulator) or timed at the ESP32's end: serial segments computed, not subtracted"
	}
	fmt.Fprintf(w, "file\t%s\nline\t%s; %s\n", st.File, st.Line, wire)
	for _, x := range []struct {
		title string
		list  []*analysis.SplitStats
	}{{"command", st.Commands}, {"websocket exchange", st.Exchanges}} {
		if len(x.list) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n%s\tsegment\tn\tp50\tp90\tp99\tmax\n", x.title)
		for _, s := range x.list {
			name := s.Name
			if name == "" {
				name = "(unparsed line)"
			}
			if s.WithFrames > 0 {
				name = fmt.Sprintf("%s (%d with frames)", name, s.WithFrames)
			}
			for i, g := range s.Segments {
				if i > 0 {
					name = ""
				}
				fmt.Fprintf(w, "  %s\t%s\t%d\t%s\t%s\t%s\t%s\n", name, g.Name, g.Count, ms(g.P50NS), ms(g.P90NS), ms(g.P99NS), ms(g.MaxNS))
			}
		}
	}
	if len(st.Commands) == 0 && len(st.Exchanges) == 0 {
		fmt.Fprintf(w, "\nno command got a result\n")
	}
}
