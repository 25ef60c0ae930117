package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
