package bridge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/atbridge/atbridge/bridge/port"
	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/formats"
)

// ProxyOptions configure a Proxy. Host and Device name the two serial ports
// as port.Open spells them; Device may also be EmulateSpec. Recorder is
// required; every other zero field means its default.
type ProxyOptions struct {
	// Host is the host app's side: "pty:PATH" for a PC host app, or a
	// serial device or "tcp:HOST:PORT" wired to the host's UART. Empty
	// (with Device empty too) runs only the WebSocket taps.
	Host string
	// Device is the ESP32's side: a serial device, "tcp:HOST:PORT", a
	// pty:PATH, or EmulateSpec for the in-process emulator.
	Device string
	// Line is applied to both ports when they open (zero fields: 115200 8N1).
	Line capture.LineSettings
	// Sniff opens both ports read-only and forwards nothing: each port is a
	// receive-only tap on one TX line (atbridge sniff). Host's reads are
	// recorded ToDevice, Device's ToHost.
	Sniff bool
	// Recorder receives every record. The caller closes it after Run.
	Recorder Recorder
	// QueueBytes bounds the data waiting for Recorder; zero means
	// DefaultQueueBytes. Past it, data is forwarded but counted as lost.
	QueueBytes int
	// Observe, when set, sees each record after Recorder took it, on the
	// recording goroutine (the live view). The record is only valid during
	// the call. A slow Observe makes the queue fill, never the line wait.
	Observe func(*capture.Record)
	// RetryInterval is how often a lost port is reopened; zero means 500 ms.
	RetryInterval time.Duration
	// Wait makes OpenProxy wait for a port that is not there yet (a board
	// not plugged in, a serial server not up), trying every RetryInterval
	// until ctx ends, instead of failing. Waiting is called once for each
	// port it waits for, with the error of the first try.
	Wait    bool
	Waiting func(role, spec string, err error)
	// LinePoll is how often a pty: host port's termios is read; zero means
	// port.DefaultLinePoll.
	LinePoll time.Duration
	// ControlPoll is how often the host port's modem lines are read to
	// mirror DTR and RTS to the device; zero means 20 ms.
	ControlPoll time.Duration
	// Emulator is the in-process device run when Device is EmulateSpec
	// (required then): cmd/atbridge passes an *esp.Options.
	Emulator DeviceEmulator
	// Taps are WebSocket taps recorded into the same capture.
	Taps []TapConfig
	// LogPort is the ESP32's log (console) UART, recorded as a third
	// port (capture.PortLog) on the same clock and never written: any
	// port form, or EmulateSpec (with Device EmulateSpec) for the
	// in-process emulator's own log stream. Empty records none.
	LogPort string
	// LogLine is LogPort's line (zero fields: 115200 8N1, the ROM's and
	// ESP-IDF's default). AT+UART_CUR and termios changes never touch it.
	LogLine capture.LineSettings
	// Log receives one line per port event; nil discards.
	Log *slog.Logger
}

// Proxy forwards a host app's UART to an ESP32's and records both
// directions, the WebSocket taps and what happens to the ports.
//
// Forwarding reads a side, queues a copy for recording, and writes the
// other side; it never waits for the disk. While both ports are serial
// devices or pty: ports (on Linux and macOS), one goroutine does both
// directions with poll(2), as socat does (pumpBoth: the fewest wake-ups
// and system calls per message); otherwise, and after a port was lost, two
// independent pumps do, one per direction (pumpToDevice, pumpToHost). The
// first fatal error tears forwarding down and Run waits for it.
//
// Create it with OpenProxy, run it once with Run, and Close it. Mark and
// Stats are safe to call from any goroutine.
type Proxy struct {
	opts ProxyOptions
	log  *slog.Logger
	q    *recQueue
	uart uartWatch

	host, dev *side
	logSide   *side // the log UART, nil without one
	emuPort   *memPort
	emuLog    *memPort // the emulator's end of its log UART
	taps      []*tapListener
	links     atomic.Uint32 // tap connection numbers

	runCtx context.Context
	wg     sync.WaitGroup // reopeners, watchers, taps

	toDevice, toHost atomic.Int64 // bytes forwarded (or, sniffing, read)
	// undelivered counts bytes read for an absent side, by the side they
	// were read from: [0] host (to the device), [1] device (to the host).
	undelivered [2]atomic.Int64
	inLoop      atomic.Bool // pumpBoth's loop is forwarding (for tests)

	ran       atomic.Bool
	closeOnce sync.Once
}

// ProxyStats counts a proxy's traffic.
type ProxyStats struct {
	ToDevice int64 // bytes read from the host side
	ToHost   int64 // bytes read from the device side
	// NotDeliveredToDevice and NotDeliveredToHost are the bytes of ToDevice
	// and ToHost that were read and recorded but never written, because
	// the other side was absent (EvNotDelivered events mark them).
	NotDeliveredToDevice, NotDeliveredToHost int64
	Queue                                    QueueStats
}

// OpenProxy opens the ports and the tap listeners, so a host app can open
// a pty: link as soon as it returns, and returns the proxy ready to Run.
// ctx bounds the opening only.
func OpenProxy(ctx context.Context, opts *ProxyOptions) (_ *Proxy, err error) {
	if opts == nil || opts.Recorder == nil {
		return nil, errors.New("proxy: a Recorder is required")
	}
	o := *opts
	if (o.Host == "") != (o.Device == "") {
		return nil, errors.New("proxy: give both a host and a device port")
	}
	if o.Host == "" && len(o.Taps) == 0 {
		return nil, errors.New("proxy: nothing to do: no ports and no WebSocket taps")
	}
	if o.RetryInterval <= 0 {
		o.RetryInterval = 500 * time.Millisecond
	}
	if o.ControlPoll <= 0 {
		o.ControlPoll = 20 * time.Millisecond
	}
	o.Line = port.LineDefaults(o.Line)
	p := &Proxy{opts: o, log: o.Log}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	p.q = newRecQueue(o.Recorder, o.QueueBytes, o.Observe)
	defer func() {
		if err != nil {
			p.closePorts()
		}
	}()
	if o.Host != "" {
		popts := port.Options{Line: o.Line, ReadOnly: o.Sniff, LinePoll: o.LinePoll, RetryInterval: o.RetryInterval}
		p.host = &side{px: p, idx: capture.PortHost, spec: o.Host, role: "host", readDir: formats.ToDevice, opts: popts, reopen: true}
		p.dev = &side{px: p, idx: capture.PortDevice, spec: o.Device, role: "device", readDir: formats.ToHost, opts: popts, reopen: o.Device != EmulateSpec}
		open := func(role, spec string) (port.Port, error) {
			pt, err := port.Open(ctx, spec, &popts)
			if err == nil || !o.Wait || !port.Retryable(err) || ctx.Err() != nil {
				return pt, err
			}
			if o.Waiting != nil {
				o.Waiting(role, spec, err)
			}
			return port.Reopen(ctx, spec, &popts)
		}
		hp, err := open("host", o.Host)
		if err != nil {
			// No "proxy:" prefix: the caller (atbridge proxy or sniff)
			// says what it ran.
			return nil, fmt.Errorf("host side: %w", err)
		}
		p.host.set(hp)
		if o.Device == EmulateSpec {
			if o.Sniff {
				return nil, errors.New("device side: sniff cannot listen to the emulator (it is not a wire)")
			}
			if o.Emulator == nil {
				return nil, errors.New("proxy: device " + EmulateSpec + " needs ProxyOptions.Emulator")
			}
			a, b := memPair(EmulateSpec, o.Line)
			p.dev.set(a)
			p.emuPort = b
		} else {
			dp, err := open("device", o.Device)
			if err != nil {
				return nil, fmt.Errorf("device side: %w", err)
			}
			p.dev.set(dp)
		}
	}
	if o.LogPort != "" {
		if err := p.openLog(ctx); err != nil {
			return nil, err
		}
	}
	for _, tc := range o.Taps {
		t, err := listenTap(ctx, p, tc)
		if err != nil {
			return nil, err
		}
		p.taps = append(p.taps, t)
	}
	return p, nil
}

// Ports describes the two ports for a capture header (nil with no ports).
func (p *Proxy) Ports() []capture.PortInfo {
	if p.host == nil {
		return nil
	}
	ports := []capture.PortInfo{
		{Name: p.host.spec, Role: "host", Line: p.host.lineNow()},
		{Name: p.dev.spec, Role: "device", Line: p.dev.lineNow()},
	}
	if p.logSide != nil {
		ports = append(ports, capture.PortInfo{Name: p.logSide.spec, Role: "log", Line: p.logSide.lineNow()})
	}
	return ports
}

// TapAddrs returns the address each WebSocket tap listens on, in the order
// of ProxyOptions.Taps (useful when a tap was given port 0).
func (p *Proxy) TapAddrs() []string {
	var a []string
	for _, t := range p.taps {
		a = append(a, t.ln.Addr().String())
	}
	return a
}

// Mark records a marker with text (what the user typed) at the current time.
func (p *Proxy) Mark(text string) {
	p.q.event(p.q.now(), 0, formats.DirNone, capture.Event{Type: capture.EvMarker, Text: text})
}

// Note records a free-form annotation by the tool.
func (p *Proxy) Note(text string) {
	p.q.event(p.q.now(), 0, formats.DirNone, capture.Event{Type: capture.EvNote, Text: text})
}

// Stats returns the traffic so far.
func (p *Proxy) Stats() ProxyStats {
	return ProxyStats{ToDevice: p.toDevice.Load(), ToHost: p.toHost.Load(),
		NotDeliveredToDevice: p.undelivered[0].Load(), NotDeliveredToHost: p.undelivered[1].Load(), Queue: p.q.snapshot()}
}

// Run forwards and records until ctx ends or a side fails for good (the
// in-process emulator stopped, a port error that reopening cannot fix). It
// returns nil when ctx ended. Every record is with the Recorder when Run
// returns; the ports are closed. Run may be called once.
func (p *Proxy) Run(ctx context.Context) error {
	if !p.ran.CompareAndSwap(false, true) {
		return errors.New("proxy: Run called twice")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	p.runCtx = ctx

	qdone := make(chan struct{})
	go func() {
		defer close(qdone)
		p.q.run()
	}()

	errc := make(chan error, 2)
	pumps := 0
	if p.host != nil {
		for _, s := range []*side{p.host, p.dev} {
			pt := s.current()
			p.q.event(p.q.now(), s.idx, formats.DirNone, capture.Event{Type: capture.EvPortOpened, Text: s.spec, Line: pt.Line()})
			p.watchPort(s, pt)
		}
		if p.logSide != nil {
			p.startLog(ctx)
		}
		if p.emuPort != nil {
			p.startEmulator(ctx)
		}
		p.startLineWatch(ctx)
		pumps = 2
		go p.pumps(ctx, errc)
	}
	for _, t := range p.taps {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			t.serve(ctx)
		}()
	}

	var first error
	ended := 0
	select {
	case <-ctx.Done():
	case first = <-errc:
		ended++
	}
	cancel()
	p.closePorts()
	for ; ended < pumps; ended++ {
		if err := <-errc; first == nil {
			first = err
		}
	}
	p.wg.Wait()
	if p.host != nil {
		t := p.q.now()
		p.q.event(t, capture.PortHost, formats.DirNone, capture.Event{Type: capture.EvPortClosed})
		p.q.event(t, capture.PortDevice, formats.DirNone, capture.Event{Type: capture.EvPortClosed})
		if p.logSide != nil {
			p.q.event(t, capture.PortLog, formats.DirNone, capture.Event{Type: capture.EvPortClosed})
		}
	}
	p.q.close()
	<-qdone
	return first
}

// startEmulator runs the in-process emulator on the other end of the
// device's in-memory line. Its WebSocket frames and link events go into the
// capture; its serial chunks and line events would repeat the proxy's own,
// so they are left out.
func (p *Proxy) startEmulator(ctx context.Context) {
	record := func(r *capture.Record) {
		if r.Kind == capture.KindChunk || (r.Kind == capture.KindEvent && r.Event.Type == capture.EvLineSettings) {
			return
		}
		p.q.push(*r, true)
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		var err error
		if p.emuLog != nil {
			err = p.opts.Emulator.(LogEmulator).EmulateWithLog(ctx, p.emuPort, p.emuLog, p.q.now, record)
		} else {
			err = p.opts.Emulator.Emulate(ctx, p.emuPort, p.q.now, record)
		}
		p.emuPort.Close()
		if err != nil && ctx.Err() == nil {
			p.log.Warn("emulator stopped", "err", err)
		}
	}()
}

// Close closes the ports and listeners. Run closes them too; Close is for
// a proxy that was opened but never run, and is idempotent.
func (p *Proxy) Close() error {
	p.closePorts()
	return nil
}

func (p *Proxy) closePorts() {
	p.closeOnce.Do(func() {
		for _, s := range []*side{p.host, p.dev, p.logSide} {
			if s != nil {
				s.shutdown()
			}
		}
		if p.emuPort != nil {
			p.emuPort.Close()
		}
		if p.emuLog != nil {
			p.emuLog.Close()
		}
		for _, t := range p.taps {
			t.close()
		}
	})
}

// setLine switches both ports to l and records it, why saying what asked.
func (p *Proxy) setLine(l capture.LineSettings, why string, except *side) {
	t := p.q.now()
	for _, s := range []*side{p.host, p.dev} {
		if s == except {
			continue
		}
		if err := s.setLine(l); err != nil {
			p.log.Warn("could not change line settings", "port", s.spec, "line", l.String(), "err", err)
			p.q.event(t, s.idx, formats.DirNone, capture.Event{Type: capture.EvNote, Text: fmt.Sprintf("could not switch %s to %s: %v", s.spec, l, err)})
			continue
		}
		p.q.event(t, s.idx, formats.DirNone, capture.Event{Type: capture.EvLineSettings, Line: l, Text: why})
	}
	p.log.Info("line settings changed", "line", l.String(), "by", why)
}

// forwardRequests carries out a remote host app's BREAKs and purges
// (rfc2217-listen) on the device where it can, and records each.
func (p *Proxy) forwardRequests(ch <-chan port.Request) {
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for r := range ch {
			dev := p.dev.current()
			var what string
			var err error
			switch {
			case r.Break > 0:
				what = fmt.Sprintf("BREAK of %v from the host app", r.Break.Round(time.Millisecond))
				if b, ok := dev.(port.Breaker); ok {
					err = b.SendBreak(r.Break)
				} else {
					err = fmt.Errorf("the device port cannot send a BREAK")
				}
			default:
				what = "purge from the host app"
				if pg, ok := dev.(port.Purger); ok {
					err = pg.Purge(r.PurgeRX, r.PurgeTX)
				} else {
					err = fmt.Errorf("the device port has no buffers to purge")
				}
			}
			text := what + ": sent to the device"
			if err != nil {
				text = what + ": not sent: " + err.Error()
			}
			p.q.event(p.q.now(), p.dev.idx, formats.DirNone, capture.Event{Type: capture.EvNote, Text: text})
			p.log.Info(text)
		}
	}()
}

// watchPort starts what follows a freshly opened port: for a pty: host, the
// host app's termios changes, mirrored to the device.
func (p *Proxy) watchPort(s *side, pt port.Port) {
	if rq, ok := pt.(port.Requester); ok && s == p.host && !p.opts.Sniff {
		p.forwardRequests(rq.Requests())
	}
	ln, ok := pt.(port.LineNotifier)
	if !ok || s != p.host {
		return
	}
	ch := ln.LineChanges()
	src, by := port.LineSource(pt)
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for l := range ch {
			l = port.LineDefaults(l)
			s.mu.Lock()
			same := s.line == l
			s.line = l
			s.mu.Unlock()
			if same {
				continue
			}
			p.q.event(p.q.now(), s.idx, formats.DirNone, capture.Event{Type: capture.EvLineSettings, Line: l, Text: src})
			p.setLine(l, by, s)
		}
	}()
}
