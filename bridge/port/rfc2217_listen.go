package port

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/atbridge/atbridge/capture"
)

// rfc2217Listen is the host side served as an RFC 2217 server
// ("rfc2217-listen:ADDR"): a remote host app (pyserial's "rfc2217://",
// any RFC 2217 client) connects and uses the port as a local one. The
// client's line settings arrive on LineChanges, as a pty host app's
// termios does, so the proxy follows them on the device. The client's DTR
// and RTS read back as DSR and CTS, as across a null-modem cable, so the
// proxy mirrors them to a device that has control lines; a client's BREAK
// counts in LineCounts.
//
// One client at a time: a new connection replaces the current one (a host
// app that crashed and reconnects is not locked out until TCP notices).
// Between clients, reads wait for the next and writes are dropped, as
// bytes sent into a UART with nothing attached.
type rfc2217Listen struct {
	name     string
	ln       net.Listener
	readOnly bool

	portLine

	mu      sync.Mutex
	cond    *sync.Cond
	cur     *listenConn
	lines   capture.ControlLines // the client's DTR and RTS
	ours    capture.ControlLines // what SetControl drives (the client's CTS, DSR)
	counts  LineCounts
	changes chan capture.LineSettings
	reqs    chan Request
	breakAt time.Time // when the client's BREAK ON came

	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error
}

// listenConn is one client's connection.
type listenConn struct {
	tnWriter
	dec  tnDecoder
	cmds []tnCommand
	opts tnOptions
}

var (
	_ Port         = (*rfc2217Listen)(nil)
	_ LineNotifier = (*rfc2217Listen)(nil)
	_ Controller   = (*rfc2217Listen)(nil)
	_ LineCounter  = (*rfc2217Listen)(nil)
	_ Requester    = (*rfc2217Listen)(nil)
)

// openRFC2217Listen implements Open for "rfc2217-listen:ADDR".
func openRFC2217Listen(spec, addr string, o Options) (Port, error) {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return nil, permanentError{fmt.Errorf("open %s: want rfc2217-listen:HOST:PORT (e.g. rfc2217-listen:127.0.0.1:2217): %w", spec, err)}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w (is another program listening there?)", spec, err)
	}
	p := &rfc2217Listen{name: spec, ln: ln, readOnly: o.ReadOnly, portLine: portLine{line: o.Line},
		changes: make(chan capture.LineSettings, 8), reqs: make(chan Request, 8)}
	p.cond = sync.NewCond(&p.mu)
	go p.accept()
	return p, nil
}

// Addr is the address clients connect to (the port chosen for ":0").
func (p *rfc2217Listen) Addr() net.Addr { return p.ln.Addr() }

func (p *rfc2217Listen) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			if p.closed.Load() || errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetNoDelay(true)
		}
		lc := &listenConn{tnWriter: tnWriter{conn: c}}
		lc.opts.want = wantOption
		// Offer binary data and SGA, and ask the client for the Com Port
		// option (RFC 2217 §2: the client sends WILL, the server DO; we
		// send DO first, which a client that sent WILL takes as its answer).
		var hello []byte
		hello = lc.opts.offer(hello, optBinary)
		hello = lc.opts.offer(hello, optSGA)
		hello = appendNeg(hello, tnDO, optComPort)
		lc.opts.remote[optComPort] = true
		lc.send(hello) // a failed write shows on the next Read, as for every send
		p.mu.Lock()
		if p.closed.Load() {
			p.mu.Unlock()
			c.Close()
			return
		}
		if p.cur != nil {
			p.cur.conn.Close()
		}
		p.cur, p.lines = lc, 0
		p.cond.Broadcast()
		p.mu.Unlock()
	}
}

// client waits for a connected client.
func (p *rfc2217Listen) client() (*listenConn, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.cur == nil && !p.closed.Load() {
		p.cond.Wait()
	}
	if p.closed.Load() {
		return nil, fmt.Errorf("read %s: %w", p.name, ErrClosed)
	}
	return p.cur, nil
}

// drop forgets lc if it is still the current client.
func (p *rfc2217Listen) drop(lc *listenConn) {
	lc.conn.Close()
	p.mu.Lock()
	if p.cur == lc {
		p.cur, p.lines = nil, 0
	}
	p.mu.Unlock()
}

// Name returns the spec as the user wrote it.
func (p *rfc2217Listen) Name() string { return p.name }

// SetLine remembers l (the proxy calls it when following the client's own
// settings; nothing goes back to the client).
func (p *rfc2217Listen) SetLine(l capture.LineSettings) error {
	return p.portLine.set(p.name, l, nil)
}

// Requests reports the client's BREAKs (when it ends one) and purges.
func (p *rfc2217Listen) Requests() <-chan Request { return p.reqs }

// request queues r (under mu, while not closed), dropping the oldest.
func (p *rfc2217Listen) request(r Request) {
	if !p.closed.Load() {
		sendLatest(p.reqs, r)
	}
}

// LineChanges reports each line setting the client changes.
func (p *rfc2217Listen) LineChanges() <-chan capture.LineSettings { return p.changes }

// SetControl sets the lines the client sees as its CTS (our RTS) and DSR
// (our DTR), sent as a MODEMSTATE notification.
func (p *rfc2217Listen) SetControl(c capture.ControlLines) error {
	if p.readOnly {
		return fmt.Errorf("set control lines %s: %w", p.name, ErrReadOnly)
	}
	p.mu.Lock()
	p.ours = c & (capture.LineDTR | capture.LineRTS)
	lc, ms := p.cur, p.modemState()
	p.mu.Unlock()
	if lc != nil {
		lc.send(appendComPort(nil, cpServer+cpNotifyModemState, ms))
	}
	return nil
}

// modemState is the client's view of its modem lines (under mu).
func (p *rfc2217Listen) modemState() byte {
	var ms byte
	if p.ours&capture.LineRTS != 0 {
		ms |= msCTS
	}
	if p.ours&capture.LineDTR != 0 {
		ms |= msDSR
	}
	return ms
}

// Control returns the client's DTR as DSR and its RTS as CTS.
func (p *rfc2217Listen) Control() (capture.ControlLines, error) {
	if p.closed.Load() {
		return 0, fmt.Errorf("control lines %s: %w", p.name, ErrClosed)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	var c capture.ControlLines
	if p.lines&capture.LineDTR != 0 {
		c |= capture.LineDSR
	}
	if p.lines&capture.LineRTS != 0 {
		c |= capture.LineCTS
	}
	return c, nil
}

// LineCounts counts the BREAKs the clients sent.
func (p *rfc2217Listen) LineCounts() (LineCounts, error) {
	if p.closed.Load() {
		return LineCounts{}, fmt.Errorf("line counters %s: %w", p.name, ErrClosed)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.counts, nil
}

// Read returns the client's bytes, answering its Telnet and Com Port
// commands on the way; a client leaving means waiting for the next.
func (p *rfc2217Listen) Read(b []byte) (int, error) {
	for {
		lc, err := p.client()
		if err != nil {
			return 0, err
		}
		n, rerr := lc.conn.Read(b)
		data, cmds := lc.dec.decode(b[:n], lc.cmds[:0])
		lc.cmds = cmds[:0]
		p.commands(lc, cmds)
		if len(data) > 0 {
			return len(data), nil
		}
		if rerr != nil {
			if p.closed.Load() {
				return 0, fmt.Errorf("read %s: %w", p.name, ErrClosed)
			}
			p.drop(lc)
		}
	}
}

// commands answers a client's commands.
func (p *rfc2217Listen) commands(lc *listenConn, cmds []tnCommand) {
	var reply []byte
	for _, c := range cmds {
		if c.verb != tnSB {
			reply = lc.opts.answer(reply, c.verb, c.opt)
			continue
		}
		if c.opt == optComPort && len(c.sub) > 0 {
			reply = p.comPort(reply, c.sub[0], c.sub[1:])
		}
	}
	if len(reply) > 0 {
		lc.send(reply)
	}
}

// comPort carries out one client command and appends the answer RFC 2217
// §3 asks for: the value now in force, under command+100.
func (p *rfc2217Listen) comPort(reply []byte, cmd byte, v []byte) []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	l := p.Line()
	old := l
	one := func() (byte, bool) { // a one-byte parameter
		if len(v) != 1 {
			return 0, false
		}
		return v[0], true
	}
	switch cmd {
	case cpSignature:
		return appendComPort(reply, cpServer+cpSignature, []byte("atbridge")...)
	case cpSetBaud:
		if len(v) == 4 {
			if b := int(binary.BigEndian.Uint32(v)); b > 0 {
				l.Baud = b
			}
		}
		reply = appendComPort(reply, cpServer+cpSetBaud, binary.BigEndian.AppendUint32(nil, uint32(l.Baud))...)
	case cpSetDataSize:
		if b, ok := one(); ok && b >= 5 && b <= 8 {
			l.DataBits = b
		}
		reply = appendComPort(reply, cpServer+cpSetDataSize, l.DataBits)
	case cpSetParity:
		if b, ok := one(); ok {
			if par, ok := parityOf(b); ok {
				l.Parity = par
			}
		}
		reply = appendComPort(reply, cpServer+cpSetParity, rfcParity(l.Parity))
	case cpSetStopSize:
		if b, ok := one(); ok {
			if s, ok := stopOf(b); ok {
				l.StopBits = s
			}
		}
		reply = appendComPort(reply, cpServer+cpSetStopSize, rfcStop(l.StopBits))
	case cpSetControl:
		b, ok := one()
		if !ok {
			break
		}
		var ans byte
		switch b {
		case ctlFlowRequest:
			ans = rfcFlow(l.Flow)
		case ctlFlowNone:
			l.Flow, ans = capture.FlowNone, b
		case ctlFlowXonXoff:
			l.Flow, ans = capture.FlowXONXOFF, b
		case ctlFlowHW:
			l.Flow, ans = capture.FlowRTSCTS, b
		case ctlBreakOn:
			p.counts.Break++
			p.breakAt = time.Now()
			ans = b
		case ctlBreakOff:
			if !p.breakAt.IsZero() {
				p.request(Request{Break: time.Since(p.breakAt)})
				p.breakAt = time.Time{}
			}
			ans = b
		case ctlBreakReq:
			ans = ctlBreakOff
		case ctlDTROn, ctlDTROff, ctlRTSOn, ctlRTSOff:
			p.lines = setClientLine(p.lines, b)
			ans = b
		case ctlDTRReq:
			ans = ctlDTROff
			if p.lines&capture.LineDTR != 0 {
				ans = ctlDTROn
			}
		case ctlRTSReq:
			ans = ctlRTSOff
			if p.lines&capture.LineRTS != 0 {
				ans = ctlRTSOn
			}
		default: // inbound flow control and DCD/DSR flow settings: not a UART's
			ans = b
		}
		reply = appendComPort(reply, cpServer+cpSetControl, ans)
	case cpNotifyLineState:
		reply = appendComPort(reply, cpServer+cpNotifyLineState, 0)
	case cpNotifyModemState:
		reply = appendComPort(reply, cpServer+cpNotifyModemState, p.modemState())
	case cpPurge:
		// Carried out on the device where it can purge (Requests); the
		// proxy holds no buffer of its own to drop.
		if b, ok := one(); ok && b >= 1 && b <= 3 {
			p.request(Request{PurgeRX: b&1 != 0, PurgeTX: b&2 != 0})
			reply = appendComPort(reply, cpServer+cmd, b)
		}
	case cpSetLineStateMask, cpSetModemStateMask:
		if b, ok := one(); ok {
			reply = appendComPort(reply, cpServer+cmd, b)
		}
	case cpFlowSuspend, cpFlowResume:
		// Sent by a client whose buffer is full; the TCP window already
		// holds us back, so there is nothing more to do.
	}
	if l != old && !p.closed.Load() && p.portLine.set(p.name, l, nil) == nil {
		sendLatest(p.changes, l)
	}
	return reply
}

func setClientLine(c capture.ControlLines, v byte) capture.ControlLines {
	switch v {
	case ctlDTROn:
		return c | capture.LineDTR
	case ctlDTROff:
		return c &^ capture.LineDTR
	case ctlRTSOn:
		return c | capture.LineRTS
	case ctlRTSOff:
		return c &^ capture.LineRTS
	}
	return c
}

// Write sends b to the client, IAC doubled; with no client it is dropped.
func (p *rfc2217Listen) Write(b []byte) (int, error) {
	if p.readOnly {
		return 0, fmt.Errorf("write %s: %w", p.name, ErrReadOnly)
	}
	if p.closed.Load() {
		return 0, fmt.Errorf("write %s: %w", p.name, ErrClosed)
	}
	p.mu.Lock()
	lc := p.cur
	p.mu.Unlock()
	if lc == nil {
		return len(b), nil
	}
	if err := lc.writeData(b); err != nil {
		p.drop(lc) // the client went away; the next one gets what follows
	}
	return len(b), nil
}

// Close stops listening and drops the client. It is idempotent.
func (p *rfc2217Listen) Close() error {
	p.closeOnce.Do(func() {
		p.mu.Lock()
		p.closed.Store(true)
		if p.cur != nil {
			p.cur.conn.Close()
		}
		p.cond.Broadcast()
		close(p.changes) // under mu: comPort sends only while not closed
		close(p.reqs)
		p.mu.Unlock()
		if err := p.ln.Close(); err != nil {
			p.closeErr = fmt.Errorf("close %s: %w", p.name, err)
		}
	})
	return p.closeErr
}
