package port

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/atbridge/atbridge/capture"
)

// rfc2217Client is a device behind an RFC 2217 server ("rfc2217://HOST:PORT"):
// ser2net's telnet(rfc2217) accepter, a console server, esp-link. Line
// settings, DTR and RTS go to the server as Com Port commands; the
// server's MODEMSTATE notifications are the port's CTS, DSR, RI and DCD,
// and its LINESTATE notifications count BREAKs and receive errors, which
// the proxy's line watch turns into events. A dropped connection is
// ErrLost, as an unplugged adapter, so the proxy reconnects and records
// the gap.
type rfc2217Client struct {
	name     string
	readOnly bool

	portLine // Line, and SetLine's bookkeeping
	tnWriter // conn, and one write to it at a time

	// Read's own state: only Read (one goroutine at a time, as with every
	// Port) touches these.
	dec     tnDecoder
	cmds    []tnCommand
	pending []byte // data bytes read while Open negotiated

	smu     sync.Mutex // what the server told us, and the lines we drive
	opts    tnOptions
	comPort int // 0 not answered yet, 1 agreed, -1 refused
	driven  capture.ControlLines
	modem   byte
	counts  LineCounts
	acked   capture.LineSettings // the server's answers to our settings

	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error
}

var (
	_ Port        = (*rfc2217Client)(nil)
	_ Controller  = (*rfc2217Client)(nil)
	_ LineCounter = (*rfc2217Client)(nil)
	_ Breaker     = (*rfc2217Client)(nil)
	_ Purger      = (*rfc2217Client)(nil)
)

// rfc2217Negotiate is how long Open waits for the server to agree to the
// Com Port option before it says the other end is not an RFC 2217 server.
const rfc2217Negotiate = 3 * time.Second

// wantOption is what either end agrees to: binary data, no go-aheads,
// the Com Port option. ECHO (ser2net offers it) is refused, or the server
// would send the client's bytes back.
func wantOption(opt byte) bool {
	return opt == optBinary || opt == optSGA || opt == optComPort
}

// openRFC2217 implements Open for "rfc2217://HOST:PORT".
func openRFC2217(ctx context.Context, spec, addr string, o Options) (_ Port, err error) {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return nil, permanentError{fmt.Errorf("open %s: want rfc2217://HOST:PORT: %w", spec, err)}
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		if errors.Is(err, syscall.ECONNREFUSED) {
			return nil, fmt.Errorf("open %s: connection refused (is the RFC 2217 server running and listening on %s?): %w", spec, addr, err)
		}
		return nil, fmt.Errorf("open %s: %w", spec, err)
	}
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetNoDelay(true) // AT traffic is small and latency-bound
	}
	p := &rfc2217Client{name: spec, readOnly: o.ReadOnly, portLine: portLine{line: o.Line}, tnWriter: tnWriter{conn: c}}
	p.opts.want = wantOption
	defer func() {
		if err != nil {
			c.Close()
		}
	}()
	var hello []byte
	hello = p.opts.offer(hello, optBinary)
	hello = p.opts.offer(hello, optSGA)
	hello = appendNeg(hello, tnWILL, optComPort)
	p.opts.local[optComPort] = true
	if err := p.send(hello); err != nil {
		return nil, fmt.Errorf("open %s: %w", spec, err)
	}
	if err := p.awaitComPort(ctx); err != nil {
		return nil, err
	}
	// The settings, then which notifications we want: every modem line
	// and the line errors (RFC 2217 §3, SET-LINESTATE-MASK and
	// SET-MODEMSTATE-MASK).
	if err := p.sendLine(o.Line); err != nil {
		return nil, fmt.Errorf("open %s: %w", spec, err)
	}
	msg := appendComPort(nil, cpSetLineStateMask, rfcLineStateMask)
	msg = appendComPort(msg, cpSetModemStateMask, 0xFF)
	msg = appendComPort(msg, cpNotifyModemState)
	if o.Control != nil && !o.ReadOnly {
		msg = p.appendControl(msg, *o.Control)
	}
	if err := p.send(msg); err != nil {
		return nil, fmt.Errorf("open %s: %w", spec, err)
	}
	return p, nil
}

// awaitComPort reads until the server agrees to the Com Port option (or
// refuses it), keeping any data bytes for Read.
func (p *rfc2217Client) awaitComPort(ctx context.Context) error {
	deadline := time.Now().Add(rfc2217Negotiate)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	p.conn.SetReadDeadline(deadline)
	defer p.conn.SetReadDeadline(time.Time{})
	buf := make([]byte, 512)
	for {
		p.smu.Lock()
		state := p.comPort
		p.smu.Unlock()
		switch state {
		case 1:
			return nil
		case -1:
			return permanentError{fmt.Errorf("open %s: the server refused the RFC 2217 Com Port option; if it is a raw TCP serial server, use tcp:%s", p.name, p.conn.RemoteAddr())}
		}
		n, err := p.conn.Read(buf)
		data := p.handle(buf[:n])
		p.pending = append(p.pending, data...)
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return fmt.Errorf("open %s: no RFC 2217 answer from %s in %v (a raw TCP serial server? then use tcp:HOST:PORT)", p.name, p.conn.RemoteAddr(), rfc2217Negotiate)
			}
			return fmt.Errorf("open %s: %w", p.name, err)
		}
	}
}

// Name returns the spec as the user wrote it.
func (p *rfc2217Client) Name() string { return p.name }

// SetLine sends l to the server (allowed on a read-only port: a sniffer
// must follow the line's speed).
func (p *rfc2217Client) SetLine(l capture.LineSettings) error {
	return p.portLine.set(p.name, l, func(l capture.LineSettings) error {
		if p.closed.Load() {
			return fmt.Errorf("set line %s: %w", p.name, ErrClosed)
		}
		return p.sendLine(l)
	})
}

// sendLine sends l's settings (RFC 2217 §3: SET-BAUDRATE, SET-DATASIZE,
// SET-PARITY, SET-STOPSIZE, SET-CONTROL for flow control). The server's
// answers, the values it put into force, are recorded as Read sees them.
func (p *rfc2217Client) sendLine(l capture.LineSettings) error {
	return p.send(appendLine(nil, 0, l))
}

// SetControl raises or drops DTR and RTS through SET-CONTROL.
func (p *rfc2217Client) SetControl(c capture.ControlLines) error {
	if p.readOnly {
		return fmt.Errorf("set control lines %s: %w", p.name, ErrReadOnly)
	}
	return p.send(p.appendControl(nil, c))
}

func (p *rfc2217Client) appendControl(dst []byte, c capture.ControlLines) []byte {
	dtr, rts := byte(ctlDTROff), byte(ctlRTSOff)
	if c&capture.LineDTR != 0 {
		dtr = ctlDTROn
	}
	if c&capture.LineRTS != 0 {
		rts = ctlRTSOn
	}
	p.smu.Lock()
	p.driven = c & (capture.LineDTR | capture.LineRTS)
	p.smu.Unlock()
	dst = appendComPort(dst, cpSetControl, dtr)
	return appendComPort(dst, cpSetControl, rts)
}

// SendBreak implements Breaker: SET-CONTROL BREAK ON, d, BREAK OFF.
func (p *rfc2217Client) SendBreak(d time.Duration) error {
	if p.readOnly {
		return fmt.Errorf("send break %s: %w", p.name, ErrReadOnly)
	}
	if err := p.send(appendComPort(nil, cpSetControl, ctlBreakOn)); err != nil {
		return err
	}
	time.Sleep(d)
	return p.send(appendComPort(nil, cpSetControl, ctlBreakOff))
}

// Purge implements Purger with PURGE-DATA (1 receive, 2 transmit, 3 both).
func (p *rfc2217Client) Purge(rx, tx bool) error {
	if p.readOnly {
		return fmt.Errorf("purge %s: %w", p.name, ErrReadOnly)
	}
	var v byte
	if rx {
		v |= 1
	}
	if tx {
		v |= 2
	}
	if v == 0 {
		return nil
	}
	return p.send(appendComPort(nil, cpPurge, v))
}

// Control returns DTR and RTS as we drove them and CTS, DSR, RI and DCD as
// the server last notified them.
func (p *rfc2217Client) Control() (capture.ControlLines, error) {
	if p.closed.Load() {
		return 0, fmt.Errorf("control lines %s: %w", p.name, ErrClosed)
	}
	p.smu.Lock()
	defer p.smu.Unlock()
	return p.driven | modemLines(p.modem), nil
}

// LineCounts counts the BREAKs and receive errors the server notified.
func (p *rfc2217Client) LineCounts() (LineCounts, error) {
	if p.closed.Load() {
		return LineCounts{}, fmt.Errorf("line counters %s: %w", p.name, ErrClosed)
	}
	p.smu.Lock()
	defer p.smu.Unlock()
	return p.counts, nil
}

// Read returns the device's bytes, answering the server's Telnet commands
// on the way. The server closing the connection is ErrLost.
func (p *rfc2217Client) Read(b []byte) (int, error) {
	for {
		if len(p.pending) > 0 {
			n := copy(b, p.pending)
			p.pending = p.pending[n:]
			return n, nil
		}
		n, err := p.conn.Read(b)
		if data := p.handle(b[:n]); len(data) > 0 {
			return len(data), nil
		}
		if err != nil {
			return 0, p.ioError("read", err)
		}
	}
}

// handle decodes raw in place, acts on its commands and returns its data.
func (p *rfc2217Client) handle(raw []byte) []byte {
	data, cmds := p.dec.decode(raw, p.cmds[:0])
	p.cmds = cmds[:0]
	var reply []byte
	p.smu.Lock()
	for _, c := range cmds {
		if c.verb != tnSB {
			reply = p.opts.answer(reply, c.verb, c.opt)
			if c.opt == optComPort && p.comPort == 0 {
				switch c.verb {
				case tnDO:
					p.comPort = 1
				case tnDONT, tnWONT:
					p.comPort = -1
				}
			}
			continue
		}
		if c.opt != optComPort || len(c.sub) == 0 {
			continue
		}
		p.serverCommand(c.sub[0], c.sub[1:])
	}
	p.smu.Unlock()
	if len(reply) > 0 {
		p.send(reply) // a failed write shows on the next Read or Write
	}
	return data
}

// serverCommand records one of the server's Com Port messages (under smu).
func (p *rfc2217Client) serverCommand(cmd byte, v []byte) {
	switch cmd {
	case cpServer + cpNotifyLineState:
		if len(v) == 1 {
			countLineState(&p.counts, v[0])
		}
	case cpServer + cpNotifyModemState:
		if len(v) == 1 {
			p.modem = v[0]
		}
	case cpServer + cpSetBaud:
		if len(v) == 4 {
			p.acked.Baud = int(binary.BigEndian.Uint32(v))
		}
	case cpServer + cpSetDataSize:
		if len(v) == 1 {
			p.acked.DataBits = v[0]
		}
	case cpServer + cpSetParity:
		if len(v) == 1 {
			p.acked.Parity, _ = parityOf(v[0])
		}
	case cpServer + cpSetStopSize:
		if len(v) == 1 {
			p.acked.StopBits, _ = stopOf(v[0])
		}
	}
}

// Write sends b to the device, IAC doubled (ErrReadOnly on a read-only
// port).
func (p *rfc2217Client) Write(b []byte) (int, error) {
	if p.readOnly {
		return 0, fmt.Errorf("write %s: %w", p.name, ErrReadOnly)
	}
	if err := p.writeData(b); err != nil {
		return 0, p.ioError("write", err)
	}
	return len(b), nil
}

// send writes Telnet commands.
func (p *rfc2217Client) send(msg []byte) error {
	if err := p.tnWriter.send(msg); err != nil {
		return p.ioError("write", err)
	}
	return nil
}

func (p *rfc2217Client) ioError(op string, err error) error {
	return netError(op, p.name, "the RFC 2217 server", p.closed.Load(), err)
}

// Close closes the connection, unblocking Read and Write. It is idempotent.
func (p *rfc2217Client) Close() error {
	p.closeOnce.Do(func() {
		p.closed.Store(true)
		if err := p.conn.Close(); err != nil {
			p.closeErr = fmt.Errorf("close %s: %w", p.name, err)
		}
	})
	return p.closeErr
}
