package pcapng

import (
	"hash/fnv"
	"net"

	"github.com/atbridge/atbridge/formats"
	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// This file is the synthetic TCP and UDP of the link and MQTT views: one
// flow between the ESP32 and a remote end, with a handshake, consistent
// sequence numbers and a FIN or RST, or UDP datagrams.

// syntheticIP is the address shown for a remote host: its own IPv4 address
// when it is one, else a stable address in TEST-NET-2 (198.51.100.1-250,
// RFC 5737) derived from the name (FNV-1a), as the WebSocket view does.
// Nothing is resolved. IPv6 literals are shown the same way, on IPv4.
func syntheticIP(host string) net.IP {
	if ip := net.ParseIP(host).To4(); ip != nil {
		return ip
	}
	h := fnv.New32a()
	h.Write([]byte(host))
	return net.IPv4(198, 51, 100, byte(1+h.Sum32()%250)).To4()
}

// shownPort is the server port written for a link that ran over TLS: the
// plaintext of 443 and 8883 shows on 80 and 1883, where Wireshark's HTTP and
// MQTT dissectors look (on the TLS ports it would parse TLS records). Other
// ports are kept.
func shownPort(port uint16, tls bool) uint16 {
	if tls {
		switch port {
		case 443:
			return 80
		case 8883:
			return 1883
		}
	}
	return port
}

// netFlow is one synthetic connection between the ESP32 and a remote end.
type netFlow struct {
	iface            string
	udp              bool
	espIsClient      bool // the ESP32 opened it (AT+CIPSTART); false for AT+CIPSERVER
	espIP, remIP     net.IP
	espPort, remPort uint16
	espSeq, remSeq   uint32
	openT            int64
	comment          string // the label, on the first packet written
	started          bool   // the handshake is written
	closed           bool
}

// flows writes netFlows for the link and MQTT views; its layers and buffer
// are reused, since serializing is on the hot path of big exports.
type flows struct {
	x   *Writer
	n   int
	ser gopacket.SerializeBuffer
	eth layers.Ethernet
	ip  layers.IPv4
	tcp layers.TCP
	udp layers.UDP
}

func (w *flows) init(x *Writer) {
	w.x = x
	w.ser = gopacket.NewSerializeBuffer()
}

// open returns a new flow opened at time t. The ESP32 side takes a port
// from 32768-49151 (the WebSocket view's are above), so no two flows of a
// file share their addresses and ports.
func (w *flows) open(iface string, t int64, udp, espIsClient bool, remote string, remPort, espPort uint16, comment string) *netFlow {
	w.n++
	f := &netFlow{iface: iface, udp: udp, espIsClient: espIsClient, espIP: wsClientIP, remIP: syntheticIP(remote),
		espPort: espPort, remPort: remPort, openT: t, comment: comment}
	if f.espPort == 0 {
		f.espPort = uint16(32768 + (w.n-1)%16384)
	}
	f.espSeq = 2000 + uint32(w.n)*0x01000000
	f.remSeq = 7000 + uint32(w.n)*0x00100000
	return f
}

// start writes the TCP handshake of f at its open time (once), even when
// that is before Options.Since, so that a flow shown in part decodes.
func (w *flows) start(f *netFlow) {
	if f.started {
		return
	}
	f.started = true
	if f.udp {
		return
	}
	force := w.x.force
	w.x.force = true
	a := f.espIsClient
	w.seg(f, f.openT, a, tcpSYN, nil)
	w.seg(f, f.openT, !a, tcpSYN|tcpACK, nil)
	w.seg(f, f.openT, a, tcpACK, nil)
	w.x.force = force
}

// data writes payload from the ESP32 (fromESP) or to it at time t: TCP
// segments of at most wsMaxSegment bytes, or one UDP datagram.
func (w *flows) data(f *netFlow, t int64, fromESP bool, payload []byte, comment string) {
	if f.closed || !w.x.inWindow(t) {
		return
	}
	w.start(f)
	if f.udp {
		w.datagram(f, t, fromESP, payload, comment)
		return
	}
	for len(payload) > 0 {
		p := payload[:min(len(payload), wsMaxSegment)]
		w.seg1(f, t, fromESP, tcpACK|tcpPSH, p, comment)
		payload, comment = payload[len(p):], ""
	}
}

// fin closes f: FIN from one side (the ESP32 when fromESP), FIN from the
// other, the last ACK. UDP flows just end.
func (w *flows) fin(f *netFlow, t int64, fromESP bool, comment string) {
	if f.closed {
		return
	}
	if !w.x.inWindow(t) || f.udp {
		f.closed = true
		return
	}
	w.start(f)
	w.seg1(f, t, fromESP, tcpFIN|tcpACK, nil, comment)
	w.seg1(f, t, !fromESP, tcpFIN|tcpACK, nil, "")
	w.seg1(f, t, fromESP, tcpACK, nil, "")
	f.closed = true
}

// reset ends f with a RST from the ESP32.
func (w *flows) reset(f *netFlow, t int64, comment string) {
	if f.closed {
		return
	}
	f.closed = true
	if f.udp || !f.started || !w.x.inWindow(t) {
		return
	}
	w.seg1(f, t, true, tcpRST|tcpACK, nil, comment)
}

func (w *flows) seg(f *netFlow, t int64, fromESP bool, flags int, payload []byte) {
	w.seg1(f, t, fromESP, flags, payload, "")
}

// label returns the comment of the flow's first packet, once.
func (f *netFlow) label(comment string) string {
	c := f.comment
	f.comment = ""
	return joinComment(c, comment)
}

// joinComment joins two packet comments with "; ".
func joinComment(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "; " + b
}

func (w *flows) seg1(f *netFlow, t int64, fromESP bool, flags int, payload []byte, comment string) {
	eth, ip, tcp := &w.eth, &w.ip, &w.tcp
	*eth = layers.Ethernet{SrcMAC: wsClientMAC, DstMAC: wsServerMAC, EthernetType: layers.EthernetTypeIPv4}
	*ip = layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: f.espIP, DstIP: f.remIP, Flags: layers.IPv4DontFragment}
	*tcp = layers.TCP{SrcPort: layers.TCPPort(f.espPort), DstPort: layers.TCPPort(f.remPort), Seq: f.espSeq, Ack: f.remSeq, Window: 65535,
		SYN: flags&tcpSYN != 0, ACK: flags&tcpACK != 0, PSH: flags&tcpPSH != 0, FIN: flags&tcpFIN != 0, RST: flags&tcpRST != 0}
	if !fromESP {
		eth.SrcMAC, eth.DstMAC = eth.DstMAC, eth.SrcMAC
		ip.SrcIP, ip.DstIP = ip.DstIP, ip.SrcIP
		tcp.SrcPort, tcp.DstPort = tcp.DstPort, tcp.SrcPort
		tcp.Seq, tcp.Ack = f.remSeq, f.espSeq
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
	if fromESP {
		f.espSeq += n
	} else {
		f.remSeq += n
	}
	w.emit(f, t, fromESP, comment)
}

// maxDatagram is the largest UDP payload over IPv4.
const maxDatagram = 65507

func (w *flows) datagram(f *netFlow, t int64, fromESP bool, payload []byte, comment string) {
	if len(payload) > maxDatagram {
		payload = payload[:maxDatagram]
		comment = joinComment("datagram cut to 65507 bytes", comment)
	}
	eth, ip, udp := &w.eth, &w.ip, &w.udp
	*eth = layers.Ethernet{SrcMAC: wsClientMAC, DstMAC: wsServerMAC, EthernetType: layers.EthernetTypeIPv4}
	*ip = layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: f.espIP, DstIP: f.remIP}
	*udp = layers.UDP{SrcPort: layers.UDPPort(f.espPort), DstPort: layers.UDPPort(f.remPort)}
	if !fromESP {
		eth.SrcMAC, eth.DstMAC = eth.DstMAC, eth.SrcMAC
		ip.SrcIP, ip.DstIP = ip.DstIP, ip.SrcIP
		udp.SrcPort, udp.DstPort = udp.DstPort, udp.SrcPort
	}
	udp.SetNetworkLayerForChecksum(ip)
	w.ser.Clear()
	if err := gopacket.SerializeLayers(w.ser, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, udp, gopacket.Payload(payload)); err != nil {
		return
	}
	w.emit(f, t, fromESP, comment)
}

func (w *flows) emit(f *netFlow, t int64, fromESP bool, comment string) {
	// The direction flag says outbound for the ESP32's packets, whichever
	// side opened the flow.
	dir := formats.ToServer
	if !fromESP {
		dir = formats.ToClient
	}
	w.x.emit(f.iface, t, dir, w.ser.Bytes(), f.label(comment))
}
