package bridge

import (
	"bufio"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atbridge/atbridge/bridge/port"
	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/formats"
)

// proxyRig is a real bench in software: a test host app on the slave of a
// pty: port the proxy owns, the proxy, and an emulator on another pty whose
// slave the proxy opens as a serial device (so unplugging is closing that
// pty). Everything is recorded to a real .atcap file.
type proxyRig struct {
	t       *testing.T
	dir     string
	devLink string
	host    *hostApp
	px      *Proxy
	w       *capture.Writer
	capPath string

	emu *rigEmu

	cancel context.CancelFunc
	runErr chan error

	evMu   sync.Mutex
	events []capture.Record
	evCond *sync.Cond
}

// rigEmu is one emulator run on the device pty.
type rigEmu struct {
	port   port.Port
	sink   *recordSink
	cancel context.CancelFunc
	done   chan error
}

func startRigEmu(t *testing.T, link string, opts *EmulatorOptions) *rigEmu {
	t.Helper()
	p, err := port.Open(context.Background(), "pty:"+link, nil)
	must(t, err)
	return serveRigEmu(t, p, opts)
}

func serveRigEmu(t *testing.T, p port.Port, opts *EmulatorOptions) *rigEmu {
	var o EmulatorOptions
	if opts != nil {
		o = *opts
	}
	if o.Log == nil {
		o.Log = testLogger(t)
	}
	o.RestartDelay = 20 * time.Millisecond
	sink := &recordSink{}
	o.Record = sink.add
	ctx, cancel := context.WithCancel(context.Background())
	e := &rigEmu{port: p, sink: sink, cancel: cancel, done: make(chan error, 1)}
	em := NewEmulator(&o)
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
	for _, r := range e.sink.all() {
		if r.Kind == capture.KindChunk && r.Dir == dir {
			b = append(b, r.Data...)
		}
	}
	return b
}

type rigOptions struct {
	emu   *EmulatorOptions
	proxy ProxyOptions
	// echo puts an echoing device on the device pty instead of the
	// emulator.
	echo bool
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
	must(t, err)
	o := ro.proxy
	o.Host = "pty:" + filepath.Join(dir, "host")
	o.Device = r.devLink
	o.Log = testLogger(t)
	o.Observe = func(rec *capture.Record) {
		if rec.Kind != capture.KindEvent {
			return
		}
		r.evMu.Lock()
		r.events = append(r.events, *rec)
		r.evCond.Broadcast()
		r.evMu.Unlock()
	}
	r.w, err = capture.Create(r.capPath, capture.Header{Tool: "test", Ports: []capture.PortInfo{
		{Name: o.Host, Role: "host"}, {Name: o.Device, Role: "device"}}}, nil)
	must(t, err)
	o.Recorder = r.w
	r.px, err = OpenProxy(context.Background(), &o)
	if err != nil {
		devPort.Close()
		t.Fatal(err)
	}
	if ro.echo {
		echoDone := make(chan struct{})
		go func() {
			defer close(echoDone)
			_, _ = io.Copy(devPort, devPort)
		}()
		t.Cleanup(func() {
			devPort.Close()
			<-echoDone
		})
	} else {
		r.emu = serveRigEmu(t, devPort, ro.emu)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	r.runErr = make(chan error, 1)
	go func() { r.runErr <- r.px.Run(ctx) }()

	f, err := os.OpenFile(filepath.Join(dir, "host"), os.O_RDWR, 0)
	must(t, err)
	r.host = newHostApp(t, f)
	t.Cleanup(func() {
		r.stop()
		r.host.close()
	})
	return r
}

// play runs a script: "> QUOTED" is sent, "< QUOTED" expected exactly,
// consecutive "<~ QUOTED" lines expected in any order; vars replaces $NAME.
func (h *hostApp) play(t *testing.T, path string, vars map[string]string) {
	t.Helper()
	f, err := os.Open(path)
	must(t, err)
	defer f.Close()
	var group []string
	flush := func() {
		if len(group) > 0 {
			h.expectAnyOrder(group...)
			group = nil
		}
	}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		op, rest, _ := strings.Cut(line, " ")
		s, err := strconv.Unquote(strings.TrimSpace(rest))
		if err != nil {
			t.Fatalf("%s:%d: %v", path, n, err)
		}
		for k, v := range vars {
			s = strings.ReplaceAll(s, "$"+k, v)
		}
		switch op {
		case ">":
			flush()
			h.send(s)
		case "<":
			flush()
			h.expect(s)
		case "<~":
			group = append(group, s)
		default:
			t.Fatalf("%s:%d: unknown direction %q", path, n, op)
		}
	}
	flush()
	must(t, sc.Err())
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
	deadline := time.Now().Add(expectTimeout)
	timer := time.AfterFunc(expectTimeout, func() {
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
	must(t, err)
	defer rd.Close()
	var out []capture.Record
	for {
		rec, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		must(t, err)
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
