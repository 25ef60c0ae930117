package esp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/atbridge/atbridge/capture"
)

// AT+CIPSTART and AT+CIPSTARTEX for "TCP", "UDP" and "SSL" and their v6
// forms (docs/esp-at-surface.md §3.2), and AT+CIPV6 (§3.1).

// startReq is a parsed AT+CIPSTART.
type startReq struct {
	id        int
	typ       string // as typed: "TCP", "UDPv6", ...
	base      string // "TCP", "UDP" or "SSL"
	v6        bool
	host      string
	port      int
	keepalive int64 // -1: omitted (the last value is used)
	localIP   string
	localPort int // UDP
	udpMode   int // UDP 0..2
	timeout   time.Duration
}

// parseStart reads the fields after the link id (p has them all).
func (c *call) parseStart(r *startReq, mux bool) (result, bool) {
	p := c.cmd.Params
	if mux && !r.auto() {
		if len(p) < 4 {
			return c.paramErr("0x01060000", "AT+CIPSTART under AT+CIPMUX=1 takes <link>,<type>,\"host\",<port>..."), false
		}
		v, ok := p[0].Int()
		if !ok || v < 0 || v >= tcpLinks {
			return c.paramErr("0x01070000", "AT+CIPSTART link must be 0..4"), false
		}
		r.id, p = int(v), p[1:]
	}
	if len(p) < 3 {
		return c.paramErr("0x01060000", "AT+CIPSTART takes <type>,\"host\",<port>[,...] (a link id only under AT+CIPMUX=1)"), false
	}
	if !p[0].Quoted {
		return c.paramErr("0x01050000", "AT+CIPSTART type must be quoted"), false
	}
	r.typ = p[0].Value
	r.base, r.v6 = strings.CutSuffix(r.typ, "v6")
	if r.base != "TCP" && r.base != "UDP" && r.base != "SSL" {
		return c.paramErr("0x01070000", "AT+CIPSTART type must be TCP, UDP, SSL, TCPv6, UDPv6 or SSLv6, not "+strconv.Quote(r.typ)), false
	}
	maxFields := 6 // type, host, port, keepalive, local IP, timeout
	if r.base == "UDP" {
		maxFields = 7 // type, host, port, local port, mode, local IP, timeout
	}
	if len(p) > maxFields {
		return c.paramErr("0x01060000", fmt.Sprintf("AT+CIPSTART %q takes at most %d fields after the link id", r.typ, maxFields)), false
	}
	if !p[1].Quoted || p[1].Value == "" || len(p[1].Value) > 64 {
		return c.paramErr("0x01050000", "AT+CIPSTART host must be a quoted string of 1..64 bytes"), false
	}
	r.host = p[1].Value
	port, ok := p[2].Int()
	if !ok || port < 1 || port > 65535 {
		return c.paramErr("0x01070000", "AT+CIPSTART port must be 1..65535"), false
	}
	r.port = int(port)
	r.keepalive = -1
	num := func(i int, lo, hi int64, what string) (int64, bool, result) {
		if len(p) <= i || p[i].Empty {
			return 0, false, resOK
		}
		v, ok := p[i].Int()
		if !ok || v < lo || v > hi {
			return 0, false, c.paramErr("0x01070000", fmt.Sprintf("AT+CIPSTART %s must be %d..%d", what, lo, hi))
		}
		return v, true, resOK
	}
	ipField := 4
	if r.base == "UDP" {
		ipField = 5
		lp, set, res := num(3, 0, 65535, "UDP local port")
		if res != resOK {
			return res, false
		}
		r.localPort = int(lp)
		m, mset, res := num(4, 0, 2, "UDP mode")
		if res != resOK {
			return res, false
		}
		if mset && !set {
			return c.paramErr("0x01070000", "AT+CIPSTART UDP mode needs the local port"), false
		}
		r.udpMode = int(m)
	} else {
		v, set, res := num(3, 0, 7200, "keepalive")
		if res != resOK {
			return res, false
		}
		if set {
			r.keepalive = v
		}
	}
	if len(p) > ipField && !p[ipField].Empty {
		if !p[ipField].Quoted || (p[ipField].Value != "" && net.ParseIP(p[ipField].Value) == nil) {
			return c.paramErr("0x01050000", "AT+CIPSTART local IP must be a quoted IP address"), false
		}
		r.localIP = p[ipField].Value
	}
	tmo, _, res := num(maxFields-1, 0, 60000, "timeout (ms)")
	if res != resOK {
		return res, false
	}
	r.timeout = time.Duration(tmo) * time.Millisecond
	return resOK, true
}

// auto reports an AT+CIPSTARTEX (the link id is picked, id -1 until then).
func (r *startReq) auto() bool { return r.id < 0 }

func cmdCIPSTART(c *call) result   { return c.cipStart(&startReq{}) }
func cmdCIPSTARTEX(c *call) result { return c.cipStart(&startReq{id: -1}) }

// cipStart runs AT+CIPSTART (or AT+CIPSTARTEX, which takes no link id and
// uses the lowest free one under AT+CIPMUX=1). Success prints CONNECT (or
// <link>,CONNECT; +LINK_CONN under AT+SYSMSG bit 1) before OK, for UDP too.
func (c *call) cipStart(r *startReq) result {
	e := c.e
	e.mu.Lock()
	mux, wifi, sysmsg, v6 := e.st.tcp.mux, e.st.wifi, e.st.sysmsg, e.st.tcp.v6
	e.mu.Unlock()
	if res, ok := c.parseStart(r, mux); !ok {
		return res
	}
	if r.v6 && !v6 {
		return c.errorf("AT+CIPSTART " + strconv.Quote(r.typ) + " needs AT+CIPV6=1 first")
	}
	if r.base == "UDP" && r.udpMode != 0 && e.passMode() {
		return c.errorf("AT+CIPSTART UDP mode 1 or 2 in passthrough (mode 0 only)")
	}
	e.mu.Lock()
	if r.auto() {
		r.id = 0
		if mux {
			r.id = -1
			for i, l := range e.tcp {
				if l == nil {
					r.id = i
					break
				}
			}
		}
	}
	busy := r.id < 0 || e.tcp[r.id] != nil
	if r.keepalive < 0 {
		r.keepalive = e.st.tcp.keepalive // sticky (DOC-TCP)
	} else {
		e.st.tcp.keepalive = r.keepalive
	}
	var ssl sslConf
	if r.id >= 0 {
		ssl = e.st.tcp.ssl[r.id]
	}
	e.mu.Unlock()
	if busy {
		if r.id < 0 {
			return c.errorf("AT+CIPSTARTEX: all 5 links are in use")
		}
		c.print("ALREADY CONNECTED\r\n")
		return c.errorf("AT+CIPSTART on a link in use", "link", r.id)
	}
	if wifi == wifiLost {
		// Same rule as the WebSocket links (wsLink.connect): a board never
		// told to join counts as on a network, one taken off it does not.
		return c.errorf("AT+CIPSTART without Wi-Fi (AT+CWJAP to join)")
	}
	prefix := muxPrefix(mux, r.id)
	addr := net.JoinHostPort(r.host, strconv.Itoa(r.port))
	l := &tcpLink{e: e, id: r.id, mux: mux, gen: c.gen, typ: r.typ, done: make(chan struct{})}
	var err error
	if r.base == "UDP" {
		err = e.dialUDP(c.ctx, l, r, addr)
	} else {
		l.conn, err = e.dialStream(c.ctx, r, addr, ssl)
	}
	if c.ctx.Err() != nil {
		if l.conn != nil {
			_ = l.conn.Close()
		}
		return resNone
	}
	if err != nil {
		var dnsErr *net.DNSError
		if errors.As(err, &dnsErr) {
			return c.errorf("AT+CIPSTART: the host name does not resolve", "err", err)
		}
		if r.base == "UDP" {
			return c.errorf("AT+CIPSTART: UDP socket failed", "addr", addr, "err", err)
		}
		// A captured failure (GH-NAL10) shows ERROR and then <id>,CLOSED:
		// the handler returns ERROR, then the connection's close callback
		// prints CLOSED (§10.1).
		c.final = []byte("\r\nERROR\r\n" + prefix + "CLOSED\r\n")
		e.log.Info("AT+CIPSTART: connect failed: ERROR, then CLOSED", "addr", addr, "err", err)
		return resNone
	}
	if l.udp == nil {
		l.remote, _ = l.conn.RemoteAddr().(*net.TCPAddr)
		if la, ok := l.conn.LocalAddr().(*net.TCPAddr); ok {
			l.local = la.Port
		}
	}
	if l.remote == nil {
		l.remote = &net.TCPAddr{IP: net.IPv4zero}
	}
	e.mu.Lock()
	e.tcp[r.id] = l
	e.mu.Unlock()
	e.event(capture.Event{Type: capture.EvNote, Text: fmt.Sprintf("tcp link %d connected to %s (local port %d)", r.id, l.remote, l.local)})
	e.log.Info("link connected", "link", r.id, "type", r.typ, "addr", addr, "remote", l.remote.String())
	if sysmsg&2 != 0 {
		c.print(fmt.Sprintf("+LINK_CONN:0,%d,%q,0,%q,%d,%d\r\n", r.id, r.typ, l.remote.IP.String(), l.remote.Port, l.local))
	} else {
		c.print(prefix + "CONNECT\r\n")
	}
	e.tcpWG.Add(1)
	go func() {
		defer e.tcpWG.Done()
		defer close(l.done)
		if l.udp != nil {
			l.runUDP()
			return
		}
		l.run()
	}()
	return resOK
}

// passMode reports AT+CIPMODE=1.
func (e *Emulator) passMode() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.st.tcp.passMode
}

// localAddr is the address to bind for AT+CIPSTART's local IP: only one
// the host machine has. A choice: an address the host lacks (the emulated
// board's station IP, say) is accepted and not bound, as the board's own
// interface is not the host's.
func localAddr(ip string) net.IP {
	want := net.ParseIP(ip)
	if want == nil {
		return nil
	}
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.Equal(want) {
			return want
		}
	}
	return nil
}

// dialStream connects a TCP or SSL link within the link's timeout (or the
// network timeout), with TCP keepalive every keepalive seconds (0: off).
func (e *Emulator) dialStream(ctx context.Context, r *startReq, addr string, ssl sslConf) (net.Conn, error) {
	if f := e.dialFilter; f != nil {
		if err := f(addr); err != nil {
			return nil, err
		}
	}
	tmo := e.opts.NetworkTimeout
	if r.timeout > 0 {
		tmo = r.timeout
	}
	d := net.Dialer{Timeout: tmo, KeepAlive: -1, Resolver: e.resolver()}
	if r.keepalive > 0 {
		d.KeepAlive = time.Duration(r.keepalive) * time.Second
	}
	if ip := localAddr(r.localIP); ip != nil {
		d.LocalAddr = &net.TCPAddr{IP: ip}
	}
	network := "tcp4"
	if r.v6 {
		network = "tcp6"
	}
	conn, err := d.DialContext(ctx, network, addr)
	if err != nil || r.base != "SSL" {
		return conn, err
	}
	if ssl.psk != "" {
		e.log.Info("SSL link: the PSK of AT+CIPSSLCPSK is not offered (Go's TLS has no external PSK); certificate suites only", "link", r.id)
	}
	tc, err := e.sslClientConfig(ssl, r.host)
	if err != nil {
		_ = conn.Close()
		return nil, err
	}
	hctx, cancel := context.WithTimeout(ctx, tmo)
	defer cancel()
	t := tls.Client(conn, tc)
	if err := t.HandshakeContext(hctx); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("TLS handshake: %w", err)
	}
	return t, nil
}

// cmdCIPV6Query prints +CIPV6:<0|1>.
func cmdCIPV6Query(c *call) result {
	c.e.mu.Lock()
	v := c.e.st.tcp.v6
	c.e.mu.Unlock()
	c.print(fmt.Sprintf("+CIPV6:%d\r\n", b2u(v)))
	return resOK
}

// cmdCIPV6Set: AT+CIPV6=<0|1> enables the v6 types of AT+CIPSTART. A
// choice: it is not saved to flash (the firmware saves it under
// AT+SYSSTORE=1), so it resets on reboot.
func cmdCIPV6Set(c *call) result {
	v, res, ok := c.boolParam("AT+CIPV6")
	if !ok {
		return res
	}
	c.e.mu.Lock()
	c.e.st.tcp.v6 = v
	c.e.mu.Unlock()
	return resOK
}
