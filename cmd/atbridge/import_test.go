package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/formats"
	"github.com/atbridge/atbridge/internal/rig"
)

// readCapture returns a capture's header and records, failing on damage.
func readCapture(t *testing.T, path string) (capture.Header, []*capture.Record) {
	t.Helper()
	r, err := capture.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var recs []*capture.Record
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			return r.Header(), recs
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		recs = append(recs, rec)
	}
}

// socatPTYDump bridges two pseudo-terminals with the installed socat
// (-x -v), writes hostBytes into the left one and devBytes into the right
// one in steps, and returns socat's dump.
func socatPTYDump(t *testing.T, hostBytes, devBytes []byte) []byte {
	t.Helper()
	fa, fb, stop := rig.SocatPTYs(t)
	const step = 700 // a pty holds about 4 KiB
	for i := 0; i < max(len(hostBytes), len(devBytes)); i += step {
		if i < len(hostBytes) {
			rig.Relay(t, fa, fb, hostBytes[i:min(i+step, len(hostBytes))])
		}
		if i < len(devBytes) {
			rig.Relay(t, fb, fa, devBytes[i:min(i+step, len(devBytes))])
		}
	}
	return stop()
}

func TestImportSocatReal(t *testing.T) {
	var host, dev []byte
	host = append(host, "AT+WSSEND=0,256\r\n"...)
	for i := range 256 {
		host = append(host, byte(i))
	}
	dev = append(dev, "AT+WSSEND=0,256\r\n\r\nOK\r\n\r\n>"...)
	dev = append(dev, "\r\nSEND OK\r\n+WS_DATA:0,256,"...)
	for i := 255; i >= 0; i-- {
		dev = append(dev, byte(i))
	}
	for range 10 {
		dev = append(dev, bytes.Repeat([]byte{0x00, '\r', '\n', 0xff}, 100)...)
	}
	started := time.Now()
	dump := socatPTYDump(t, host, dev)
	dir := t.TempDir()
	dumpPath := filepath.Join(dir, "session.socat")
	os.WriteFile(dumpPath, dump, 0o600)

	for _, side := range []string{"left", "right"} {
		t.Run("host "+side, func(t *testing.T) {
			out := filepath.Join(dir, side+".atcap")
			stdout, stderr, code := execCLI(t, "", "import", "--from", "socat", dumpPath, "-o", out, "--host", side)
			if code != exitOK || stderr != "" || !strings.Contains(stdout, "imported ") {
				t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
			}
			hdr, recs := readCapture(t, out)
			if hdr.Ports[capture.PortHost].Role != "host" || !strings.Contains(hdr.Ports[capture.PortHost].Name, side) {
				t.Errorf("host port = %+v, want the socat %s address", hdr.Ports[capture.PortHost], side)
			}
			if d := hdr.Start.Sub(started); d < -time.Second || d > 10*time.Second {
				t.Errorf("header start %v is %v from when the test started", hdr.Start, d)
			}
			got := map[formats.Dir][]byte{}
			var last int64
			for _, r := range recs {
				if r.Kind != capture.KindChunk {
					t.Fatalf("unexpected record %+v", r)
				}
				if r.Time < last {
					t.Fatalf("time goes back")
				}
				last = r.Time
				if (r.Dir == formats.ToDevice) != (r.Port == capture.PortHost) {
					t.Errorf("chunk %v read from port %d", r.Dir, r.Port)
				}
				got[r.Dir] = append(got[r.Dir], r.Data...)
			}
			wantDev, wantHost := host, dev // what the host app wrote goes to the device
			if side == "right" {
				wantDev, wantHost = dev, host
			}
			if !bytes.Equal(got[formats.ToDevice], wantDev) || !bytes.Equal(got[formats.ToHost], wantHost) {
				t.Fatalf("bytes differ: to device %d/%d, to host %d/%d", len(got[formats.ToDevice]), len(wantDev), len(got[formats.ToHost]), len(wantHost))
			}
		})
	}

	// The same dump on stdin.
	out := filepath.Join(dir, "stdin.atcap")
	if stdout, stderr, code := execCLI(t, string(dump), "import", "--from", "socat", "-o", out, "-"); code != exitOK {
		t.Fatalf("stdin: exit %d\n%s%s", code, stdout, stderr)
	}
}

func TestImportProblems(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(s), 0o600)
		return p
	}
	gap := write("gap.socat", "> 2026/11/25 19:18:50.000001  length=4 from=0 to=3\n 41 54 0d 0a\n"+
		"> 2026/11/25 19:18:50.000002  length=2 from=10 to=11\n 0d 0a\n"+
		"< 2026/11/25 19:18:50.000003  length=4 from=0 to=3\n 4f 4b 0d\n")
	textOnly := write("v.socat", "> 2026/11/25 19:18:47.000227276  length=4 from=0 to=3\nAT\\r\n")
	tests := []struct {
		name     string
		args     []string
		code     int
		stderr   []string
		noOutput bool
	}{
		{"gap and torn block", []string{gap}, exitProblem, []string{"line 3: 6 bytes to_device are missing", "line 6: dump ends inside a block", "the blocks before it are imported"}, false},
		{"text only", []string{textOnly}, exitFailure, []string{"line 2: text-only dump", "socat -x -v"}, true},
		{"missing dump", []string{filepath.Join(dir, "nope")}, exitFailure, []string{"nope"}, true},
		{"empty dump", []string{write("empty.socat", "")}, exitFailure, []string{"no socat blocks"}, true},
		{"bad host", []string{gap, "--host", "middle"}, exitFailure, []string{"--host must be left or right"}, true},
		{"bad tz", []string{gap, "--tz", "Mars/Olympus"}, exitFailure, []string{"--tz"}, true},
		{"bad format", []string{gap, "--from", "minicom"}, exitFailure, []string{"unknown --from"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "_")+".atcap")
			args := append([]string{"import", "--from", "socat", "-o", out, "--tz", "UTC"}, tt.args...)
			_, stderr, code := execCLI(t, "", args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d; stderr: %s", code, tt.code, stderr)
			}
			for _, w := range tt.stderr {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
			_, err := os.Stat(out)
			if tt.noOutput != (err != nil) {
				t.Errorf("output exists = %v, want %v", err == nil, !tt.noOutput)
			}
			if _, err := os.Stat(out + ".partial"); err == nil {
				t.Errorf("temporary file left behind")
			}
		})
	}
	// The gap became a lost-bytes event before the chunk after it.
	_, recs := readCapture(t, filepath.Join(dir, "gap_and_torn_block.atcap"))
	if len(recs) != 3 || recs[1].Kind != capture.KindEvent || recs[1].Event.Type != capture.EvBytesLost || recs[1].Event.Count != 6 || recs[1].Dir != formats.ToDevice {
		t.Fatalf("records = %+v", recs)
	}
	// An existing output is kept unless --force.
	out := filepath.Join(dir, "gap_and_torn_block.atcap")
	if _, stderr, code := execCLI(t, "", "import", "--from", "socat", "-o", out, gap); code != exitFailure || !strings.Contains(stderr, "--force") {
		t.Fatalf("existing output: exit %d, %s", code, stderr)
	}
	if _, _, code := execCLI(t, "", "import", "--from", "socat", "-o", out, "--force", gap); code != exitProblem {
		t.Fatalf("--force: exit %d", code)
	}
}
