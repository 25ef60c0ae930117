package bridge

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/atbridge/atbridge/bridge/port"
	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/formats"
)

// The log UART: an ESP32 prints its ROM boot lines, ESP-IDF log lines and
// panics on UART0, apart from the AT UART. ProxyOptions.LogPort records
// that output as the capture's third port (capture.PortLog), read-only, on
// the capture's one clock, so a reset or a panic lines up with the AT
// bytes around it. Nothing is ever written to the port; a lost log port
// is reopened as the others are, and never stops the proxy.

// LogEmulator is a DeviceEmulator that can also print its console: with
// ProxyOptions.LogPort EmulateSpec, the proxy runs it with the writing end
// of an in-memory log UART. *esp.Options implements it.
type LogEmulator interface {
	DeviceEmulator
	// EmulateWithLog is Emulate with the board's console written to log.
	EmulateWithLog(ctx context.Context, dev io.ReadWriter, log io.Writer, clock func() int64, record func(*capture.Record)) error
}

// openLog opens ProxyOptions.LogPort.
func (p *Proxy) openLog(ctx context.Context) error {
	o := &p.opts
	if o.Host == "" {
		return errors.New("proxy: a log port needs the host and device ports too")
	}
	line := port.LineDefaults(o.LogLine)
	popts := port.Options{Line: line, ReadOnly: true, RetryInterval: o.RetryInterval}
	s := &side{px: p, idx: capture.PortLog, spec: o.LogPort, role: "log", readDir: formats.ToHost, opts: popts, reopen: o.LogPort != EmulateSpec}
	if o.LogPort == EmulateSpec {
		if o.Device != EmulateSpec {
			return errors.New("log port " + EmulateSpec + " is the in-process emulator's console: it needs --device " + EmulateSpec)
		}
		if _, ok := o.Emulator.(LogEmulator); !ok {
			return errors.New("log port " + EmulateSpec + ": this emulator has no log UART")
		}
		a, b := memPair(EmulateSpec+" (log UART)", line)
		s.spec = EmulateSpec
		s.set(a)
		p.logSide, p.emuLog = s, b
		return nil
	}
	pt, err := port.Open(ctx, o.LogPort, &popts)
	if err != nil && o.Wait && port.Retryable(err) && ctx.Err() == nil {
		if o.Waiting != nil {
			o.Waiting("log", o.LogPort, err)
		}
		pt, err = port.Reopen(ctx, o.LogPort, &popts)
	}
	if err != nil {
		return fmt.Errorf("log port: %w", err)
	}
	s.set(pt)
	p.logSide = s
	return nil
}

// startLog records the log UART until ctx ends.
func (p *Proxy) startLog(ctx context.Context) {
	s := p.logSide
	p.q.event(p.q.now(), s.idx, formats.DirNone, capture.Event{Type: capture.EvPortOpened, Text: s.spec, Line: s.lineNow()})
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		p.pumpLog(ctx, s)
	}()
}

// pumpLog reads the log UART and queues each read as a PortLog chunk,
// timestamped when the read returned. A lost port is reopened; when it
// cannot be (the emulator's console ended), only the log stops.
func (p *Proxy) pumpLog(ctx context.Context, s *side) {
	buf := make([]byte, pumpBuf)
	for {
		src, err := s.get(ctx)
		if err != nil {
			return
		}
		n, rerr := src.Read(buf)
		if n > 0 {
			p.q.chunk(p.q.now(), s.idx, formats.ToHost, buf[:n])
		}
		if rerr == nil {
			continue
		}
		if ctx.Err() != nil {
			return
		}
		if !s.lost(src, rerr) {
			return
		}
	}
}
