package esp

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/atbridge/atbridge/capture"
)

// The TCP/IP client commands (esp-at.md §1.5, §1.6; docs/esp-at-surface.md
// §3): AT+CIPMUX, AT+CIPMODE, AT+CIPDINFO, AT+CIPSEND (normal and
// passthrough), AT+CIPCLOSE, AT+CIPSTATUS and AT+CIPSTATE?, over real
// connections. AT+CIPSTART and its types are in cipstart.go (UDP in
// udp.go, SSL settings in sslconf.go and sslpsk.go), AT+CIPSENDEX in
// sendex.go, AT+CIPSENDL in sendl.go.

const (
	// tcpLinks is the number of connections ESP-AT offers (ids 0..4).
	tcpLinks = 5
	// tcpMaxSend is AT+CIPSEND's length limit.
	tcpMaxSend = 8192
	// tcpRecvChunk bounds one +IPD: at most 2920 bytes per +IPD
	// (docs/esp-at-surface.md §3.6). The emulator prints one +IPD per read
	// of at most that many bytes, so smaller pieces follow TCP timing as
	// they do on a board (Options.SplitDeliveries cuts them further).
	tcpRecvChunk = 2920
	// ptGuard is passthrough's "+++" guard time and packet interval
	// (esp-at.md §1.6).
	ptGuard = 20 * time.Millisecond
	// ptPacket is the largest packet passthrough sends at once: data is
	// sent every 20 ms or whenever 8192 bytes are waiting (DOC-TCP).
	ptPacket = 8192
)

// tcpSettings are the TCP commands' settings, reset by a reboot (none of
// them is saved to flash).
type tcpSettings struct {
	mux         bool              // AT+CIPMUX=1
	passMode    bool              // AT+CIPMODE=1
	dinfo       bool              // AT+CIPDINFO=1
	closedOnce  bool              // a link was closed since boot (AT+CIPSTATUS status 4)
	v6          bool              // AT+CIPV6=1 (cipstart.go)
	keepalive   int64             // AT+CIPSTART's last keepalive (sticky)
	ssl         [tcpLinks]sslConf // AT+CIPSSLC* per link (sslconf.go)
	sendl       sendlConfig       // AT+CIPSENDLCFG (sendl.go)
	recvPassive [tcpLinks]bool    // AT+CIPRECVTYPE / AT+CIPRECVMODE (recv.go)
	maxConn     int64             // AT+CIPSERVERMAXCONN (server.go)
	sto         int64             // AT+CIPSTO, seconds (server.go)
}

// tcpLink is one AT+CIPSTART connection and the goroutine that reads it.
type tcpLink struct {
	e       *Emulator
	id      int
	mux     bool // opened under AT+CIPMUX=1: URCs carry the link id
	gen     uint64
	conn    net.Conn
	remote  *net.TCPAddr
	typ     string   // AT+CIPSTART's type: "TCP", "UDP", "SSL", "TCPv6"...
	udp     *udpConn // a UDP link (udp.go); nil for TCP and SSL
	local   int
	closing atomic.Bool // closed by the board (AT+CIPCLOSE, reboot): no URC
	done    chan struct{}
	rx      *rxBuf // passive receive's buffer (recv.go); set under e.mu
	server  bool   // a client of AT+CIPSERVER (server.go): tetype 1, AT+CIPSTO
}

// linkPrefix is "<id>," under AT+CIPMUX=1 and empty otherwise.
func (l *tcpLink) linkPrefix() string { return muxPrefix(l.mux, l.id) }

// muxPrefix is what precedes CONNECT, CLOSED and +IPD's length for link id:
// "<id>," under AT+CIPMUX=1, nothing otherwise.
func muxPrefix(mux bool, id int) string {
	if mux {
		return strconv.Itoa(id) + ","
	}
	return ""
}

// stop closes the connection without a URC and waits for the reader.
func (l *tcpLink) stop() {
	l.closing.Store(true)
	l.e.mu.Lock()
	rx := l.rx
	l.e.mu.Unlock()
	if rx != nil {
		rx.shutdown()
	}
	_ = l.conn.Close()
	<-l.done
}

// run reads the connection until it ends, printing what arrives. A link the
// server closed (or that failed) is freed and announced with CLOSED.
func (l *tcpLink) run() {
	e := l.e
	buf := make([]byte, tcpRecvChunk)
	var rerr error
	for {
		l.idleDeadline()
		n, err := l.conn.Read(buf)
		if n > 0 {
			l.deliver(buf[:n])
		}
		if err != nil {
			rerr = err
			break
		}
	}
	if l.closing.Load() {
		return
	}
	if l.passiveHold() {
		e.log.Info("tcp link closed by the peer with data unread: CLOSED waits for AT+CIPRECVDATA", "link", l.id)
		_ = l.conn.Close()
		return
	}
	e.mu.Lock()
	owned := e.tcp[l.id] == l
	if owned {
		e.tcp[l.id] = nil
		e.st.tcp.closedOnce = true
	}
	inPT := e.pt != nil
	sysmsg := e.st.sysmsg
	e.mu.Unlock()
	_ = l.conn.Close()
	if !owned {
		return
	}
	why := "closed by the server"
	var ne net.Error
	switch {
	case l.server && errors.Is(rerr, io.EOF):
		why = "closed by the client"
	case l.server && errors.As(rerr, &ne) && ne.Timeout():
		why = "idle longer than AT+CIPSTO"
	case !errors.Is(rerr, io.EOF):
		why = rerr.Error()
	}
	e.log.Info("tcp link closed by the peer: printing CLOSED, link freed", "link", l.id, "why", why)
	e.event(capture.Event{Type: capture.EvNote, Text: fmt.Sprintf("tcp link %d closed: %s", l.id, why)})
	// In passthrough, AT+SYSMSG bit 2 decides whether CLOSED is printed
	// (esp-at.md §1.6). The firmware then keeps trying to reconnect until
	// "+++"; the emulator does not reconnect: data typed until "+++" is
	// dropped.
	if inPT && sysmsg&4 == 0 {
		return
	}
	e.write(l.gen, []byte(l.linkPrefix()+"CLOSED\r\n"))
}

// deliver prints received data: raw in passthrough, else as +IPD.
func (l *tcpLink) deliver(p []byte) {
	if l.passiveTake(p) {
		return
	}
	e := l.e
	e.mu.Lock()
	inPT := e.pt != nil
	dinfo := e.st.tcp.dinfo
	e.mu.Unlock()
	if inPT {
		e.write(l.gen, p)
		return
	}
	for _, piece := range e.splitDelivery(p, l.udp == nil) {
		out := make([]byte, 0, len(piece)+48)
		out = append(out, "\r\n+IPD,"...)
		out = append(out, l.linkPrefix()...)
		out = strconv.AppendInt(out, int64(len(piece)), 10)
		if dinfo {
			r := l.peer()
			out = fmt.Appendf(out, ",%q,%d", r.IP.String(), r.Port)
		}
		out = append(out, ':')
		out = append(out, piece...)
		e.write(l.gen, out)
	}
}

// send writes p to the link within the network timeout.
func (l *tcpLink) send(p []byte) error {
	if l.udp != nil {
		return l.sendUDP(p, nil)
	}
	_ = l.conn.SetWriteDeadline(time.Now().Add(l.e.opts.NetworkTimeout))
	_, err := l.conn.Write(p)
	if err == nil {
		l.idleDeadline()
	}
	return err
}

// closeAllTCP drops every TCP link without a URC (a restart prints none)
// and waits for their readers.
func (e *Emulator) closeAllTCP() {
	e.stopServerQuiet()
	e.mu.Lock()
	ls := e.tcp
	e.tcp = [tcpLinks]*tcpLink{}
	e.mu.Unlock()
	for _, l := range ls {
		if l != nil {
			l.stop()
		}
	}
	e.tcpWG.Wait()
}

// tcpOpen reports whether any TCP link is open. The caller holds e.mu.
func (e *Emulator) tcpOpen() bool {
	for _, l := range e.tcp {
		if l != nil {
			return true
		}
	}
	return false
}

func cmdCIPMUXQuery(c *call) result {
	c.e.mu.Lock()
	v := c.e.st.tcp.mux
	c.e.mu.Unlock()
	c.print(fmt.Sprintf("+CIPMUX:%d\r\n", b2u(v)))
	return resOK
}

// cmdCIPMUXSet: AT+CIPMUX=0|1. The firmware refuses it while a connection
// is open (even to set the current value: it checks the links first) and
// refuses multiple connections in passthrough mode.
func cmdCIPMUXSet(c *call) result {
	v, res, ok := c.boolParam("AT+CIPMUX")
	if !ok {
		return res
	}
	e := c.e
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.tcpOpen() {
		return c.errorf("AT+CIPMUX with a connection open (close it first)")
	}
	if e.srv != nil {
		return c.errorf("AT+CIPMUX while a server runs (AT+CIPSERVER=0 first)")
	}
	if v && e.st.tcp.passMode {
		return c.errorf("AT+CIPMUX=1 in passthrough mode (AT+CIPMODE=0 first)")
	}
	e.st.tcp.mux = v
	return resOK
}

func cmdCIPMODEQuery(c *call) result {
	c.e.mu.Lock()
	v := c.e.st.tcp.passMode
	c.e.mu.Unlock()
	c.print(fmt.Sprintf("+CIPMODE:%d\r\n", b2u(v)))
	return resOK
}

// cmdCIPMODESet: AT+CIPMODE=0|1; passthrough needs AT+CIPMUX=0.
func cmdCIPMODESet(c *call) result {
	v, res, ok := c.boolParam("AT+CIPMODE")
	if !ok {
		return res
	}
	c.e.mu.Lock()
	defer c.e.mu.Unlock()
	if v && c.e.st.tcp.mux {
		return c.errorf("AT+CIPMODE=1 needs AT+CIPMUX=0")
	}
	c.e.st.tcp.passMode = v
	return resOK
}

// cmdCIPDINFOQuery prints +CIPDINFO:true or false, as the v2..v5 firmware
// does (the docs show the words, not 0/1).
func cmdCIPDINFOQuery(c *call) result {
	c.e.mu.Lock()
	v := c.e.st.tcp.dinfo
	c.e.mu.Unlock()
	c.print(fmt.Sprintf("+CIPDINFO:%t\r\n", v))
	return resOK
}

func cmdCIPDINFOSet(c *call) result {
	v, res, ok := c.boolParam("AT+CIPDINFO")
	if !ok {
		return res
	}
	c.e.mu.Lock()
	c.e.st.tcp.dinfo = v
	c.e.mu.Unlock()
	return resOK
}

// cmdCIPSENDSet: AT+CIPSEND=<len> (AT+CIPMUX=0) or AT+CIPSEND=<link>,<len>
// (AT+CIPMUX=1), len 1..8192, in normal mode only. After the prompt it
// takes exactly len bytes, or a lone "+++" chunk that cancels; then
// "Recv <n> bytes" and SEND OK or SEND FAIL (esp-at.md §1.5).
func cmdCIPSENDSet(c *call) result {
	c.e.mu.Lock()
	pass := c.e.st.tcp.passMode
	c.e.mu.Unlock()
	if pass {
		return c.errorf("AT+CIPSEND=<len> in passthrough mode (AT+CIPMODE=1 takes AT+CIPSEND without parameters)")
	}
	l, n, to, res, ok := c.sendArgs("AT+CIPSEND", tcpMaxSend)
	if !ok {
		return res
	}
	data, canceled := c.readData(n, true)
	if canceled {
		c.final = []byte("\r\nSEND Canceled\r\n")
		c.e.log.Info("AT+CIPSEND canceled by +++", "link", l.id)
		return resNone
	}
	if data == nil {
		return resNone
	}
	c.print(fmt.Sprintf("\r\nRecv %d bytes\r\n", len(data)))
	c.e.mu.Lock()
	alive := c.e.tcp[l.id] == l
	c.e.mu.Unlock()
	if !alive {
		c.e.log.Info("AT+CIPSEND: the link closed during data entry: SEND FAIL", "link", l.id)
		return resSendFail
	}
	if err := l.sendTo(data, to); err != nil {
		c.e.log.Info("AT+CIPSEND: write failed: SEND FAIL", "link", l.id, "err", err)
		return resSendFail
	}
	return resSendOK
}

// closeTCP frees link l and prints its CLOSED.
func (c *call) closeTCP(l *tcpLink) {
	c.e.mu.Lock()
	if c.e.tcp[l.id] == l {
		c.e.tcp[l.id] = nil
	}
	c.e.st.tcp.closedOnce = true
	c.e.mu.Unlock()
	l.stop()
	c.e.event(capture.Event{Type: capture.EvNote, Text: fmt.Sprintf("tcp link %d closed by AT+CIPCLOSE", l.id)})
	c.print(l.linkPrefix() + "CLOSED\r\n")
}

// cmdCIPCLOSEExec: AT+CIPCLOSE closes the single connection (AT+CIPMUX=0).
func cmdCIPCLOSEExec(c *call) result {
	c.e.mu.Lock()
	mux, l := c.e.st.tcp.mux, c.e.tcp[0]
	c.e.mu.Unlock()
	if mux {
		return c.errorf("AT+CIPCLOSE under AT+CIPMUX=1 needs a link id")
	}
	if l == nil {
		return c.errorf("AT+CIPCLOSE: no connection")
	}
	c.closeTCP(l)
	return resOK
}

// cmdCIPCLOSESet: AT+CIPCLOSE=<link> under AT+CIPMUX=1; 5 closes every
// open link, and answers OK even when none was (the firmware loops over the
// links and reports success).
func cmdCIPCLOSESet(c *call) result {
	v, ok := c.intParams(1)
	if !ok || v[0] < 0 || v[0] > tcpLinks {
		return c.paramErr("0x01070000", "AT+CIPCLOSE link must be 0..5")
	}
	c.e.mu.Lock()
	mux, ls := c.e.st.tcp.mux, c.e.tcp
	c.e.mu.Unlock()
	if !mux {
		return c.errorf("AT+CIPCLOSE=<link> needs AT+CIPMUX=1")
	}
	if v[0] == tcpLinks {
		for _, l := range ls {
			if l != nil {
				c.closeTCP(l)
			}
		}
		return resOK
	}
	l := ls[v[0]]
	if l == nil {
		return c.errorf("AT+CIPCLOSE: link is not connected", "link", v[0])
	}
	c.closeTCP(l)
	return resOK
}

// tcpStatusLines prints one line per open link: prefix then
// <link>,"TCP","ip",port,localport,<tetype> (0: the board is the client,
// 1: the server).
func (e *Emulator) tcpStatusLines(prefix string) string {
	e.mu.Lock()
	ls := e.tcp
	e.mu.Unlock()
	var b strings.Builder
	for _, l := range ls {
		if l != nil {
			r := l.peer()
			fmt.Fprintf(&b, "%s%d,%q,%q,%d,%d,%d\r\n", prefix, l.id, l.typ, r.IP.String(), r.Port, l.local, b2u(l.server))
		}
	}
	return b.String()
}

// cmdCIPSTATUS prints STATUS:<stat> and the links. stat: 0 station off
// (AT+CWMODE 0 or 2), 1 no join started, 2 got IP, 3 a link open, 4 all
// links closed, 5 not on an AP. A board never told to join can open links
// (the links' Wi-Fi rule), so 3 and 4 win over 1.
func cmdCIPSTATUS(c *call) result {
	e := c.e
	e.mu.Lock()
	open, wifi, mode, closed := e.tcpOpen(), e.st.wifi, e.st.cwmode, e.st.tcp.closedOnce
	e.mu.Unlock()
	stat := 2
	switch {
	case mode == 0 || mode == 2:
		stat = 0
	case open:
		stat = 3
	case wifi == wifiLost || wifi == wifiConnecting || wifi == wifiConnected:
		stat = 5
	case closed:
		stat = 4
	case wifi == wifiIdle:
		stat = 1 // no Wi-Fi connection started (§10.4), though links work
	}
	c.print(fmt.Sprintf("STATUS:%d\r\n", stat) + e.tcpStatusLines("+CIPSTATUS:"))
	return resOK
}

// cmdCIPSTATE prints +CIPSTATE:<link>,"TCP",... per open link.
func cmdCIPSTATE(c *call) result {
	if s := c.e.tcpStatusLines("+CIPSTATE:"); s != "" {
		c.print(s)
	}
	return resOK
}

// tcpCommands adds the TCP/IP commands (DOC-TCP) to t.
func tcpCommands(t map[string]handler) {
	t["+CIPSNTPCFG"] = handler{query: cmdSNTPCFGQuery, set: cmdSNTPCFGSet}
	t["+CIPSNTPTIME"] = handler{query: cmdSNTPTIME}
	t["+CIPSNTPINTV"] = handler{query: cmdSNTPINTVQuery, set: cmdSNTPINTVSet}
	t["+SYSTIMESTAMP"] = handler{query: cmdSYSTIMESTAMPQuery, set: cmdSYSTIMESTAMPSet}
	t["+CIPMUX"] = handler{query: cmdCIPMUXQuery, set: cmdCIPMUXSet}
	t["+CIPMODE"] = handler{query: cmdCIPMODEQuery, set: cmdCIPMODESet}
	t["+CIPDINFO"] = handler{query: cmdCIPDINFOQuery, set: cmdCIPDINFOSet}
	t["+CIPSTART"] = handler{set: cmdCIPSTART}
	t["+CIPSTARTEX"] = handler{set: cmdCIPSTARTEX}
	t["+CIPSENDEX"] = handler{set: cmdCIPSENDEX}
	t["+CIPSENDL"] = handler{set: cmdCIPSENDL}
	t["+CIPSENDLCFG"] = handler{query: cmdCIPSENDLCFGQuery, set: cmdCIPSENDLCFGSet}
	t["+CIPV6"] = handler{query: cmdCIPV6Query, set: cmdCIPV6Set}
	sslCommands(t)
	serverCommands(t)
	t["+CIPSEND"] = handler{set: cmdCIPSENDSet, exec: cmdCIPSENDExec}
	t["+CIPCLOSE"] = handler{set: cmdCIPCLOSESet, exec: cmdCIPCLOSEExec}
	t["+CIPSTATUS"] = handler{exec: cmdCIPSTATUS}
	t["+CIPSTATE"] = handler{query: cmdCIPSTATE}
}
