package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/formats"
)

// writeTestCapture writes a small capture with several blocks and returns
// its path.
func writeTestCapture(t *testing.T, dir, name string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	w, err := capture.Create(path, capture.Header{
		Tool:     "atbridge test",
		Start:    time.Date(2026, 11, 25, 19, 0, 0, 0, time.UTC),
		MonoBase: 1,
		Ports:    []capture.PortInfo{{Name: "host", Role: "host"}, {Name: "dev", Role: "device"}},
	}, &capture.WriterOptions{FlushInterval: -1, BlockSize: 256})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 40 {
		t0 := int64(i) * int64(time.Millisecond)
		if err := w.WriteChunk(t0, capture.PortHost, formats.ToDevice, []byte("AT+WSSEND=0,4\r\n")); err != nil {
			t.Fatal(err)
		}
		if err := w.WriteChunk(t0+500_000, capture.PortDevice, formats.ToHost, []byte("AT+WSSEND=0,4\r\n\r\nOK\r\n\r\n>")); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// damage writes a copy of src with bytes flipped at off (or cut at off when
// cut is set) and returns its path.
func damage(t *testing.T, src string, off int, cut bool) string {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if cut {
		b = b[:off]
	} else {
		for i := off; i < off+8 && i < len(b); i++ {
			b[i] ^= 0xA5
		}
	}
	p := src + ".damaged"
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestVerify(t *testing.T) {
	dir := t.TempDir()
	good := writeTestCapture(t, dir, "good.atcap")
	st, _ := os.Stat(good)
	notCapture := filepath.Join(dir, "notes.txt")
	os.WriteFile(notCapture, []byte("hello, this is not a capture\n"), 0o600)
	tests := []struct {
		name     string
		path     string
		code     int
		stdout   []string // substrings wanted on stdout
		stderr   string
		outLines int // lines wanted on stdout (0: do not check)
	}{
		{"whole", good, exitOK, []string{"good.atcap: OK: 80 records"}, "", 1},
		{"torn tail", damage(t, good, int(st.Size())*2/3, true), exitProblem, []string{"damaged", "records lost", "atbridge repair"}, "", 0},
		{"flipped bytes", damage(t, good, int(st.Size())/2, false), exitProblem, []string{"offset ", "records lost", "atbridge repair"}, "", 0},
		{"not a capture", notCapture, exitFailure, nil, "not an atcap capture", 0},
		{"missing", filepath.Join(dir, "nope.atcap"), exitFailure, nil, "nope.atcap", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := execCLI(t, "", "verify", tt.path)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, out, errOut)
			}
			for _, w := range tt.stdout {
				if !strings.Contains(out, w) {
					t.Errorf("stdout lacks %q:\n%s", w, out)
				}
			}
			if tt.stderr != "" && !strings.Contains(errOut, tt.stderr) {
				t.Errorf("stderr lacks %q: %s", tt.stderr, errOut)
			}
			if tt.outLines > 0 && strings.Count(out, "\n") != tt.outLines {
				t.Errorf("want %d lines, got:\n%s", tt.outLines, out)
			}
		})
	}
}
