package pcapng_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/atbridge/atbridge/formats/ws"
	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// A minimal pcapng and pcap reader for the tests: it checks the framing
// strictly (block lengths, padding, option lists) so that a test passing
// here means the file is well formed, independently of tshark.

type ngIface struct {
	link                uint16
	name, desc, comment string
	tsresol             byte
}

type ngPacket struct {
	iface   int
	ts      uint64 // ns since the epoch
	data    []byte
	flags   uint32
	comment string
}

type ngFile struct {
	comment, appl string
	ifaces        []ngIface
	pkts          []ngPacket
}

func (f *ngFile) ifaceName(p ngPacket) string { return f.ifaces[p.iface].name }

// on returns the packets of the named interface.
func (f *ngFile) on(name string) []ngPacket {
	var out []ngPacket
	for _, p := range f.pkts {
		if f.ifaceName(p) == name {
			out = append(out, p)
		}
	}
	return out
}

func parseOpts(b []byte) (map[uint16][]byte, error) {
	m := map[uint16][]byte{}
	for len(b) > 0 {
		if len(b) < 4 {
			return nil, errors.New("option header cut")
		}
		code := binary.LittleEndian.Uint16(b)
		n := int(binary.LittleEndian.Uint16(b[2:]))
		if code == 0 {
			if n != 0 || len(b) != 4 {
				return nil, fmt.Errorf("opt_endofopt with %d bytes after it", len(b)-4)
			}
			return m, nil
		}
		pad := (n + 3) &^ 3
		if len(b) < 4+pad {
			return nil, errors.New("option value cut")
		}
		m[code] = b[4 : 4+n]
		b = b[4+pad:]
	}
	return m, nil
}

func parsePcapng(b []byte) (*ngFile, error) {
	f := &ngFile{}
	first := true
	for len(b) > 0 {
		if len(b) < 12 {
			return nil, errors.New("block header cut")
		}
		typ := binary.LittleEndian.Uint32(b)
		n := int(binary.LittleEndian.Uint32(b[4:]))
		if n < 12 || n%4 != 0 || n > len(b) {
			return nil, fmt.Errorf("bad block length %d", n)
		}
		if binary.LittleEndian.Uint32(b[n-4:]) != uint32(n) {
			return nil, errors.New("trailing block length differs")
		}
		body := b[8 : n-4]
		b = b[n:]
		if first != (typ == 0x0A0D0D0A) {
			return nil, errors.New("want exactly one section header, first")
		}
		first = false
		switch typ {
		case 0x0A0D0D0A:
			if len(body) < 16 || binary.LittleEndian.Uint32(body) != 0x1A2B3C4D || binary.LittleEndian.Uint16(body[4:]) != 1 {
				return nil, errors.New("bad section header")
			}
			o, err := parseOpts(body[16:])
			if err != nil {
				return nil, fmt.Errorf("shb: %w", err)
			}
			f.comment, f.appl = string(o[1]), string(o[4])
		case 1:
			if len(body) < 8 {
				return nil, errors.New("short idb")
			}
			o, err := parseOpts(body[8:])
			if err != nil {
				return nil, fmt.Errorf("idb: %w", err)
			}
			ifc := ngIface{link: binary.LittleEndian.Uint16(body), name: string(o[2]), desc: string(o[3]), comment: string(o[1])}
			if r := o[9]; len(r) == 1 {
				ifc.tsresol = r[0]
			}
			f.ifaces = append(f.ifaces, ifc)
		case 6:
			if len(body) < 20 {
				return nil, errors.New("short epb")
			}
			p := ngPacket{iface: int(binary.LittleEndian.Uint32(body))}
			if p.iface >= len(f.ifaces) {
				return nil, fmt.Errorf("packet on undeclared interface %d", p.iface)
			}
			p.ts = uint64(binary.LittleEndian.Uint32(body[4:]))<<32 | uint64(binary.LittleEndian.Uint32(body[8:]))
			caplen := int(binary.LittleEndian.Uint32(body[12:]))
			if binary.LittleEndian.Uint32(body[16:]) != uint32(caplen) {
				return nil, errors.New("caplen != origlen")
			}
			pad := (caplen + 3) &^ 3
			if 20+pad > len(body) {
				return nil, errors.New("packet data cut")
			}
			p.data = body[20 : 20+caplen]
			o, err := parseOpts(body[20+pad:])
			if err != nil {
				return nil, fmt.Errorf("epb: %w", err)
			}
			p.comment = string(o[1])
			if v := o[2]; len(v) == 4 {
				p.flags = binary.LittleEndian.Uint32(v)
			}
			f.pkts = append(f.pkts, p)
		default:
			return nil, fmt.Errorf("unexpected block type %#x", typ)
		}
	}
	if first {
		return nil, errors.New("empty file")
	}
	return f, nil
}

// parsePcap reads a classic nanosecond pcap: link type and packets.
func parsePcap(b []byte) (uint16, []ngPacket, error) {
	if len(b) < 24 || binary.LittleEndian.Uint32(b) != 0xA1B23C4D {
		return 0, nil, errors.New("not a nanosecond pcap")
	}
	link := uint16(binary.LittleEndian.Uint32(b[20:]))
	b = b[24:]
	var out []ngPacket
	for len(b) > 0 {
		if len(b) < 16 {
			return 0, nil, errors.New("record header cut")
		}
		n := int(binary.LittleEndian.Uint32(b[8:]))
		if n > len(b)-16 {
			return 0, nil, errors.New("record cut")
		}
		ts := uint64(binary.LittleEndian.Uint32(b))*1e9 + uint64(binary.LittleEndian.Uint32(b[4:]))
		out = append(out, ngPacket{ts: ts, data: b[16 : 16+n]})
		b = b[16+n:]
	}
	return link, out, nil
}

// pdu splits an exported PDU into its tags and payload.
type pdu struct {
	dissector, proto string
	dir              int // -1 none, 0 sent, 1 received
	payload          []byte
}

func parsePDU(b []byte) (pdu, error) {
	p := pdu{dir: -1}
	for {
		if len(b) < 4 {
			return p, errors.New("exported pdu tag cut")
		}
		tag := binary.BigEndian.Uint16(b)
		n := int(binary.BigEndian.Uint16(b[2:]))
		b = b[4:]
		if tag == 0 {
			p.payload = b
			return p, nil
		}
		if n > len(b) || n%4 != 0 {
			return p, fmt.Errorf("tag %d length %d", tag, n)
		}
		v := b[:n]
		switch tag {
		case 12:
			p.dissector = strings.TrimRight(string(v), "\x00")
		case 33:
			p.proto = strings.TrimRight(string(v), "\x00")
		case 35:
			p.dir = int(binary.BigEndian.Uint32(v))
		}
		b = b[n:]
	}
}

// tcpSeg is a decoded synthetic TCP segment.
type tcpSeg struct {
	src, dst   string
	sport      uint16
	dport      uint16
	seq, ack   uint32
	flags      string
	payload    []byte
	fromClient bool
}

func parseTCP(b []byte) (tcpSeg, error) {
	pk := gopacket.NewPacket(b, layers.LayerTypeEthernet, gopacket.Default)
	if e := pk.ErrorLayer(); e != nil {
		return tcpSeg{}, e.Error()
	}
	ip, _ := pk.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
	tcp, _ := pk.Layer(layers.LayerTypeTCP).(*layers.TCP)
	if ip == nil || tcp == nil {
		return tcpSeg{}, errors.New("not IPv4/TCP")
	}
	s := tcpSeg{src: ip.SrcIP.String(), dst: ip.DstIP.String(), sport: uint16(tcp.SrcPort), dport: uint16(tcp.DstPort), seq: tcp.Seq, ack: tcp.Ack, payload: tcp.Payload}
	for _, f := range []struct {
		on bool
		n  string
	}{{tcp.SYN, "S"}, {tcp.ACK, "A"}, {tcp.PSH, "P"}, {tcp.FIN, "F"}, {tcp.RST, "R"}} {
		if f.on {
			s.flags += f.n
		}
	}
	s.fromClient = s.sport >= 49152
	return s, nil
}

// wsFrame is a frame found by reassembling a flow.
type wsFrame struct {
	fromClient bool
	h          ws.Header
	payload    []byte
}

// wsFlows reassembles the TCP flows of Ethernet packets (keyed by client
// port), checks sequence numbers, and parses the HTTP handshake and the
// WebSocket frames of each.
func wsFlows(pkts [][]byte) (map[uint16][]wsFrame, map[uint16][2]string, error) {
	type side struct {
		next    uint32
		started bool
		buf     []byte
	}
	type flow struct{ s [2]side }
	flows := map[uint16]*flow{}
	for i, b := range pkts {
		s, err := parseTCP(b)
		if err != nil {
			return nil, nil, fmt.Errorf("packet %d: %w", i, err)
		}
		port := s.sport
		k := 0
		if !s.fromClient {
			port, k = s.dport, 1
		}
		fl := flows[port]
		if fl == nil {
			fl = &flow{}
			flows[port] = fl
		}
		sd := &fl.s[k]
		if !sd.started {
			if !strings.Contains(s.flags, "S") {
				return nil, nil, fmt.Errorf("packet %d: flow %d side %d starts without SYN", i, port, k)
			}
			sd.started, sd.next = true, s.seq
		}
		if s.seq != sd.next {
			return nil, nil, fmt.Errorf("packet %d: flow %d side %d seq %d, want %d", i, port, k, s.seq, sd.next)
		}
		sd.next += uint32(len(s.payload))
		if strings.ContainsAny(s.flags, "SF") {
			sd.next++
		}
		sd.buf = append(sd.buf, s.payload...)
	}
	frames := map[uint16][]wsFrame{}
	hs := map[uint16][2]string{}
	ports := make([]int, 0, len(flows))
	for p := range flows {
		ports = append(ports, int(p))
	}
	sort.Ints(ports)
	for _, p := range ports {
		fl := flows[uint16(p)]
		var h [2]string
		var fr [2][]wsFrame
		for k := 0; k < 2; k++ {
			buf := fl.s[k].buf
			end := strings.Index(string(buf), "\r\n\r\n")
			if end < 0 {
				if len(buf) > 0 {
					return nil, nil, fmt.Errorf("flow %d side %d: bytes without an HTTP head", p, k)
				}
				continue
			}
			h[k] = string(buf[:end+4])
			buf = buf[end+4:]
			for len(buf) > 0 {
				wh, n, err := ws.ParseHeader(buf)
				if err != nil {
					return nil, nil, fmt.Errorf("flow %d side %d: %w", p, k, err)
				}
				if uint64(len(buf)-n) < wh.Length {
					return nil, nil, fmt.Errorf("flow %d side %d: frame of %d bytes cut at %d", p, k, wh.Length, len(buf)-n)
				}
				pl := append([]byte(nil), buf[n:n+int(wh.Length)]...)
				if wh.Masked {
					ws.Mask(wh.MaskKey, 0, pl)
				}
				fr[k] = append(fr[k], wsFrame{fromClient: k == 0, h: wh, payload: pl})
				buf = buf[n+int(wh.Length):]
			}
		}
		hs[uint16(p)] = h
		frames[uint16(p)] = append(fr[0], fr[1]...)
	}
	return frames, hs, nil
}

// describe renders a packet on one line for the golden files.
func (f *ngFile) describe(p ngPacket, base uint64) string {
	ifc := f.ifaces[p.iface]
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %s", strconv.FormatFloat(float64(p.ts-base)/1e9, 'f', 6, 64), ifc.name, flagDir(p.flags))
	switch ifc.link {
	case 250:
		fmt.Fprintf(&b, " rtac ev=%d ctl=%#02x %q", p.data[8], p.data[9], p.data[12:])
	case 252:
		d, err := parsePDU(p.data)
		if err != nil {
			fmt.Fprintf(&b, " BAD %v", err)
			break
		}
		fmt.Fprintf(&b, " %s", d.dissector)
		if d.proto != "" {
			fmt.Fprintf(&b, " [%s]", d.proto)
		}
		fmt.Fprintf(&b, " p2p=%d %q", d.dir, d.payload)
	case 1:
		s, err := parseTCP(p.data)
		if err != nil {
			fmt.Fprintf(&b, " BAD %v", err)
			break
		}
		pl := string(s.payload)
		if len(pl) > 80 {
			pl = pl[:80] + "..."
		}
		fmt.Fprintf(&b, " %s:%d>%s:%d %s seq=%d ack=%d %q", s.src, s.sport, s.dst, s.dport, s.flags, s.seq, s.ack, pl)
	}
	if p.comment != "" {
		fmt.Fprintf(&b, " # %s", p.comment)
	}
	return b.String()
}

func flagDir(f uint32) string {
	switch f & 3 {
	case 1:
		return "in"
	case 2:
		return "out"
	}
	return "-"
}
