package pcapng_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/atbridge/atbridge/formats"
	"github.com/atbridge/atbridge/formats/pcapng"
	"github.com/atbridge/atbridge/formats/ws"
)

// fuzzOps feeds an exporter from fuzz bytes: each op is a kind byte, a
// length byte and that many data bytes. Kinds: 0/1 a chunk to the device
// or host, 2/3 a recorded frame to the server or client (link and opcode
// from the data), 5 log UART bytes on port 2, 4, 6, 7 an event. Times advance by the kind byte's high bits.
func fuzzOps(x *pcapng.Writer, in []byte) error {
	var t int64
	for len(in) >= 2 {
		k, n := in[0], int(in[1])
		in = in[2:]
		if n > len(in) {
			n = len(in)
		}
		d := in[:n]
		in = in[n:]
		t += int64(k>>3) * 1e6
		var err error
		switch k & 7 {
		case 0:
			err = x.Chunk(t, 0, formats.ToDevice, d)
		case 1:
			err = x.Chunk(t, 1, formats.ToHost, d)
		case 2, 3:
			dir := formats.ToServer
			if k&7 == 3 {
				dir = formats.ToClient
			}
			h := ws.Header{Fin: true, Opcode: 1}
			link := 0
			if len(d) > 0 {
				h.Opcode, link = d[0]&15, int(d[0]>>4)
				h.Fin = d[0]&0x40 != 0
				h.Masked = dir == formats.ToServer
				d = d[1:]
			}
			h.Length = uint64(len(d))
			if len(d) > 0 && d[0]&1 != 0 {
				h.Length += 100 // a cut frame
			}
			err = x.Frame(t, link, dir, h, d)
		case 5:
			err = x.Log(t, 2, d)
		default:
			ev := pcapng.Event{Name: "fuzz", Text: string(d), Link: -1}
			if len(d) > 0 {
				ev.Kind = pcapng.EventKind(d[0] % 7)
				ev.Port = d[0] % 3
				ev.Link = int(d[0] >> 5)
				ev.Control = d[0]
				ev.Count = int64(len(d))
				ev.Dir = formats.Dir(d[0] % 5)
				ev.Text = string(d[1:])
			}
			err = x.Event(t, ev)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// FuzzPcapngExport: whatever the input, the exporter never fails on a
// working writer, its output is well-formed pcapng, and every synthetic
// TCP flow is consistent: sequence numbers follow, and the bytes parse as
// an HTTP upgrade followed by whole WebSocket frames.
func FuzzPcapngExport(f *testing.F) {
	for _, name := range []string{"seed-tcp", "ws-data", "server-close", "wsdatafmt", "reconnect", "tcp-ipd"} {
		s := loadSession(f, name)
		var ops []byte
		for _, st := range s.Steps {
			k := byte(0)
			if st.Dir == formats.ToHost {
				k = 1
			}
			for d := st.Data; len(d) > 0; {
				n := min(len(d), 255)
				ops = append(ops, k|8, byte(n))
				ops = append(ops, d[:n]...)
				d = d[n:]
			}
		}
		f.Add(ops, uint8(0))
	}
	f.Add([]byte("\x04\x05\x21ws://\x03\x05\x41test\x02\x04\x01abc\x03\x03\x48\x03\xe8\x04\x02\x40x"), uint8(0))
	f.Add([]byte("\x05\x11I (12) wifi: conn\x0d\x0aected\r\nrst:0xc (SW_CPU_RESET),boot:0x13 (x)\r\n\x04\x03\x06\x02a"), uint8(1))
	f.Add([]byte("\x00\x20AT+WSOPEN=0,\"ws://a:1/\"\r\n\x09\x19+WS_CONNECTED:0\r\n\r\nOK\r\n\x0a\x03\x41hi"), uint8(2))
	f.Fuzz(func(t *testing.T, in []byte, mode uint8) {
		var buf bytes.Buffer
		o := &pcapng.Options{Start: pcapStart, Frames: pcapng.FrameSource(mode % 3)}
		if mode&4 != 0 {
			o.Since, o.Until = 2e6, 40e6
		}
		x, err := pcapng.NewWriter(&buf, o)
		if err != nil {
			t.Fatal(err)
		}
		if err := fuzzOps(x, in); err != nil {
			t.Fatal(err)
		}
		if err := x.Close(); err != nil {
			t.Fatal(err)
		}
		f, err := parsePcapng(buf.Bytes())
		if err != nil {
			t.Fatalf("output does not parse: %v", err)
		}
		var pk, netPk [][]byte
		for _, p := range f.pkts {
			switch f.ifaces[p.iface].link {
			case 1:
				switch name := f.ifaceName(p); {
				case strings.HasPrefix(name, "ws-link"):
					pk = append(pk, p.data)
				case strings.HasPrefix(name, "net-link"), strings.HasPrefix(name, "mqtt-link"):
					netPk = append(netPk, p.data)
				default:
					t.Fatalf("ethernet packet on %s", name)
				}
			case 252:
				if _, err := parsePDU(p.data); err != nil {
					t.Fatal(err)
				}
			case 250:
				if len(p.data) < 12 {
					t.Fatalf("rtac packet of %d bytes", len(p.data))
				}
			}
		}
		if _, _, err := wsFlows(pk); err != nil {
			t.Fatalf("ws flows: %v", err)
		}
		if _, err := netStreams(netPk); err != nil {
			t.Fatalf("link flows: %v", err)
		}
	})
}
