package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/atbridge/atbridge/analysis"
	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/formats/at"
	"github.com/atbridge/atbridge/formats/view"
	"github.com/atbridge/atbridge/internal/report"
	"github.com/atbridge/atbridge/internal/web"
)

// httpFlagUsage is --http's help, the same on every command that has it.
const httpFlagUsage = "serve a live view of the session in a browser at ADDR (:8080, or 0.0.0.0:8080 to let other machines in; loopback unless a host is given); the URL with its access token is printed at start"

func registerHTTP(fs *flag.FlagSet, addr *string) {
	fs.StringVar(addr, "http", "", httpFlagUsage)
}

// webView feeds a live web.Server from a session's records: the records go
// through an analysis.Live (a bounded queue that never holds up the
// recording) into a shower writing "show --json" lines, which become the
// page's rows, exactly as "atbridge report" makes its rows.
type webView struct {
	mu sync.Mutex // observe may be called from several goroutines (the emulator's links)
	// tick and inTick count the chunks and frames of the current 100 ms;
	// past viewBudget the rest are left out of the view (dropped counts
	// them) so that the view never takes the recording's CPU.
	tick          time.Time
	inTick, bytes int
	dropped       int64
	srv           *web.Server
	s             *shower
	live          *analysis.Live
	done          chan struct{}
}

// startWebView serves the live view for a session with header h. mark
// records a marker typed in the page; download opens the capture so far
// (nil: none).
func startWebView(e *env, name, addr string, h capture.Header, mark func(string), download func() (io.ReadCloser, string, error)) (*webView, error) {
	srv, err := web.Start(web.Options{Addr: addr, Title: name + " (live)", Header: h, Live: true, Mark: mark, Download: download})
	if err != nil {
		return nil, err
	}
	v := &webView{
		srv: srv,
		s: &shower{
			out:      bufio.NewWriterSize(&rowWriter{srv: srv}, 64<<10),
			f:        &showFlags{json: true, link: -1},
			start:    h.Start,
			until:    1<<63 - 1,
			dl:       analysis.NewDeviceLog(),
			logLevel: 'V',
		},
		live: analysis.NewLive(h, &analysis.LiveOptions{Viewer: "browser view", Queue: 1 << 14}),
		done: make(chan struct{}),
	}
	go func() {
		defer close(v.done)
		v.live.Run(v)
	}()
	fmt.Fprintf(e.stderr, "atbridge %s: live view at %s\n", name, srv.URL())
	return v, nil
}

// viewBudget and viewBytes bound the chunks and frames, and their bytes,
// the browser view decodes in 100 ms: 2,500 reads and 160 KB a second,
// more than a person reads and most of what a 921600 baud line carries
// (184 KB a second both ways), a small share of a core where a saturated
// pty proxy moves 60 MB a second (proxybench's atbridge-bin-http). Past
// them the view shows a sample; the capture has everything and the page
// is told how many reads it left out.
const (
	viewBudget = 250
	viewBytes  = 16 << 10
)

// observe is the session's Observe hook.
func (v *webView) observe(r *capture.Record) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if r.Kind != capture.KindEvent {
		if now := time.Now(); now.Sub(v.tick) >= web.Tick {
			v.tick, v.inTick, v.bytes = now, 0, 0
			if v.dropped > 0 {
				v.srv.Skipped(v.dropped, "past 2,500 reads or 160 KB a second the view shows a sample; the capture has them all")
				v.dropped = 0
			}
		}
		if v.inTick >= viewBudget || v.bytes >= viewBytes {
			v.dropped++
			return
		}
		v.inTick++
		v.bytes += len(r.Data)
	}
	v.live.Observe(r)
}

// Events, Record and Tick make webView the Live's sink.
func (v *webView) Events(evs []at.Event)    { v.s.events(evs) }
func (v *webView) Record(r *capture.Record) { v.s.record(r) }
func (v *webView) Tick() {
	v.s.drain(-1)
	v.s.out.Flush()
}

// close hands the page what is queued, tells it the session ended and
// stops serving.
func (v *webView) close() {
	v.mu.Lock()
	v.live.Close()
	v.mu.Unlock()
	<-v.done
	v.s.logFlush()
	v.s.drain(-1)
	v.s.out.Flush()
	v.srv.Close()
}

// rowWriter turns "show --json" lines into the page's rows.
type rowWriter struct {
	srv  *web.Server
	part []byte
	rows []web.Row
}

func (w *rowWriter) Write(p []byte) (int, error) {
	n := len(p)
	w.rows = w.rows[:0]
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			w.part = append(w.part, p...)
			break
		}
		line := p[:i]
		if len(w.part) > 0 {
			line = append(w.part, line...)
		}
		if r, ok := jsonRow(line); ok {
			w.rows = append(w.rows, r)
		}
		w.part, p = w.part[:0], p[i+1:]
	}
	if len(w.rows) > 0 {
		w.srv.Add(w.rows...)
	}
	return n, nil
}

// jsonRow makes a page row of one "show --json" line; the header line and
// anything that does not parse are not rows.
func jsonRow(line []byte) (web.Row, bool) {
	var j view.JSONEvent
	if json.Unmarshal(line, &j) != nil || j.Kind == "header" {
		return web.Row{}, false
	}
	link := -1
	if j.Link != nil {
		link = *j.Link
	}
	text, flags := report.RowText(&j)
	r := web.Row{T: j.OffsetNS, Dir: j.Dir, Kind: j.Kind, Name: j.Name, Link: link, Text: text, Flags: flags}
	if j.Tx != nil {
		r.LatencyNS = j.Tx.LatencyNS
	}
	return r, true
}

// downloadFile serves path as it is now: a live capture's blocks are whole
// on disk within the flush interval, and readers take a file that ends
// without its index (a crash-safe format), so the copy is a valid capture
// of the session so far. name is what the browser saves it as.
func downloadFile(path, name string) func() (io.ReadCloser, string, error) {
	return func() (io.ReadCloser, string, error) {
		f, err := os.Open(path)
		if err != nil {
			return nil, "", fmt.Errorf("the capture is not readable yet: %v", err)
		}
		return f, filepath.Base(name), nil
	}
}

// chainObserve returns an Observe hook calling a (when set), then b.
func chainObserve(a, b func(*capture.Record)) func(*capture.Record) {
	if a == nil {
		return b
	}
	return func(r *capture.Record) {
		a(r)
		b(r)
	}
}

// attachWeb serves the live view for a command whose records go through a
// Record hook (emulate, mock, with the host app on portName): it chains the
// hook, sets the clock when nothing else did, and records the page's
// markers through the hook. rec and out are the -w capture being written
// (nil for none; closed and abandoned if the view cannot start), write its
// name.
func attachWeb(e *env, command, addr, portName string, line capture.LineSettings, rec *capture.Writer, out *output, write string, clock *func() int64, record *func(*capture.Record)) (*webView, error) {
	h := capture.Header{Tool: "atbridge " + toolVersion(), Ports: []capture.PortInfo{{Name: portName, Role: "host", Line: line}}}
	var download func() (io.ReadCloser, string, error)
	if rec != nil {
		h = rec.Header()
		download = downloadFile(out.Name(), write)
	}
	if *clock == nil {
		start := time.Now()
		h.Start = start.UTC()
		*clock = func() int64 { return int64(time.Since(start)) }
	}
	now := *clock
	var hook func(*capture.Record)
	mark := func(t string) {
		hook(&capture.Record{Kind: capture.KindEvent, Time: now(), Event: capture.Event{Type: capture.EvMarker, Text: t}})
	}
	v, err := startWebView(e, command, addr, h, mark, download)
	if err != nil {
		if rec != nil {
			rec.Close()
			out.Abort()
		}
		return nil, err
	}
	*record = chainObserve(*record, v.observe)
	hook = *record
	return v, nil
}
