package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/internal/session"
)

var updateGoldens = flag.Bool("update", false, "rewrite testdata/*.atcap, *.show.txt and *.jsonl from testdata/sessions")

// goldenStart is the fixed start of every golden capture, so the files are
// byte-for-byte reproducible.
var goldenStart = time.Date(2026, 11, 25, 19, 0, 0, 0, time.UTC)

// sessionCapture renders a scripted session as a capture, in memory:
// every step a chunk read from the host port (to the device) or the device
// port (to the host).
func sessionCapture(t *testing.T, name string, s *session.Session) []byte {
	t.Helper()
	meta := map[string]string{"session": name}
	for k, v := range s.Meta {
		meta[k] = v
	}
	var buf bytes.Buffer
	w, err := capture.NewWriter(&buf, capture.Header{
		Tool:     "atbridge golden",
		Start:    goldenStart,
		MonoBase: 1,
		Ports:    []capture.PortInfo{{Name: "host app", Role: "host"}, {Name: "ESP32", Role: "device"}},
		Meta:     meta,
	}, &capture.WriterOptions{FlushInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range s.Records() {
		if err := w.Write(&r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// checkGolden compares got with the file at path, or rewrites the file
// under -update.
func checkGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *updateGoldens {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./cmd/atbridge/ -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
		for i := 0; i < min(len(gl), len(wl)); i++ {
			if gl[i] != wl[i] {
				t.Fatalf("%s differs (run go test ./cmd/atbridge/ -update if the change is intended); first difference, line %d:\n got: %q\nwant: %q", path, i+1, gl[i], wl[i])
			}
		}
		t.Fatalf("%s differs (run go test ./cmd/atbridge/ -update if the change is intended): %d bytes, want %d", path, len(got), len(want))
	}
}

// TestGoldens turns every testdata/sessions/*.session into
// testdata/NAME.atcap and checks "atbridge show" and "show --json" of it
// against testdata/NAME.show.txt and NAME.jsonl.
func TestGoldens(t *testing.T) {
	t.Chdir("../..") // paths in the goldens read as a user at the repository root types them
	files, _ := filepath.Glob("testdata/sessions/*.session")
	if len(files) == 0 {
		t.Fatal("no testdata/sessions/*.session")
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".session")
		t.Run(name, func(t *testing.T) {
			s, err := session.ParseFile(f)
			if err != nil {
				t.Fatal(err)
			}
			atcap := sessionCapture(t, name, s)
			if again := sessionCapture(t, name, s); !bytes.Equal(atcap, again) {
				t.Fatal("the same session gives different capture bytes: captures are not deterministic")
			}
			path := "testdata/" + name + ".atcap"
			checkGolden(t, path, atcap)
			for _, g := range []struct {
				ext  string
				args []string
			}{{".show.txt", []string{"show", path}}, {".jsonl", []string{"show", "--json", path}}} {
				out, errOut, code := execCLI(t, "", g.args...)
				if code != exitOK || errOut != "" {
					t.Fatalf("%q: exit %d, stderr %s", g.args, code, errOut)
				}
				checkGolden(t, "testdata/"+name+g.ext, []byte(out))
			}
			// The decoded bytes of each direction are exactly the session's.
			out, _, _ := execCLI(t, "", "show", "--raw", "--json", path)
			if n := strings.Count(out, "\n"); n != len(s.Steps)+1 {
				t.Errorf("--raw --json: %d lines for %d steps and the header", n, len(s.Steps))
			}
		})
	}
}

// serves are the commands that run until interrupted.
var serves = map[string]bool{"mock": true, "view": true, "emulate": true, "proxy": true, "sniff": true}

// TestREADMECommands runs every atbridge command the README shows on the
// repository's own files, so the front door keeps working.
func TestREADMECommands(t *testing.T) {
	t.Chdir("../..")
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	ran := 0
	inCode := false
	for _, line := range strings.Split(string(readme), "\n") {
		if strings.HasPrefix(line, "```") {
			inCode = !inCode
			continue
		}
		line, _, _ = strings.Cut(line, "|") // run the atbridge part of a pipe
		line, _, _ = strings.Cut(line, " #")
		line = strings.TrimSpace(line)
		var args []string
		switch {
		case !inCode || !strings.Contains(line, "testdata/"):
			continue
		case strings.HasPrefix(line, "atbridge "):
			args = strings.Fields(line)[1:]
		case strings.HasPrefix(line, "go run ./cmd/atbridge "):
			args = strings.Fields(line)[3:]
		default:
			continue
		}
		ran++
		if serves[args[0]] {
			// Runs until Ctrl-C: it must start and serve, then stop
			// cleanly when interrupted. Its pty and page go to places of
			// the test's own so parallel runs do not collide.
			for i := range args {
				switch {
				case i > 0 && args[i-1] == "--http":
					args[i] = "127.0.0.1:0"
				case strings.HasPrefix(args[i], "pty:"):
					args[i] = "pty:" + filepath.Join(t.TempDir(), "esp")
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			out, errOut, code := execCLICtx(t, ctx, "", args...)
			cancel()
			// Its exit code is its verdict on what it served (mock: 1, no
			// host asked); only "could not run" is wrong here.
			if code == exitFailure || out+errOut == "" || strings.Contains(errOut, "rror") {
				t.Errorf("README command %q: exit %d after Ctrl-C\nstdout: %s\nstderr: %s", line, code, out, errOut)
			}
			continue
		}
		if out, errOut, code := execCLI(t, "", args...); code != exitOK || out == "" {
			t.Errorf("README command %q: exit %d\n%s", line, code, errOut)
		}
	}
	if ran < 3 {
		t.Fatalf("found only %d README commands to run", ran)
	}
}
