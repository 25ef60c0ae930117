package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/formats"
)

// TestOverwriteRefused runs every command that writes a file with an
// existing file in the way: each refuses with exit 2 and one line naming
// --force, and the file is left byte for byte as it was.
func TestOverwriteRefused(t *testing.T) {
	dir := t.TempDir()
	in := sessionAtcap(t, dir, "seed-tcp")
	dump := filepath.Join(dir, "dump.txt")
	if err := os.WriteFile(dump, []byte("> 2026/11/25 19:00:00.000000  length=4 from=0 to=3\nAT\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	old := []byte("the only copy of an 862-record session\n")
	ex := filepath.Join(dir, "prev.atcap")
	pty := "pty:" + filepath.Join(dir, "esp")
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"proxy", []string{"proxy", "--host", pty, "--device", "emulate", "-w", ex}},
		{"proxy --pcapng", []string{"proxy", "--host", pty, "--device", "emulate", "-w", filepath.Join(dir, "new.atcap"), "--pcapng", ex}},
		{"proxy --split", []string{"proxy", "--host", pty, "--device", "emulate", "-w", filepath.Join(dir, "rec.atcap"), "--split", "1MB"}},
		{"sniff", []string{"sniff", "--host-rx", pty, "--device-rx", pty + "2", "-w", ex}},
		{"emulate", []string{"emulate", "--port", pty, "-w", ex}},
		{"emulate --pcapng", []string{"emulate", "--port", pty, "--pcapng", ex}},
		{"mock", []string{"mock", in, "--port", pty, "-w", ex}},
		{"replay -w", []string{"replay", in, "--device", "emulate", "-w", ex}},
		{"replay --junit", []string{"replay", in, "--device", "emulate", "--junit", ex}},
		{"diff --junit", []string{"diff", in, in, "--junit", ex}},
		{"demo", []string{"demo", "-w", ex}},
		{"redact", []string{"redact", in, "-o", ex}},
		{"report", []string{"report", in, "-o", ex}},
		{"export", []string{"export", in, "-o", ex}},
		{"import", []string{"import", "--from", "socat", dump, "-o", ex}},
		{"repair", []string{"repair", in, "-o", ex}},
		{"extcap", []string{"extcap", "--capture", "--extcap-interface", extcapProxy, "--fifo", filepath.Join(dir, "fifo"), "--host", pty, "--device", "emulate", "--write", ex}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.WriteFile(ex, old, 0o600); err != nil {
				t.Fatal(err)
			}
			first := filepath.Join(dir, "rec-001.atcap")
			if err := os.WriteFile(first, old, 0o600); err != nil {
				t.Fatal(err)
			}
			_, stderr, code := execCLI(t, "", tc.args...)
			if code != exitFailure || !strings.Contains(stderr, "exists; pass --force to replace it") {
				t.Errorf("exit %d, stderr %q; want 2 and the --force hint", code, stderr)
			}
			if n := strings.Count(strings.TrimSpace(stderr), "\n"); n != 0 {
				t.Errorf("want one line, got %d:\n%s", n+1, stderr)
			}
			for _, p := range []string{ex, first} {
				if b, _ := os.ReadFile(p); !bytes.Equal(b, old) {
					t.Errorf("%s changed: %q", p, b)
				}
			}
			if _, err := os.Lstat(filepath.Join(dir, "esp")); err == nil {
				t.Errorf("a port was opened before the refusal")
			}
			if _, err := os.Stat(filepath.Join(dir, "new.atcap")); err == nil {
				t.Errorf("new.atcap was left behind")
			}
		})
	}
}

// TestOverwriteForceKeepsOldUntilDone records through a real pty with
// --force over an existing capture: while the proxy runs the old file is
// still whole under its name; when it stops the new recording replaces it
// and no temporary file is left.
func TestOverwriteForceKeepsOldUntilDone(t *testing.T) {
	dir := t.TempDir()
	link := filepath.Join(dir, "esp")
	rec := filepath.Join(dir, "prev.atcap")
	old := []byte("the previous session\n")
	if err := os.WriteFile(rec, old, 0o600); err != nil {
		t.Fatal(err)
	}
	_, stderr, stop := startCmd(t, "proxy", "--host", "pty:"+link, "--device", "emulate", "-w", rec, "--force", "--quiet")
	f := openLink(t, link, stderr)
	if _, err := f.WriteString("AT\r\n"); err != nil {
		t.Fatal(err)
	}
	var got []byte
	readUntil(t, f, &got, "OK\r\n")
	if b, _ := os.ReadFile(rec); !bytes.Equal(b, old) {
		t.Fatalf("the old file changed while recording: %q", b)
	}
	if code := stop(); code != exitOK && code != exitSignal {
		t.Fatalf("proxy exited %d: %s", code, stderr.String())
	}
	var host []byte
	for _, x := range readRecords(t, rec) {
		if x.Kind == capture.KindChunk && x.Dir == formats.ToDevice {
			host = append(host, x.Data...)
		}
	}
	if !bytes.Contains(host, []byte("AT\r\n")) {
		t.Errorf("the new recording lacks the host's AT: %q", host)
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.Contains(e.Name(), ".tmp") {
			t.Errorf("temporary file left: %s", e.Name())
		}
	}
	if !strings.Contains(stderr.String(), "records in "+rec) {
		t.Errorf("the summary does not name %s: %s", rec, stderr.String())
	}
}
