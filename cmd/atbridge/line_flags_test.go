package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/atbridge/atbridge/capture"
)

// TestMockReplayLineFlags records an emulated board at 921600 over a real
// pty, with an AT+UART_CUR to 460800 in the session, then replays that
// capture at 921600 to a second emulator and to a mock of it (on its own
// pty at 921600). Replay and mock open their ports at --baud and switch
// after the OK of AT+UART_CUR, as the proxy does; their recordings say so.
func TestMockReplayLineFlags(t *testing.T) {
	dir := t.TempDir()
	emu := filepath.Join(dir, "emu.atcap")
	const uart = "AT+UART_CUR=460800,8,1,0,0"
	{
		link := filepath.Join(dir, "esp1")
		_, stderr, stop := startCmd(t, "emulate", "--port", "pty:"+link, "--baud", "921600", "-w", emu)
		f := openLink(t, link, stderr)
		res := []string{"\r\nOK\r\n", "\r\nERROR\r\n"}
		var steps []hostStep
		for _, c := range []string{"AT", "AT+GMR", uart, "AT", "AT+CWMODE?"} {
			steps = append(steps, hostStep{Send: c + "\r\n", Until: res})
		}
		hostApp(t, f, steps)
		f.Close()
		if code := stop(); code != exitOK && code != exitSignal {
			t.Fatalf("emulate exited %d: %s", code, stderr.String())
		}
	}
	checkLine := func(t *testing.T, path string) {
		t.Helper()
		r, err := capture.Open(path, nil)
		if err != nil {
			t.Fatal(err)
		}
		hdr := r.Header()
		r.Close()
		if len(hdr.Ports) == 0 || hdr.Ports[0].Line.Baud != 921600 {
			t.Errorf("%s: header ports %+v, want the port at 921600", filepath.Base(path), hdr.Ports)
		}
		found := false
		for _, x := range readRecords(t, path) {
			if x.Kind == capture.KindEvent && x.Event.Type == capture.EvLineSettings && x.Event.Line.Baud == 460800 {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: no line_settings event at 460800", filepath.Base(path))
		}
	}

	t.Run("replay to the emulator", func(t *testing.T) {
		link := filepath.Join(dir, "esp2")
		_, emuErr, stop := startCmd(t, "emulate", "--port", "pty:"+link, "--baud", "921600")
		openLink(t, link, emuErr).Close() // it is there
		run := filepath.Join(dir, "replay.atcap")
		out, stderr, code := execCLI(t, "", "replay", emu, "--device", link, "--baud", "921600", "-w", run)
		stop()
		if code != exitOK || !strings.Contains(out, "EQUAL") {
			t.Fatalf("replay exited %d:\n%s\n%s", code, out, stderr)
		}
		if !strings.Contains(stderr, link+" now at 460800") {
			t.Errorf("replay did not report the switch:\n%s", stderr)
		}
		checkLine(t, run)
	})

	t.Run("replay to the mock", func(t *testing.T) {
		link := filepath.Join(dir, "mock")
		mrec := filepath.Join(dir, "mock.atcap")
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		done, _, mockErr := startCLI(ctx, "mock", emu, "--port", "pty:"+link, "--baud", "921600", "--timing", "fast", "--linger", "100ms", "-w", mrec)
		openPtyLink(t, link, done, mockErr).Close()
		out, stderr, code := execCLI(t, "", "replay", emu, "--device", link, "--baud", "921600")
		if code != exitOK || !strings.Contains(out, "EQUAL") {
			t.Fatalf("replay exited %d:\n%s\n%s\nmock: %s", code, out, stderr, mockErr.String())
		}
		if mc := <-done; mc != exitOK {
			t.Errorf("mock exited %d: %s", mc, mockErr.String())
		}
		if !strings.Contains(mockErr.String(), "at 921600 8N1") || !strings.Contains(mockErr.String(), "now at 460800") {
			t.Errorf("mock did not report its line and the switch:\n%s", mockErr.String())
		}
		checkLine(t, mrec)
	})
}
