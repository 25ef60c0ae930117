package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/atbridge/atbridge/bridge/port"
	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/formats"
)

// TestLogPortCommand is the bench without a board: "atbridge emulate"
// with its console on a second pty and a panic on AT+WSSEND, and "atbridge
// proxy" recording the AT UART and the console (--log-port). show
// interleaves the log lines, the reset and the AT lines; stats counts the
// reset by reason and cause.
func TestLogPortCommand(t *testing.T) {
	dir := t.TempDir()
	dev, logLink, host := filepath.Join(dir, "dev"), filepath.Join(dir, "log"), filepath.Join(dir, "host")
	rec := filepath.Join(dir, "crash.atcap")
	_, emuErr, stopEmu := startCmd(t, "emulate", "--port", "pty:"+dev, "--log-port", "pty:"+logLink, "--panic-on", "AT+WSSEND")
	openLink(t, logLink, emuErr).Close() // both ptys are up
	_, pxErr, stopProxy := startCmd(t, "proxy", "--host", "pty:"+host, "--device", dev, "--log-port", logLink, "-w", rec, "--quiet")
	f := openLink(t, host, pxErr)
	var got []byte
	if _, err := f.Write([]byte("AT\r\n")); err != nil {
		t.Fatal(err)
	}
	readUntil(t, f, &got, "\r\nOK\r\n")
	if _, err := f.Write([]byte("AT+WSSEND=0,4\r\n")); err != nil {
		t.Fatal(err)
	}
	// The board panics, restarts and says ready again.
	readUntil(t, f, &got, "AT+WSSEND=0,4\r\n")
	readUntil(t, f, &got, "AT+WSSEND=0,4\r\n\r\nready\r\n")
	time.Sleep(100 * time.Millisecond) // the console's last lines
	if code := stopProxy(); code != exitOK {
		t.Fatalf("proxy exit %d: %s", code, pxErr.String())
	}
	stopEmu()
	if !strings.Contains(pxErr.String(), "recording the ESP32's log UART "+logLink) {
		t.Errorf("proxy did not say it records the log UART:\n%s", pxErr.String())
	}

	h, recs := readCapture(t, rec)
	if len(h.Ports) != 3 || h.Ports[2].Role != "log" || h.Ports[2].Line.Baud != 115200 {
		t.Errorf("header ports %+v, want host, device and log at 115200", h.Ports)
	}
	var toHost []byte
	for _, r := range recs {
		if r.ATChunk() && r.Dir == formats.ToHost {
			toHost = append(toHost, r.Data...)
		}
	}
	if string(toHost) != string(got) {
		t.Errorf("AT side recorded %q, the host saw %q", toHost, got)
	}

	out, errOut, code := execCLI(t, "", "show", rec)
	if code != exitOK {
		t.Fatalf("show exit %d: %s", code, errOut)
	}
	iCmd := strings.Index(out, "command  AT+WSSEND=0,4")
	iPanic := strings.Index(out, "log      Guru Meditation Error: Core  0 panic'ed (LoadProhibited)")
	iReset := strings.Index(out, "RESET    SW_CPU_RESET after panic: LoadProhibited; AT UART silent")
	iReady := strings.LastIndex(out, "urc      ready")
	if iCmd < 0 || iPanic < iCmd || iReset < iPanic || iReady < iReset {
		t.Errorf("show does not interleave command, panic, reset and ready in order (%d %d %d %d):\n%s", iCmd, iPanic, iReset, iReady, out)
	}
	if quiet, _, _ := execCLI(t, "", "show", "--log", "none", rec); strings.Contains(quiet, "log      ") || strings.Contains(quiet, "RESET") {
		t.Errorf("show --log none still shows the log:\n%s", quiet)
	}
	if errs, _, _ := execCLI(t, "", "show", "--log", "E", rec); strings.Contains(errs, "log      I (") || !strings.Contains(errs, "Guru Meditation") {
		t.Errorf("show --log E: want the panic, not the I lines:\n%s", errs)
	}

	js, _, _ := execCLI(t, "", "show", "--json", "--kind", "reset", rec)
	var resets []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(js), "\n")[1:] {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("%v: %s", err, l)
		}
		resets = append(resets, m)
	}
	if len(resets) == 0 {
		t.Fatalf("show --json --kind reset: nothing:\n%s", js)
	}
	last := resets[len(resets)-1]["log"].(map[string]any)
	if last["reason"] != "SW_CPU_RESET" || last["cause"] != "panic: LoadProhibited" || len(last["backtrace"].([]any)) != 3 {
		t.Errorf("reset JSON %v", last)
	}

	st, _, code := execCLI(t, "", "stats", rec)
	if code != exitOK || !strings.Contains(st, "SW_CPU_RESET 1") || !strings.Contains(st, "panic: LoadProhibited 1") || !strings.Contains(st, "errors by tag") || !readyAfter.MatchString(st) {
		t.Errorf("stats (exit %d) lacks the reset and the error:\n%s", code, st)
	}
}

// readyAfter matches the reset line's "ready 301ms after": the emulator
// boots in 300ms, and the host's scheduler adds what it adds.
var readyAfter = regexp.MustCompile(`ready [0-9]+ms after`)

// TestSniffLogPort: sniff records a third receive-only adapter on the log
// UART, at its own baud, and never writes to it.
func TestSniffLogPort(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	var taps []port.Port
	for _, n := range []string{"hrx", "drx", "lrx"} {
		p, err := port.Open(ctx, "pty:"+filepath.Join(dir, n), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		taps = append(taps, p)
	}
	rec := filepath.Join(dir, "y.atcap")
	stdout, stderr, stop := startCmd(t, "sniff", "--host-rx", filepath.Join(dir, "hrx"), "--device-rx", filepath.Join(dir, "drx"),
		"--log-port", filepath.Join(dir, "lrx"), "--log-baud", "74880", "--baud", "921600", "-w", rec)
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(stdout.String(), "port_opened: port 2") {
		if time.Now().After(deadline) {
			t.Fatalf("sniff did not start: %s\n%s", stderr.String(), stdout.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	taps[2].Write([]byte("E (4321) wifi: disconnected, reason 201\r\n"))
	taps[0].Write([]byte("AT\r\n"))
	taps[1].Write([]byte("AT\r\n\r\nOK\r\n"))
	for !strings.Contains(stdout.String(), "result   OK") || !strings.Contains(stdout.String(), "E (4321) wifi") {
		if time.Now().After(deadline) {
			t.Fatalf("live view lacks the result or the log line:\n%s", stdout.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if code := stop(); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	h, recs := readCapture(t, rec)
	if len(h.Ports) != 3 || h.Ports[2].Line.Baud != 74880 || h.Ports[0].Line.Baud != 921600 {
		t.Errorf("ports %+v", h.Ports)
	}
	var log, at []byte
	for _, r := range recs {
		switch {
		case r.Kind == capture.KindChunk && r.Port == capture.PortLog:
			log = append(log, r.Data...)
		case r.ATChunk() && r.Dir == formats.ToHost:
			at = append(at, r.Data...)
		}
	}
	if string(log) != "E (4321) wifi: disconnected, reason 201\r\n" || string(at) != "AT\r\n\r\nOK\r\n" {
		t.Errorf("log %q, AT to host %q", log, at)
	}
	got := make(chan int, 1)
	go func() {
		n, _ := taps[2].Read(make([]byte, 64))
		got <- n
	}()
	select {
	case n := <-got:
		if n > 0 {
			t.Errorf("sniff wrote %d bytes to the log UART", n)
		}
	case <-time.After(100 * time.Millisecond):
	}
	taps[2].Close()
}

// TestLogPortBadFlags: misuse is refused with a message naming the flag.
func TestLogPortBadFlags(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"proxy", "--host", "pty:" + filepath.Join(dir, "h"), "--device", "emulate", "--log-port", "emulate", "--log-baud", "0", "-w", filepath.Join(dir, "a.atcap")}, "--log-baud must be positive"},
		{[]string{"proxy", "--host", "pty:" + filepath.Join(dir, "h"), "--device", "pty:" + filepath.Join(dir, "d"), "--log-port", "emulate", "-w", filepath.Join(dir, "b.atcap")}, "needs --device emulate"},
		{[]string{"show", "--log", "loud", "../../testdata/seed-tcp.atcap"}, "--log wants all, none or a level"},
	} {
		_, stderr, code := execCLI(t, "", c.args...)
		if code != exitFailure || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, %q; want %q", c.args, code, stderr, c.want)
		}
	}
}
