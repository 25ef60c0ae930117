package bridge

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/atbridge/atbridge/bridge/esp"

	"github.com/atbridge/atbridge/bridge/port"
	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/formats"
	"github.com/atbridge/atbridge/internal/rig"
)

// *esp.Options is what cmd/atbridge hands OpenProxy for --device emulate.
var _ DeviceEmulator = (*esp.Options)(nil)

// proxyRig is a real bench in software: a test host app on the slave of a
// pty: port the proxy owns, the proxy, and an emulator on another pty whose
// slave the proxy opens as a serial device (so unplugging is closing that
// pty). Everything is recorded to a real .atcap file.
type proxyRig struct {
	t       *testing.T
	dir     string
	devLink string
	logLink string    // the log UART's pty (rigOptions.logUART)
	logPort port.Port // its master, the emulator's console
	host    *rig.HostApp
	px      *Proxy
	w       *capture.Writer
	capPath string

	emu *rigEmu

	cancel context.CancelFunc
	runErr chan error

	evMu    sync.Mutex
	events  []capture.Record
	logData []byte // the log port's bytes so far
	evCond  *sync.Cond
}

// rigEmu is one emulator run on the device pty.
type rigEmu struct {
	port   port.Port
	sink   *rig.Records
	cancel context.CancelFunc
	done   chan error
}

func startRigEmu(t *testing.T, link string, opts *esp.Options) *rigEmu {
	t.Helper()
	p, err := port.Open(context.Background(), "pty:"+link, nil)
	rig.Must(t, err)
	return serveRigEmu(t, p, opts)
}

func serveRigEmu(t *testing.T, p port.Port, opts *esp.Options) *rigEmu {
	var o esp.Options
	if opts != nil {
		o = *opts
	}
	if o.Log == nil {
		o.Log = rig.Logger(t)
	}
	o.RestartDelay = 20 * time.Millisecond
	sink := &rig.Records{}
	o.Record = sink.Add
	ctx, cancel := context.WithCancel(context.Background())
	e := &rigEmu{port: p, sink: sink, cancel: cancel, done: make(chan error, 1)}
	em := esp.New(&o)
	go func() { e.done <- em.Serve(ctx, p) }()
	return e
}

// stop ends the emulator and closes its pty (the device is unplugged).
func (e *rigEmu) stop() {
	e.cancel()
	<-e.done
	e.port.Close()
}

// serial returns what the emulator received (ToDevice) or sent (ToHost).
func (e *rigEmu) serial(dir formats.Dir) []byte {
	var b []byte
	for _, r := range e.sink.All() {
		if r.Kind == capture.KindChunk && r.Dir == dir {
			b = append(b, r.Data...)
		}
	}
	return b
}

type rigOptions struct {
	emu   *esp.Options
	proxy ProxyOptions
	// echo puts an echoing device on the device pty instead of the
	// emulator.
	echo bool
	// logUART gives the emulator a console on a third pty, whose slave
	// the proxy records as its log port.
	logUART bool
}

func startProxyRig(t *testing.T, ro *rigOptions) *proxyRig {
	t.Helper()
	if ro == nil {
		ro = &rigOptions{}
	}
	dir := t.TempDir()
	r := &proxyRig{t: t, dir: dir, devLink: filepath.Join(dir, "dev"), capPath: filepath.Join(dir, "rec.atcap")}
	r.evCond = sync.NewCond(&r.evMu)
	devPort, err := port.Open(context.Background(), "pty:"+r.devLink, nil)
	rig.Must(t, err)
	o := ro.proxy
	o.Host = "pty:" + filepath.Join(dir, "host")
	o.Device = r.devLink
	if ro.logUART {
		r.logLink = filepath.Join(dir, "log")
		lp, err := port.Open(context.Background(), "pty:"+r.logLink, nil)
		rig.Must(t, err)
		t.Cleanup(func() { lp.Close() })
		var eo esp.Options
		if ro.emu != nil {
			eo = *ro.emu
		}
		eo.LogUART = lp
		ro.emu, r.logPort, o.LogPort = &eo, lp, r.logLink
	}
	o.Log = rig.Logger(t)
	o.Observe = func(rec *capture.Record) {
		if rec.Kind == capture.KindChunk && rec.Port == capture.PortLog {
			r.evMu.Lock()
			r.logData = append(r.logData, rec.Data...)
			r.evMu.Unlock()
			return
		}
		if rec.Kind != capture.KindEvent {
			return
		}
		r.evMu.Lock()
		r.events = append(r.events, *rec)
		r.evCond.Broadcast()
		r.evMu.Unlock()
	}
	hdr := capture.Header{Tool: "test", Ports: []capture.PortInfo{{Name: o.Host, Role: "host"}, {Name: o.Device, Role: "device"}}}
	if o.LogPort != "" {
		hdr.Ports = append(hdr.Ports, capture.PortInfo{Name: o.LogPort, Role: "log"})
	}
	r.w, err = capture.Create(r.capPath, hdr, nil)
	rig.Must(t, err)
	o.Recorder = r.w
	r.px, err = OpenProxy(context.Background(), &o)
	if err != nil {
		devPort.Close()
		t.Fatal(err)
	}
	if ro.echo {
		rig.Echo(t, devPort)
	} else {
		r.emu = serveRigEmu(t, devPort, ro.emu)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	r.runErr = make(chan error, 1)
	go func() { r.runErr <- r.px.Run(ctx) }()

	f, err := os.OpenFile(filepath.Join(dir, "host"), os.O_RDWR, 0)
	rig.Must(t, err)
	r.host = rig.NewHostApp(t, f)
	t.Cleanup(func() {
		r.stop()
		r.host.Close()
	})
	return r
}

// stop ends the proxy (once) and closes the capture.
func (r *proxyRig) stop() {
	if r.cancel == nil {
		return
	}
	r.cancel()
	r.cancel = nil
	if err := <-r.runErr; err != nil {
		r.t.Errorf("Run: %v", err)
	}
	if r.emu != nil {
		r.emu.stop()
	}
	if err := r.w.Close(); err != nil {
		r.t.Errorf("capture close: %v", err)
	}
}

// waitEvent waits for the n-th (from 1) event of type typ on port.
func (r *proxyRig) waitEvent(typ capture.EventType, port uint8, n int) capture.Record {
	r.t.Helper()
	deadline := time.Now().Add(rig.Timeout)
	timer := time.AfterFunc(rig.Timeout, func() {
		r.evMu.Lock()
		r.evCond.Broadcast()
		r.evMu.Unlock()
	})
	defer timer.Stop()
	r.evMu.Lock()
	defer r.evMu.Unlock()
	for {
		seen := 0
		for _, e := range r.events {
			if e.Event.Type == typ && e.Port == port {
				if seen++; seen == n {
					return e
				}
			}
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("no %v event #%d on port %d; events: %v", typ, n, port, r.events)
		}
		r.evCond.Wait()
	}
}

// records reads the capture back (after stop).
func (r *proxyRig) records() []capture.Record {
	r.t.Helper()
	return readCapture(r.t, r.capPath)
}

func readCapture(t testing.TB, path string) []capture.Record {
	t.Helper()
	rd, err := capture.Open(path, nil)
	rig.Must(t, err)
	defer rd.Close()
	var out []capture.Record
	for {
		rec, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		rig.Must(t, err)
		out = append(out, *rec)
	}
}

// chunkBytes concatenates the chunks of dir.
func chunkBytes(recs []capture.Record, dir formats.Dir) []byte {
	var b []byte
	for _, r := range recs {
		if r.Kind == capture.KindChunk && r.Dir == dir {
			b = append(b, r.Data...)
		}
	}
	return b
}

// logBytes returns the log port's bytes recorded so far.
func (r *proxyRig) logBytes() []byte {
	r.evMu.Lock()
	defer r.evMu.Unlock()
	return append([]byte(nil), r.logData...)
}
