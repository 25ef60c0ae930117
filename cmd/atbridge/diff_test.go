package main

import (
	"context"
	"net"
	"path/filepath"
	"strings"
	"testing"

	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/formats"
	"github.com/atbridge/atbridge/replay"
)

// writeCapture writes chunks (alternating host, device) as a capture.
func writeCapture(t *testing.T, path string, chunks ...string) {
	t.Helper()
	w, err := capture.Create(path, capture.Header{Tool: "test"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range chunks {
		dir := formats.ToDevice
		if i%2 == 1 {
			dir = formats.ToHost
		}
		if err := w.WriteChunk(int64(i)*1e6, 0, dir, []byte(c)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestRegressionCommandsUsage(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.atcap")
	writeCapture(t, good, "AT\r\n", "AT\r\n\r\nOK\r\n")
	for _, name := range []string{"mock", "replay", "diff"} {
		out, _, code := execCLI(t, "", "help", name)
		if code != exitOK || !strings.Contains(out, "Usage:\n  atbridge "+name) || !strings.Contains(out, "Examples:") {
			t.Errorf("help %s: exit %d\n%s", name, code, out)
		}
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"diff", good}, "want two captures"},
		{[]string{"diff", good, filepath.Join(dir, "none.atcap")}, "none.atcap"},
		{[]string{"diff", "--match", "loose", good, good}, "unknown match mode"},
		{[]string{"diff", "--order", "random", good, good}, "--order"},
		{[]string{"diff", "--max-slowdown", "half", good, good}, "--max-slowdown"},
		{[]string{"diff", "--rules", filepath.Join(dir, "none.txt"), good, good}, "rules"},
		{[]string{"mock", good}, "--port is required"},
		{[]string{"mock", good, "--port", "pty:" + filepath.Join(dir, "p"), "--fault", "explode *"}, "unknown fault"},
		{[]string{"mock", good, "--port", "pty:" + filepath.Join(dir, "p"), "--timing", "slow"}, "--timing"},
		{[]string{"replay", good}, "--device is required"},
		{[]string{"replay", good, "--device", filepath.Join(dir, "no-such-tty")}, "no-such-tty"},
		{[]string{"replay", good, "--device", "emulate", "--pacing", "sometimes"}, "--pacing"},
		{[]string{"replay", good, "--device", "mock:" + filepath.Join(dir, "none.atcap")}, "none.atcap"},
	} {
		_, errOut, code := execCLI(t, "", tc.args...)
		if code != exitFailure || !strings.Contains(errOut, tc.want) {
			t.Errorf("%q: exit %d, want 2 with %q:\n%s", tc.args, code, tc.want, errOut)
		}
	}
}

func TestDiffJSONAndStrict(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.atcap"), filepath.Join(dir, "b.atcap")
	writeCapture(t, a, "AT+CIPSNTPTIME?\r\n", "AT+CIPSNTPTIME?\r\n+CIPSNTPTIME:Mon Oct 18 20:12:27 2021\r\nOK\r\n")
	writeCapture(t, b, "AT+CIPSNTPTIME?\r\n", "AT+CIPSNTPTIME?\r\n+CIPSNTPTIME:Tue Oct 19 08:00:00 2021\r\nOK\r\n")
	if out, _, code := execCLI(t, "", "diff", a, b); code != exitOK {
		t.Errorf("lenient diff of two SNTP dates: exit %d\n%s", code, out)
	}
	out, _, code := execCLI(t, "", "diff", "--match", "strict", "--json", a, b)
	if code != exitProblem || !strings.Contains(out, `"status": "different"`) || !strings.Contains(out, "Tue Oct 19") {
		t.Errorf("strict diff: exit %d\n%s", code, out)
	}
}

// TestReplayToTCPDevice replays to a tcp: device (a serial server such as
// ser2net), here a mock of the same capture behind a loopback listener.
func TestReplayToTCPDevice(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.atcap")
	writeCapture(t, good, "AT+GMR\r\n", "AT+GMR\r\nAT version:5.0.1.0(x)\r\n\r\nOK\r\n", "AT+CWMODE?\r\n", "AT+CWMODE?\r\n+CWMODE:1\r\n\r\nOK\r\n")
	s, err := replay.Load(good)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	served := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			served <- err
			return
		}
		defer c.Close()
		served <- replay.NewMock(s, nil).Serve(context.Background(), c)
	}()
	out, errOut, code := execCLI(t, "", "replay", good, "--device", "tcp:"+ln.Addr().String())
	if code != exitOK || !strings.Contains(out, "EQUAL: 2 transactions: 2 equal") {
		t.Errorf("exit %d:\n%s\n%s", code, out, errOut)
	}
	if err := <-served; err != nil {
		t.Error(err)
	}
}
