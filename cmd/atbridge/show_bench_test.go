package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/formats"
	"github.com/atbridge/atbridge/internal/atcorpus"
)

// benchCapture writes about 8 MB of realistic ESP-AT WebSocket traffic to a
// capture and returns its path and the serial byte count.
func benchCapture(b *testing.B) (string, int64) {
	b.Helper()
	path := filepath.Join(b.TempDir(), "bench.atcap")
	w, err := capture.Create(path, capture.Header{Start: time.Date(2026, 11, 25, 19, 0, 0, 0, time.UTC), MonoBase: 1}, &capture.WriterOptions{FlushInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	var n int64
	for _, c := range atcorpus.Generate(1, 8<<20) {
		port := capture.PortDevice
		if c.Dir == formats.ToDevice {
			port = capture.PortHost
		}
		w.WriteChunk(c.Time, port, c.Dir, c.Data)
		n += int64(len(c.Data))
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	return path, n
}

// BenchmarkShow measures "atbridge show" end to end (read, decompress,
// decode, render) in serial bytes per second, for each output form.
func BenchmarkShow(b *testing.B) {
	path, n := benchCapture(b)
	for _, c := range []struct {
		name string
		args []string
	}{{"text", []string{"show"}}, {"json", []string{"show", "--json"}}, {"raw-json", []string{"show", "--raw", "--json"}}, {"stats", []string{"stats"}}} {
		args := c.args
		b.Run(c.name, func(b *testing.B) {
			e := &env{stdout: io.Discard, stderr: io.Discard, getenv: func(string) string { return "" }}
			b.SetBytes(n)
			for b.Loop() {
				if code := run(context.Background(), append(args, path), e); code != exitOK {
					b.Fatalf("exit %d", code)
				}
			}
		})
	}
}

// BenchmarkImportSocat measures "atbridge import" on a socat -x -v dump of
// the same traffic, in dump bytes per second.
func BenchmarkImportSocat(b *testing.B) {
	var dump bytes.Buffer
	var seen [2]int64
	start := time.Date(2026, 11, 25, 19, 0, 0, 0, time.UTC)
	for _, c := range atcorpus.Generate(1, 4<<20) {
		d, arrow := 0, '>'
		if c.Dir != formats.ToDevice {
			d, arrow = 1, '<'
		}
		t := start.Add(time.Duration(c.Time))
		// socat 1.7.4's layout: microseconds as nine digits, 16 bytes a line.
		fmt.Fprintf(&dump, "%c %s.%09d  length=%d from=%d to=%d\n", arrow, t.Format("2006/01/02 15:04:05"), t.Nanosecond()/1000, len(c.Data), seen[d], seen[d]+int64(len(c.Data))-1)
		seen[d] += int64(len(c.Data))
		for i, x := range c.Data {
			fmt.Fprintf(&dump, " %02x", x)
			if i%16 == 15 || i == len(c.Data)-1 {
				dump.WriteString("\n")
			}
		}
		dump.WriteString("--\n")
	}
	dir := b.TempDir()
	src := filepath.Join(dir, "bench.socat")
	if err := os.WriteFile(src, dump.Bytes(), 0o600); err != nil {
		b.Fatal(err)
	}
	e := &env{stdout: io.Discard, stderr: io.Discard, getenv: func(string) string { return "" }}
	b.SetBytes(int64(dump.Len()))
	for b.Loop() {
		if code := run(context.Background(), []string{"import", "--from", "socat", "--tz", "UTC", "--force", src, "-o", filepath.Join(dir, "out.atcap")}, e); code != exitOK {
			b.Fatalf("exit %d", code)
		}
	}
}
