package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/internal/session"
)

// sessionAtcap records testdata/sessions/NAME.session as a capture in dir.
func sessionAtcap(t *testing.T, dir, name string) string {
	t.Helper()
	s, err := session.ParseFile(filepath.Join("..", "..", "testdata", "sessions", name+".session"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name+".atcap")
	w, err := capture.Create(path, capture.Header{Tool: "atbridge test", Start: time.Date(2026, 11, 25, 19, 0, 0, 0, time.UTC), Meta: s.Meta}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range s.Steps {
		w.WriteChunk(st.Time, 0, st.Dir, st.Data)
	}
	w.WriteEvent(10e9, capture.Event{Type: capture.EvMarker, Text: "end of test"})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestExportCommand(t *testing.T) {
	dir := t.TempDir()
	in := sessionAtcap(t, dir, "seed-tcp")

	out := filepath.Join(dir, "a.pcapng")
	_, errOut, code := execCLI(t, "", "export", in, "-o", out)
	if code != exitOK || !strings.Contains(errOut, "packets") || !strings.Contains(errOut, "ws-link0") {
		t.Fatalf("export: exit %d: %s", code, errOut)
	}
	b, err := os.ReadFile(out)
	if err != nil || !bytes.HasPrefix(b, []byte{0x0A, 0x0D, 0x0D, 0x0A}) {
		t.Fatalf("not pcapng: %v % x", err, b[:min(len(b), 8)])
	}
	if st, _ := os.Stat(out); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", st.Mode().Perm())
	}

	// Stdout gives the same bytes; flags may follow FILE.
	stdout, _, code := execCLI(t, "", "export", "-o", "-", in)
	if code != exitOK || stdout != string(b) {
		t.Errorf("-o -: exit %d, %d bytes, want the %d of the file", code, len(stdout), len(b))
	}

	// Compression by extension.
	for ext, magic := range map[string][]byte{".gz": {0x1f, 0x8b}, ".zst": {0x28, 0xb5, 0x2f, 0xfd}} {
		p := filepath.Join(dir, "a.pcapng"+ext)
		if _, errOut, code := execCLI(t, "", "export", in, "-o", p); code != exitOK {
			t.Fatalf("%s: exit %d: %s", ext, code, errOut)
		}
		if c, _ := os.ReadFile(p); !bytes.HasPrefix(c, magic) {
			t.Errorf("%s: starts % x", ext, c[:min(len(c), 4)])
		}
	}

	// Classic pcap with one view.
	p := filepath.Join(dir, "ws.pcap")
	if _, errOut, code := execCLI(t, "", "export", "--format", "pcap", "--view", "ws", in, "-o", p); code != exitOK {
		t.Fatalf("pcap: exit %d: %s", code, errOut)
	}
	if c, _ := os.ReadFile(p); !bytes.HasPrefix(c, []byte{0x4d, 0x3c, 0xb2, 0xa1}) || c[20] != 1 {
		t.Errorf("pcap header % x", c[:24])
	}

	// Selections: a window leaves the raw packets of the window only.
	_, errOut, code = execCLI(t, "", "export", in, "-o", filepath.Join(dir, "w.pcapng"), "--since", "5s", "--until", "6.01s", "--view", "raw")
	if code != exitOK || !strings.Contains(errOut, "uart-raw-to_device 3, uart-raw-to_host 3") {
		t.Errorf("window: exit %d: %s", code, errOut)
	}
	_, errOut, code = execCLI(t, "", "export", in, "-o", filepath.Join(dir, "l.pcapng"), "--link", "0")
	if code != exitOK || strings.Contains(errOut, "uart-raw") || !strings.Contains(errOut, "ws-link0") {
		t.Errorf("--link 0: exit %d: %s", code, errOut)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"export", in}, "-o OUT is required"},
		{[]string{"export", "-o", "x.pcapng"}, "want one capture FILE"},
		{[]string{"export", in, "-o", out}, "--force"},
		{[]string{"export", in, "-o", "-", "--format", "pcap"}, "add --view"},
		{[]string{"export", in, "-o", "-", "--format", "pcap", "--view", "all"}, "not all"},
		{[]string{"export", in, "-o", "-", "--format", "json"}, "pcapng or pcap"},
		{[]string{"export", in, "-o", "-", "--view", "frames"}, "unknown view"},
		{[]string{"export", in, "-o", "-", "--frames", "some"}, "--frames must be"},
		{[]string{"export", in, "-o", "-", "--link", "x"}, "link number"},
		{[]string{"export", in, "-o", "-", "--since", "later"}, "--since"},
		{[]string{"export", in, "-o", "-", "--view", "raw", "--link", "1"}, "no view left"},
		{[]string{"export", filepath.Join(dir, "none.atcap"), "-o", "-"}, "no such file"},
	} {
		_, errOut, code := execCLI(t, "", tc.args...)
		if code != exitFailure || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, stderr %q, want %q", tc.args, code, errOut, tc.want)
		}
	}
	if _, _, code := execCLI(t, "", "export", in, "-o", out, "--force"); code != exitOK {
		t.Errorf("--force: exit %d", code)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, ".*tmp*")); len(m) > 0 {
		t.Errorf("temporary files left: %v", m)
	}
}

// TestExportDamagedCapture: exit 1, the export is still written.
func TestExportDamagedCapture(t *testing.T) {
	dir := t.TempDir()
	in := sessionAtcap(t, dir, "ws-data")
	b, _ := os.ReadFile(in)
	b[len(b)/2] ^= 0xFF
	os.WriteFile(in, b, 0o600)
	out := filepath.Join(dir, "d.pcapng")
	_, errOut, code := execCLI(t, "", "export", in, "-o", out)
	if code != exitProblem || !strings.Contains(errOut, "damaged") {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if _, err := os.Stat(out); err != nil {
		t.Error(err)
	}
}
