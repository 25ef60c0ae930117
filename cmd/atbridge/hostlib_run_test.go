package main

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/atbridge/atbridge/internal/rig"
)

// TestHostLibAdafruitUnchanged runs the unchanged
// Adafruit_CircuitPython_ESP_ATcontrol library (testdata/hostlibs, on
// CPython through a small busio/digitalio shim of ours) against a pty
// three ways, as issue 13 asks: "atbridge emulate"; "atbridge proxy
// --device emulate", recording; and "atbridge mock" of that recording.
// Each time its begin(), scan_APs(), connect() and a TCP socket round trip
// (what its examples do) must succeed.
func TestHostLibAdafruitUnchanged(t *testing.T) {
	py := rig.NeedProgram(t, "/usr/bin/python3")
	script, err := filepath.Abs("../../testdata/hostlibs/adafruit_run.py")
	if err != nil {
		t.Fatal(err)
	}
	// An echo server 30 ms away, as a real one is: over loopback the echo
	// would come back before the library has read AT+CIPSEND's SEND OK,
	// and it reads whatever follows SEND OK as part of that reply (a board
	// on Wi-Fi never answers that fast).
	srv := rig.StartConnServer(t, "tcp", func(c net.Conn) {
		defer c.Close()
		buf := make([]byte, 4096)
		for {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			time.Sleep(30 * time.Millisecond)
			if _, err := c.Write(buf[:n]); err != nil {
				return
			}
		}
	})
	echo := srv.Addr().String()
	steps := "begin,scan,connect,socket"
	runLib := func(t *testing.T, link string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, py, script)
		cmd.Env = append(os.Environ(), "ATBRIDGE_UART="+link, "ESP_SSID=espressif", "ESP_PASSWORD=1234567890",
			"ESP_ECHO="+echo, "ESP_STEPS="+steps, "PYTHONDONTWRITEBYTECODE=1")
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "ALL OK") {
			t.Fatalf("the library failed (%v):\n%s", err, out)
		}
		return string(out)
	}
	dir := t.TempDir()
	rec := filepath.Join(dir, "adafruit.atcap")

	t.Run("emulate", func(t *testing.T) {
		link := filepath.Join(dir, "emu")
		ctx, cancel := context.WithCancel(context.Background())
		done, _, stderr := startCLI(ctx, "emulate", "--port", "pty:"+link)
		openPtyLink(t, link, done, stderr).Close()
		runLib(t, link)
		cancel()
		<-done
	})
	t.Run("proxy", func(t *testing.T) {
		link := filepath.Join(dir, "proxy")
		ctx, cancel := context.WithCancel(context.Background())
		done, _, stderr := startCLI(ctx, "proxy", "--quiet", "--host", "pty:"+link, "--device", "emulate", "-w", rec)
		openPtyLink(t, link, done, stderr).Close()
		runLib(t, link)
		cancel()
		if code := <-done; code != exitOK && code != exitSignal {
			t.Fatalf("proxy exited %d: %s", code, stderr.String())
		}
	})
	t.Run("mock", func(t *testing.T) {
		link := filepath.Join(dir, "mock")
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		done, _, stderr := startCLI(ctx, "mock", "--port", "pty:"+link, "--linger", "5s", rec)
		openPtyLink(t, link, done, stderr).Close()
		runLib(t, link)
		cancel()
		<-done
		if !strings.Contains(stderr.String(), " 0 misses") {
			t.Errorf("the mock missed: %s", stderr.String())
		}
	})
}
