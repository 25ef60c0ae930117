package bridge

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atbridge/atbridge/analysis"
	"github.com/atbridge/atbridge/bridge/esp"
	"github.com/atbridge/atbridge/bridge/port"
	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/formats"
	"github.com/atbridge/atbridge/formats/at"
	"github.com/atbridge/atbridge/internal/rig"
)

// logResets decodes a capture's log UART beside its AT side, as show and
// stats do, and returns the resets.
func logResets(recs []capture.Record) ([]analysis.Reset, []byte) {
	dl, dec := analysis.NewDeviceLog(), at.NewDecoder(nil)
	var resets []analysis.Reset
	var log []byte
	for i := range recs {
		r := &recs[i]
		switch {
		case r.Kind == capture.KindChunk && r.Port == capture.PortLog:
			log = append(log, r.Data...)
			_, rs := dl.Log(r)
			resets = append(resets, rs...)
		case r.ATChunk():
			resets = append(resets, dl.AT(dec.Feed(r.Time, r.Dir, r.Data))...)
		}
	}
	resets = append(resets, dl.AT(dec.Flush())...)
	_, rs := dl.Flush()
	return append(resets, rs...), log
}

// TestProxyLogPort records an emulator's console from a third pty beside
// the AT UART: the board's boot banner, its log lines and, when the host
// sends the PanicOn command, the panic and the reset after it, all on the
// capture's clock and none of it on the AT side.
func TestProxyLogPort(t *testing.T) {
	r := startProxyRig(t, &rigOptions{logUART: true, emu: &esp.Options{PanicOn: "+GMR"}})
	r.host.Expect("\r\nready\r\n")
	r.host.Cmd("AT", "\r\nOK\r\n")
	r.host.Send("AT+GMR\r\n")
	r.host.ExpectIgnoring("\r\nready\r\n", "AT+GMR\r\n")
	r.host.Cmd("AT", "\r\nOK\r\n")
	r.waitEvent(capture.EvPortOpened, capture.PortLog, 1)
	// The console runs on its own goroutine: wait for the second banner.
	waitFor(t, func() bool {
		return bytes.Count(r.logBytes(), []byte("rst:")) >= 2
	})
	r.stop()
	recs := r.records()

	resets, log := logResets(recs)
	if len(resets) != 2 {
		t.Fatalf("%d resets, want 2 (power-on, then the panic's): %+v\nlog:\n%s", len(resets), resets, log)
	}
	if resets[0].Reason != "POWERON_RESET" || resets[1].Reason != "SW_CPU_RESET" || !strings.HasPrefix(resets[1].Cause, "panic: ") {
		t.Errorf("resets %q and %q, want POWERON_RESET then SW_CPU_RESET after a panic", resets[0].String(), resets[1].String())
	}
	if resets[1].ReadyNS < 0 || resets[1].SilentNS < 0 {
		t.Errorf("the panic's reset is not tied to the AT side: %s", resets[1].String())
	}
	for _, want := range []string{"Guru Meditation Error", "Backtrace: ", "Rebooting...", "I ("} {
		if !bytes.Contains(log, []byte(want)) {
			t.Errorf("log UART lacks %q:\n%s", want, log)
		}
	}
	// The AT side is what the emulator said, with none of the console.
	checkSame(t, "to_host", r.emu.serial(formats.ToHost), chunkBytes(atOnly(recs), formats.ToHost))
	for _, rec := range recs {
		if rec.Port == capture.PortLog && rec.Kind == capture.KindChunk && rec.Dir != formats.ToHost {
			t.Errorf("log chunk recorded %v", rec.Dir)
		}
	}
}

// atOnly drops the log UART's records.
func atOnly(recs []capture.Record) []capture.Record {
	var out []capture.Record
	for _, r := range recs {
		if r.Port != capture.PortLog || r.Kind != capture.KindChunk {
			out = append(out, r)
		}
	}
	return out
}

// TestProxyLogPortUnplug: the log adapter going away is recorded and
// reopened like any port, and the AT side never notices.
func TestProxyLogPortUnplug(t *testing.T) {
	r := startProxyRig(t, &rigOptions{logUART: true, proxy: ProxyOptions{RetryInterval: 20 * time.Millisecond}})
	r.host.Expect("\r\nready\r\n")
	r.logPort.Close()
	r.waitEvent(capture.EvPortLost, capture.PortLog, 1)
	r.host.Cmd("AT", "\r\nOK\r\n")
	lp, err := port.Open(context.Background(), "pty:"+r.logLink, nil)
	rig.Must(t, err)
	defer lp.Close()
	r.waitEvent(capture.EvPortReopened, capture.PortLog, 1)
	r.host.Cmd("AT", "\r\nOK\r\n")
	if _, err := lp.Write([]byte("I (5) at: back\r\n")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return bytes.Contains(r.logBytes(), []byte("I (5) at: back")) })
	r.stop()
	if got := chunkBytes(atOnly(r.records()), formats.ToDevice); string(got) != "AT\r\nAT\r\n" {
		t.Errorf("to_device %q", got)
	}
}

// TestProxyLogPortEmulate: --device emulate --log-port emulate records the
// in-process emulator's own console.
func TestProxyLogPortEmulate(t *testing.T) {
	dir := t.TempDir()
	capPath := filepath.Join(dir, "rec.atcap")
	hostLink := filepath.Join(dir, "host")
	w, err := capture.Create(capPath, capture.Header{Tool: "test"}, nil)
	rig.Must(t, err)
	var mu sync.Mutex
	var logData []byte
	logBytes := func() []byte {
		mu.Lock()
		defer mu.Unlock()
		return append([]byte(nil), logData...)
	}
	px, err := OpenProxy(context.Background(), &ProxyOptions{Host: "pty:" + hostLink, Device: EmulateSpec, LogPort: EmulateSpec,
		Emulator: &esp.Options{PanicOn: "+GMR", RestartDelay: 20 * time.Millisecond}, Recorder: w, Log: rig.Logger(t),
		Observe: func(r *capture.Record) {
			if r.Kind == capture.KindChunk && r.Port == capture.PortLog {
				mu.Lock()
				logData = append(logData, r.Data...)
				mu.Unlock()
			}
		}})
	rig.Must(t, err)
	if ports := px.Ports(); len(ports) != 3 || ports[2].Role != "log" {
		t.Fatalf("Ports() = %+v, want host, device and log", ports)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- px.Run(ctx) }()
	f, err := os.OpenFile(hostLink, os.O_RDWR, 0)
	rig.Must(t, err)
	host := rig.NewHostApp(t, f)
	defer host.Close()
	host.Expect("\r\nready\r\n")
	host.Send("AT+GMR\r\n")
	host.ExpectIgnoring("\r\nready\r\n", "AT+GMR\r\n")
	waitFor(t, func() bool { return bytes.Count(logBytes(), []byte("rst:")) >= 2 })
	cancel()
	rig.Must(t, <-done)
	rig.Must(t, w.Close())
	resets, log := logResets(readCapture(t, capPath))
	if len(resets) != 2 || !strings.HasPrefix(resets[1].Cause, "panic: ") {
		t.Fatalf("resets %+v, want the power-on and the panic's; log:\n%s", resets, log)
	}
}

// TestProxyLogPortErrors: a log port that cannot be used is refused with
// a message that says why.
func TestProxyLogPortErrors(t *testing.T) {
	w, err := capture.Create(filepath.Join(t.TempDir(), "x.atcap"), capture.Header{}, nil)
	rig.Must(t, err)
	defer w.Close()
	dir := t.TempDir()
	for _, c := range []struct {
		opts ProxyOptions
		want string
	}{
		{ProxyOptions{Host: "pty:" + filepath.Join(dir, "h1"), Device: "pty:" + filepath.Join(dir, "d1"), LogPort: EmulateSpec}, "needs --device emulate"},
		{ProxyOptions{Host: "pty:" + filepath.Join(dir, "h2"), Device: EmulateSpec, Emulator: &esp.Options{}, LogPort: filepath.Join(dir, "nolog")}, "log port: "},
	} {
		c.opts.Recorder = w
		px, err := OpenProxy(context.Background(), &c.opts)
		if err == nil {
			px.Close()
			t.Errorf("%+v: opened", c.opts)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %q, want it to say %q", err, c.want)
		}
	}
}
