package analysis

import (
	"testing"
	"time"

	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/formats"
)

func TestCharTime(t *testing.T) {
	for _, tc := range []struct {
		line capture.LineSettings
		want float64 // ns
	}{
		{capture.LineSettings{Baud: 115200, DataBits: 8, Parity: capture.ParityNone, StopBits: capture.Stop1}, 10e9 / 115200},
		{capture.LineSettings{Baud: 115200}, 10e9 / 115200}, // zero fields are 8N1
		{capture.LineSettings{Baud: 9600, DataBits: 8, Parity: capture.ParityEven, StopBits: capture.Stop2}, 12e9 / 9600},
		{capture.LineSettings{Baud: 9600, DataBits: 7, Parity: capture.ParityOdd, StopBits: capture.Stop1_5}, 10.5e9 / 9600},
		{capture.LineSettings{Baud: 300, DataBits: 5, Parity: capture.ParityNone, StopBits: capture.Stop1}, 7e9 / 300},
		{capture.LineSettings{}, 0}, // unknown
	} {
		if got := charTime(tc.line); got != tc.want {
			t.Errorf("%s: %v ns, want %v", tc.line, got, tc.want)
		}
	}
}

// latencySession feeds a small session to a collector: AT with an answer
// that a log-UART chunk must not end early, a line change to 9600 8E2, and
// AT+WSSEND=0,2 "hi" echoed back, with frames when frames is set.
func latencySession(device string, frames bool, frameLink uint8, split bool) *LatencyStats {
	l := capture.LineSettings{Baud: 115200, DataBits: 8, Parity: capture.ParityNone, StopBits: capture.Stop1}
	h := capture.Header{Ports: []capture.PortInfo{
		{Name: "host app", Role: "host", Line: l}, {Name: device, Role: "device", Line: l}, {Name: "log", Role: "log"},
	}}
	if device == "atbridge emulate" { // the emulator's own recording, stamped at its end
		h.Meta = map[string]string{"command": "emulate"}
	}
	c := NewLatencyCollector("x.atcap", h)
	ms := func(v float64) int64 { return int64(v * 1e6) }
	chunk := func(t float64, port uint8, d formats.Dir, s string) {
		c.Add(&capture.Record{Kind: capture.KindChunk, Time: ms(t), Port: port, Dir: d, Data: []byte(s)})
	}
	frame := func(t float64, d formats.Dir) {
		if frames {
			c.Add(&capture.Record{Kind: capture.KindFrame, Time: ms(t), Dir: d, Data: []byte("hi"), Frame: capture.Frame{Link: frameLink, Opcode: 1, Fin: true, Length: 2}})
		}
	}
	chunk(0, 1, formats.ToHost, "\r\nready\r\n")
	chunk(1, 0, formats.ToDevice, "AT\r\n")
	chunk(2, capture.PortLog, formats.ToHost, "\r\nOK\r\n") // the log UART: not an answer
	chunk(3, 1, formats.ToHost, "AT\r\n\r\nOK\r\n")
	c.Add(&capture.Record{Kind: capture.KindEvent, Time: ms(5), Port: 1, Event: capture.Event{Type: capture.EvLineSettings,
		Line: capture.LineSettings{Baud: 9600, DataBits: 8, Parity: capture.ParityEven, StopBits: capture.Stop2}}})
	chunk(10, 0, formats.ToDevice, "AT+WSSEND=0,2\r\n")
	chunk(30, 1, formats.ToHost, "AT+WSSEND=0,2\r\n\r\nOK\r\n\r\n>")
	if split { // the payload in two reads: two payload events
		chunk(38, 0, formats.ToDevice, "h")
		chunk(40, 0, formats.ToDevice, "i")
	} else {
		chunk(40, 0, formats.ToDevice, "hi")
	}
	frame(45, formats.ToServer)
	chunk(50, 1, formats.ToHost, "\r\nSEND OK\r\n")
	frame(70, formats.ToClient)
	chunk(100, 1, formats.ToHost, "+WS_DATA:0,2,hi\r\n")
	return c.Finish()
}

func segP50(t *testing.T, s *SplitStats, name string) time.Duration {
	t.Helper()
	g := s.Segment(name)
	if g == nil {
		t.Fatalf("%s: no %q segment in %+v", s.Name, name, s.Segments)
	}
	return time.Duration(g.P50NS)
}

func TestLatencySplit(t *testing.T) {
	c8n1, c8e2 := 1e9/11520.0, 12e9/9600.0 // ns per character
	ns := func(chars int, ct float64) time.Duration { return time.Duration(float64(chars)*ct + 0.5) }
	for _, tc := range []struct {
		name      string
		device    string
		frames    bool
		frameLink uint8 // the emulator's frames carry the AT link; --ws-tap's its own connection number
		split     bool  // the payload in two pieces
	}{
		{"wire, frames", "ESP32", true, 0, false},
		{"wire, --ws-tap frames on connection 4", "ESP32", true, 4, false},
		{"wire, payload in two pieces", "ESP32", true, 4, true},
		{"wire, no frames", "ESP32", false, 0, false},
		{"emulator, frames", "emulate", true, 0, false},
		{"emulate's own capture", "atbridge emulate", false, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := latencySession(tc.device, tc.frames, tc.frameLink, tc.split)
			if st.Line != "115200 8N1" || st.Wire != (tc.device == "ESP32") {
				t.Errorf("line %q wire %v", st.Line, st.Wire)
			}
			if len(st.Commands) != 2 || st.Commands[0].Name != "+WSSEND" || st.Commands[1].Name != "AT" {
				t.Fatalf("commands %+v", st.Commands)
			}
			at := st.Commands[1]
			wire := time.Duration(0)
			if st.Wire {
				wire = 1
			}
			// AT: 4 bytes out, "\r\nOK\r\n" back (the echo excluded), 2 ms measured.
			want := map[string]time.Duration{
				SegToDevice: ns(4, c8n1), SegToHost: ns(6, c8n1),
				SegDevice: 2*time.Millisecond - wire*(ns(4, c8n1)+ns(6, c8n1)),
			}
			for seg, w := range want {
				if got := segP50(t, at, seg); got != w {
					t.Errorf("AT %s = %v, want %v", seg, got, w)
				}
			}
			// The exchange, at 9600 8E2: "hi" out, 17 bytes of +WS_DATA back,
			// 60 ms from the payload to the +WS_DATA.
			if len(st.Exchanges) != 1 {
				t.Fatalf("exchanges %+v", st.Exchanges)
			}
			ex := st.Exchanges[0]
			device := 60*time.Millisecond - wire*(ns(2, c8e2)+ns(17, c8e2))
			want = map[string]time.Duration{SegToDevice: ns(2, c8e2), SegToHost: ns(17, c8e2)}
			if tc.frames {
				want[SegNetwork] = 25 * time.Millisecond
				want[SegProcessing] = device - 25*time.Millisecond
			} else {
				want[SegDevice] = device
			}
			for seg, w := range want {
				if got := segP50(t, ex, seg); got != w {
					t.Errorf("exchange %s = %v, want %v", seg, got, w)
				}
			}
			if rt := segP50(t, ex, SegRoundTrip); rt != ns(2, c8e2)+device+ns(17, c8e2) {
				t.Errorf("exchange round trip %v", rt)
			}
			if (ex.WithFrames == 1) != tc.frames {
				t.Errorf("with frames %d", ex.WithFrames)
			}
			// AT+WSSEND: 15 + 2 bytes out; the host's 10 ms after ">" is its own.
			send := st.Commands[0]
			if got := segP50(t, send, SegToDevice); got != ns(17, c8e2) {
				t.Errorf("AT+WSSEND host→ESP32 %v", got)
			}
			wait := 10 * time.Millisecond
			if tc.split {
				wait = 8 * time.Millisecond // to the first piece
			}
			if got := segP50(t, send, SegHostWait); got != wait {
				t.Errorf("AT+WSSEND host wait %v", got)
			}
		})
	}
}

// FuzzLatencyCollector feeds records made from arbitrary bytes: the split
// never panics and no segment is negative.
func FuzzLatencyCollector(f *testing.F) {
	f.Add([]byte("\x01\x00AT+WSSEND=0,2\r\n\x01\x01\r\nOK\r\n\r\n>\x01\x00hi\x02\x02\x02\x03\x01\x01+WS_DATA:0,2,hi\r\n"))
	f.Add([]byte("\x03\x05\x01\x00AT\r\n\x01\x02\r\nOK\r\n\x01\x01AT\r\n\r\nOK\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c := NewLatencyCollector("f", capture.Header{Ports: []capture.PortInfo{{Role: "host"}, {Role: "device", Line: capture.LineSettings{Baud: 115200}}}})
		var tm int64
		for len(b) >= 2 {
			kind, arg := b[0], b[1]
			b = b[2:]
			n := 0
			for n < len(b) && b[n] >= ' ' || n < len(b) && (b[n] == '\r' || b[n] == '\n') {
				n++
			}
			data := b[:n]
			b = b[n:]
			tm += int64(arg) * 1000
			switch kind % 4 {
			case 1:
				c.Add(&capture.Record{Kind: capture.KindChunk, Time: tm, Port: arg % 3, Dir: formats.Dir(1 + arg%2), Data: data})
			case 2:
				c.Add(&capture.Record{Kind: capture.KindFrame, Time: tm, Dir: formats.Dir(3 + arg%2), Frame: capture.Frame{Link: arg % 4, Opcode: arg % 10}})
			case 3:
				c.Add(&capture.Record{Kind: capture.KindEvent, Time: tm, Port: arg % 3, Event: capture.Event{Type: capture.EventType(arg % 18), Line: capture.LineSettings{Baud: int(arg) * 100, DataBits: arg % 9, StopBits: capture.StopBits(arg % 5)}}})
			default:
				c.Damaged()
			}
		}
		st := c.Finish()
		for _, s := range append(st.Commands, st.Exchanges...) {
			for _, g := range s.Segments {
				if g.P50NS < 0 || g.MaxNS < g.P99NS || g.P99NS < g.P50NS {
					t.Fatalf("%s %s: %+v", s.Name, g.Name, g.Dist)
				}
			}
		}
	})
}
