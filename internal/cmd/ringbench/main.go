// Command ringbench runs a simulated soak session through a ring
// recording (bridge.RingWriter, as "atbridge proxy --ring" uses it) as fast
// as the machine goes, on a simulated clock, and shows that memory stays
// flat and the windows are exactly the ones asked for.
//
// The session is what a fast device does at full rate on a 921600 baud
// line: AT+WSSEND of 200 bytes, the prompt, SEND OK, and a +WS_DATA of 200
// bytes back, the device side kept busy all the time (one cycle a 2.6 ms
// of line time). Every -every of simulated time one command is answered
// ERROR instead: a trigger. Each record's payload carries its sequence
// number, so a window's file is checked record by record: it must begin
// with the first record of the -ring span before its trigger, end with the
// last within -after past it, and miss none in between.
//
// Each simulated hour it prints a row: records fed, what the ring holds,
// the Go heap after a GC, and the windows written; then one row a window
// with its check. A plain capture.Writer of the same traffic (the first
// simulated hour of it) gives the disk a full recording would take, side
// by side with what the ring wrote. Output is a markdown table.
//
//	go run ./internal/cmd/ringbench -hours 24
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/atbridge/atbridge/bridge"
	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/formats"
)

func main() {
	hours := flag.Float64("hours", 24, "simulated length of the session")
	span := flag.Duration("ring", 5*time.Minute, "the ring's span (--ring)")
	after := flag.Duration("after", 30*time.Second, "the window's after part (--after)")
	every := flag.Duration("every", 2*time.Hour, "simulated time between triggers (ERROR results)")
	baud := flag.Int("baud", 921600, "line speed the simulated traffic fills")
	dir := flag.String("dir", "", "directory for the windows (default: a temporary one, removed)")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "ringbench: a simulated soak session at full rate through a ring recording:\nmemory over time and an exact check of every window.\n\nUsage:\n  go run ./internal/cmd/ringbench [flags]\n\nFlags:\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if err := run(*hours, *span, *after, *every, *baud, *dir); err != nil {
		fmt.Fprintln(os.Stderr, "ringbench:", err)
		os.Exit(1)
	}
}

// trig is one trigger and what its window must hold.
type trig struct {
	at          int64  // time of the ERROR chunk
	first, last uint64 // sequence numbers of the window's first and last records
}

func run(hours float64, span, after, every time.Duration, baud int, dir string) error {
	if dir == "" {
		d, err := os.MkdirTemp("", "ringbench")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	total := int64(hours * float64(time.Hour))
	byteNS := int64(time.Second) * 10 / int64(baud) // 8N1: ten bits a byte
	var clock atomic.Int64                          // read by the ring's ticker too
	trigger, _ := bridge.ParseTrigger("error")
	line := capture.LineSettings{Baud: baud, DataBits: 8, Parity: 'N', StopBits: capture.Stop1}
	h := capture.Header{Tool: "ringbench", Ports: []capture.PortInfo{
		{Name: "sim:host", Role: "host", Line: line}, {Name: "sim:device", Role: "device", Line: line}}}
	windows := make(chan bridge.Window, 1024)
	rw, err := bridge.CreateRing(filepath.Join(dir, "soak.atcap"), h, bridge.RingOptions{
		Span: span, After: after, Triggers: []bridge.Trigger{trigger},
		Clock:    clock.Load,
		OnWindow: func(w bridge.Window) { windows <- w },
	})
	if err != nil {
		return err
	}
	// The first hour also goes to a plain capture, for the disk a full
	// recording takes.
	fullPath := filepath.Join(dir, "full-hour.atcap")
	full, err := capture.Create(fullPath, h, nil)
	if err != nil {
		return err
	}
	fullOpen := true

	// times holds the time of every record of the last span (seq base
	// upward), to know where a window must begin: 8 bytes a record.
	var times []int64
	var base, seq uint64
	var trigs []*trig
	var open *trig // the trigger whose after part is running
	payload := make([]byte, 200)
	rec := capture.Record{Kind: capture.KindChunk}
	var fedBytes int64
	emit := func(t int64, dir formats.Dir, parts ...[]byte) error {
		rec.Time, rec.Dir, rec.Port = t, dir, capture.PortHost
		if dir == formats.ToHost {
			rec.Port = capture.PortDevice
		}
		rec.Data = rec.Data[:0]
		for _, p := range parts {
			rec.Data = append(rec.Data, p...)
		}
		clock.Store(t)
		times = append(times, t)
		for len(times) > 1 && times[0] < t-int64(span) {
			times, base = times[1:], base+1
		}
		if open != nil {
			if t <= open.at+int64(after) {
				open.last = seq
			} else {
				open = nil
			}
		}
		if err := rw.Write(&rec); err != nil {
			return err
		}
		if fullOpen {
			if err := full.Write(&rec); err != nil {
				return err
			}
		}
		fedBytes += int64(len(rec.Data))
		seq++
		return nil
	}

	fmt.Printf("Simulated %g h at %d baud: a %s ring, %s after, an ERROR every %s.\n\n", hours, baud, span, after, every)
	fmt.Println("| simulated hour | records fed | MB fed | ring holds (records) | ring holds (MiB) | Go heap after GC (MiB) | windows written | wall time |")
	fmt.Println("|---:|---:|---:|---:|---:|---:|---:|---:|")
	start := time.Now()
	next, nextTrig := int64(time.Hour), int64(every)
	var fullBytes int64
	closeFull := func() error {
		fullOpen = false
		if err := full.Close(); err != nil {
			return err
		}
		st, err := os.Stat(fullPath)
		if err == nil {
			fullBytes = st.Size()
		}
		return err
	}
	for t := int64(0); t < total; {
		if t >= nextTrig {
			// A command the firmware refuses: its ERROR is the trigger.
			nextTrig += int64(every)
			if err := emit(t, formats.ToDevice, []byte("AT+CIPSTATUS\r\n")); err != nil {
				return err
			}
			t += 14 * byteNS
			tr := &trig{at: t}
			trigs, open = append(trigs, tr), tr
			if err := emit(t, formats.ToHost, []byte("\r\nERROR\r\n")); err != nil {
				return err
			}
			// The ring holds from the first record of the span before
			// the ERROR, as times does after this emit.
			tr.first = base
			t += 9 * byteNS
			continue
		}
		if err := emit(t, formats.ToDevice, []byte("AT+WSSEND=0,200\r\n")); err != nil {
			return err
		}
		t += 17 * byteNS
		if err := emit(t, formats.ToHost, []byte("\r\nOK\r\n\r\n>")); err != nil {
			return err
		}
		t += 9 * byteNS
		fillSeq(payload, seq)
		if err := emit(t, formats.ToDevice, payload); err != nil {
			return err
		}
		t += 200 * byteNS
		if err := emit(t, formats.ToHost, []byte("\r\nSEND OK\r\n")); err != nil {
			return err
		}
		t += 11 * byteNS
		if err := emit(t, formats.ToHost, []byte("\r\n+WS_DATA:0,200,"), payload, []byte("\r\n")); err != nil {
			return err
		}
		t += 220 * byteNS
		if fullOpen && t >= int64(time.Hour) {
			if err := closeFull(); err != nil {
				return err
			}
		}
		if t >= next {
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			nr, nb := rw.Held()
			fmt.Printf("| %d | %d | %.0f | %d | %.1f | %.1f | %d | %s |\n", next/int64(time.Hour), seq, float64(fedBytes)/1e6,
				nr, float64(nb)/(1<<20), float64(ms.HeapAlloc)/(1<<20), len(rw.Files()), time.Since(start).Round(time.Second))
			next += int64(time.Hour)
		}
	}
	if fullOpen {
		if err := closeFull(); err != nil {
			return err
		}
	}
	if err := rw.Close(); err != nil {
		return err
	}
	close(windows)
	var written []bridge.Window
	for w := range windows {
		written = append(written, w)
	}
	slices.SortFunc(written, func(a, b bridge.Window) int { return a.N - b.N })

	fmt.Println()
	fmt.Println("| window | trigger at | records | first..last record | expected | check | file |")
	fmt.Println("|---:|---:|---:|---|---|---|---:|")
	var ringDisk int64
	bad := 0
	for i, w := range written {
		first, last, n, gaps, err := scan(w.Path)
		var size int64
		if st, serr := os.Stat(w.Path); serr == nil {
			size = st.Size()
		}
		ringDisk += size
		verdict, want := "exact", "-"
		if i < len(trigs) {
			want = fmt.Sprintf("%d..%d", trigs[i].first, trigs[i].last)
		}
		switch {
		case err != nil:
			verdict = "read error: " + err.Error()
		case i >= len(trigs):
			verdict = "unplanned window"
		case gaps > 0:
			verdict = fmt.Sprintf("%d records missing inside", gaps)
		case first != trigs[i].first || last != trigs[i].last:
			verdict = "edges differ"
		}
		if verdict != "exact" {
			bad++
		}
		fmt.Printf("| %d | %s | %d | %d..%d | %s | %s | %.1f MB |\n", w.N, time.Duration(w.At).Round(time.Millisecond), n, first, last, want, verdict, float64(size)/1e6)
	}
	if len(written) != len(trigs) {
		bad++
		fmt.Printf("\n%d windows written, %d triggers\n", len(written), len(trigs))
	}
	fmt.Printf("\nDisk: the ring wrote %.1f MB in %d windows; a full recording of the same traffic takes %.1f MB an hour (%.0f MB for %g h).\n",
		float64(ringDisk)/1e6, len(written), float64(fullBytes)/1e6, float64(fullBytes)/1e6*hours, hours)
	if bad > 0 {
		return fmt.Errorf("%d window checks failed", bad)
	}
	return nil
}

// fillSeq writes seq in the payload's first bytes, the rest left as is.
func fillSeq(p []byte, seq uint64) {
	copy(p, fmt.Sprintf("seq=%016d;", seq))
	for i := 21; i < len(p); i++ {
		p[i] = 'a' + byte(i%26)
	}
}

// scan reads a window file and returns the sequence numbers of its first
// and last records, how many chunks it holds and how many are missing
// between them. The payload chunks carry their own sequence number; the
// others are counted from them.
func scan(path string) (first, last uint64, n int64, gaps int64, err error) {
	r, err := capture.Open(path, nil)
	if err != nil {
		return 0, 0, 0, 0, err
	}
	defer r.Close()
	var base uint64
	haveBase := false
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return 0, 0, 0, 0, err
		}
		if rec.Kind != capture.KindChunk {
			continue
		}
		if s, ok := seqOf(rec.Data); ok {
			switch {
			case !haveBase:
				base, haveBase = s-uint64(n), true
			case s != base+uint64(n):
				gaps++
				base = s - uint64(n)
			}
		}
		n++
	}
	if !haveBase {
		return 0, 0, n, 0, errors.New("no payload record in the window")
	}
	return base, base + uint64(n) - 1, n, gaps, nil
}

func seqOf(p []byte) (uint64, bool) {
	if len(p) < 21 || string(p[:4]) != "seq=" {
		return 0, false
	}
	v, err := strconv.ParseUint(string(p[4:20]), 10, 64)
	return v, err == nil
}
