package pcapng

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/atbridge/atbridge/formats/at"
)

// netView writes the data of each ESP-AT TCP/UDP/SSL link (AT+CIPSTART and
// its kin) as a synthetic flow on "net-linkN" (N the link id; 0 for
// AT+CIPMUX=0): for TCP and SSL a SYN, SYN-ACK, ACK at "CONNECT", the data
// the host sent with AT+CIPSEND, AT+CIPSENDEX or AT+CIPSENDL (once the
// device said SEND OK), the data the device reported with +IPD or
// +CIPRECVDATA, and FINs at "CLOSED"; for UDP datagrams. The remote address
// and port are AT+CIPSTART's (a host name becomes a stable TEST-NET-2
// address, see syntheticIP); a connection the ESP32 accepted as a server
// (AT+CIPSERVER) is opened by a synthetic client. SSL links are shown as
// plaintext, with 443 shown as 80 (shownPort).
type netView struct {
	x     *Writer
	w     *flows
	links map[int]*netLink
	// starts are the AT+CIPSTART/CIPSTARTEX commands still running, whose
	// "CONNECT" names their link.
	starts []netStart
	// sends holds typed send payloads by event Seq until their command's
	// result says whether they went out.
	sends      map[int64]*at.Event
	sendBytes  int
	serverPort uint16 // AT+CIPSERVER=1,<port>; 0 when none
}

// netStart is what an AT+CIPSTART said.
type netStart struct {
	seq   int64 // Seq of the command event
	link  int   // -1 with AT+CIPMUX=0, -2 for AT+CIPSTARTEX (any)
	typ   string
	host  string
	port  uint16
	local uint16 // UDP local port
}

// netLink is one link id's state.
type netLink struct {
	id      int
	flow    *netFlow
	closing bool // AT+CIPCLOSE sent: the ESP32 closes
}

// maxNetLinks bounds the link ids kept (ESP-AT has 0..4; AT+CIPCLOSE uses 5
// for all).
const maxNetLinks = 16

func (v *netView) init(x *Writer, w *flows) {
	v.x, v.w = x, w
	v.links = map[int]*netLink{}
	v.sends = map[int64]*at.Event{}
}

func netIface(link int) string { return "net-link" + strconv.Itoa(link) }

func (v *netView) iface(link int) {
	name := netIface(link)
	if _, ok := v.x.ifc[name]; ok {
		return
	}
	v.x.addIface(linkEthernet, name, fmt.Sprintf("TCP/UDP/SSL link %d of the ESP32, one flow per connection", link),
		"data RECONSTRUCTED from AT+CIPSEND/CIPSENDEX/CIPSENDL and +IPD/+CIPRECVDATA, not captured; addresses, ports other than the remote's and TCP framing synthesized; SSL shown as plaintext")
}

// linkOf maps the decoder's link (-1 for AT+CIPMUX=0) to a link id, or -1
// when out of bounds or filtered out.
func (v *netView) linkOf(l int) int {
	if l < 0 {
		l = 0
	}
	if l >= maxNetLinks || !v.x.keepLink(l) {
		return -1
	}
	return l
}

func (v *netView) link(id int) *netLink {
	l := v.links[id]
	if l == nil {
		l = &netLink{id: id}
		v.links[id] = l
	}
	return l
}

// decoded follows the AT traffic.
func (v *netView) decoded(ev *at.Event) {
	switch ev.Kind {
	case at.EvCommand:
		if ev.Cmd != nil && ev.Cmd.Type == at.CmdSet || ev.Cmd != nil && ev.Name == "+CIPCLOSE" {
			v.command(ev)
		}
	case at.EvPayload:
		switch ev.Name {
		case "+CIPSEND", "+CIPSENDEX", "+CIPSENDL":
			if ev.Err == nil && v.sendBytes+len(ev.Data) <= 16<<20 && len(v.sends) < 1024 {
				v.sends[ev.Seq] = ev
				v.sendBytes += len(ev.Data)
			}
		}
	case at.EvTransaction:
		v.transaction(ev)
	case at.EvURC:
		switch ev.Name {
		case "CONNECT":
			v.connect(ev)
		case "CLOSED":
			if id := v.linkOf(ev.Link); id >= 0 {
				l := v.link(id)
				if l.flow != nil {
					c := "CLOSED: the remote end or the network closed the link"
					if l.closing {
						c = "AT+CIPCLOSE"
					}
					v.w.fin(l.flow, ev.Time, l.closing, c)
				}
				l.flow, l.closing = nil, false
			}
		case "+IPD", "+CIPRECVDATA":
			if ev.Data != nil {
				v.recv(ev)
			}
		case "ready":
			for _, l := range v.links {
				if l.flow != nil {
					v.w.reset(l.flow, ev.Time, "the ESP32 restarted (ready)")
					l.flow = nil
				}
			}
			v.starts, v.serverPort = nil, 0
		}
	}
}

func (v *netView) command(ev *at.Event) {
	c := ev.Cmd
	switch ev.Name {
	case "+CIPSTART", "+CIPSTARTEX":
		if s, ok := parseStart(c, ev.Name == "+CIPSTARTEX"); ok && len(v.starts) < 16 {
			s.seq = ev.Seq
			v.starts = append(v.starts, s)
		}
	case "+CIPSERVER":
		// AT+CIPSERVER=<mode>[,<port>][,<"type">][,<CA enable>] (port 333 by default).
		mode, _ := c.Int(0)
		v.serverPort = 0
		if mode == 1 {
			v.serverPort = 333
			if p, ok := c.Int(1); ok && p > 0 && p < 65536 {
				v.serverPort = uint16(p)
			}
		}
	case "+CIPCLOSE":
		// AT+CIPCLOSE (AT+CIPMUX=0) or AT+CIPCLOSE=<link ID> (5: all).
		id := 0
		if n, ok := c.Int(0); ok {
			id = int(n)
		}
		for _, l := range v.links {
			if id == 5 || l.id == id {
				l.closing = true
			}
		}
	}
}

// parseStart reads AT+CIPSTART=[<link ID>,]<"type">,<"remote host">,<remote port>[,<local port>,...]
// (TCP-IP_AT_Commands.rst AT+CIPSTART; AT+CIPSTARTEX takes no link id).
func parseStart(c *at.Command, auto bool) (netStart, bool) {
	s := netStart{link: -1}
	i := 0
	if p, ok := c.Param(0); ok && !p.Quoted {
		n, ok := c.Int(0)
		if !ok || auto {
			return s, false
		}
		s.link, i = int(n), 1
	}
	if auto {
		s.link = -2
	}
	t, _ := c.Param(i)
	h, _ := c.Param(i + 1)
	port, ok := c.Int(i + 2)
	if !t.Quoted || !ok || port <= 0 || port > 65535 {
		return s, false
	}
	s.typ, s.host, s.port = strings.ToUpper(t.Value), h.Value, uint16(port)
	if strings.HasPrefix(s.typ, "UDP") {
		if lp, ok := c.Int(i + 3); ok && lp > 0 && lp < 65536 {
			s.local = uint16(lp)
		}
	}
	return s, true
}

// connect opens a flow at "<link>,CONNECT" (or "CONNECT").
func (v *netView) connect(ev *at.Event) {
	id := v.linkOf(ev.Link)
	if id < 0 {
		return
	}
	l := v.link(id)
	if l.flow != nil {
		v.w.reset(l.flow, ev.Time, "a new CONNECT on this link before its CLOSED")
		l.flow = nil
	}
	l.closing = false
	v.iface(id)
	iface := netIface(id)
	for k, s := range v.starts {
		if s.link == ev.Link || s.link == -2 || s.link == -1 && ev.Link < 0 {
			v.starts = append(v.starts[:k], v.starts[k+1:]...)
			udp := strings.HasPrefix(s.typ, "UDP")
			tls := strings.HasPrefix(s.typ, "SSL")
			port := shownPort(s.port, tls)
			c := fmt.Sprintf("link %d %s %s:%d (AT+CIPSTART)", id, s.typ, s.host, s.port)
			if port != s.port {
				c += fmt.Sprintf("; shown on port %d so that Wireshark decodes the plaintext", port)
			}
			if tls {
				c += "; SSL shown as plaintext: a decrypted reconstruction, the TLS layer is not shown"
			}
			l.flow = v.w.open(iface, ev.Time, udp, true, s.host, port, s.local, c)
			return
		}
	}
	if v.serverPort != 0 {
		// A client connected to the ESP32's server (AT+CIPSERVER).
		f := v.w.open(iface, ev.Time, false, false, fmt.Sprintf("client of link %d", id), 0,
			0, fmt.Sprintf("link %d: a client connected to the ESP32's server on port %d (AT+CIPSERVER); the client's address is synthesized", id, v.serverPort))
		f.remPort, f.espPort = f.espPort, v.serverPort // the client's port is the synthetic one
		l.flow = f
		return
	}
	l.flow = v.w.open(iface, ev.Time, false, true, "unknown", 9, 0,
		fmt.Sprintf("link %d: CONNECT with no AT+CIPSTART or AT+CIPSERVER in the capture; remote unknown (shown as port 9)", id))
}

// transaction sends the held payloads of a send command that went out.
func (v *netView) transaction(ev *at.Event) {
	tx := ev.Tx
	if tx == nil {
		return
	}
	if tx.Result != "OK" {
		for k := 0; k < len(v.starts); k++ {
			if v.starts[k].seq == tx.CmdSeq {
				v.starts = append(v.starts[:k], v.starts[k+1:]...)
				k--
			}
		}
	}
	if tx.Cmd == nil || len(v.sends) == 0 {
		return
	}
	switch tx.Cmd.Name {
	case "+CIPSEND", "+CIPSENDEX", "+CIPSENDL":
	default:
		return
	}
	var data []byte
	link := -1
	for _, seq := range tx.Response {
		if p := v.sends[seq]; p != nil {
			data = append(data, p.Data...)
			link = p.Link
			v.sendBytes -= len(p.Data)
			delete(v.sends, seq)
		}
	}
	if tx.Result != "SEND OK" || len(data) == 0 {
		return
	}
	if tx.Cmd.Name == "+CIPSENDEX" {
		data = unescapeSendEx(data)
	}
	id := v.linkOf(link)
	if id < 0 {
		return
	}
	l := v.link(id)
	if l.flow == nil {
		v.openUnknown(l, ev.Time)
	}
	c := ""
	if i := cipSendRemote(tx.Cmd); i > 0 {
		h, _ := tx.Cmd.Param(i)
		p, _ := tx.Cmd.Param(i + 1)
		c = fmt.Sprintf("sent to %s:%s (AT+CIPSEND's remote; shown to the link's remote)", h.Value, p.Value)
	}
	v.w.data(l.flow, ev.Time, true, data, c)
}

// cipSendRemote is the index of AT+CIPSEND's quoted remote host (UDP), or 0.
func cipSendRemote(c *at.Command) int {
	for i := 1; i < len(c.Params)-1; i++ {
		if c.Params[i].Quoted {
			return i
		}
	}
	return 0
}

// unescapeSendEx turns AT+CIPSENDEX's typed bytes into the bytes sent:
// an unescaped `\0` ends the data, `\<any>` is <any> (TCP-IP_AT_Commands.rst
// AT+CIPSENDEX: "\0" ends, "\\0" is a literal "\0"; the firmware drops the
// backslash of any other escape).
func unescapeSendEx(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if b[i] == '\\' && i+1 < len(b) {
			if b[i+1] == '0' {
				break
			}
			i++
		}
		out = append(out, b[i])
	}
	return out
}

// recv writes +IPD / +CIPRECVDATA data from the remote end.
func (v *netView) recv(ev *at.Event) {
	id := v.linkOf(ev.Link)
	if id < 0 {
		return
	}
	l := v.link(id)
	if l.flow == nil {
		v.openUnknown(l, ev.Time)
	}
	v.w.data(l.flow, ev.Time, false, ev.Data, "")
}

// openUnknown opens a flow for data on a link opened before the capture.
func (v *netView) openUnknown(l *netLink, t int64) {
	v.iface(l.id)
	l.flow = v.w.open(netIface(l.id), t, false, true, "unknown", 9, 0,
		fmt.Sprintf("link %d: open before the capture started; remote unknown (shown as port 9)", l.id))
}
