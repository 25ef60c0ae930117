//go:build linux || darwin

package main

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/atbridge/atbridge/internal/rig"
)

// emulate on rfc2217-listen: a remote host app, pyserial's RFC 2217
// client unchanged, drives the software ESP32 across the network as it
// would a board on a console server, and the recording holds its session.
func TestEmulateRFC2217Listen(t *testing.T) {
	py := rig.PySerial(t)
	addr := rig.FreeTCPAddr(t)
	rec := filepath.Join(t.TempDir(), "remote.atcap")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done, _, stderr := startCLI(ctx, "emulate", "--port", "rfc2217-listen:"+addr, "-w", rec)
	script := `
import sys, serial, time
for i in range(100):
    try:
        s = serial.serial_for_url("rfc2217://" + sys.argv[1], baudrate=115200, timeout=10)
        break
    except Exception:
        time.sleep(0.05)
s.write(b"AT+GMR\r\n")
buf = b""
while not buf.endswith(b"OK\r\n"):
    c = s.read(1)
    if not c:
        sys.exit("no OK: %r" % buf)
    buf += c
sys.stdout.write(buf.decode())
`
	out, err := exec.Command(py, "-c", script, addr).CombinedOutput()
	if err != nil {
		t.Fatalf("pyserial: %v\n%s\nemulate: %s", err, out, stderr.String())
	}
	if !strings.Contains(string(out), "AT version:") {
		t.Errorf("pyserial read %q", out)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("emulate exited %d: %s", code, stderr.String())
		}
	case <-time.After(rig.Timeout):
		t.Fatal("emulate did not stop")
	}
	show, _, _ := execCLI(t, "", "show", rec)
	if !strings.Contains(show, "AT+GMR") {
		t.Errorf("the recording does not hold the remote session:\n%s", show)
	}
}
