package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/atbridge/atbridge/internal/rig"
)

// TestMockMissEndsOnItsOwn mocks a redacted capture over a real pty to a
// host app that types its real Wi-Fi password: the mock misses at
// AT+CWJAP, answers ERROR from then on, and, once the host has gone quiet,
// stops by itself within --miss-timeout, exit 1, naming the closest
// recorded command, without anyone cancelling it.
func TestMockMissEndsOnItsOwn(t *testing.T) {
	dir := t.TempDir()
	rec, _ := recordThroughProxy(t, dir, rig.PythonWSEcho(t))
	red := filepath.Join(dir, "shared.atcap")
	if _, stderr, code := execCLI(t, "", "redact", rec, "-o", red); code != exitOK {
		t.Fatalf("redact exited %d: %s", code, stderr)
	}
	link := filepath.Join(dir, "mock")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const bound = 400 * time.Millisecond
	done, _, stderr := startCLI(ctx, "mock", red, "--port", "pty:"+link, "--timing", "fast", "--miss-timeout", bound.String())
	f := openPtyLink(t, link, done, stderr)
	defer f.Close()
	res := []string{"\r\nOK\r\n", "\r\nERROR\r\n"}
	var steps []hostStep
	for _, c := range []string{"AT", "AT+GMR", "AT+CWMODE=1", `AT+CWJAP="espressif","1234567890"`, "AT+CIPSNTPTIME?", "AT"} {
		steps = append(steps, hostStep{Send: c + "\r\n", Until: res})
	}
	got := hostApp(t, f, steps)
	finished := time.Now()
	if !strings.HasSuffix(string(got), "\r\nERROR\r\n") {
		t.Errorf("the commands after the miss should be answered ERROR: %q", got)
	}
	select {
	case code := <-done:
		took := time.Since(finished)
		if code != exitProblem {
			t.Errorf("mock exited %d, want 1", code)
		}
		// The bound, plus scheduling slack on a shared machine.
		if took > bound+2*time.Second {
			t.Errorf("mock took %s after the host's last command, bound %s", took, bound)
		}
		t.Logf("mock stopped %s after the host's last command (bound %s)", took.Round(time.Millisecond), bound)
	case <-time.After(bound + 10*time.Second):
		t.Fatalf("the mock is still running %s after the host finished: %s", bound+10*time.Second, stderr.String())
	}
	msg := stderr.String()
	for _, want := range []string{"miss at transaction #4", "mock: stopped: the host sent nothing for", `it left the capture with "AT+CWJAP=\"espressif\",\"1234567890\"", closest recorded command "AT+CWJAP=\"espressif\",\"**********\"" (#4)`} {
		if !strings.Contains(msg, want) {
			t.Errorf("stderr lacks %q:\n%s", want, msg)
		}
	}
	if !strings.Contains(msg, `closest recorded command: "AT+CWJAP=`) {
		t.Errorf("the AT+CWJAP miss does not name the recorded AT+CWJAP:\n%s", msg)
	}
}
