package rig

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// SocatPTYs runs the installed socat with -x -v between two
// pseudo-terminals, the way people bridge a host app and a serial device
// to sniff them, and opens both ends. stop closes them, ends socat and
// returns its dump (what `socat -x -v` wrote to stderr). It skips the test
// when socat is missing, except under CI=true (NeedProgram); socat is
// killed after 20 s whatever happens.
func SocatPTYs(t *testing.T) (host, dev *os.File, stop func() []byte) {
	t.Helper()
	bin := NeedProgram(t, "socat")
	dir := t.TempDir()
	a, b := filepath.Join(dir, "host"), filepath.Join(dir, "esp")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	cmd := exec.CommandContext(ctx, bin, "-x", "-v", "PTY,link="+a+",raw,echo=0", "PTY,link="+b+",raw,echo=0")
	var dump bytes.Buffer
	cmd.Stderr = &dump
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	kill := func() {
		cmd.Process.Kill()
		cmd.Wait()
		cancel()
	}
	open := func(p string) *os.File {
		for ctx.Err() == nil {
			if f, err := os.OpenFile(p, os.O_RDWR, 0); err == nil {
				return f
			}
			time.Sleep(10 * time.Millisecond)
		}
		kill()
		t.Fatalf("socat did not create %s: %s", p, dump.String())
		return nil
	}
	host, dev = open(a), open(b)
	stopped := false
	stop = func() []byte {
		if !stopped {
			stopped = true
			host.Close()
			dev.Close()
			cmd.Process.Signal(os.Interrupt)
			cmd.Wait()
			cancel()
		}
		return dump.Bytes()
	}
	t.Cleanup(func() { stop() })
	return host, dev, stop
}

// Relay writes p to w and reads it back whole from r (the other end of a
// bridge such as SocatPTYs), failing the test if it differs. Keep p
// under the 4 KiB a pty holds.
func Relay(t *testing.T, w io.Writer, r io.Reader, p []byte) {
	t.Helper()
	if _, err := w.Write(p); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(p))
	if _, err := io.ReadFull(r, got); err != nil || !bytes.Equal(got, p) {
		t.Fatalf("pty relay: %v", err)
	}
}
