package main

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/atbridge/atbridge/capture"
)

// pcapngFlagUsage is the help of the --pcapng flag of command (proxy,
// sniff or emulate).
func pcapngFlagUsage(command string) string {
	return "also stream the session live as pcapng to this file or FIFO, or - for stdout: atbridge " + command + " ... --pcapng - | wireshark -k -i -"
}

// pcapngOut streams the records of a running recording (proxy, sniff,
// emulate) as pcapng, packet by packet, for Wireshark to show live. It
// writes the same pcapng as "atbridge export".
//
// A write error (the viewer went away) is reported once on stderr and
// ends the stream, never the recording. Observe is safe for concurrent
// use.
type pcapngOut struct {
	feed *capture.PcapFeed
	file *os.File // nil for stdout
	// alone says the stream is the only record of the session (extcap or
	// emulate without a capture file), for the message when it stops.
	alone  bool
	stderr io.Writer
	cmd    string
	start  time.Time
	once   sync.Once
}

// openPcapngOut starts a live pcapng stream at path ("-" is stdout) for
// command cmd. h is the header of the recording whose clock the records'
// times use (a capture writer's Header()); when h.Start is zero, the
// stream's clock starts now and Now must be the recording's clock.
func openPcapngOut(e *env, cmd, path string, h capture.Header) (*pcapngOut, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".gz", ".zst", ".zstd":
		return nil, fmt.Errorf("--pcapng %s: a live stream is written uncompressed (compress an .atcap later with atbridge export -o FILE.pcapng.zst)", path)
	}
	if h.Start.IsZero() {
		h.Start = time.Now().UTC()
	}
	p := &pcapngOut{stderr: e.stderr, cmd: cmd, start: h.Start}
	var w io.Writer
	if path == "-" {
		// When the viewer quits, writes to stdout must fail with EPIPE
		// rather than kill the recording with SIGPIPE.
		signal.Ignore(syscall.SIGPIPE)
		w = e.stdout
	} else {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			return nil, fmt.Errorf("--pcapng: %w", err)
		}
		p.file, w = f, f
	}
	if h.Meta == nil {
		h.Meta = map[string]string{}
	}
	feed, err := capture.NewPcapFeed(w, h, nil, true)
	if err != nil {
		if p.file != nil {
			p.file.Close()
		}
		return nil, fmt.Errorf("--pcapng: %w", err)
	}
	p.feed = feed
	return p, nil
}

// Now is nanoseconds since the stream's start: the recording clock to use
// when nothing else records (emulate without -w).
func (p *pcapngOut) Now() int64 { return int64(time.Since(p.start)) }

// Observe streams one record; it fits bridge.ProxyOptions.Observe and
// esp.Options.Record. The record is not retained.
func (p *pcapngOut) Observe(r *capture.Record) {
	if err := p.feed.Write(r); err != nil {
		p.once.Do(func() {
			if p.alone {
				fmt.Fprintf(p.stderr, "atbridge %s: live pcapng stopped: %v; nothing is recorded from here on (no capture file was given)\n", p.cmd, err)
				return
			}
			fmt.Fprintf(p.stderr, "atbridge %s: live pcapng stopped (the capture file goes on recording): %v\n", p.cmd, err)
		})
	}
}

// Chain returns an observer that calls next (when not nil), then Observe.
func (p *pcapngOut) Chain(next func(*capture.Record)) func(*capture.Record) {
	if next == nil {
		return p.Observe
	}
	return func(r *capture.Record) {
		next(r)
		p.Observe(r)
	}
}

// Close ends the stream (what the decoder still holds is written) and
// closes the file; stdout stays open. Call it after the recording stopped.
func (p *pcapngOut) Close() error {
	err := p.feed.Close()
	if p.file != nil {
		if cerr := p.file.Close(); err == nil {
			err = cerr
		}
	}
	return err
}
