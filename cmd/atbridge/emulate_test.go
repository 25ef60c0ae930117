package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/formats"
)

// lockedBuffer is a bytes.Buffer safe for the emulator's log goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestEmulateCommand runs "atbridge emulate" on a pty, talks to it as a host
// app, stops it as a signal would and reads back its recording.
func TestEmulateCommand(t *testing.T) {
	for _, pace := range []bool{false, true} {
		t.Run(fmt.Sprintf("pace=%v", pace), func(t *testing.T) { testEmulateCommand(t, pace) })
	}
}

func testEmulateCommand(t *testing.T, pace bool) {
	dir := t.TempDir()
	link := filepath.Join(dir, "esp")
	rec := filepath.Join(dir, "emu.atcap")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr lockedBuffer
	done := make(chan int, 1)
	live := filepath.Join(dir, "live.pcapng")
	args := []string{"emulate", "--port", "pty:" + link, "-w", rec, "--firmware", "dev", "--log-level", "debug"}
	if pace {
		args = append(args, "--pace")
	} else {
		args = append(args, "--pcapng", live)
	}
	go func() {
		done <- run(ctx, args, &env{
			stdin: strings.NewReader(""), stdout: io.Discard, stderr: &stderr,
			getenv: func(string) string { return "" }, isTerminal: func(any) bool { return false },
		})
	}()
	var f *os.File
	for i := 0; ; i++ {
		var err error
		if f, err = os.OpenFile(link, os.O_RDWR, 0); err == nil {
			break
		}
		select {
		case code := <-done:
			t.Fatalf("emulate exited with %d: %s", code, stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
		if i > 500 {
			t.Fatalf("the pty link never appeared: %s", stderr.String())
		}
	}
	defer f.Close()
	var got []byte
	read := func(want string) {
		t.Helper()
		buf := make([]byte, 1024)
		_ = f.SetReadDeadline(time.Now().Add(10 * time.Second))
		for !bytes.Contains(got, []byte(want)) {
			n, err := f.Read(buf)
			got = append(got, buf[:n]...)
			if err != nil {
				t.Fatalf("reading the pty: %v; got %q", err, got)
			}
		}
	}
	read("\r\nready\r\n")
	if _, err := f.Write([]byte("AT+GMR\r\n")); err != nil {
		t.Fatal(err)
	}
	read("Bin version:dev(atbridge emulate)\r\n\r\nOK\r\n")
	if _, err := f.Write([]byte("AT+WSSEND=0,4\r\n")); err != nil {
		t.Fatal(err)
	}
	read("AT+WSSEND=0,4\r\n\r\nERROR\r\n")
	cancel()
	if code := <-done; code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "no ws: 0") {
		t.Errorf("the log does not say why AT+WSSEND failed:\n%s", stderr.String())
	}

	r, err := capture.Open(rec, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var toDev, toHost []byte
	for {
		rc, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if rc.Kind == capture.KindChunk && rc.Port == capture.PortHost {
			if rc.Dir == formats.ToDevice {
				toDev = append(toDev, rc.Data...)
			} else {
				toHost = append(toHost, rc.Data...)
			}
		}
	}
	if string(toDev) != "AT+GMR\r\nAT+WSSEND=0,4\r\n" {
		t.Errorf("recorded host bytes %q", toDev)
	}
	if string(toHost) != string(got) {
		t.Errorf("recorded device bytes\n%q\nhost saw\n%q", toHost, got)
	}
	if !pace {
		checkLivePcapng(t, live, "+GMR", "+WSSEND")
	}
}

// checkLivePcapng checks that a --pcapng stream is a pcapng file in which
// tshark's AT dissector sees each command (by name) sent once.
func checkLivePcapng(t *testing.T, path string, commands ...string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 4 || !bytes.Equal(b[:4], []byte{0x0a, 0x0d, 0x0d, 0x0a}) {
		t.Fatalf("%s does not start with a pcapng section header: % x", path, b[:min(len(b), 16)])
	}
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("tshark is missing; CI must install it (apt-get install tshark)")
		}
		t.Skip("tshark not installed")
	}
	out, err := exec.Command(tshark, "-r", path, "-Y", "at.cmd && frame.p2p_dir == 0", "-T", "fields", "-e", "at.cmd").CombinedOutput()
	if err != nil {
		t.Fatalf("tshark: %v\n%s", err, out)
	}
	for _, c := range commands {
		if n := strings.Count(string(out), c+"\n"); n != 1 {
			t.Errorf("tshark shows %s %d times in the live pcapng, want once:\n%s", c, n, out)
		}
	}
}

func TestEmulateBadFlags(t *testing.T) {
	badAPs := filepath.Join(t.TempDir(), "aps.json")
	if err := os.WriteFile(badAPs, []byte(`[{"ssid":"x","ecn":1}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"emulate"},
		{"emulate", "--port", "pty:/tmp/x", "--firmware", "beta"},
		{"emulate", "--port", "pty:/tmp/x", "--cwjap-fail", "7"},
		{"emulate", "--port", "pty:/tmp/x", "--split-deliveries", "-1"},
		{"emulate", "--port", "pty:/tmp/x", "--server-bind", "localhost:80"},
		{"emulate", "--port", "pty:/tmp/x", "--server-port-offset", "70000"},
		{"emulate", "--port", "pty:/tmp/x", "--panic-on", "AT+WSSEND=0,4"},
		{"emulate", "--port", "pty:/tmp/x", "--log-level", "loud"},
		{"emulate", "--port", "pty:/tmp/x", "--flow", "dtr"},
		{"emulate", "--port", "pty:/tmp/x", "--aps", "/nonexistent/aps.json"},
		{"emulate", "--port", "pty:/tmp/x", "--aps", badAPs},
	} {
		_, stderr, code := execCLI(t, "", args...)
		if code != exitFailure || !strings.Contains(stderr, "atbridge emulate: ") {
			t.Errorf("%q: exit %d, stderr %q", args, code, stderr)
		}
	}
}
