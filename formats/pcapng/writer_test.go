package pcapng_test

import (
	"bytes"
	"encoding/binary"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/atbridge/atbridge/formats"
	"github.com/atbridge/atbridge/formats/at"
	"github.com/atbridge/atbridge/formats/pcapng"
	"github.com/atbridge/atbridge/formats/ws"
	"github.com/atbridge/atbridge/internal/session"
)

// pcapStart is the wall clock of time 0 in the exporter tests.
var pcapStart = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// updating reports whether -update was given (the flag is declared by the
// decoder's golden tests in this package).
func updating() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

func loadSession(t testing.TB, name string) *session.Session {
	t.Helper()
	s, err := session.ParseFile(filepath.Join("..", "..", "testdata", "sessions", name+".session"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func sessionDecoderOptions(s *session.Session) *at.DecoderOptions {
	d := &at.DecoderOptions{EchoOff: s.Meta["echo"] == "off"}
	if s.Meta["firmware"] == "release" {
		d.Firmware = at.FirmwareRelease
	}
	return d
}

// exportSession exports a scripted session from testdata/sessions.
func exportSession(t testing.TB, s *session.Session, opts *pcapng.Options) []byte {
	t.Helper()
	var o pcapng.Options
	if opts != nil {
		o = *opts
	}
	if o.Start.IsZero() {
		o.Start = pcapStart
	}
	if o.Decoder == nil {
		o.Decoder = sessionDecoderOptions(s)
	}
	var buf bytes.Buffer
	x, err := pcapng.NewWriter(&buf, &o)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range s.Steps {
		if err := x.Chunk(st.Time, 0, st.Dir, st.Data); err != nil {
			t.Fatal(err)
		}
	}
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	if err := x.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	return buf.Bytes()
}

// decodeSession runs the decoder alone, for the expected AT units and messages.
func decodeSession(s *session.Session) []at.Event {
	d := at.NewDecoder(sessionDecoderOptions(s))
	var evs []at.Event
	for _, st := range s.Steps {
		evs = append(evs, d.Feed(st.Time, st.Dir, st.Data)...)
	}
	return append(evs, d.Flush()...)
}

func sessionNames(t testing.TB) []string {
	m, err := filepath.Glob(filepath.Join("..", "..", "testdata", "sessions", "*.session"))
	if err != nil || len(m) == 0 {
		t.Fatalf("no sessions: %v", err)
	}
	var out []string
	for _, p := range m {
		out = append(out, strings.TrimSuffix(filepath.Base(p), ".session"))
	}
	return out
}

// TestPcapngSessions exports every scripted session and checks each view
// against the input: raw packets are the chunks with their times, every
// command line is one "at" PDU sent, and the WebSocket flows reassemble
// into exactly the messages the decoder saw. The packet listing is kept as
// a golden file under testdata/export/.
func TestPcapngSessions(t *testing.T) {
	base := uint64(pcapStart.UnixNano())
	for _, name := range sessionNames(t) {
		t.Run(name, func(t *testing.T) {
			s := loadSession(t, name)
			out := exportSession(t, s, nil)
			f, err := parsePcapng(out)
			if err != nil {
				t.Fatalf("export does not parse: %v", err)
			}
			var names []string
			for _, ifc := range f.ifaces {
				names = append(names, ifc.name)
				if ifc.tsresol != 9 {
					t.Errorf("%s: if_tsresol %d, want 9", ifc.name, ifc.tsresol)
				}
			}
			if got := strings.Join(names, " "); !strings.HasPrefix(got, "uart-raw-to_device uart-raw-to_host uart-at atbridge-events ws-link0 ws-link1 ws-link2") {
				t.Errorf("interfaces %q", got)
			}

			// Packets are in time order (the reorder window puts late
			// decoded units in place).
			for i := 1; i < len(f.pkts); i++ {
				if f.pkts[i].ts < f.pkts[i-1].ts {
					t.Errorf("packet %d at %d is before packet %d at %d", i, f.pkts[i].ts-base, i-1, f.pkts[i-1].ts-base)
				}
			}

			// Raw view: one packet per chunk, same bytes, same time.
			var raw []ngPacket
			for _, p := range f.pkts {
				if strings.HasPrefix(f.ifaceName(p), "uart-raw-") {
					raw = append(raw, p)
				}
			}
			if len(raw) != len(s.Steps) {
				t.Fatalf("%d raw packets for %d chunks", len(raw), len(s.Steps))
			}
			for i, st := range s.Steps {
				p := raw[i]
				if want := base + uint64(st.Time); p.ts != want {
					t.Errorf("raw %d: ts %d, want %d", i, p.ts, want)
				}
				if f.ifaceName(p) != "uart-raw-"+st.Dir.String() {
					t.Errorf("raw %d on %s, want dir %s", i, f.ifaceName(p), st.Dir)
				}
				if !bytes.Equal(p.data[12:], st.Data) {
					t.Errorf("raw %d: %q, want %q", i, p.data[12:], st.Data)
				}
				sec, usec := binary.BigEndian.Uint32(p.data), binary.BigEndian.Uint32(p.data[4:])
				if want := base + uint64(st.Time); uint64(sec)*1e9+uint64(usec)*1e3 != want/1e3*1e3 {
					t.Errorf("raw %d: rtac time %d.%06d", i, sec, usec)
				}
				if ev := map[formats.Dir]byte{formats.ToDevice: 1, formats.ToHost: 2}[st.Dir]; p.data[8] != ev {
					t.Errorf("raw %d: rtac event %d, want %d", i, p.data[8], ev)
				}
			}

			// AT view: each command line once, sent; nothing received goes
			// to "at" starting with "AT"; binary never goes to "at".
			evs := decodeSession(s)
			var cmds [][]byte
			for _, ev := range evs {
				if ev.Kind == at.EvCommand {
					cmds = append(cmds, ev.Raw)
				}
			}
			var sent [][]byte
			for _, p := range f.on("uart-at") {
				d, err := parsePDU(p.data)
				if err != nil {
					t.Fatal(err)
				}
				if d.dissector == "at" {
					switch d.dir {
					case 0:
						sent = append(sent, d.payload)
						if p.flags != 2 {
							t.Errorf("command %q: epb flags %d, want outbound", d.payload, p.flags)
						}
					case 1:
						if bytes.HasPrefix(bytes.TrimLeft(d.payload, "\r\n"), []byte("AT")) {
							t.Errorf("received PDU for the at dissector looks like a command: %q", d.payload)
						}
					}
					for _, c := range d.payload {
						if c < 0x20 && c != '\r' && c != '\n' || c >= 0x7f {
							t.Errorf("binary byte %#x handed to the at dissector: %q", c, d.payload)
							break
						}
					}
				}
			}
			if len(sent) != len(cmds) {
				t.Errorf("%d commands sent to at, want %d", len(sent), len(cmds))
			} else {
				for i := range cmds {
					if !bytes.Equal(sent[i], cmds[i]) {
						t.Errorf("command %d: %q, want %q", i, sent[i], cmds[i])
					}
				}
			}

			// WebSocket view: the flows carry the decoder's messages.
			checkWSMessages(t, f, evs)

			checkGolden(t, filepath.Join("..", "..", "testdata", "export", name+".txt"), f, base)
		})
	}
}

// checkWSMessages reassembles the ws-link flows and compares their data
// frames, in order per direction, with the decoder's WSMessages (sent ones
// only for AT+WSSEND).
func checkWSMessages(t *testing.T, f *ngFile, evs []at.Event) {
	t.Helper()
	var want [2][]string
	for _, ev := range evs {
		if ev.Kind != at.EvWSMessage || ev.Msg == nil {
			continue
		}
		if ev.Msg.Dir == formats.ToServer {
			if ev.Msg.Result == "SEND OK" {
				want[0] = append(want[0], string(ev.Data))
			}
			continue
		}
		want[1] = append(want[1], string(ev.Data))
	}
	var pk [][]byte
	for _, p := range f.pkts {
		if strings.HasPrefix(f.ifaceName(p), "ws-link") {
			pk = append(pk, p.data)
		}
	}
	frames, hs, err := wsFlows(pk)
	if err != nil {
		t.Fatalf("ws flows: %v", err)
	}
	var got [2][]string
	for port, fr := range frames {
		if h := hs[port]; !strings.HasPrefix(h[0], "GET ") || !strings.Contains(h[0], "Upgrade: websocket\r\n") || (len(fr) > 0 && !strings.HasPrefix(h[1], "HTTP/1.1 101 ")) {
			t.Errorf("flow %d: handshake %q / %q", port, h[0], h[1])
		}
		for _, x := range fr {
			k := 1
			if x.fromClient {
				k = 0
				if !x.h.Masked {
					t.Errorf("client frame not masked")
				}
			}
			if x.h.Opcode == ws.OpClose && k == 1 {
				continue // reconstructed from +WS_CLOSED: no message of its own
			}
			got[k] = append(got[k], string(x.payload))
		}
	}
	for k := 0; k < 2; k++ {
		// Pieces of one frame (AT+WSDATAFMT) come out joined: compare the
		// concatenations, and the counts where no frame was split.
		if strings.Join(got[k], "") != strings.Join(want[k], "") {
			t.Errorf("direction %d: frames %q, want %q", k, got[k], want[k])
		}
	}
}

func checkGolden(t *testing.T, path string, f *ngFile, base uint64) {
	t.Helper()
	var b strings.Builder
	for _, p := range f.pkts {
		b.WriteString(f.describe(p, base))
		b.WriteByte('\n')
	}
	if updating() {
		os.MkdirAll(filepath.Dir(path), 0o755)
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./formats -run Pcapng -update)", err)
	}
	if string(want) != b.String() {
		t.Errorf("%s differs (go test ./formats -run Pcapng -update rewrites it):\n%s", path, firstDiff(string(want), b.String()))
	}
}

func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(al) || i < len(bl); i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			return "line " + itoa(i+1) + ":\n- " + x + "\n+ " + y
		}
	}
	return ""
}

func itoa(i int) string {
	return strings.TrimSpace(strings.Repeat(" ", 0) + func() string { return fmtInt(i) }())
}

func fmtInt(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for i > 0 {
		b = append([]byte{byte('0' + i%10)}, b...)
		i /= 10
	}
	return string(b)
}
