package esp

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/atbridge/atbridge/capture"
)

// The server commands (docs/esp-at-surface.md §3.5; DOC-TCP
// "AT+CIPSERVER", "AT+CIPSERVERMAXCONN", "AT+CIPSTO"): one TCP or SSL
// server under AT+CIPMUX=1, accepting real connections on the host at
// Options.ServerBind, port + Options.ServerPortOffset. Each client takes
// the lowest free link id and is announced with "<id>,CONNECT" (or
// +LINK_CONN under AT+SYSMSG bit 1); from then on it is a link like any
// other (+IPD, AT+CIPSEND, passive receive, AT+CIPCLOSE), shown with
// tetype 1 by AT+CIPSTATUS and AT+CIPSTATE. A client idle for AT+CIPSTO
// seconds is closed with "<id>,CLOSED".

const (
	defaultServerPort = 333 // DOC-TCP "AT+CIPSERVER": "Default: 333"
	defaultMaxConn    = 5   // AT+CIPSERVERMAXCONN's range top (§10.9)
	defaultSTO        = 180 // AT+CIPSTO (§10.9: ESP8266-era docs)
)

// SSL server files, named as in ESP-AT's raw_data partitions
// (components/customized_partitions/raw_data): the server's certificate
// and key, and the CA its clients' certificates must chain to when
// <CA enable> is 1.
func serverCertPath(dir string) string { return filepath.Join(dir, "server_cert", "server_cert.crt") }
func serverKeyPath(dir string) string  { return filepath.Join(dir, "server_key", "server.key") }
func serverCAPath(dir string) string   { return filepath.Join(dir, "server_ca", "server_ca.crt") }

// listenServer is the running AT+CIPSERVER.
type listenServer struct {
	ln    net.Listener
	port  int    // the port the host app asked for (queries show it)
	typ   string // "TCP", "TCPv6", "SSL", "SSLv6"
	ca    int64
	netif int64
	gen   uint64
	done  chan struct{} // closed when accept and every admit have returned

	ctx    context.Context // ends SSL handshakes when the server stops
	cancel context.CancelFunc
	wg     sync.WaitGroup // admits in flight
}

// serverSSL builds the TLS configuration of an SSL server: TLS 1.2 as
// ESP-IDF's mbedTLS speaks it, with the client's certificate required and
// checked against server_ca when ca is set.
func (e *Emulator) serverSSL(ca bool) (*tls.Config, error) {
	if e.opts.PKIDir == "" {
		return nil, errors.New("an SSL server needs certificates: start emulate with --pki DIR holding " +
			"server_cert/server_cert.crt and server_key/server.key")
	}
	cert, err := tls.LoadX509KeyPair(serverCertPath(e.opts.PKIDir), serverKeyPath(e.opts.PKIDir))
	if err != nil {
		return nil, fmt.Errorf("loading the SSL server's certificate: %w", err)
	}
	tc := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS12}
	if ca {
		b, err := os.ReadFile(serverCAPath(e.opts.PKIDir))
		if err != nil {
			return nil, fmt.Errorf("CA enable 1 needs the clients' CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(b) {
			return nil, fmt.Errorf("%s holds no PEM certificate", serverCAPath(e.opts.PKIDir))
		}
		tc.ClientCAs, tc.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	return tc, nil
}

// cmdCIPSERVERSet is AT+CIPSERVER=1[,<port>][,<"type">][,<CA enable>][,<netif>]
// or AT+CIPSERVER=0[,<close all>].
func cmdCIPSERVERSet(c *call) result {
	p := c.cmd.Params
	if len(p) < 1 || len(p) > 5 {
		return c.paramErr("0x01060000", "AT+CIPSERVER takes 1..5 parameters")
	}
	mode, res, ok := c.reqInt(0, 0, 1, "AT+CIPSERVER mode")
	if !ok {
		return res
	}
	if mode == 0 {
		if len(p) > 2 {
			return c.paramErr("0x01060000", "AT+CIPSERVER=0 takes only <close all>: omit type and CA")
		}
		all, res, ok := c.optInt(1, 0, 1, 0, "AT+CIPSERVER=0's close all")
		if !ok {
			return res
		}
		return c.stopServer(all == 1)
	}
	port, res, ok := c.optInt(1, 1, 65535, defaultServerPort, "AT+CIPSERVER port")
	if !ok {
		return res
	}
	typ := "TCP"
	if pp, there := c.cmd.Param(2); there && !pp.Empty {
		if !pp.Quoted {
			return c.badType(2, "AT+CIPSERVER type must be a quoted string")
		}
		switch pp.Value {
		case "TCP", "TCPv6", "SSL", "SSLv6":
			typ = pp.Value
		default:
			return c.badValue(2, `AT+CIPSERVER type must be "TCP", "TCPv6", "SSL" or "SSLv6"`)
		}
	}
	ca, res, ok := c.optInt(3, 0, 1, 0, "AT+CIPSERVER CA enable")
	if !ok {
		return res
	}
	netif, res, ok := c.optInt(4, 0, 3, 0, "AT+CIPSERVER netif")
	if !ok {
		return res
	}
	v6 := typ == "TCPv6" || typ == "SSLv6"
	e := c.e
	e.mu.Lock()
	mux, running, ipv6 := e.st.tcp.mux, e.srv != nil, e.st.tcp.v6
	e.mu.Unlock()
	switch {
	case !mux:
		return c.execFail("AT+CIPSERVER needs AT+CIPMUX=1")
	case running:
		return c.execFail("AT+CIPSERVER: a server is running already (only one; AT+CIPSERVER=0 first)")
	case v6 && !ipv6:
		return c.execFail("AT+CIPSERVER " + strconv.Quote(typ) + " needs AT+CIPV6=1 first")
	}
	var tc *tls.Config
	if typ == "SSL" || typ == "SSLv6" {
		var err error
		if tc, err = e.serverSSL(ca == 1); err != nil {
			return c.execFail("AT+CIPSERVER: " + err.Error())
		}
	}
	network, host := "tcp4", e.opts.ServerBind
	if v6 {
		network = "tcp6"
		if host == "127.0.0.1" {
			host = "::1"
		}
	}
	addr := net.JoinHostPort(host, strconv.Itoa(int(port)+e.opts.ServerPortOffset))
	ln, err := net.Listen(network, addr)
	if err != nil {
		return c.execFail("AT+CIPSERVER: cannot listen on " + addr + " (" + err.Error() +
			"); choose another port or start emulate with --server-port-offset N")
	}
	if tc != nil {
		ln = tls.NewListener(ln, tc)
	}
	s := &listenServer{ln: ln, port: int(port), typ: typ, ca: ca, netif: netif, gen: c.gen, done: make(chan struct{})}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	e.mu.Lock()
	e.srv = s
	e.mu.Unlock()
	e.log.Info("AT+CIPSERVER: listening", "addr", ln.Addr().String(), "type", typ)
	e.event(capture.Event{Type: capture.EvNote, Text: fmt.Sprintf("server listening on %s (%s, port %d asked)", ln.Addr(), typ, port)})
	go e.accept(s)
	return resOK
}

// stopServer closes the server's listener; with all, its clients too,
// each with its CLOSED.
func (c *call) stopServer(all bool) result {
	e := c.e
	e.mu.Lock()
	s := e.srv
	e.srv = nil
	var clients []*tcpLink
	if all {
		for _, l := range e.tcp {
			if l != nil && l.server {
				clients = append(clients, l)
			}
		}
	}
	e.mu.Unlock()
	if s == nil {
		// A choice: the firmware's delete on no server is not documented;
		// lwIP has nothing to close and the handler reports success.
		return resOK
	}
	s.close()
	for _, l := range clients {
		c.closeTCP(l)
	}
	return resOK
}

// stopServerQuiet closes the server without a URC (reboot).
func (e *Emulator) stopServerQuiet() {
	e.mu.Lock()
	s := e.srv
	e.srv = nil
	e.mu.Unlock()
	if s != nil {
		s.close()
	}
}

// close stops accepting and waits for the accept loop and any client still
// in its TLS handshake.
func (s *listenServer) close() {
	s.cancel()
	_ = s.ln.Close()
	<-s.done
}

// accept takes the server's clients until its listener closes.
func (e *Emulator) accept(s *listenServer) {
	defer close(s.done)
	defer s.wg.Wait()
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return
		}
		tc, ok := conn.(*tls.Conn)
		if !ok {
			e.admit(s, conn)
			continue
		}
		// The handshake comes before the client is announced, so one that
		// fails it (no certificate with CA enable 1) is never a link.
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			ctx, cancel := context.WithTimeout(s.ctx, e.opts.NetworkTimeout)
			defer cancel()
			if err := tc.HandshakeContext(ctx); err != nil {
				e.log.Info("server: SSL handshake failed, client dropped", "remote", conn.RemoteAddr().String(), "err", err)
				_ = conn.Close()
				return
			}
			e.admit(s, conn)
		}()
	}
}

// admit gives a new client the lowest free link id, or refuses it past
// AT+CIPSERVERMAXCONN or with every link in use: the firmware logs "Have
// %d Connections" on its log port and closes the socket (LIB-IP), so the
// host app sees nothing.
func (e *Emulator) admit(s *listenServer, conn net.Conn) {
	e.mu.Lock()
	if e.srv != s {
		e.mu.Unlock()
		_ = conn.Close()
		return
	}
	id, clients := -1, 0
	for i, l := range e.tcp {
		if l == nil && id < 0 {
			id = i
		}
		if l != nil && l.server {
			clients++
		}
	}
	max, sysmsg, mux := e.st.tcp.maxConn, e.st.sysmsg, e.st.tcp.mux
	if id < 0 || int64(clients) >= max {
		e.mu.Unlock()
		e.log.Info("server: client refused", "remote", conn.RemoteAddr().String(), "why", fmt.Sprintf("Have %d Connections", clients))
		_ = conn.Close()
		return
	}
	typ := "TCP"
	if s.typ == "SSL" || s.typ == "SSLv6" {
		typ = "SSL"
	}
	if s.typ == "TCPv6" || s.typ == "SSLv6" {
		typ += "v6"
	}
	l := &tcpLink{e: e, id: id, mux: mux, gen: s.gen, conn: conn, typ: typ, local: s.port, server: true, done: make(chan struct{})}
	if ra, ok := conn.RemoteAddr().(*net.TCPAddr); ok {
		l.remote = ra
	} else {
		l.remote = &net.TCPAddr{IP: net.IPv4zero}
	}
	e.tcp[id] = l
	e.tcpWG.Add(1)
	e.mu.Unlock()
	e.log.Info("server: client connected", "link", id, "remote", l.remote.String())
	e.event(capture.Event{Type: capture.EvNote, Text: fmt.Sprintf("tcp link %d: client %s connected to the server", id, l.remote)})
	if sysmsg&2 != 0 {
		e.write(s.gen, []byte(fmt.Sprintf("+LINK_CONN:0,%d,%q,1,%q,%d,%d\r\n", id, typ, l.remote.IP.String(), l.remote.Port, s.port)))
	} else {
		e.write(s.gen, []byte(l.linkPrefix()+"CONNECT\r\n"))
	}
	go func() {
		defer e.tcpWG.Done()
		defer close(l.done)
		l.run()
	}()
}

// idleDeadline restarts a server client's AT+CIPSTO timer: "when the
// client initiates a communication with the server or the server initiate
// a communication with the client within the set time, the timer will
// restart" (DOC-TCP "AT+CIPSTO"). Client links have no timer.
func (l *tcpLink) idleDeadline() {
	if !l.server {
		return
	}
	l.e.mu.Lock()
	sto := l.e.st.tcp.sto
	l.e.mu.Unlock()
	var t time.Time
	if sto > 0 {
		t = time.Now().Add(time.Duration(sto) * time.Second)
	}
	_ = l.conn.SetReadDeadline(t)
}

// cmdCIPSERVERQuery prints +CIPSERVER:1,<port>,"<type>",<CA enable>,<netif>
// (LIB-IP "%s:%d,%d,\"%s\",%d,%d"), or +CIPSERVER:0 with none running
// (inferred, §3.5).
func cmdCIPSERVERQuery(c *call) result {
	c.e.mu.Lock()
	s := c.e.srv
	c.e.mu.Unlock()
	if s == nil {
		c.print("+CIPSERVER:0\r\n")
		return resOK
	}
	c.print(fmt.Sprintf("+CIPSERVER:1,%d,%q,%d,%d\r\n", s.port, s.typ, s.ca, s.netif))
	return resOK
}

// cmdCIPSERVERMAXCONNSet is AT+CIPSERVERMAXCONN=<1..5>, refused while a
// server runs ("call the command before creating a server").
func cmdCIPSERVERMAXCONNSet(c *call) result {
	v, ok := c.intParams(1)
	if !ok || v[0] < 1 || v[0] > tcpLinks {
		return c.paramErr("0x01070000", "AT+CIPSERVERMAXCONN must be 1..5")
	}
	c.e.mu.Lock()
	running := c.e.srv != nil
	if !running {
		c.e.st.tcp.maxConn = v[0]
	}
	c.e.mu.Unlock()
	if running {
		return c.execFail("AT+CIPSERVERMAXCONN while a server runs (AT+CIPSERVER=0 first)")
	}
	return resOK
}

func cmdCIPSERVERMAXCONNQuery(c *call) result {
	c.e.mu.Lock()
	v := c.e.st.tcp.maxConn
	c.e.mu.Unlock()
	c.print(fmt.Sprintf("+CIPSERVERMAXCONN:%d\r\n", v))
	return resOK
}

// cmdCIPSTOSet is AT+CIPSTO=<0..7200>. It may come before or after
// AT+CIPSERVER (the docs' example sends it after); clients already
// connected take the new value at their next read or write.
func cmdCIPSTOSet(c *call) result {
	v, ok := c.intParams(1)
	if !ok || v[0] < 0 || v[0] > 7200 {
		return c.paramErr("0x01070000", "AT+CIPSTO must be 0..7200 seconds")
	}
	c.e.mu.Lock()
	c.e.st.tcp.sto = v[0]
	var clients []*tcpLink
	for _, l := range c.e.tcp {
		if l != nil && l.server {
			clients = append(clients, l)
		}
	}
	c.e.mu.Unlock()
	for _, l := range clients {
		l.idleDeadline()
	}
	return resOK
}

func cmdCIPSTOQuery(c *call) result {
	c.e.mu.Lock()
	v := c.e.st.tcp.sto
	c.e.mu.Unlock()
	c.print(fmt.Sprintf("+CIPSTO:%d\r\n", v))
	return resOK
}

func serverCommands(t map[string]handler) {
	t["+CIPSERVER"] = handler{query: cmdCIPSERVERQuery, set: cmdCIPSERVERSet}
	t["+CIPSERVERMAXCONN"] = handler{query: cmdCIPSERVERMAXCONNQuery, set: cmdCIPSERVERMAXCONNSet}
	t["+CIPSTO"] = handler{query: cmdCIPSTOQuery, set: cmdCIPSTOSet}
}
