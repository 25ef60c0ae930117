package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/formats"
)

func init() {
	register(&command{
		name:    "stats",
		summary: "Summarise a capture: traffic, command latencies, errors, WebSocket messages, damage",
		usage:   "atbridge stats [--json] FILE",
		examples: `  atbridge stats testdata/seed-tcp.atcap
  # the p95 latency of AT+WSSEND, for a CI check
  atbridge stats --json session.atcap | jq '.commands[] | select(.name=="+WSSEND") | .latency_p95_ns'`,
		setup: func(fs *flag.FlagSet) func(context.Context, *env, []string) int {
			asJSON := fs.Bool("json", false, "write the summary as one JSON object (schema in the README)")
			return func(ctx context.Context, e *env, args []string) int {
				args, code, err := interspersed(e, fs, args)
				if err != nil {
					return code
				}
				return runStats(ctx, e, args, *asJSON)
			}
		},
	})
}

// Stats is what "atbridge stats" reports; its JSON form is the --json
// output.
type Stats struct {
	File       string               `json:"file"`
	Start      time.Time            `json:"start"`
	DurationNS int64                `json:"duration_ns"`
	Records    int64                `json:"records"`
	Directions map[string]*DirStats `json:"directions"` // by formats.Dir name
	Commands   []*CmdStats          `json:"commands"`   // by name
	Results    map[string]int       `json:"results"`    // final results by text: OK, ERROR, busy p...
	NoResult   int                  `json:"no_result"`  // commands that never got a final result
	Unparsed   int                  `json:"unparsed"`   // runs of bytes the decoder could not place
	URCs       map[string]int       `json:"urcs"`       // unsolicited messages by name
	// WSFromAT counts WebSocket messages seen through AT+WSSEND and +WS_DATA;
	// WSFrames counts frames recorded on the network side. Both by link.
	WSFromAT   []*WSStats `json:"ws_from_at"`
	WSFrames   []*WSStats `json:"ws_frames"`
	LostEvents int        `json:"lost_events"` // bytes_lost events
	LostBytes  int64      `json:"lost_bytes"`
	Damage     []string   `json:"damage"` // one line per damaged region
}

// DirStats counts the traffic of one direction.
type DirStats struct {
	Bytes  int64 `json:"bytes"`
	Chunks int64 `json:"chunks"`
}

// CmdStats summarises the transactions of one command.
type CmdStats struct {
	Name         string         `json:"name"`
	Count        int            `json:"count"`
	Results      map[string]int `json:"results"`
	LatencyP50NS int64          `json:"latency_p50_ns"`
	LatencyP95NS int64          `json:"latency_p95_ns"`
	LatencyMaxNS int64          `json:"latency_max_ns"`
	latencies    []int64
}

// WSStats counts the WebSocket messages of one link and their payload
// bytes. A message sent in several frames (or +WS_DATA pieces) counts once.
type WSStats struct {
	Link          int   `json:"link"`
	ToServer      int   `json:"to_server"`
	ToServerBytes int64 `json:"to_server_bytes"`
	ToClient      int   `json:"to_client"`
	ToClientBytes int64 `json:"to_client_bytes"`
}

func runStats(ctx context.Context, e *env, args []string, asJSON bool) int {
	if len(args) != 1 {
		fmt.Fprintf(e.stderr, "atbridge stats: want one capture FILE, got %d arguments; see atbridge stats --help\n", len(args))
		return exitFailure
	}
	st, err := collectStats(ctx, args[0])
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
		st.writeText(e.stdout)
	}
	if len(st.Damage) > 0 {
		return exitProblem
	}
	return exitOK
}

func collectStats(ctx context.Context, path string) (*Stats, error) {
	r, err := capture.Open(path, nil)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	st := &Stats{
		File: path, Start: r.Header().Start, Directions: map[string]*DirStats{},
		Results: map[string]int{}, URCs: map[string]int{}, Damage: []string{},
		Commands: []*CmdStats{}, WSFromAT: []*WSStats{}, WSFrames: []*WSStats{},
	}
	cmds := map[string]*CmdStats{}
	fromAT, frames := map[int]*WSStats{}, map[int]*WSStats{}
	hdr := r.Header()
	dec := formats.NewDecoder(decoderOptions(&hdr))
	onEvents := func(evs []formats.Event) {
		for i := range evs {
			ev := &evs[i]
			switch ev.Kind {
			case formats.EvTransaction:
				tx := ev.Tx
				c := cmds[ev.Name]
				if c == nil {
					c = &CmdStats{Name: ev.Name, Results: map[string]int{}}
					cmds[ev.Name] = c
				}
				c.Count++
				if tx.Result == "" {
					st.NoResult++
					c.Results["(none)"]++
					continue
				}
				c.Results[tx.Result]++
				st.Results[tx.Result]++
				c.latencies = append(c.latencies, tx.Latency)
			case formats.EvURC:
				st.URCs[ev.Name]++
			case formats.EvUnparsed:
				st.Unparsed++
			case formats.EvWSMessage:
				// A piece with fin=0 is continued by the next one.
				countWS(fromAT, ev.Link, ev.Dir, len(ev.Data), ev.Msg == nil || ev.Msg.Fin != 0)
			}
		}
	}
	// NextInto and Decode reuse their storage: safe here because a record
	// and its events are counted and let go before the next call, and what
	// is kept (names, results) are strings, which are never reused.
	var rec capture.Record
	for {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		err := r.NextInto(&rec)
		if errors.Is(err, io.EOF) {
			break
		}
		var d *capture.DamageError
		if errors.As(err, &d) {
			onEvents(dec.Flush())
			st.Damage = append(st.Damage, d.Error())
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		st.Records++
		st.DurationNS = max(st.DurationNS, rec.Time)
		switch rec.Kind {
		case capture.KindChunk:
			ds := st.Directions[rec.Dir.String()]
			if ds == nil {
				ds = &DirStats{}
				st.Directions[rec.Dir.String()] = ds
			}
			ds.Bytes += int64(len(rec.Data))
			ds.Chunks++
			onEvents(dec.Decode(rec.Time, rec.Dir, rec.Data))
		case capture.KindFrame:
			if rec.Frame.Opcode < 8 { // data frames; control frames are not messages
				countWS(frames, int(rec.Frame.Link), rec.Dir, int(rec.Frame.Length), rec.Frame.Fin)
			}
		case capture.KindEvent:
			if rec.Event.Type == capture.EvBytesLost {
				st.LostEvents++
				st.LostBytes += rec.Event.Count
			}
			if rec.Event.Type == capture.EvDamage { // a hole a repair left
				st.Damage = append(st.Damage, "repaired: "+rec.Event.Text)
			}
		}
	}
	onEvents(dec.Flush())
	for _, c := range cmds {
		slices.Sort(c.latencies)
		c.LatencyP50NS, c.LatencyP95NS = percentile(c.latencies, 50), percentile(c.latencies, 95)
		if n := len(c.latencies); n > 0 {
			c.LatencyMaxNS = c.latencies[n-1]
		}
		st.Commands = append(st.Commands, c)
	}
	sort.Slice(st.Commands, func(i, j int) bool { return st.Commands[i].Name < st.Commands[j].Name })
	st.WSFromAT, st.WSFrames = sortedWS(fromAT), sortedWS(frames)
	return st, nil
}

// countWS adds n payload bytes of link's traffic in direction d, and one
// message when last is set (the final piece or frame of a message).
func countWS(m map[int]*WSStats, link int, d formats.Dir, n int, last bool) {
	w := m[link]
	if w == nil {
		w = &WSStats{Link: link}
		m[link] = w
	}
	msgs, bytes := &w.ToClient, &w.ToClientBytes
	if d == formats.ToServer {
		msgs, bytes = &w.ToServer, &w.ToServerBytes
	}
	*bytes += int64(n)
	if last {
		*msgs++
	}
}

func sortedWS(m map[int]*WSStats) []*WSStats {
	out := []*WSStats{}
	for _, w := range m {
		out = append(out, w)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Link < out[j].Link })
	return out
}

// percentile returns the nearest-rank p-th percentile of sorted v (0 when
// empty).
func percentile(v []int64, p int) int64 {
	if len(v) == 0 {
		return 0
	}
	i := (len(v)*p + 99) / 100
	return v[max(i-1, 0)]
}

func (st *Stats) writeText(out io.Writer) {
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	defer w.Flush()
	fmt.Fprintf(w, "file\t%s\nstart\t%s\nduration\t%s\nrecords\t%d\n", st.File, st.Start.UTC().Format(time.RFC3339Nano), time.Duration(st.DurationNS), st.Records)
	fmt.Fprintf(w, "\ntraffic\tbytes\tchunks\n")
	for _, d := range []formats.Dir{formats.ToDevice, formats.ToHost} {
		ds := st.Directions[d.String()]
		if ds == nil {
			ds = &DirStats{}
		}
		fmt.Fprintf(w, "  %s\t%d\t%d\n", formats.DirLabel(d), ds.Bytes, ds.Chunks)
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
	fmt.Fprintf(w, "\nerrors\t%d ERROR/SEND FAIL, %d busy p..., %d without result, %d unparsed runs\n", errs, st.Results["busy p..."], st.NoResult, st.Unparsed)
	if len(st.URCs) > 0 {
		fmt.Fprintf(w, "unsolicited\t%s\n", countsText(st.URCs))
	}
	for _, x := range []struct {
		title string
		ws    []*WSStats
	}{{"websocket (from AT)", st.WSFromAT}, {"websocket (frames)", st.WSFrames}} {
		if len(x.ws) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n%s\t→server\tbytes\t→client\tbytes\n", x.title)
		for _, l := range x.ws {
			fmt.Fprintf(w, "  link %d\t%d\t%d\t%d\t%d\n", l.Link, l.ToServer, l.ToServerBytes, l.ToClient, l.ToClientBytes)
		}
	}
	fmt.Fprintf(w, "\nlost bytes\t%d in %d events\n", st.LostBytes, st.LostEvents)
	if len(st.Damage) == 0 {
		fmt.Fprintf(w, "damage\tnone\n")
	}
	for _, d := range st.Damage {
		fmt.Fprintf(w, "damage\t%s\n", d)
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
