package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/atbridge/atbridge/bridge/port"
	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/formats"
)

// TestShowOrderUncertain: in a sniffed capture, a read on one tap less
// than the taps' ordering error after one on the other is flagged; reads
// further apart, and captures without the bound (proxy), are not.
func TestShowOrderUncertain(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, meta map[string]string) string {
		p := filepath.Join(dir, name)
		w, err := capture.Create(p, capture.Header{Tool: "test", Meta: meta}, nil)
		if err != nil {
			t.Fatal(err)
		}
		w.WriteChunk(1e6, capture.PortHost, formats.ToDevice, []byte("AT\r\n"))
		w.WriteChunk(1e6+int64(time.Millisecond), capture.PortDevice, formats.ToHost, []byte("AT\r\n\r\nOK\r\n")) // 1 ms: uncertain
		w.WriteChunk(20e6, capture.PortHost, formats.ToDevice, []byte("AT+GMR\r\n"))
		w.WriteChunk(30e6, capture.PortDevice, formats.ToHost, []byte("AT+GMR\r\nv\r\nOK\r\n")) // 10 ms: certain
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		return p
	}
	sniffed := write("sniff.atcap", map[string]string{"command": "sniff", tapOrderMeta: fmt.Sprint(int64(tapOrderError))})
	proxied := write("proxy.atcap", map[string]string{"command": "proxy"})
	out, _, _ := execCLI(t, "", "show", sniffed)
	if n := strings.Count(out, "order uncertain"); n != 1 {
		t.Errorf("sniffed: %d order-uncertain notes, want 1:\n%s", n, out)
	}
	out, _, _ = execCLI(t, "", "show", "--json", sniffed)
	if !strings.Contains(out, `"event":"note"`) || !strings.Contains(out, "order uncertain") {
		t.Errorf("show --json does not flag it:\n%s", out)
	}
	if out, _, _ = execCLI(t, "", "show", proxied); strings.Contains(out, "order uncertain") {
		t.Errorf("a proxy capture is flagged:\n%s", out)
	}
}

// TestSniffRecordsOrderBound: atbridge sniff over two real ptys writes the
// taps' ordering error into its capture's header, for show to use.
func TestSniffRecordsOrderBound(t *testing.T) {
	dir := t.TempDir()
	hl, dl := filepath.Join(dir, "htx"), filepath.Join(dir, "dtx")
	var ports []port.Port
	for _, l := range []string{hl, dl} {
		p, err := port.Open(context.Background(), "pty:"+l, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		ports = append(ports, p)
	}
	rec := filepath.Join(dir, "y.atcap")
	_, stderr, stop := startCmd(t, "sniff", "--host-rx", hl, "--device-rx", dl, "-w", rec, "--quiet")
	waitFor(t, stderr, "recording to")
	ports[0].Write([]byte("AT\r\n"))
	time.Sleep(500 * time.Microsecond)
	ports[1].Write([]byte("AT\r\n\r\nOK\r\n"))
	time.Sleep(100 * time.Millisecond)
	if code := stop(); code != exitOK && code != exitSignal {
		t.Fatalf("sniff exited %d: %s", code, stderr.String())
	}
	_, h, recs := everything(t, rec)
	if h.Meta[tapOrderMeta] != fmt.Sprint(int64(tapOrderError)) {
		t.Errorf("header meta %v lacks %s", h.Meta, tapOrderMeta)
	}
	var dirs []formats.Dir
	var times []int64
	for _, r := range recs {
		if r.Kind == capture.KindChunk {
			dirs = append(dirs, r.Dir)
			times = append(times, r.Time)
		}
	}
	if len(dirs) < 2 || dirs[0] != formats.ToDevice || dirs[len(dirs)-1] != formats.ToHost {
		t.Errorf("chunk directions %v: the command must come first", dirs)
	}
	// Written 0.5 ms apart; the kernel may still hand the second tap's read
	// over later than the bound, and then the pair is in order and not
	// close: only a pair recorded closer than the bound must be flagged.
	if len(times) >= 2 && times[len(times)-1]-times[0] < int64(tapOrderError) {
		if out, _, _ := execCLI(t, "", "show", rec); !strings.Contains(out, "order uncertain") {
			t.Errorf("recorded %v apart, show should flag the order:\n%s", time.Duration(times[len(times)-1]-times[0]), out)
		}
	}
}
