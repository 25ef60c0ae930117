package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/internal/rig"
)

var recordPanic = flag.Bool("record-panic", false, "re-record testdata/log/panic.atcap through proxy --device emulate --log-port emulate (then run -update)")

// panicCapture is the failing session the README shows: a host app opens
// a WebSocket, sends a message that is echoed, then closes the link, and
// the board panics in AT+WSCLOSE (emulate --panic-on), resets and says
// ready; the capture holds the AT UART, the emulator's frames and its
// log UART on one clock.
const panicCapture = "../../testdata/log/panic.atcap"

// TestPanicCaptureShow: show prints testdata/log/panic.atcap as
// testdata/log/panic.show.txt has it (log lines, AT lines and frames
// interleaved). -record-panic records the capture anew.
func TestPanicCaptureShow(t *testing.T) {
	if *recordPanic {
		recordPanicCapture(t)
	}
	out, errOut, code := execCLI(t, "", "show", panicCapture)
	if code != exitOK {
		t.Fatalf("show exit %d: %s", code, errOut)
	}
	checkGolden(t, "../../testdata/log/panic.show.txt", []byte(out))
	for _, want := range []string{"frame    link 0 text masked 4 bytes: \"test\"", "log      Guru Meditation Error", "RESET    SW_CPU_RESET after panic: LoadProhibited", "command  AT+WSCLOSE=0"} {
		if !strings.Contains(out, want) {
			t.Errorf("show of %s lacks %q", panicCapture, want)
		}
	}
}

func recordPanicCapture(t *testing.T) {
	dir := t.TempDir()
	srv := rig.NewWSEchoServer(t, nil)
	link, rec := filepath.Join(dir, "esp"), filepath.Join(dir, "panic.atcap")
	ctx, cancel := context.WithCancel(context.Background())
	done, _, stderr := startCLI(ctx, "proxy", "--host", "pty:"+link, "--device", "emulate", "--log-port", "emulate",
		"--panic-on", "AT+WSCLOSE", "-w", rec, "--quiet")
	f := openPtyLink(t, link, done, stderr)
	res := []string{"\r\nOK\r\n", "\r\nERROR\r\n"}
	steps := []hostStep{}
	for _, c := range []string{"AT", "AT+CWMODE=1", `AT+CWJAP="bench","12345678"`, "AT+WSCFG=0,30,600", `AT+WSOPEN=0,"` + srv.URL + `/echo"`} {
		steps = append(steps, hostStep{Send: c + "\r\n", Until: res})
	}
	steps = append(steps,
		hostStep{Send: "AT+WSSEND=0,4\r\n", Until: []string{">"}},
		hostStep{Send: "test", All: []string{"\r\nSEND OK\r\n", "+WS_DATA:0,4,test\r\n"}},
		hostStep{Send: "AT+WSCLOSE=0\r\n", Until: []string{"ready\r\n"}},
		hostStep{Send: "AT\r\n", Until: res})
	hostApp(t, f, steps)
	f.Close()
	cancel()
	if code := <-done; code != exitOK && code != exitSignal {
		t.Fatalf("proxy exited %d: %s", code, stderr.String())
	}
	// Rewrite it with port names that do not depend on the machine.
	r, err := capture.Open(rec, nil)
	rig.Must(t, err)
	defer r.Close()
	h := r.Header()
	h.Ports[0].Name = "pty:/tmp/esp"
	h.Meta = map[string]string{"command": "proxy", "story": "the board panics in AT+WSCLOSE, resets and says ready"}
	out, err := os.Create(panicCapture)
	rig.Must(t, err)
	w, err := capture.NewWriter(out, h, nil)
	rig.Must(t, err)
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		rig.Must(t, err)
		if rec.Kind == capture.KindEvent && rec.Port == capture.PortHost && rec.Event.Type == capture.EvPortOpened {
			rec.Event.Text = h.Ports[0].Name
		}
		rig.Must(t, w.Write(rec))
	}
	rig.Must(t, w.Close())
	rig.Must(t, out.Close())
}
