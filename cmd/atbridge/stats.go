package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/atbridge/atbridge/analysis"
	"github.com/atbridge/atbridge/formats"
	"github.com/atbridge/atbridge/formats/view"
)

func init() {
	register(&command{
		name:    "stats",
		summary: "Summarise a capture: traffic, command latencies, errors, WebSocket messages, damage",
		usage:   "atbridge stats [--json] [--latency] FILE",
		examples: `  atbridge stats testdata/seed-tcp.atcap
  # the p95 latency of AT+WSSEND, for a CI check
  atbridge stats --json session.atcap | jq '.commands[] | select(.name=="+WSSEND") | .latency_p95_ns'
  # each command's round trip split: serial line each way, ESP32, network (with frames)
  atbridge stats --latency session.atcap`,
		setup: func(fs *flag.FlagSet) func(context.Context, *env, []string) int {
			asJSON := fs.Bool("json", false, "write the summary as one JSON object (schema in the README)")
			latency := fs.Bool("latency", false, "instead, split each command's round trip into segments: serial line each way, ESP32, and network where frames were recorded")
			return func(ctx context.Context, e *env, args []string) int {
				args, code, err := interspersed(e, fs, args)
				if err != nil {
					return code
				}
				if *latency {
					return runStatsLatency(ctx, e, args, *asJSON)
				}
				return runStats(ctx, e, args, *asJSON)
			}
		},
	})
}

func runStats(ctx context.Context, e *env, args []string, asJSON bool) int {
	if len(args) != 1 {
		fmt.Fprintf(e.stderr, "atbridge stats: want one capture FILE, got %d arguments; see atbridge stats --help\n", len(args))
		return exitFailure
	}
	st, err := analysis.ReadFile(ctx, args[0])
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
	} else {
		writeStatsText(e.stdout, st)
	}
	if len(st.Damage) > 0 {
		return exitProblem
	}
	return exitOK
}

// writeStatsText prints st as "atbridge stats" does without --json.
func writeStatsText(out io.Writer, st *analysis.Stats) {
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	defer w.Flush()
	fmt.Fprintf(w, "file\t%s\nstart\t%s\nduration\t%s\nrecords\t%d\n", st.File, st.Start.UTC().Format(time.RFC3339Nano), time.Duration(st.DurationNS), st.Records)
	fmt.Fprintf(w, "\ntraffic\tbytes\tchunks\n")
	for _, d := range []formats.Dir{formats.ToDevice, formats.ToHost} {
		ds := st.Directions[d.String()]
		if ds == nil {
			ds = &analysis.DirStats{}
		}
		fmt.Fprintf(w, "  %s\t%d\t%d\n", view.DirLabel(d), ds.Bytes, ds.Chunks)
	}
	// Shown only when there are any, so that ordinary sessions read as before.
	if nd, nh := st.NotDelivered[formats.ToDevice.String()], st.NotDelivered[formats.ToHost.String()]; nd+nh > 0 {
		fmt.Fprintf(w, "  not delivered\t%d to the device, %d to the host (recorded while the other side was absent)\n", nd, nh)
	}
	if len(st.Commands) > 0 {
		fmt.Fprintf(w, "\ncommand\tcount\tp50\tp95\tmax\tresults\n")
		for _, c := range st.Commands {
			name := c.Name
			if name == "" {
				name = "(unparsed line)"
			}
			fmt.Fprintf(w, "  %s\t%d\t%s\t%s\t%s\t%s\n", name, c.Count, ms(c.LatencyP50NS), ms(c.LatencyP95NS), ms(c.LatencyMaxNS), countsText(c.Results))
		}
	}
	errs := st.Results["ERROR"] + st.Results["SEND FAIL"]
	absent := ""
	if st.DeviceAbsent > 0 {
		absent = fmt.Sprintf(", %d sent while the device was absent", st.DeviceAbsent)
	}
	fmt.Fprintf(w, "\nerrors\t%d ERROR/SEND FAIL, %d busy p..., %d without result%s, %d unparsed runs\n", errs, st.Results["busy p..."], st.NoResult, absent, st.Unparsed)
	if len(st.URCs) > 0 {
		fmt.Fprintf(w, "unsolicited\t%s\n", countsText(st.URCs))
	}
	for _, x := range []struct {
		title string
		ws    []*analysis.WSStats
	}{{"websocket (from AT)", st.WSFromAT}, {"websocket (frames)", st.WSFrames}} {
		if len(x.ws) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n%s\t→server\tbytes\t→client\tbytes\n", x.title)
		for _, l := range x.ws {
			fmt.Fprintf(w, "  link %d\t%d\t%d\t%d\t%d\n", l.Link, l.ToServer, l.ToServerBytes, l.ToClient, l.ToClientBytes)
		}
	}
	if lg := st.Log; lg != nil {
		writeLogStats(w, lg)
	}
	writePortStats(w, st.Ports)
	fmt.Fprintf(w, "\nlost bytes\t%d in %d events\n", st.LostBytes, st.LostEvents)
	if len(st.Damage) == 0 {
		fmt.Fprintf(w, "damage\tnone\n")
	}
	for _, d := range st.Damage {
		fmt.Fprintf(w, "damage\t%s\n", d)
	}
}

// writePortStats prints the ports' adapters and line events; nothing when
// no port has either (ptys, TCP), so such sessions read as before.
func writePortStats(w io.Writer, ports []*analysis.PortStats) {
	any := false
	for _, p := range ports {
		any = any || p.Adapter != nil || p.ControlChanges > 0 || p.Breaks > 0 || len(p.LineErrors) > 0
	}
	if !any {
		return
	}
	fmt.Fprintf(w, "\nport\tname\tline events\tadapter\n")
	for _, p := range ports {
		adapter := "-"
		if p.Adapter != nil {
			adapter = p.Adapter.String()
		}
		var ev []string
		if p.ControlChanges > 0 {
			ev = append(ev, plural(p.ControlChanges, "control line change"))
		}
		if p.Breaks > 0 {
			ev = append(ev, plural(int(p.Breaks), "BREAK"))
		}
		if len(p.LineErrors) > 0 {
			ev = append(ev, "errors: "+countsText(p.LineErrors))
		}
		events := "none"
		if len(ev) > 0 {
			events = strings.Join(ev, ", ")
		}
		role := p.Role
		if role == "" {
			role = fmt.Sprint(p.Index)
		}
		fmt.Fprintf(w, "  %s\t%s\t%s\t%s\n", role, p.Name, events, adapter)
	}
}

func ms(ns int64) string {
	return fmt.Sprintf("%.3fms", float64(ns)/1e6)
}

// countsText lists counts by name, in name order: "ERROR 2, OK 5".
func countsText[V int | int64](m map[string]V) string {
	keys := slices.Sorted(maps.Keys(m))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

// writeLogStats prints what the ESP32's log UART said: resets by reason
// and cause, each reset in one line, warnings and errors by tag.
func writeLogStats(w io.Writer, lg *analysis.LogStats) {
	fmt.Fprintf(w, "\nlog UART\t%d bytes, %d lines\n", lg.Bytes, lg.Lines)
	resets := "none"
	if len(lg.ResetsByReason) > 0 {
		resets = countsText(lg.ResetsByReason)
	}
	fmt.Fprintf(w, "  resets\t%s\n", resets)
	if len(lg.ResetsByCause) > 0 {
		fmt.Fprintf(w, "  causes\t%s\n", countsText(lg.ResetsByCause))
	}
	for _, r := range lg.Resets {
		fmt.Fprintf(w, "  reset at %s\t%s\n", time.Duration(r.TimeNS).Round(time.Millisecond), r.Text)
	}
	if len(lg.Errors) > 0 {
		fmt.Fprintf(w, "  errors by tag\t%s\n", countsText(lg.Errors))
	}
	if len(lg.Warnings) > 0 {
		fmt.Fprintf(w, "  warnings by tag\t%s\n", countsText(lg.Warnings))
	}
}
