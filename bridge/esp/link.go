package esp

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/formats"
	"github.com/atbridge/atbridge/formats/ws"
)

// wsLinks is the number of WebSocket links ESP-AT offers (ids 0..2).
const wsLinks = 3

// Link states as AT+WSOPEN? prints them (esp-at.md §2.3).
const (
	stClosed      = 0
	stConnecting  = 1
	stConnected   = 2
	stWaitTimeout = 3
	stClosing     = 4
)

// wsConfig is one link's AT+WSCFG settings.
type wsConfig struct {
	pingIntv    time.Duration
	pongTimeout time.Duration
	bufSize     int
	authMode    int
	clientCert  *tls.Certificate // auth bit 0
	caPEM       []byte           // auth bit 1
}

func defaultWSConfig() wsConfig {
	return wsConfig{pingIntv: 10 * time.Second, pongTimeout: 120 * time.Second, bufSize: 1024}
}

// dataFmt is a link's AT+WSDATAFMT setting.
type dataFmt struct {
	level int
	mask  int
}

// wsHeader is one AT+WSHEAD entry, split at its first ':'.
type wsHeader struct{ key, value string }

// Link events AT+WSOPEN waits for.
const (
	evConnected = iota + 1
	evDisconnected
)

// wsLink is one allocated link and the goroutine that owns its connection.
type wsLink struct {
	e      *Emulator
	id     int
	uri    string
	dial   wsDial
	cfg    wsConfig
	gen    uint64
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
	events chan int

	mu    sync.Mutex
	state int
	conn  *wsConn

	lastRecv    atomic.Int64 // unix nanos of the last received frame
	waitingPong atomic.Bool
}

// startLink allocates link id and starts connecting. The caller holds no
// lock.
func (e *Emulator) startLink(parent context.Context, gen uint64, id int, uri string, d wsDial, cfg wsConfig) *wsLink {
	l := &wsLink{e: e, id: id, uri: uri, dial: d, cfg: cfg, gen: gen, done: make(chan struct{}), events: make(chan int, 8), state: stConnecting}
	l.ctx, l.cancel = context.WithCancel(parent)
	e.linkWG.Add(1)
	go func() {
		defer e.linkWG.Done()
		defer close(l.done)
		l.run()
	}()
	return l
}

// stop drops the connection without a closing handshake and waits for the
// link's goroutine.
func (l *wsLink) stop() {
	l.cancel()
	l.mu.Lock()
	if l.conn != nil {
		l.conn.Close()
	}
	l.mu.Unlock()
	<-l.done
}

func (l *wsLink) setState(s int) {
	l.mu.Lock()
	l.state = s
	l.mu.Unlock()
}

func (l *wsLink) getState() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.state
}

func (l *wsLink) urc(s string) { l.e.write(l.gen, []byte(s)) }

func (l *wsLink) signal(ev int) {
	select {
	case l.events <- ev:
	default:
	}
}

// run connects, serves the connection and reconnects every
// ReconnectInterval until the link is closed or the server closes it.
func (l *wsLink) run() {
	e := l.e
	for {
		l.setState(stConnecting)
		conn, err := l.connect()
		if l.ctx.Err() != nil {
			if conn != nil {
				conn.Close()
			}
			return
		}
		if err != nil {
			e.log.Info("websocket connect failed: printing +WS_DISCONNECTED", "link", l.id, "uri", l.uri, "err", err)
			l.setState(stWaitTimeout)
			l.urc(fmt.Sprintf("+WS_DISCONNECTED:%d\r\n", l.id))
			l.signal(evDisconnected)
		} else {
			l.mu.Lock()
			l.conn = conn
			l.state = stConnected
			l.mu.Unlock()
			e.event(capture.Event{Type: capture.EvWSConnected, Link: uint8(l.id), Text: l.uri})
			l.urc(fmt.Sprintf("+WS_CONNECTED:%d\r\n", l.id))
			l.signal(evConnected)
			closed, why := l.session(conn)
			conn.Close()
			l.mu.Lock()
			l.conn = nil
			l.mu.Unlock()
			if closed {
				l.e.freeLink(l)
				return
			}
			if l.ctx.Err() != nil {
				return
			}
			e.log.Info("websocket link lost: printing +WS_DISCONNECTED, will reconnect", "link", l.id, "why", why, "in", e.opts.ReconnectInterval)
			e.event(capture.Event{Type: capture.EvWSClosed, Link: uint8(l.id), Text: "connection lost: " + why})
			l.setState(stWaitTimeout)
			l.urc(fmt.Sprintf("+WS_DISCONNECTED:%d\r\n", l.id))
			l.signal(evDisconnected)
		}
		select {
		case <-time.After(e.opts.ReconnectInterval):
		case <-l.ctx.Done():
			return
		}
	}
}

// connect makes one attempt bounded by the network timeout.
//
// Wi-Fi: a board that was never told to join (state "not started") is taken
// to be on a network already, as a board whose saved AP joined at boot is,
// so host apps and the shared golden sessions may open links straight away.
// Once the host has taken the station down (AT+CWQAP, a failed AT+CWJAP,
// AT+CWMODE=0 or 2) nothing is reachable until it joins again.
func (l *wsLink) connect() (*wsConn, error) {
	l.e.mu.Lock()
	wifi := l.e.st.wifi
	l.e.mu.Unlock()
	if wifi == wifiLost {
		return nil, errors.New("Wi-Fi is disconnected (AT+CWJAP to join)")
	}
	if f := l.e.dialFilter; f != nil {
		if err := f(l.dial.u.Host); err != nil {
			return nil, err
		}
	}
	ctx, cancel := context.WithTimeout(l.ctx, l.e.opts.NetworkTimeout)
	defer cancel()
	c, err := dialWS(ctx, &l.dial)
	if err != nil {
		return nil, err
	}
	c.onFrame = func(dir formats.Dir, h ws.Header, p []byte) { l.e.recordFrame(l.id, dir, h, p) }
	return c, nil
}

// session reads frames until the connection ends. It reports closed=true
// when the server sent a close frame (the link is then freed, no
// reconnect), and otherwise why the connection was lost.
func (l *wsLink) session(c *wsConn) (closed bool, why string) {
	l.lastRecv.Store(time.Now().UnixNano())
	l.waitingPong.Store(false)
	var pongLost atomic.Bool
	pingDone := make(chan struct{})
	stopPing := make(chan struct{})
	go func() {
		defer close(pingDone)
		l.pinger(c, stopPing, &pongLost)
	}()
	defer func() {
		close(stopPing)
		<-pingDone
	}()
	err := l.readLoop(c)
	if errors.Is(err, errServerClosed) {
		return true, ""
	}
	if pongLost.Load() {
		return false, fmt.Sprintf("no PONG within %s of a PING", l.cfg.pongTimeout)
	}
	return false, err.Error()
}

// pinger sends an empty PING after ping_intv_sec without received frames
// and aborts the connection when no PONG comes within ping_timeout_sec.
func (l *wsLink) pinger(c *wsConn, stop <-chan struct{}, pongLost *atomic.Bool) {
	tick := time.NewTicker(pingCheck(l.cfg.pingIntv))
	defer tick.Stop()
	var lastPing, pingAt time.Time
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		now := time.Now()
		last := time.Unix(0, l.lastRecv.Load())
		if now.Sub(last) >= l.cfg.pingIntv && now.Sub(lastPing) >= l.cfg.pingIntv {
			lastPing = now
			if err := c.writeFrame(ws.OpPing, true, nil, l.e.opts.NetworkTimeout); err != nil {
				c.Close()
				return
			}
			if !l.waitingPong.Load() {
				l.waitingPong.Store(true)
				pingAt = now
			}
		}
		if l.waitingPong.Load() && now.Sub(pingAt) > l.cfg.pongTimeout {
			pongLost.Store(true)
			c.Close()
			return
		}
	}
}

// pingCheck is how often the pinger looks at the clock: a tenth of the
// interval, at most 500 ms.
func pingCheck(intv time.Duration) time.Duration {
	return min(intv/10, 500*time.Millisecond)
}

var errServerClosed = errors.New("server sent a close frame")

// readLoop reads frames, printing +WS_DATA per piece of at most buffer_size
// bytes. Pieces are read whole (io.ReadFull) so output does not depend on
// TCP segmentation; the firmware may print smaller pieces.
func (l *wsLink) readLoop(c *wsConn) error {
	buf := make([]byte, l.cfg.bufSize)
	var rec []byte
	for {
		h, err := c.readHeader()
		if err != nil {
			return err
		}
		l.lastRecv.Store(time.Now().UnixNano())
		if h.Control() {
			if h.Length > 1<<20 {
				return fmt.Errorf("control frame of %d bytes", h.Length)
			}
			p := make([]byte, h.Length)
			if err := c.readFull(p); err != nil {
				return err
			}
			if h.Masked {
				ws.Mask(h.MaskKey, 0, p)
			}
			l.e.recordFrame(l.id, formats.ToClient, h, p)
			switch h.Opcode {
			case ws.OpPing:
				if err := c.writeFrame(ws.OpPong, true, p, l.e.opts.NetworkTimeout); err != nil {
					return err
				}
			case ws.OpPong:
				l.waitingPong.Store(false)
			case ws.OpClose:
				l.serverClosed(c, p)
				return errServerClosed
			}
			continue
		}
		rec = rec[:0]
		var off uint64
		first := true
		for first || off < h.Length {
			first = false
			n := l.e.wsPiece(min(uint64(len(buf)), h.Length-off))
			p := buf[:n]
			if err := c.readFull(p); err != nil {
				return err
			}
			if h.Masked {
				ws.Mask(h.MaskKey, off, p)
			}
			if len(rec) < recordPayloadLimit {
				rec = append(rec, p[:min(len(p), recordPayloadLimit-len(rec))]...)
			}
			// A frame read in one piece is recorded before its +WS_DATA,
			// as a tap on the network would see it, so that the network
			// and the device's time are told apart on one clock.
			whole := off == 0 && n == h.Length
			if whole {
				l.e.recordFrame(l.id, formats.ToClient, h, rec)
			}
			if h.Opcode <= ws.OpBinary {
				l.printData(h, off, p)
			}
			off += n
			if !whole && off >= h.Length {
				l.e.recordFrame(l.id, formats.ToClient, h, rec)
			}
		}
	}
}

// serverClosed handles a close frame: +WS_CLOSED, then the library's own
// close reply (empty body), then up to 1 s for the server's FIN.
func (l *wsLink) serverClosed(c *wsConn, body []byte) {
	l.setState(stClosing)
	var code uint16
	reason := ""
	if len(body) >= 2 {
		code = binary.BigEndian.Uint16(body)
		reason = string(body[2:])
	}
	l.e.log.Info("server closed the link: printing +WS_CLOSED, link freed (no reconnect)", "link", l.id, "code", code, "reason", reason)
	// The slot is freed before the URC, so a host reacting to +WS_CLOSED
	// finds the link closed (the firmware frees it once its task exits,
	// up to 1 s later; the emulator does not reproduce that window).
	l.e.freeLink(l)
	l.urc(fmt.Sprintf("+WS_CLOSED:%d\r\n", l.id))
	_ = c.writeFrame(ws.OpClose, true, nil, time.Second)
	l.e.event(capture.Event{Type: capture.EvWSClosed, Link: uint8(l.id), Code: code, Text: reason})
	_ = c.c.SetReadDeadline(time.Now().Add(time.Second))
	var b [512]byte
	for {
		if _, err := c.br.Read(b[:]); err != nil {
			return
		}
	}
}

// printData prints one piece of a data frame as +WS_DATA, in the default
// format or the link's AT+WSDATAFMT (esp-at.md §2.5, §3).
func (l *wsLink) printData(h ws.Header, off uint64, p []byte) {
	f := dataFmt{level: 0, mask: 48}
	if l.e.opts.Firmware == FirmwareDev {
		l.e.mu.Lock()
		f = l.e.st.datafmt[l.id]
		l.e.mu.Unlock()
	}
	end := off+uint64(len(p)) == h.Length
	prefix, crlf := true, true
	switch f.level {
	case 1:
		prefix, crlf = off == 0, end
	case 2:
		prefix, crlf = h.Opcode != 0 && off == 0, h.Fin && end
	}
	out := make([]byte, 0, len(p)+48)
	if prefix {
		out = append(out, "+WS_DATA:"...)
		out = strconv.AppendInt(out, int64(l.id), 10)
		fields := []uint64{uint64(h.Opcode), b2u(h.Fin), h.Length, off, uint64(len(p))}
		for i, v := range fields {
			if f.mask&(1<<i) != 0 {
				out = append(out, ',')
				out = strconv.AppendUint(out, v, 10)
			}
		}
		out = append(out, ',')
	}
	out = append(out, p...)
	if crlf && f.mask&32 != 0 {
		out = append(out, '\r', '\n')
	}
	l.e.write(l.gen, out)
}

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// send implements AT+WSSEND's frame mapping (esp-at.md §2.4). It returns
// an error whenever the firmware would answer ERROR.
func (l *wsLink) send(op uint8, fin, hasFin bool, payload []byte, timeout time.Duration) error {
	l.mu.Lock()
	c, st := l.conn, l.state
	l.mu.Unlock()
	if c == nil || st != stConnected {
		return fmt.Errorf("link %d is not connected (state %d)", l.id, st)
	}
	if !hasFin || fin {
		if op == ws.OpCont && hasFin {
			// send_fin: an empty FIN continuation; the payload is ignored
			// and the library returns 0, which is ERROR unless length was 0.
			if err := c.writeFrame(ws.OpCont, true, nil, timeout); err != nil {
				return err
			}
			if len(payload) > 0 {
				return errors.New("opcode 0 with fin 1 sends an empty FIN frame and returns 0 (firmware answers ERROR)")
			}
			return nil
		}
		return l.fragment(c, op, true, payload, timeout)
	}
	switch op {
	case ws.OpText, ws.OpBinary, ws.OpCont:
		return l.fragment(c, op, false, payload, timeout)
	}
	return fmt.Errorf("unsupported opcode:%d fin:0 combination", op)
}

// fragment sends payload as frames of at most buffer_size bytes: the first
// with op, the rest CONT, FIN on the last when fin (one frame when empty).
func (l *wsLink) fragment(c *wsConn, op uint8, fin bool, payload []byte, timeout time.Duration) error {
	first := true
	for widx := 0; first || widx < len(payload); first = false {
		n := min(len(payload)-widx, l.cfg.bufSize)
		last := widx+n == len(payload)
		if err := c.writeFrame(op, fin && last, payload[widx:widx+n], timeout); err != nil {
			return err
		}
		op = ws.OpCont
		widx += n
	}
	return nil
}

// parseWSURI checks a WSOPEN uri: ws:// or wss:// only, default path "/".
func parseWSURI(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "ws" && u.Scheme != "wss" {
		return nil, fmt.Errorf("not a websocket scheme: %q", u.Scheme)
	}
	if u.Host == "" {
		return nil, errors.New("no host")
	}
	if u.Path == "" {
		u.Path = "/"
	}
	return u, nil
}

// freeLink forgets l (and its link's WSCFG) if it is still allocated.
func (e *Emulator) freeLink(l *wsLink) {
	e.mu.Lock()
	if e.links[l.id] == l {
		e.links[l.id] = nil
		e.st.wscfg[l.id] = nil
	}
	e.mu.Unlock()
}

// closeAllLinks drops every link, WebSocket and TCP (no URC), and waits for
// their goroutines.
func (e *Emulator) closeAllLinks() {
	e.closeAllTCP()
	e.closeMQTT()
	e.mu.Lock()
	ls := e.links
	e.links = [wsLinks]*wsLink{}
	e.mu.Unlock()
	for _, l := range ls {
		if l != nil {
			l.stop()
		}
	}
	e.linkWG.Wait()
}
