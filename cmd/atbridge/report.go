package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/atbridge/atbridge/analysis"
	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/formats/view"
	"github.com/atbridge/atbridge/internal/report"
)

func init() {
	register(&command{
		name:    "report",
		summary: "Write one self-contained HTML page about a capture: summary, timeline, links, latencies, searchable transcript",
		usage:   "atbridge report FILE.atcap -o report.html [--force]",
		examples: `  atbridge report session.atcap -o report.html
  # share a capture safely: redact first, then report
  atbridge redact session.atcap -o shared.atcap && atbridge report shared.atcap -o shared.html`,
		setup: func(fs *flag.FlagSet) func(context.Context, *env, []string) int {
			out := fs.String("o", "", "write the HTML page here")
			force := fs.Bool("force", false, forceUsage)
			return func(ctx context.Context, e *env, args []string) int {
				return runReport(ctx, e, args, *out, *force)
			}
		},
	})
}

// maxProblems bounds the problems listed in their own section.
const maxProblems = 200

func runReport(ctx context.Context, e *env, args []string, out string, force bool) int {
	fail := func(format string, a ...any) int {
		fmt.Fprintf(e.stderr, "atbridge report: "+format+"\n", a...)
		if ctx.Err() != nil {
			return exitSignal
		}
		return exitFailure
	}
	if len(args) != 1 {
		return fail("want one capture FILE, got %d arguments; see atbridge report --help", len(args))
	}
	if out == "" {
		return fail("-o report.html is required")
	}
	if err := refuseExisting(out, force); err != nil {
		return fail("%v", err)
	}
	p, err := buildReport(ctx, args[0])
	if err != nil {
		return fail("%v", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".tmp*")
	if err != nil {
		return fail("%v", err)
	}
	defer os.Remove(tmp.Name())
	w := bufio.NewWriterSize(tmp, 256<<10)
	err = report.Render(w, p)
	if err == nil {
		err = w.Flush()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), out)
	}
	if err != nil {
		return fail("writing %s: %v", out, err)
	}
	fmt.Fprintf(e.stderr, "atbridge report: %s: %d transcript rows -> %s\n", args[0], p.Data.Len(), out)
	return exitOK
}

// buildReport gathers a report: the numbers from the stats engine
// (analysis.ReadFile), the transcript from show's JSON output (runShow), so the
// page says exactly what "atbridge stats" and "atbridge show --json" say.
func buildReport(ctx context.Context, path string) (*report.Page, error) {
	r, err := capture.Open(path, nil)
	if err != nil {
		return nil, err
	}
	hdr := r.Header()
	r.Close()
	st, err := analysis.ReadFile(ctx, path)
	if err != nil {
		return nil, err
	}
	pr, pw := io.Pipe()
	showErr := make(chan string, 1)
	go func() {
		var errb bytes.Buffer
		code := runShow(ctx, &env{stdout: pw, stderr: &errb, getenv: func(string) string { return "" }}, &showFlags{json: true, link: -1}, []string{path})
		if code == exitFailure || code == exitSignal {
			pw.CloseWithError(fmt.Errorf("%s", strings.TrimSpace(errb.String())))
		} else {
			pw.Close()
		}
		showErr <- errb.String()
	}()
	data := &report.Data{DurationNS: st.DurationNS}
	p := &report.Page{File: filepath.Base(path), Start: hdr.Start.UTC().Format(time.RFC3339Nano), Tool: orUnknown(hdr.Tool), Data: data}
	var firmware []string
	var spans []report.LinkSpan
	open := map[int]*report.LinkSpan{} // a link's current state, from link_state rows
	tapOpen := map[int]int64{}
	sc := bufio.NewScanner(pr)
	sc.Buffer(make([]byte, 0, 64<<10), 64<<20)
	for sc.Scan() {
		var j view.JSONEvent
		if err := json.Unmarshal(sc.Bytes(), &j); err != nil {
			pr.CloseWithError(err)
			<-showErr
			return nil, fmt.Errorf("reading the transcript: %w", err)
		}
		if j.Kind == "header" { // the page has the header from the capture itself
			continue
		}
		link := -1
		if j.Link != nil {
			link = *j.Link
		}
		text, flags := report.RowText(&j)
		data.Add(j.OffsetNS, j.Dir, j.Kind, j.Name, link, text, flags)
		if flags != 0 && len(p.Problems) < maxProblems {
			p.Problems = append(p.Problems, report.Problem{Time: view.RelTime(j.OffsetNS), Text: j.Kind + " " + j.Name + " " + text})
		} else if flags != 0 {
			p.MoreProblems++
		}
		switch {
		case j.Kind == "info" && j.Name == "+GMR" && j.Line != nil:
			firmware = append(firmware, *j.Line)
		case j.Kind == "link_state" && link >= 0:
			if s := open[link]; s != nil {
				s.To = j.OffsetNS
				spans = append(spans, *s)
				delete(open, link)
			}
			if j.State != "closed" {
				open[link] = &report.LinkSpan{Link: link, State: j.State, From: j.OffsetNS}
			}
		case j.Kind == "event" && j.Event == "ws_connected" && link >= 0:
			tapOpen[link] = j.OffsetNS
		case j.Kind == "event" && j.Event == "ws_closed" && link >= 0:
			if from, ok := tapOpen[link]; ok {
				spans = append(spans, report.LinkSpan{Link: link, State: "tap", From: from, To: j.OffsetNS})
				delete(tapOpen, link)
			}
		}
	}
	if err := sc.Err(); err != nil {
		pr.CloseWithError(err)
		<-showErr
		return nil, err
	}
	<-showErr
	for _, s := range open {
		s.To = st.DurationNS
		spans = append(spans, *s)
	}
	for l, from := range tapOpen {
		spans = append(spans, report.LinkSpan{Link: l, State: "tap", From: from, To: st.DurationNS})
	}
	sort.Slice(spans, func(a, b int) bool { return spans[a].From < spans[b].From })

	p.Cards, p.Facts = analysis.Summary(st, &hdr, firmware)
	var lat []report.CmdLatency
	for _, c := range st.Commands {
		lat = append(lat, report.CmdLatency{Name: c.Name, Latencies: c.Latencies})
	}
	if data.Log, p.Log, err = reportLog(ctx, path); err != nil {
		return nil, err
	}
	p.Timeline = report.TimelineSVG(data)
	p.Links = report.LinksSVG(spans, st.DurationNS)
	p.Latency = report.LatencySVG(lat)
	split, err := analysis.ReadLatency(ctx, path)
	if err != nil {
		return nil, err
	}
	p.LatencySplit = report.LatencySplitSVG(split)
	return p, nil
}
