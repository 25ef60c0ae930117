package pcapng

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/atbridge/atbridge/formats"
	"github.com/atbridge/atbridge/formats/at"
	"github.com/atbridge/atbridge/formats/ws"
	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// Synthetic addresses of the WebSocket view. The ESP32 is in TEST-NET-1
// and servers known only by name in TEST-NET-2 (RFC 5737), so nobody takes
// them for real ones; a server given by IPv4 address keeps it.
var (
	wsClientIP  = net.IPv4(192, 0, 2, 2).To4()
	wsClientMAC = net.HardwareAddr{0x02, 0x00, 0x00, 0xe5, 0x32, 0x01}
	wsServerMAC = net.HardwareAddr{0x02, 0x00, 0x00, 0x5e, 0x00, 0x01}
)

// wsMaxSegment is the largest TCP payload of one synthetic segment; larger
// frames are split, and Wireshark reassembles them.
const wsMaxSegment = 16384

// wsGUID is RFC 6455's key suffix for Sec-WebSocket-Accept.
const wsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC11B65"

// wsView writes each WebSocket connection as a TCP flow on "ws-linkN":
// SYN, SYN-ACK, ACK, the HTTP upgrade request and its 101 response, the
// frames, then FIN (a close) or RST (a lost connection).
//
// The request follows what ESP-AT's esp_websocket_client sends: the path of
// the AT+WSOPEN URI, "Host: host:port", its User-Agent, the key and version,
// Sec-WebSocket-Protocol from the subprotocol parameter, an Authorization
// header from the auth parameter or the URI's user:password, and the
// AT+WSHEAD headers (newest first, as "key: value", as the firmware
// formats them). The key is derived from the link and flow number, so
// exports are reproducible.
type wsView struct {
	x       *Writer
	links   map[int]*wsLink
	headers []string // AT+WSHEAD headers, newest first
	// recorded is set once frames come from the network side (FramesRecorded,
	// or FramesAuto after the first recorded frame or link event).
	recorded bool
	flows    int
	ser      gopacket.SerializeBuffer
	eth      layers.Ethernet
	ip       layers.IPv4
	tcp      layers.TCP
}

// wsLink is what the AT traffic said about one link.
type wsLink struct {
	id                   int
	uri, subproto, auth  string
	openT                int64
	haveOpen             bool
	cause                string // last +WS_CLOSED / +WS_DISCONNECTED
	flow                 *wsFlow
	lastClientClose      []byte
	lastClientCloseValid bool
}

// wsFlow is one synthetic TCP connection.
type wsFlow struct {
	link         *wsLink
	iface        string
	sIP          net.IP
	cPort, sPort uint16
	cSeq, sSeq   uint32
	uri          string
	wss          bool
	started      bool // the TCP handshake and request are written
	connected    bool // the connection is open (101 due at connT)
	accepted     bool // the 101 response is written
	req, resp    []byte
	openT, connT int64
	comment      string
	maskN        uint32
	// Per direction (0 client->server, 1 server->client):
	frag      [2]bool   // inside a fragmented message (last data frame had fin=0)
	pieceLeft [2]uint64 // payload bytes still owed by a frame sent in pieces
	closeSent [2]bool
	closePay  []byte // the client's close payload, echoed in a reconstructed server close
}

func (w *wsView) init(x *Writer) {
	w.x = x
	w.links = map[int]*wsLink{}
	w.recorded = x.opts.Frames == FramesRecorded
	w.ser = gopacket.NewSerializeBuffer()
}

func wsIface(link int) string { return "ws-link" + strconv.Itoa(link) }

// iface declares the interface of a link (pcapng IDBs may come anywhere
// before their first packet).
func (w *wsView) iface(link int) {
	name := wsIface(link)
	if _, ok := w.x.ifc[name]; ok {
		return
	}
	var c string
	switch w.x.opts.Frames {
	case FramesRecorded:
		c = "frames as recorded on the network side; TCP/IP framing synthesized"
	case FramesReconstructed:
		c = "frames RECONSTRUCTED from AT+WSSEND and +WS_DATA (ESP-AT prints one +WS_DATA per network read, not per frame); TCP/IP framing synthesized"
	default:
		c = "frames reconstructed from AT+WSSEND and +WS_DATA unless the recording has network-side frames (see each flow's first packet); TCP/IP framing synthesized"
	}
	w.x.addIface(linkEthernet, name, fmt.Sprintf("WebSocket link %d of the ESP32, one TCP flow per connection", link), c)
}

func (w *wsView) link(id int) *wsLink {
	l := w.links[id]
	if l == nil {
		if len(w.links) >= 256 {
			return nil // hostile input: bound the state
		}
		l = &wsLink{id: id}
		w.links[id] = l
	}
	return l
}

// decoded follows the AT traffic: AT+WSOPEN parameters and AT+WSHEAD
// headers always; link states and messages while frames are reconstructed.
func (w *wsView) decoded(ev *at.Event) {
	switch ev.Kind {
	case at.EvCommand:
		if ev.Cmd == nil {
			return
		}
		switch ev.Name {
		case "+WSOPEN":
			id, ok := ev.Cmd.Int(0)
			if !ok || id < 0 || id > 255 {
				return
			}
			l := w.link(int(id))
			if l == nil {
				return
			}
			p := func(i int) string {
				v, _ := ev.Cmd.Param(i)
				return v.Value
			}
			l.uri, l.subproto, l.auth, l.openT, l.haveOpen = p(1), p(2), p(4), ev.Time, true
			if w.x.keepLink(l.id) && (l.flow == nil || !l.flow.connected) {
				if l.flow != nil {
					w.reset(l.flow, ev.Time, "AT+WSOPEN again before the last one connected")
				}
				w.begin(l, ev.Time, l.uri)
			}
		case "+WSHEAD":
			if n, ok := ev.Cmd.Int(0); ok && n == 0 {
				w.headers = nil
			}
		}
	case at.EvPayload:
		if ev.Name == "+WSHEAD" && ev.Err == nil && len(w.headers) < 64 {
			k, v, ok := strings.Cut(string(ev.Data), ":")
			if ok && len(ev.Data) <= 4096 {
				w.headers = append([]string{cleanHeader(k) + ": " + cleanHeader(v)}, w.headers...)
			}
		}
	case at.EvURC:
		if ev.Link >= 0 && (ev.Name == "+WS_CLOSED" || ev.Name == "+WS_DISCONNECTED") {
			if l := w.link(ev.Link); l != nil {
				l.cause = ev.Name
			}
		}
	case at.EvLinkState:
		if w.recorded || ev.Link < 0 || !w.x.keepLink(ev.Link) {
			return
		}
		l := w.link(ev.Link)
		if l == nil {
			return
		}
		if ev.State == at.LinkConnected {
			if l.flow != nil && l.flow.connected {
				w.reset(l.flow, ev.Time, "connection replaced: a new +WS_CONNECTED came")
				l.flow = nil
			}
			w.connect(l, ev.Time, l.uri, false)
			l.cause = ""
			return
		}
		if l.flow == nil {
			return
		}
		if !l.flow.connected {
			if ev.State == at.LinkClosed {
				w.reset(l.flow, ev.Time, "AT+WSOPEN failed: no connection")
				l.flow, l.cause = nil, ""
			}
			return
		}
		switch l.cause {
		case "+WS_CLOSED":
			w.serverClose(l.flow, ev.Time)
		case "+WS_DISCONNECTED":
			w.reset(l.flow, ev.Time, "+WS_DISCONNECTED: the connection was lost (the firmware reconnects)")
		default:
			w.fin(l.flow, ev.Time, true, "link closed (AT+WSCLOSE or a device restart); frames of the closing handshake are not known")
		}
		l.flow, l.cause = nil, ""
	case at.EvWSMessage:
		if w.recorded || ev.Msg == nil || !w.x.keepLink(ev.Link) {
			return
		}
		m := ev.Msg
		if m.Dir == formats.ToServer && m.Result != "SEND OK" {
			return // the firmware did not send it
		}
		l := w.link(ev.Link)
		if l == nil {
			return
		}
		if l.flow == nil || !l.flow.connected {
			w.connect(l, ev.Time, "", false)
			l.flow.comment += "; the connection was open before the capture started"
		}
		w.reconstructed(l.flow, ev.Time, m)
	}
}

// cleanHeader keeps a header line on one line.
func cleanHeader(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' {
			return ' '
		}
		return r
	}, s)
}

// switchToRecorded makes FramesAuto use recorded frames from now on.
func (w *wsView) switchToRecorded(t int64) {
	if w.recorded || w.x.opts.Frames == FramesReconstructed {
		return
	}
	w.recorded = true
	for _, l := range w.links {
		if l.flow != nil && l.flow.connected {
			w.reset(l.flow, t, "superseded: the recording has network-side frames from here on")
			l.flow = nil
		}
	}
}

func (w *wsView) recordedOpen(t int64, link int, uri string) {
	if w.x.opts.Frames == FramesReconstructed {
		return
	}
	w.switchToRecorded(t)
	l := w.link(link)
	if l == nil {
		return
	}
	if l.flow != nil && l.flow.connected {
		w.reset(l.flow, t, "connection replaced: a new connection was recorded")
		l.flow = nil
	}
	w.connect(l, t, uri, true)
}

func (w *wsView) recordedClose(t int64, link int, code uint16, reason string) {
	if !w.recorded {
		return
	}
	l := w.link(link)
	if l == nil || l.flow == nil {
		return
	}
	c := fmt.Sprintf("connection ended (recorded): code %d", code)
	if reason != "" {
		c += ", " + reason
	}
	if code == 0 && strings.HasPrefix(reason, "connection lost") {
		w.reset(l.flow, t, c)
	} else {
		w.fin(l.flow, t, true, c)
	}
	l.flow = nil
}

func (w *wsView) recordedFrame(t int64, link int, dir formats.Dir, h ws.Header, payload []byte) {
	if w.x.opts.Frames == FramesReconstructed || (dir != formats.ToServer && dir != formats.ToClient) {
		return
	}
	w.switchToRecorded(t)
	l := w.link(link)
	if l == nil {
		return
	}
	if l.flow == nil || !l.flow.connected {
		w.connect(l, t, "", true)
		l.flow.comment += "; the connection was open before the recording started"
	}
	comment := ""
	if uint64(len(payload)) < h.Length {
		comment = fmt.Sprintf("payload cut by the recorder: %d of %d bytes shown", len(payload), h.Length)
	}
	h.Length = uint64(len(payload))
	w.frame(l.flow, t, dir, h, payload, comment)
}
