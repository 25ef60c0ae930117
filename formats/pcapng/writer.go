package pcapng

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/atbridge/atbridge/formats"
	"github.com/atbridge/atbridge/formats/at"
	"github.com/atbridge/atbridge/formats/ws"
)

// View is a set of the exporter's views of the traffic: each becomes one or
// more pcapng interfaces.
type View uint8

// Views. In a pcapng file the interfaces are, in this order: for ViewRaw
// "uart-raw-to_device" and "uart-raw-to_host"; for ViewAT "uart-at" and
// "atbridge-events"; for ViewWS "ws-link0", "ws-link1", "ws-link2" (and
// "ws-linkN" added when a recording has a higher link number); for ViewNet
// "net-linkN" and "mqtt-linkN", each added before its first packet; for
// ViewLog "esp32-log NAME" per log port (see Writer.Log).
const (
	// ViewRaw: serial bytes exactly as each read returned them, as
	// LINKTYPE_RTAC_SERIAL packets (event DATA_TX_START for bytes to the
	// ESP32, DATA_RX_START for bytes to the host app; the port's control
	// lines as last recorded; "capture data lost" for lost bytes).
	ViewRaw View = 1 << iota
	// ViewAT: decoded ESP-AT units as exported PDUs (LINKTYPE_WIRESHARK_UPPER_PDU):
	// command lines and response blocks for Wireshark's "at" dissector,
	// payloads and binary data for "data", echoes and prompts as text; and
	// markers and port/link events on their own interface.
	ViewAT
	// ViewWS: each WebSocket connection of a link as a synthetic
	// Ethernet/IPv4/TCP flow with an HTTP upgrade handshake, so that
	// Wireshark's WebSocket dissector decodes every frame.
	ViewWS
	// ViewNet: the data of each TCP/UDP/SSL link (AT+CIPSTART, AT+CIPSEND,
	// +IPD, +CIPRECVDATA) as a synthetic Ethernet/IPv4 TCP flow or UDP
	// datagrams, and each MQTT connection (AT+MQTT*) as MQTT 3.1.1 packets
	// on a TCP flow, so that Wireshark's HTTP, MQTT and other dissectors
	// decode what went through the ESP32.
	ViewNet
	// ViewLog: what the ESP32 printed on its log (console) UART, one
	// exported PDU per line shown as text (see Writer.Log).
	ViewLog
	// ViewAll is every view; the zero View means ViewAll too.
	ViewAll = ViewRaw | ViewAT | ViewWS | ViewNet | ViewLog
)

// ParseView reads "raw", "at", "ws", "net", "log" or "all".
func ParseView(s string) (View, error) {
	switch strings.ToLower(s) {
	case "raw":
		return ViewRaw, nil
	case "at":
		return ViewAT, nil
	case "ws":
		return ViewWS, nil
	case "net":
		return ViewNet, nil
	case "log":
		return ViewLog, nil
	case "all", "":
		return ViewAll, nil
	}
	return 0, fmt.Errorf("unknown view %q (want raw, at, ws, net, log or all)", s)
}

// FrameSource says where the WebSocket view takes its frames from.
type FrameSource uint8

// Frame sources.
const (
	// FramesAuto, the zero value: frames are reconstructed from the AT
	// traffic (AT+WSSEND, +WS_DATA) until the input has a recorded frame or
	// a recorded link event (EvWSConnected); from then on only recorded
	// ones are used.
	FramesAuto FrameSource = iota
	// FramesRecorded: only recorded frames (Writer.Frame) and
	// recorded link events; the AT traffic only supplies handshake details.
	FramesRecorded
	// FramesReconstructed: only frames rebuilt from the AT traffic; recorded
	// frames and link events are ignored.
	FramesReconstructed
)

// Port describes a serial port for the interfaces' descriptions.
type Port struct {
	Name string // e.g. "/dev/ttyUSB0", "pty:/tmp/esp"
	Role string // "host", "device" or "log" (the ESP32's console UART)
	// Adapter describes the USB adapter behind the port (VID:PID,
	// product, driver, latency timer) for the interface comments; "" when
	// not known.
	Adapter string
}

// Options configure a Writer. A nil *Options means
// defaults.
type Options struct {
	// Start is the wall-clock time of time 0 of the input; packet
	// timestamps are Start plus the input times. Default: the Unix epoch.
	Start time.Time
	// Classic writes a classic pcap file instead of pcapng. It holds one
	// view only (Views must name exactly one); pcap has no comments, so
	// markers and labels are lost. Default false.
	Classic bool
	// Views selects the views to write; 0 means all (pcapng) and is an
	// error with Classic.
	Views View
	// Links, when not empty, keeps only these link ids (WebSocket, TCP/UDP
	// and MQTT links alike): the raw view is dropped (serial reads cannot be
	// split by link), the AT view keeps the units that name one of the
	// links (Event.Link), the WebSocket and link views only their flows.
	// Default: everything.
	Links []int
	// Since and Until bound the packets written, in input time: packets
	// before Since or after Until are left out (the traffic before Since is
	// still decoded, so WebSocket flows that started earlier keep their
	// handshake). Until <= 0 means no end.
	Since, Until int64
	// Decoder configures the ESP-AT decoder of the AT and WebSocket views.
	Decoder *at.DecoderOptions
	// Frames says where WebSocket frames come from; default FramesAuto.
	Frames FrameSource
	// Ports describe the serial ports by their index in Chunk calls.
	Ports []Port
	// Comment is added to the section comment (the capture's notes, what
	// recorded it).
	Comment string
	// Application is the shb_userappl option; default "atbridge".
	Application string
}

// EventKind says what a Event reports.
type EventKind uint8

// Event kinds. The comment says which Event fields each one uses.
const (
	// EvNote is shown as text only: markers, notes, port opened or
	// closed, line settings, split files (Name, Text).
	EvNote EventKind = iota
	// EvControlLines: the port's modem control lines changed (Port,
	// Control). The raw view gets an RTAC "status change" packet and uses
	// the state in later packets.
	EvControlLines
	// EvBytesLost: bytes read from the port were not recorded (Port,
	// Dir, Count); the raw view gets a "capture data lost" packet.
	EvBytesLost
	// EvWSConnected: a recorded WebSocket connection opened (Link, Text:
	// the URL).
	EvWSConnected
	// EvWSClosed: a recorded WebSocket connection ended (Link, Code:
	// the close code or 0, Text: the reason).
	EvWSClosed
	// EvBreak: a BREAK on a line (Port, Dir, Count); the raw view gets an
	// RTAC "break" packet, a log port's interface a text packet.
	EvBreak
	// EvLineErrors: receive errors the OS counted (Port, Dir, Text:
	// "framing", "parity", "overrun" or "buffer_overrun", Count); the raw
	// view gets an RTAC framing, parity or overflow packet.
	EvLineErrors
)

// Event is an event of the input other than serial bytes and frames.
type Event struct {
	Kind EventKind
	// Name is a short lowercase name shown first ("marker", "port_lost",
	// "line_settings", ...).
	Name    string
	Text    string
	Port    uint8
	Dir     formats.Dir
	Link    int
	Count   int64
	Code    uint16
	Control uint8 // RTAC control line bits: CTS 0x01 DCD 0x02 DSR 0x04 RTS 0x08 DTR 0x10 RI 0x20
}

// Errors returned by NewWriter and the exporter's methods.
var (
	// ErrView: the options ask for an impossible set of views (none
	// left, or not exactly one for classic pcap).
	ErrView = errors.New("pcap export: bad view selection")
	// ErrClosed: a method was called after Close.
	ErrClosed = errors.New("pcap export: exporter closed")
)

// Stats counts what an exporter wrote.
type Stats struct {
	Packets int64            // packets written, all interfaces
	Bytes   int64            // bytes written to the output
	ByIface map[string]int64 // packets per interface name
	Input   int64            // serial and frame payload bytes taken in
}

// Writer turns recorded ESP-AT traffic into a pcapng (or pcap)
// stream that Wireshark decodes with no plugin.
//
// Feed it the input in time order with Chunk, Frame and Event, then call
// Close. Packets come out in time order through a bounded reorder window
// (256 packets, 4 MiB): a decoded unit whose bytes were settled late (a
// payload held until the prompt) still takes its place. For a live feed,
// call Flush after each input: it writes out everything taken so far, in
// the order it was taken.
//
// The exporter holds bounded memory whatever the length of the input: the
// decoder's limits, one state per WebSocket link, and its write buffer.
// It is not safe for concurrent use. It never closes the writer.
type Writer struct {
	opts   Options
	bw     *bufio.Writer
	out    blockWriter
	base   uint64 // Start in ns since the epoch
	views  View
	links  map[int]bool
	closed bool
	// force writes packets outside the time window: the handshake of a
	// WebSocket flow whose first frame is inside it.
	force bool

	ifc   map[string]uint32 // interface name -> IDB index (pcapng)
	nIfc  uint32
	stats Stats

	order reorder
	raw   rawView
	at    atView
	ws    wsView
	flows flows
	net   netView
	mqtt  mqttView
	log   logView
	pkt   []byte // scratch for packet bodies
}

// NewWriter writes the file header (and the interface descriptions)
// to w and returns an exporter ready for input.
func NewWriter(w io.Writer, opts *Options) (*Writer, error) {
	x := &Writer{bw: bufio.NewWriterSize(w, 64<<10)}
	if opts != nil {
		x.opts = *opts
	}
	if x.opts.Application == "" {
		x.opts.Application = "atbridge"
	}
	if !x.opts.Start.IsZero() {
		x.base = uint64(x.opts.Start.UnixNano())
	}
	x.out.w = x.bw
	x.views = x.opts.Views
	if x.views == 0 && !x.opts.Classic {
		x.views = ViewAll
	}
	if len(x.opts.Links) > 0 {
		x.links = map[int]bool{}
		for _, l := range x.opts.Links {
			x.links[l] = true
		}
		x.views &^= ViewRaw | ViewLog
	}
	if x.opts.Classic {
		if v := x.views; v != ViewRaw && v != ViewAT && v != ViewWS && v != ViewNet && v != ViewLog {
			return nil, fmt.Errorf("%w: classic pcap holds exactly one view (raw, at, ws, net or log)", ErrView)
		}
	} else if x.views == 0 {
		return nil, fmt.Errorf("%w: no view left (Links drops the raw view)", ErrView)
	}
	x.stats.ByIface = map[string]int64{}
	x.ifc = map[string]uint32{}
	x.at.init(x)
	x.ws.init(x)
	x.flows.init(x)
	x.net.init(x, &x.flows)
	x.mqtt.init(x, &x.flows)
	x.log.init(x)
	x.writeHeader()
	return x, x.out.err
}

// sectionComment says what the file is and how its WebSocket flows were made.
func (x *Writer) sectionComment() string {
	var b strings.Builder
	b.WriteString("ESP-AT serial traffic exported by atbridge. ")
	if x.views&ViewRaw != 0 {
		b.WriteString("uart-raw-*: serial reads exactly as recorded (RTAC serial; TX = host app to ESP32, RX = ESP32 to host app). ")
	}
	if x.views&ViewAT != 0 {
		b.WriteString("uart-at: decoded AT units (exported PDUs; direction sent = to the ESP32); atbridge-events: markers and port/link events. ")
	}
	if x.views&ViewWS != 0 {
		b.WriteString("ws-linkN: one synthetic Ethernet/IPv4/TCP flow per WebSocket connection; addresses, ports other than the server's, TCP handshakes and the HTTP upgrade are synthesized. ")
		switch x.opts.Frames {
		case FramesRecorded:
			b.WriteString("Frames are as recorded on the network side. ")
		case FramesReconstructed:
			b.WriteString("Frames are RECONSTRUCTED from AT+WSSEND and +WS_DATA, not captured: by default ESP-AT prints one +WS_DATA per network read, not per frame. ")
		default:
			b.WriteString("Frames are RECONSTRUCTED from AT+WSSEND and +WS_DATA unless the recording has network-side frames (each flow's first packet says which). ")
		}
		b.WriteString("wss:// links are shown as plaintext: a decrypted reconstruction, not a wire capture. ")
	}
	if x.views&ViewNet != 0 {
		b.WriteString("net-linkN: one synthetic TCP flow (or UDP datagrams) per connection of TCP/UDP/SSL link N, with the data RECONSTRUCTED from AT+CIPSEND* and +IPD/+CIPRECVDATA; mqtt-linkN: MQTT 3.1.1 packets RECONSTRUCTED from AT+MQTT* and +MQTT*; addresses, ports other than the remote's and TCP framing synthesized; TLS shown as plaintext. ")
	}
	if x.views&ViewLog != 0 && x.hasLogPort() {
		b.WriteString("esp32-log NAME: the ESP32's log (console) UART, one text packet per line; resets, panics, warnings and errors named in packet comments.")
	}
	if x.opts.Comment != "" {
		b.WriteString("\n")
		b.WriteString(x.opts.Comment)
	}
	return b.String()
}

func (x *Writer) writeHeader() {
	if x.opts.Classic {
		switch x.views {
		case ViewRaw:
			x.out.pcapHeader(linkRTACSerial)
		case ViewAT, ViewLog:
			x.out.pcapHeader(linkUpperPDU)
		case ViewWS, ViewNet:
			x.out.pcapHeader(linkEthernet)
		}
		return
	}
	x.out.section("", "", x.opts.Application, x.sectionComment())
	ports := ""
	for i, p := range x.opts.Ports {
		if i > 0 {
			ports += ", "
		}
		ports += fmt.Sprintf("port %d %s (%s)", i, p.Name, p.Role)
	}
	if ports != "" {
		ports = "; " + ports
	}
	var adapters []string
	for i, p := range x.opts.Ports {
		if c := adapterComment(uint8(i), p); c != "" && p.Role != "log" {
			adapters = append(adapters, c)
		}
	}
	if x.views&ViewRaw != 0 {
		c := strings.Join(adapters, "\n")
		x.addIface(linkRTACSerial, ifRawToDevice, "serial reads from the host app to the ESP32, exactly as recorded"+ports, c)
		x.addIface(linkRTACSerial, ifRawToHost, "serial reads from the ESP32 to the host app, exactly as recorded"+ports, c)
	}
	if x.views&ViewAT != 0 {
		x.addIface(linkUpperPDU, ifAT, "ESP-AT command lines, response blocks and unsolicited messages, decoded from the serial traffic", "")
		x.addIface(linkUpperPDU, ifEvents, "atbridge markers and port, line and link events", "")
	}
	if x.views&ViewWS != 0 {
		for l := 0; l < 3; l++ {
			x.ws.iface(l)
		}
	}
	if x.views&ViewLog != 0 {
		for i, p := range x.opts.Ports {
			if p.Role == "log" && i < 256 {
				x.log.port(uint8(i))
			}
		}
	}
}

// hasLogPort reports whether Options.Ports names a log port.
func (x *Writer) hasLogPort() bool {
	for _, p := range x.opts.Ports {
		if p.Role == "log" {
			return true
		}
	}
	return false
}

// Interface names.
const (
	ifRawToDevice = "uart-raw-to_device"
	ifRawToHost   = "uart-raw-to_host"
	ifAT          = "uart-at"
	ifEvents      = "atbridge-events"
)

func (x *Writer) addIface(link uint16, name, desc, comment string) {
	if _, ok := x.ifc[name]; ok || x.opts.Classic {
		return
	}
	x.ifc[name] = x.nIfc
	x.nIfc++
	x.out.iface(link, name, desc, comment)
}

// inWindow reports whether a packet at input time t is to be written.
func (x *Writer) inWindow(t int64) bool {
	return t >= x.opts.Since && (x.opts.Until <= 0 || t <= x.opts.Until)
}

// emit writes one packet on the named interface (or to the classic file
// when the view matches). dir sets the EPB direction flag: ToDevice and
// ToServer are outbound, ToHost and ToClient inbound.
func (x *Writer) emit(name string, t int64, dir formats.Dir, data []byte, comment string) {
	if !x.inWindow(t) && !x.force {
		return
	}
	ts := x.base + uint64(max(t, 0))
	var id, flags uint32
	if !x.opts.Classic {
		var ok bool
		if id, ok = x.ifc[name]; !ok {
			return
		}
		switch dir {
		case formats.ToDevice, formats.ToServer:
			flags = epbOutbound
		case formats.ToHost, formats.ToClient:
			flags = epbInbound
		}
	}
	x.order.push(&x.out, x.opts.Classic, ts, id, flags, data, comment)
	x.stats.Packets++
	x.stats.ByIface[name]++
}

func (x *Writer) usable() error {
	if x.closed {
		return ErrClosed
	}
	if x.out.err != nil {
		return fmt.Errorf("pcap export: %w", x.out.err)
	}
	return nil
}

// Chunk takes serial bytes read from port at input time t in direction dir
// (ToDevice or ToHost; others are ignored). data is not retained.
func (x *Writer) Chunk(t int64, port uint8, dir formats.Dir, data []byte) error {
	if err := x.usable(); err != nil {
		return err
	}
	if !dir.Serial() || len(data) == 0 {
		return nil
	}
	x.stats.Input += int64(len(data))
	if x.views&ViewRaw != 0 {
		x.raw.chunk(x, t, port, dir, data)
	}
	if x.views&(ViewAT|ViewWS|ViewNet) != 0 {
		for _, ev := range x.at.dec.Feed(t, dir, data) {
			x.decoded(&ev)
		}
	}
	return x.usable()
}

// Log takes bytes read from the ESP32's log (console) UART on port at
// input time t. The log view decodes them into lines (formats/esplog) and
// writes one text packet per line, at the time of the read that held the
// line's first byte, on the port's "esp32-log NAME" interface; no other
// view sees them (they are not AT traffic). data is not retained.
func (x *Writer) Log(t int64, port uint8, data []byte) error {
	if err := x.usable(); err != nil {
		return err
	}
	if len(data) == 0 {
		return nil
	}
	x.stats.Input += int64(len(data))
	if x.views&ViewLog != 0 {
		x.log.chunk(t, port, data)
	}
	return x.usable()
}

// Frame takes a WebSocket frame recorded on the network side of link at
// input time t: dir ToServer or ToClient, h its header as on the wire,
// payload its unmasked payload (cut frames have len(payload) < h.Length;
// they are written with the bytes there are and a comment). payload is not
// retained.
func (x *Writer) Frame(t int64, link int, dir formats.Dir, h ws.Header, payload []byte) error {
	if err := x.usable(); err != nil {
		return err
	}
	x.stats.Input += int64(len(payload))
	if x.views&ViewWS != 0 && x.keepLink(link) {
		x.ws.recordedFrame(t, link, dir, h, payload)
	}
	return x.usable()
}

// Event takes an event of the input at time t.
func (x *Writer) Event(t int64, ev Event) error {
	if err := x.usable(); err != nil {
		return err
	}
	logPort := (ev.Kind == EvBreak || ev.Kind == EvLineErrors) && x.log.isLog(ev.Port)
	if logPort && x.views&ViewLog != 0 {
		x.log.event(t, ev)
	}
	if x.views&ViewRaw != 0 && !logPort {
		x.raw.event(x, t, ev)
	}
	if x.views&ViewAT != 0 && (ev.Kind != EvWSConnected && ev.Kind != EvWSClosed || x.keepLink(ev.Link)) {
		x.at.event(t, ev)
	}
	if x.views&ViewWS != 0 && x.keepLink(ev.Link) {
		switch ev.Kind {
		case EvWSConnected:
			x.ws.recordedOpen(t, ev.Link, ev.Text)
		case EvWSClosed:
			x.ws.recordedClose(t, ev.Link, ev.Code, ev.Text)
		}
	}
	return x.usable()
}

// keepLink applies Options.Links.
func (x *Writer) keepLink(l int) bool { return x.links == nil || x.links[l] }

// decoded routes one decoder event to the AT and WebSocket views.
func (x *Writer) decoded(ev *at.Event) {
	if x.views&ViewAT != 0 && (x.links == nil || x.links[ev.Link]) {
		x.at.unit(ev)
	}
	if x.views&ViewWS != 0 {
		x.ws.decoded(ev)
	}
	if x.views&ViewNet != 0 {
		x.net.decoded(ev)
		x.mqtt.decoded(ev)
	}
}

// Flush writes out what is buffered, so that a reader of a live feed sees
// every packet taken so far (the decoder may still hold an unfinished line).
func (x *Writer) Flush() error {
	if x.closed {
		return ErrClosed
	}
	x.order.drain(&x.out, x.opts.Classic)
	if x.out.err == nil {
		x.out.err = x.bw.Flush()
	}
	if x.out.err != nil {
		return fmt.Errorf("pcap export: %w", x.out.err)
	}
	return nil
}

// Close ends the input: the decoder reports what it still holds, and
// everything is flushed to the writer (which stays open). Calling Close
// again returns nil.
func (x *Writer) Close() error {
	if x.closed {
		return nil
	}
	if x.views&(ViewAT|ViewWS|ViewNet) != 0 {
		for _, ev := range x.at.dec.Flush() {
			x.decoded(&ev)
		}
		x.at.flushBlock()
	}
	if x.views&ViewLog != 0 {
		x.log.flush()
	}
	err := x.Flush()
	x.closed = true
	return err
}

// Stats returns what was written so far.
func (x *Writer) Stats() Stats {
	s := x.stats
	s.Bytes = x.out.n
	s.ByIface = make(map[string]int64, len(x.stats.ByIface))
	for k, v := range x.stats.ByIface {
		s.ByIface[k] = v
	}
	return s
}
