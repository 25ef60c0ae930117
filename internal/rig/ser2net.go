package rig

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// Ser2net runs the installed ser2net (Debian's, 4.x) as an RFC 2217
// server in front of the serial device at dev (a pty link made by the
// test), in the foreground, and returns the address it listens on once
// it accepts connections. kill ends it early (a vanished server); it is
// also ended at cleanup. The test skips when ser2net is missing, except
// under CI=true (NeedProgram).
func Ser2net(t *testing.T, dev string) (addr string, kill func()) {
	t.Helper()
	return Ser2netAt(t, dev, FreeTCPAddr(t))
}

// Ser2netAt is Ser2net on a given address: a server started again where
// the last one was, as a console server restarting.
func Ser2netAt(t *testing.T, dev, addr string) (_ string, kill func()) {
	t.Helper()
	bin := "/usr/sbin/ser2net" // Debian's, not always on a user's PATH
	if _, err := os.Stat(bin); err != nil {
		bin = NeedProgram(t, "ser2net")
	}
	host, port, _ := net.SplitHostPort(addr)
	cfg := filepath.Join(t.TempDir(), "ser2net.yaml")
	Must(t, os.WriteFile(cfg, []byte(fmt.Sprintf(`connection: &bench
  accepter: telnet(rfc2217),tcp,%s,%s
  connector: serialdev,%s,115200n81,local
  options:
    kickolduser: true
`, host, port, dev)), 0o644))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	cmd := exec.CommandContext(ctx, bin, "-n", "-u", "-c", cfg, "-P", filepath.Join(filepath.Dir(cfg), "pid"))
	cmd.Stdout, cmd.Stderr = LogWriter{t}, LogWriter{t}
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	kill = func() {
		cmd.Process.Kill()
		<-done
		cancel()
	}
	t.Cleanup(kill)
	for deadline := time.Now().Add(10 * time.Second); ; {
		// Listening is seen by the address being taken, not by
		// connecting: a probe connection would kick (kickolduser) a
		// client that reconnected first, the very thing a restart test
		// watches.
		if ln, err := net.Listen("tcp", addr); err != nil {
			return addr, kill
		} else {
			ln.Close()
		}
		select {
		case <-done:
			t.Fatalf("ser2net exited before listening on %s (config %s)", addr, cfg)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("ser2net is not listening on %s after 10 s", addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// FreeTCPAddr returns a loopback address with a port free a moment ago,
// for a program that takes its port on the command line.
func FreeTCPAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	Must(t, err)
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// PySerial returns Debian's /usr/bin/python3 once it can import pyserial's
// RFC 2217 client (python3-serial); it skips the test when that is
// missing, except under CI=true.
func PySerial(t testing.TB) string {
	t.Helper()
	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import serial.rfc2217").Run(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("python3-serial is required under CI=true: %v", err)
		}
		t.Skipf("python3-serial not available: %v", err)
	}
	return py
}
