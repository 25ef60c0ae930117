package bridge

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/atbridge/atbridge/bridge/port"
	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/formats"
)

// pumpBuf is the read size of a pump: large enough that a saturated line at
// any baud rate is a few reads per millisecond.
const pumpBuf = 32 << 10

// side is one of the proxy's two ports. Its port may be absent for a while
// (unplugged, being reopened): readers wait for it, writers drop what they
// would have sent, as the wire would.
type side struct {
	px      *Proxy
	idx     uint8
	spec    string
	role    string
	readDir formats.Dir // direction of the bytes read from this side
	opts    port.Options
	reopen  bool // false for the in-process emulator

	mu      sync.Mutex
	port    port.Port
	ready   chan struct{} // closed while port != nil
	line    capture.LineSettings
	stopped bool
}

// set installs a freshly opened port.
func (s *side) set(pt port.Port) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		pt.Close()
		return
	}
	s.port = pt
	s.line = pt.Line()
	if s.ready == nil {
		s.ready = make(chan struct{})
	}
	close(s.ready)
}

func (s *side) current() port.Port {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.port
}

func (s *side) lineNow() capture.LineSettings {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.line
}

// get returns the port, waiting while it is being reopened.
func (s *side) get(ctx context.Context) (port.Port, error) {
	for {
		s.mu.Lock()
		pt, ch := s.port, s.ready
		s.mu.Unlock()
		if pt != nil {
			return pt, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-ch:
		}
	}
}

// setLine applies l to the port now and to the port after a reopen.
func (s *side) setLine(l capture.LineSettings) error {
	s.mu.Lock()
	s.line = l
	s.opts.Line = l
	pt := s.port
	s.mu.Unlock()
	if pt == nil {
		return nil
	}
	return pt.SetLine(l)
}

// shutdown closes the port for good.
func (s *side) shutdown() {
	s.mu.Lock()
	s.stopped = true
	pt := s.port
	s.mu.Unlock()
	if pt != nil {
		pt.Close()
	}
}

// lost handles an error on pt: unless pt was already replaced, it closes
// it, records EvPortLost and starts reopening it every RetryInterval. It
// reports false when the side cannot be reopened (the emulator).
func (s *side) lost(pt port.Port, cause error) bool {
	s.mu.Lock()
	if s.port != pt || s.stopped {
		s.mu.Unlock()
		return true
	}
	s.port = nil
	s.ready = make(chan struct{})
	opts := s.opts
	s.mu.Unlock()
	pt.Close()
	px := s.px
	px.q.event(px.q.now(), s.idx, formats.DirNone, capture.Event{Type: capture.EvPortLost, Text: cause.Error()})
	px.log.Warn("port lost", "port", s.spec, "err", cause)
	if !s.reopen {
		return false
	}
	opts.RetryInterval = px.opts.RetryInterval
	px.wg.Add(1)
	go func() {
		defer px.wg.Done()
		np, err := port.Reopen(px.runCtx, s.spec, &opts)
		if err != nil {
			if px.runCtx.Err() == nil {
				px.log.Error("cannot reopen port", "port", s.spec, "err", err)
				px.q.event(px.q.now(), s.idx, formats.DirNone, capture.Event{Type: capture.EvNote, Text: "giving up on " + s.spec + ": " + err.Error()})
			}
			return
		}
		// Settings may have changed while the port was away.
		if l := s.lineNow(); l != np.Line() {
			_ = np.SetLine(l)
		}
		px.q.event(px.q.now(), s.idx, formats.DirNone, capture.Event{Type: capture.EvPortReopened, Text: s.spec, Line: np.Line()})
		px.log.Info("port reopened", "port", s.spec)
		s.set(np)
		if s.current() == np {
			px.watchPort(s, np)
		}
	}()
	return true
}

// pumps forwards both directions and sends two results to errc: on the
// fast path (pumpBoth: one goroutine polling both ports) while it can,
// then, or for ports it cannot drive, with one pump per direction.
func (p *Proxy) pumps(ctx context.Context, errc chan<- error) {
	if done, err := p.pumpBoth(ctx); done {
		errc <- err
		errc <- nil
		return
	}
	go func() { errc <- p.pumpToDevice(ctx) }()
	errc <- p.pumpToHost(ctx)
}

// sideErr is the error that ends forwarding when side s cannot go on.
func sideErr(s *side, err error) error {
	return fmt.Errorf("%s side %s: %w", s.role, s.spec, err)
}

// pumpToDevice copies the host app's bytes to the device.
func (p *Proxy) pumpToDevice(ctx context.Context) error {
	return p.pump(ctx, p.host, p.dev, &p.toDevice)
}

// pumpToHost copies the device's bytes to the host app.
func (p *Proxy) pumpToHost(ctx context.Context) error {
	return p.pump(ctx, p.dev, p.host, &p.toHost)
}

// pump reads from, queues each read for recording timestamped when it
// returned, and writes it to to (unless sniffing). A write the other side
// fails is the other side's loss; bytes meant for an absent port are
// dropped, as on an unplugged wire. It returns nil when ctx ends.
func (p *Proxy) pump(ctx context.Context, from, to *side, count interface{ Add(int64) int64 }) error {
	buf := make([]byte, pumpBuf)
	for {
		src, err := from.get(ctx)
		if err != nil {
			return nil
		}
		n, rerr := src.Read(buf)
		if n > 0 {
			// Timestamp at the read's return, and queue before forwarding:
			// a reply to these bytes can then never be queued ahead of
			// them (the copy costs well under a microsecond).
			b := buf[:n]
			p.q.chunk(p.q.now(), from.idx, from.readDir, b)
			count.Add(int64(n))
			// Watch before forwarding: a fast device (the emulator) can
			// answer the UART command before this goroutine gets past the
			// write, and its OK must find the command already seen.
			l, why, switching := p.uart.feed(from.readDir, b)
			if !p.opts.Sniff {
				if w := p.forward(to, b); w < len(b) {
					p.notDelivered(from, to, len(b)-w)
				}
			}
			if switching {
				// The OK has gone out at the old settings: switch now.
				p.setLine(l, why, nil)
			}
		}
		if rerr != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(rerr, port.ErrClosed) && from.current() != src {
				continue // the other pump found it lost and closed it
			}
			if !from.lost(src, rerr) {
				return sideErr(from, rerr)
			}
		}
	}
}

// forward writes b to the side's port, all of it, and returns how much
// was written: less than len(b) when the side is absent or is lost.
func (p *Proxy) forward(to *side, b []byte) int {
	dst := to.current()
	if dst == nil {
		return 0
	}
	w := 0
	for w < len(b) {
		n, err := dst.Write(b[w:])
		w += n
		if err != nil {
			if p.runCtx.Err() == nil && !errors.Is(err, port.ErrClosed) {
				to.lost(dst, err)
			}
			return w
		}
	}
	return w
}
