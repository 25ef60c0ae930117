package pcapng

import (
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"hash/fnv"
	"net"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/atbridge/atbridge/formats"
	"github.com/atbridge/atbridge/formats/at"
	"github.com/atbridge/atbridge/formats/ws"
	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// This file is the WebSocket view's synthetic TCP: each link's flow from
// its handshake and HTTP upgrade to its FIN or RST, with the frames in
// between, recorded or rebuilt from AT traffic.

// begin starts a flow for link l at AT+WSOPEN time t: the TCP handshake
// and the upgrade request go out at once, the 101 response at connect.
func (w *wsView) begin(l *wsLink, t int64, uri string) *wsFlow {
	w.iface(l.id)
	w.flows++
	f := &wsFlow{link: l, iface: wsIface(l.id), openT: t, uri: uri}
	f.cPort = uint16(49152 + (w.flows-1)%16384)
	f.cSeq = 1000 + uint32(w.flows)*0x01000000
	f.sSeq = 5000 + uint32(w.flows)*0x00100000

	scheme, host, port, path, userinfo := splitWSURI(uri)
	f.wss = scheme == "wss"
	f.sPort = port
	if ip := net.ParseIP(host).To4(); ip != nil {
		f.sIP = ip
	} else {
		h := fnv.New32a()
		h.Write([]byte(host))
		f.sIP = net.IPv4(198, 51, 100, byte(1+h.Sum32()%250)).To4()
	}
	subproto, auth := "", ""
	if uri == l.uri {
		subproto, auth = l.subproto, l.auth
	}
	if auth == "" && userinfo != "" {
		auth = "Basic " + base64.StdEncoding.EncodeToString([]byte(userinfo))
	}
	sum := sha1.Sum([]byte(fmt.Sprintf("atbridge link %d flow %d", l.id, w.flows)))
	key := base64.StdEncoding.EncodeToString(sum[:16])
	acc := sha1.Sum([]byte(key + wsGUID))

	var req bytes.Buffer
	fmt.Fprintf(&req, "GET %s HTTP/1.1\r\nConnection: Upgrade\r\nHost: %s:%d\r\nUser-Agent: ESP32 Websocket Client\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: %s\r\n", path, host, port, key)
	if subproto != "" {
		fmt.Fprintf(&req, "Sec-WebSocket-Protocol: %s\r\n", cleanHeader(subproto))
	}
	for _, h := range w.headers {
		fmt.Fprintf(&req, "%s\r\n", h)
	}
	if auth != "" {
		fmt.Fprintf(&req, "Authorization: %s\r\n", cleanHeader(auth))
	}
	req.WriteString("\r\n")
	f.req = req.Bytes()
	resp := fmt.Sprintf("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n", base64.StdEncoding.EncodeToString(acc[:]))
	if subproto != "" {
		resp += fmt.Sprintf("Sec-WebSocket-Protocol: %s\r\n", cleanHeader(subproto))
	}
	f.resp = []byte(resp + "\r\n")
	l.flow = f
	if w.x.inWindow(t) {
		w.start(f)
	}
	return f
}

// connect marks the connection of link l as open at time t: the pending
// flow of its AT+WSOPEN if the URI agrees (uri "" agrees with any), or a
// new flow whose handshake all happens at t.
func (w *wsView) connect(l *wsLink, t int64, uri string, recorded bool) {
	f := l.flow
	if f == nil || f.connected || (uri != "" && uri != f.uri) {
		if f != nil && f.started && !f.connected {
			w.reset(f, t, "AT+WSOPEN superseded by a recorded connection to another URI")
		}
		if uri == "" {
			uri = l.uri
		}
		f = w.begin(l, t, uri)
	}
	f.connected, f.connT = true, t
	u := f.uri
	if u == "" {
		u = "(unknown URI)"
	}
	if recorded {
		f.comment = fmt.Sprintf("link %d %s: frames as recorded on the network side; addresses, TCP and the HTTP upgrade are synthesized", l.id, u)
	} else {
		f.comment = fmt.Sprintf("link %d %s: frames RECONSTRUCTED from AT+WSSEND and +WS_DATA, not captured; addresses, TCP and the HTTP upgrade are synthesized", l.id, u)
	}
	if f.wss {
		f.comment += "; wss:// shown as plaintext: a decrypted reconstruction, the TLS layer is not shown"
	}
	if w.x.inWindow(t) {
		w.start(f)
		w.accept(f)
	}
}

// splitWSURI takes an AT+WSOPEN URI apart, with ESP-AT's defaults (port 80
// for ws, 443 for wss, path "/"). A URI that does not parse gives host
// "unknown".
func splitWSURI(uri string) (scheme, host string, port uint16, path, userinfo string) {
	scheme, host, path = "ws", "unknown", "/"
	u, err := url.Parse(uri)
	if err == nil && u.Host != "" {
		scheme = strings.ToLower(u.Scheme)
		host = u.Hostname()
		if u.RequestURI() != "" {
			path = u.RequestURI()
		}
		if u.User != nil {
			userinfo = u.User.String()
			if p, err := url.PathUnescape(userinfo); err == nil {
				userinfo = p
			}
		}
		if n, err := strconv.ParseUint(u.Port(), 10, 16); err == nil && n > 0 {
			port = uint16(n)
		}
	}
	if port == 0 {
		port = 80
		if scheme == "wss" {
			port = 443
		}
	}
	return scheme, host, port, path, userinfo
}

// start writes the TCP and HTTP handshakes of f (once). The packets keep
// their own times, even when those are before Options.Since.
func (w *wsView) start(f *wsFlow) {
	if f.started {
		return
	}
	f.started = true
	w.x.force = true
	defer func() { w.x.force = false }()
	w.seg(f, f.openT, true, tcpSYN, nil, "")
	w.seg(f, f.openT, false, tcpSYN|tcpACK, nil, "")
	w.seg(f, f.openT, true, tcpACK, nil, "")
	w.seg(f, f.openT, true, tcpACK|tcpPSH, f.req, "")
	if f.connected {
		w.accept(f)
	}
}

// accept writes the 101 response of a started, connected flow (once),
// with the flow's label as its comment.
func (w *wsView) accept(f *wsFlow) {
	if f.accepted || !f.started {
		return
	}
	f.accepted = true
	force := w.x.force
	w.x.force = true
	w.seg(f, f.connT, false, tcpACK|tcpPSH, f.resp, f.comment)
	w.x.force = force
}

// TCP flags for seg.
const (
	tcpSYN = 1 << iota
	tcpACK
	tcpPSH
	tcpFIN
	tcpRST
)

// seg writes one TCP segment of f (client to server when fromClient),
// splitting payloads over wsMaxSegment, and advances the sequence numbers.
func (w *wsView) seg(f *wsFlow, t int64, fromClient bool, flags int, payload []byte, comment string) {
	for {
		p := payload
		if len(p) > wsMaxSegment {
			p = p[:wsMaxSegment]
		}
		w.seg1(f, t, fromClient, flags, p, comment)
		payload = payload[len(p):]
		comment = ""
		if len(payload) == 0 {
			return
		}
	}
}

func (w *wsView) seg1(f *wsFlow, t int64, fromClient bool, flags int, payload []byte, comment string) {
	// The layers are reused: serializing is on the hot path of big exports.
	eth, ip, tcp := &w.eth, &w.ip, &w.tcp
	*eth = layers.Ethernet{SrcMAC: wsClientMAC, DstMAC: wsServerMAC, EthernetType: layers.EthernetTypeIPv4}
	*ip = layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: wsClientIP, DstIP: f.sIP, Flags: layers.IPv4DontFragment}
	*tcp = layers.TCP{SrcPort: layers.TCPPort(f.cPort), DstPort: layers.TCPPort(f.sPort), Seq: f.cSeq, Ack: f.sSeq, Window: 65535,
		SYN: flags&tcpSYN != 0, ACK: flags&tcpACK != 0, PSH: flags&tcpPSH != 0, FIN: flags&tcpFIN != 0, RST: flags&tcpRST != 0}
	dir := formats.ToServer
	if !fromClient {
		dir = formats.ToClient
		eth.SrcMAC, eth.DstMAC = eth.DstMAC, eth.SrcMAC
		ip.SrcIP, ip.DstIP = ip.DstIP, ip.SrcIP
		tcp.SrcPort, tcp.DstPort = tcp.DstPort, tcp.SrcPort
		tcp.Seq, tcp.Ack = f.sSeq, f.cSeq
	}
	if flags&tcpSYN != 0 && flags&tcpACK == 0 {
		tcp.Ack = 0
	}
	tcp.SetNetworkLayerForChecksum(ip)
	w.ser.Clear()
	if err := gopacket.SerializeLayers(w.ser, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, tcp, gopacket.Payload(payload)); err != nil {
		return // cannot happen with these layers; a lost packet beats a panic
	}
	n := uint32(len(payload))
	if flags&(tcpSYN|tcpFIN) != 0 {
		n++
	}
	if fromClient {
		f.cSeq += n
	} else {
		f.sSeq += n
	}
	w.x.emit(f.iface, t, dir, w.ser.Bytes(), comment)
}

// frame writes one WebSocket frame; h.Length must be len(payload), or more
// when the rest follows as pieces (see reconstructed).
func (w *wsView) frame(f *wsFlow, t int64, dir formats.Dir, h ws.Header, payload []byte, comment string) {
	if !w.x.inWindow(t) {
		return
	}
	w.start(f)
	side := 0
	if dir == formats.ToClient {
		side = 1
	}
	w.owe(f, t, side)
	b := ws.AppendHeader(w.x.pkt[:0], h)
	n := len(b)
	b = append(b, payload...)
	if h.Masked {
		ws.Mask(h.MaskKey, 0, b[n:])
	}
	w.x.pkt = b
	if h.Opcode < 8 {
		f.frag[side] = !h.Fin
	}
	if h.Opcode == ws.OpClose {
		f.closeSent[side] = true
		if side == 0 {
			f.closePay = append(f.closePay[:0], payload...)
		}
	}
	f.pieceLeft[side] = h.Length - uint64(len(payload))
	w.seg(f, t, dir == formats.ToServer, tcpACK|tcpPSH, b, comment)
}

// owe completes a frame still owed pieces with zero bytes, so that the
// stream stays in step for the next frame.
func (w *wsView) owe(f *wsFlow, t int64, side int) {
	if f.pieceLeft[side] == 0 {
		return
	}
	n := f.pieceLeft[side]
	f.pieceLeft[side] = 0
	w.seg(f, t, side == 0, tcpACK|tcpPSH, make([]byte, min(n, 1<<20)), fmt.Sprintf("%d bytes of the frame never came; zeros shown", n))
}

// reconstructed writes a frame rebuilt from an AT+WSSEND or +WS_DATA.
func (w *wsView) reconstructed(f *wsFlow, t int64, m *at.WSMessage) {
	if !w.x.inWindow(t) {
		return
	}
	side := 0
	if m.Dir == formats.ToClient {
		side = 1
	}
	// A further piece of a frame announced with its length (AT+WSDATAFMT
	// payload_len and payload_offset).
	if side == 1 && f.pieceLeft[1] > 0 && m.PayloadOffset > 0 {
		p := m.Data
		c := ""
		if uint64(len(p)) > f.pieceLeft[1] {
			c = fmt.Sprintf("%d bytes over the announced frame length dropped", uint64(len(p))-f.pieceLeft[1])
			p = p[:f.pieceLeft[1]]
		}
		f.pieceLeft[1] -= uint64(len(p))
		w.start(f)
		w.seg(f, t, false, tcpACK|tcpPSH, p, c)
		return
	}
	h := ws.Header{Fin: m.Fin != 0, Length: uint64(len(m.Data))}
	switch {
	case m.Opcode >= 0:
		h.Opcode = uint8(m.Opcode)
	case f.frag[side]:
		h.Opcode = ws.OpCont
	case utf8.Valid(m.Data):
		h.Opcode = ws.OpText
	default:
		h.Opcode = ws.OpBinary
	}
	comment := ""
	if side == 1 && m.PayloadLen > int64(len(m.Data)) && m.PayloadLen <= 1<<20 && m.PayloadOffset == 0 {
		h.Length = uint64(m.PayloadLen)
		comment = fmt.Sprintf("first %d of %d payload bytes; the rest follows in further +WS_DATA", len(m.Data), m.PayloadLen)
	}
	if side == 0 {
		// Clients mask every frame (RFC 6455 §5.3); the key is made up.
		f.maskN++
		h.Masked = true
		s := sha1.Sum([]byte(fmt.Sprintf("mask %d %d", f.cPort, f.maskN)))
		copy(h.MaskKey[:], s[:4])
	}
	w.frame(f, t, m.Dir, h, m.Data, comment)
}

// serverClose ends f after +WS_CLOSED: the server's close frame (echoing
// the client's close payload if the client sent one), then FINs.
func (w *wsView) serverClose(f *wsFlow, t int64) {
	if w.x.inWindow(t) {
		w.frame(f, t, formats.ToClient, ws.Header{Fin: true, Opcode: ws.OpClose, Length: uint64(len(f.closePay))}, f.closePay,
			"close frame reconstructed from +WS_CLOSED (the server closed; its close payload is not known, the client's is echoed)")
	}
	w.fin(f, t, false, "")
}

// fin closes f with FIN segments, first from the server (fromClient false)
// or the client.
func (w *wsView) fin(f *wsFlow, t int64, fromClient bool, comment string) {
	if !f.started || !w.x.inWindow(t) {
		return
	}
	w.owe(f, t, 0)
	w.owe(f, t, 1)
	w.seg(f, t, fromClient, tcpFIN|tcpACK, nil, comment)
	w.seg(f, t, !fromClient, tcpFIN|tcpACK, nil, "")
	w.seg(f, t, fromClient, tcpACK, nil, "")
}

// reset ends f with a RST from the client.
func (w *wsView) reset(f *wsFlow, t int64, comment string) {
	if !f.started || !w.x.inWindow(t) {
		return
	}
	w.seg(f, t, true, tcpRST|tcpACK, nil, comment)
}
