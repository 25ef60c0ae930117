package pcapng_test

import (
	"bytes"
	"encoding/binary"
	"errors"
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

// TestPcapngHeader checks the first blocks byte for byte.
func TestPcapngHeader(t *testing.T) {
	var buf bytes.Buffer
	x, err := pcapng.NewWriter(&buf, &pcapng.Options{Views: pcapng.ViewRaw, Application: "t"})
	if err != nil {
		t.Fatal(err)
	}
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	shbLen := int(binary.LittleEndian.Uint32(b[4:]))
	wantHead := []byte{0x0A, 0x0D, 0x0D, 0x0A}
	if !bytes.Equal(b[:4], wantHead) || !bytes.Equal(b[8:24], []byte{0x4D, 0x3C, 0x2B, 0x1A, 1, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}) {
		t.Fatalf("section header % x", b[:24])
	}
	// shb_userappl "t", then opt_endofopt, then the length again.
	tail := b[shbLen-16 : shbLen]
	if !bytes.Equal(tail, []byte{4, 0, 1, 0, 't', 0, 0, 0, 0, 0, 0, 0, byte(shbLen), byte(shbLen >> 8), 0, 0}) {
		t.Errorf("section header tail % x", tail)
	}
	idb := b[shbLen:]
	// IDB: type 1, LINKTYPE_RTAC_SERIAL (250), reserved, snaplen 0.
	if !bytes.Equal(idb[:4], []byte{1, 0, 0, 0}) || !bytes.Equal(idb[8:16], []byte{250, 0, 0, 0, 0, 0, 0, 0}) {
		t.Errorf("interface block % x", idb[:16])
	}
	f, err := parsePcapng(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.ifaces) != 2 || len(f.pkts) != 0 || f.appl != "t" {
		t.Errorf("ifaces %v, %d packets, appl %q", f.ifaces, len(f.pkts), f.appl)
	}
}

// TestPcapngClassic writes each view alone as classic pcap and compares
// it with that view's packets in the pcapng export.
func TestPcapngClassic(t *testing.T) {
	s := loadSession(t, "ws-data")
	all, err := parsePcapng(exportSession(t, s, nil))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		view   pcapng.View
		link   uint16
		ifaces []string
	}{
		{pcapng.ViewRaw, 250, []string{"uart-raw-to_device", "uart-raw-to_host"}},
		{pcapng.ViewAT, 252, []string{"uart-at", "atbridge-events"}},
		{pcapng.ViewWS, 1, []string{"ws-link0", "ws-link1", "ws-link2"}},
	} {
		out := exportSession(t, s, &pcapng.Options{Classic: true, Views: tc.view})
		link, pkts, err := parsePcap(out)
		if err != nil {
			t.Fatal(err)
		}
		var want []ngPacket
		for _, p := range all.pkts {
			for _, n := range tc.ifaces {
				if all.ifaceName(p) == n {
					want = append(want, p)
				}
			}
		}
		if link != tc.link || len(pkts) != len(want) {
			t.Fatalf("view %d: link %d with %d packets, want %d with %d", tc.view, link, len(pkts), tc.link, len(want))
		}
		for i := range pkts {
			if pkts[i].ts != want[i].ts || !bytes.Equal(pkts[i].data, want[i].data) {
				t.Errorf("view %d packet %d differs from the pcapng one", tc.view, i)
			}
		}
	}
}

// TestPcapngOptions covers view selection, --link and the time window.
func TestPcapngOptions(t *testing.T) {
	for _, o := range []pcapng.Options{
		{Classic: true},
		{Classic: true, Views: pcapng.ViewAll},
		{Classic: true, Views: pcapng.ViewRaw | pcapng.ViewAT},
		{Views: pcapng.ViewRaw, Links: []int{0}},
	} {
		if _, err := pcapng.NewWriter(&bytes.Buffer{}, &o); !errors.Is(err, pcapng.ErrView) {
			t.Errorf("%+v: err %v, want ErrPcapView", o, err)
		}
	}

	s := loadSession(t, "server-close")
	base := uint64(pcapStart.UnixNano())

	// Link 1 has no traffic: only the AT units with no link are gone too.
	f, err := parsePcapng(exportSession(t, s, &pcapng.Options{Links: []int{1}}))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.pkts) != 0 {
		t.Errorf("--link 1: %d packets, want none", len(f.pkts))
	}
	f, err = parsePcapng(exportSession(t, s, &pcapng.Options{Links: []int{0}}))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range f.pkts {
		if strings.HasPrefix(f.ifaceName(p), "uart-raw") {
			t.Fatalf("--link keeps raw packets")
		}
	}
	if len(f.on("ws-link0")) == 0 || len(f.on("uart-at")) == 0 {
		t.Errorf("--link 0 lost link 0's packets")
	}

	// A window from 3.5 s to 4.02 s: the second connection's handshake
	// (at 3.0 and 3.1) comes along with its first frame in the window.
	f, err = parsePcapng(exportSession(t, s, &pcapng.Options{Since: 3_500_000_000, Until: 4_020_000_000}))
	if err != nil {
		t.Fatal(err)
	}
	link0 := f.on("ws-link0")
	if len(link0) == 0 {
		t.Fatal("no WebSocket packets in the window")
	}
	for _, p := range f.pkts {
		inWin := p.ts >= base+3_500_000_000 && p.ts <= base+4_020_000_000
		if !inWin && !strings.HasPrefix(f.ifaceName(p), "ws-link") {
			t.Errorf("packet at %d outside the window on %s", p.ts-base, f.ifaceName(p))
		}
	}
	var pk [][]byte
	for _, p := range link0 {
		pk = append(pk, p.data)
	}
	frames, _, err := wsFlows(pk)
	if err != nil {
		t.Fatalf("windowed flow: %v", err)
	}
	if len(frames) != 1 {
		t.Fatalf("%d flows in the window, want 1", len(frames))
	}
	for _, fr := range frames {
		if len(fr) != 1 || fr[0].h.Opcode != ws.OpClose || string(fr[0].payload) != "\x03\xe8" {
			t.Errorf("frames in the window: %+v", fr)
		}
	}
}

// TestPcapngRecordedFrames feeds network-side frames and link events along
// with the AT traffic: the flow then holds the recorded frames (masked as
// recorded, cut ones labelled), not the reconstructed ones.
func TestPcapngRecordedFrames(t *testing.T) {
	var buf bytes.Buffer
	x, err := pcapng.NewWriter(&buf, &pcapng.Options{Start: pcapStart})
	if err != nil {
		t.Fatal(err)
	}
	ms := int64(time.Millisecond)
	chunk := func(tm int64, d formats.Dir, s string) {
		if err := x.Chunk(tm*ms, 0, d, []byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	chunk(0, formats.ToDevice, "AT+WSOPEN=0,\"ws://example.com/echo\",\"chat\"\r\n")
	chunk(1, formats.ToHost, "AT+WSOPEN=0,\"ws://example.com/echo\",\"chat\"\r\n")
	if err := x.Event(90*ms, pcapng.Event{Kind: pcapng.EvWSConnected, Name: "ws_connected", Link: 0, Text: "ws://example.com/echo"}); err != nil {
		t.Fatal(err)
	}
	chunk(100, formats.ToHost, "+WS_CONNECTED:0\r\n\r\nOK\r\n")
	chunk(200, formats.ToDevice, "AT+WSSEND=0,4\r\n")
	chunk(201, formats.ToHost, "AT+WSSEND=0,4\r\n\r\nOK\r\n\r\n>")
	chunk(210, formats.ToDevice, "test")
	key := [4]byte{1, 2, 3, 4}
	if err := x.Frame(211*ms, 0, formats.ToServer, ws.Header{Fin: true, Opcode: 1, Masked: true, MaskKey: key, Length: 4}, []byte("test")); err != nil {
		t.Fatal(err)
	}
	chunk(212, formats.ToHost, "\r\nSEND OK\r\n")
	if err := x.Frame(230*ms, 0, formats.ToClient, ws.Header{Fin: true, Opcode: 2, Length: 1000}, []byte{0, 1, 2}); err != nil {
		t.Fatal(err)
	}
	chunk(231, formats.ToHost, "+WS_DATA:0,3,\x00\x01\x02\r\n")
	if err := x.Frame(300*ms, 0, formats.ToClient, ws.Header{Fin: true, Opcode: 8, Length: 2}, []byte{3, 232}); err != nil {
		t.Fatal(err)
	}
	if err := x.Event(301*ms, pcapng.Event{Kind: pcapng.EvWSClosed, Name: "ws_closed", Link: 0, Code: 1000}); err != nil {
		t.Fatal(err)
	}
	if err := x.Event(302*ms, pcapng.Event{Kind: pcapng.EvControlLines, Name: "control_lines", Control: 0x18, Text: "DTR|RTS"}); err != nil {
		t.Fatal(err)
	}
	if err := x.Event(303*ms, pcapng.Event{Kind: pcapng.EvBytesLost, Name: "bytes_lost", Dir: formats.ToHost, Count: 17}); err != nil {
		t.Fatal(err)
	}
	if err := x.Event(304*ms, pcapng.Event{Name: "marker", Text: "button pressed"}); err != nil {
		t.Fatal(err)
	}
	chunk(305, formats.ToHost, "x")
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	if err := x.Chunk(0, 0, formats.ToHost, []byte("x")); !errors.Is(err, pcapng.ErrClosed) {
		t.Errorf("Chunk after Close: %v", err)
	}
	f, err := parsePcapng(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	var pk [][]byte
	for _, p := range f.on("ws-link0") {
		pk = append(pk, p.data)
	}
	frames, hs, err := wsFlows(pk)
	if err != nil {
		t.Fatal(err)
	}
	if len(frames) != 1 {
		t.Fatalf("%d flows, want 1", len(frames))
	}
	for port, fr := range frames {
		h := hs[port]
		for _, want := range []string{"GET /echo HTTP/1.1\r\n", "Host: example.com:80\r\n", "Sec-WebSocket-Protocol: chat\r\n"} {
			if !strings.Contains(h[0], want) {
				t.Errorf("request lacks %q:\n%s", want, h[0])
			}
		}
		if !strings.Contains(h[1], "Sec-WebSocket-Accept: ") || !strings.Contains(h[1], "Sec-WebSocket-Protocol: chat\r\n") {
			t.Errorf("response %q", h[1])
		}
		if len(fr) != 3 || string(fr[0].payload) != "test" || fr[0].h.MaskKey != key || fr[1].h.Opcode != 2 || !bytes.Equal(fr[1].payload, []byte{0, 1, 2}) || fr[2].h.Opcode != 8 {
			t.Errorf("frames %+v", fr)
		}
	}
	var comments []string
	for _, p := range f.pkts {
		if p.comment != "" {
			comments = append(comments, p.comment)
		}
	}
	all := strings.Join(comments, "\n")
	for _, want := range []string{"frames as recorded", "payload cut by the recorder: 3 of 1000", "code 1000", "DTR|RTS", "17 bytes", "button pressed"} {
		if !strings.Contains(all, want) {
			t.Errorf("no comment with %q in:\n%s", want, all)
		}
	}
	if strings.Contains(all, "RECONSTRUCTED") {
		t.Errorf("recorded flow labelled as reconstructed:\n%s", all)
	}
	// Control lines and lost bytes on the raw view.
	var ctl, lost bool
	for _, p := range f.pkts {
		if f.ifaces[p.iface].link == 250 {
			switch p.data[8] {
			case 0:
				ctl = p.data[9] == 0x18
			case 5:
				lost = f.ifaceName(p) == "uart-raw-to_host"
			case 2:
				if bytes.Equal(p.data[12:], []byte("x")) && p.data[9] != 0x18 {
					t.Errorf("a later packet does not carry the control lines: %#x", p.data[9])
				}
			}
		}
	}
	if !ctl || !lost {
		t.Errorf("status change %v, data lost %v", ctl, lost)
	}
}

// failWriter fails after n bytes.
type failWriter struct{ n int }

func (w *failWriter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		return 0, errors.New("disk full")
	}
	w.n -= len(p)
	return len(p), nil
}

func TestPcapngWriteError(t *testing.T) {
	x, err := pcapng.NewWriter(&failWriter{n: 100}, nil)
	if err != nil {
		t.Fatal(err) // buffered: the header fits in the buffer
	}
	for i := 0; i < 10000; i++ {
		if err = x.Chunk(int64(i), 0, formats.ToDevice, []byte("AT\r\n")); err != nil {
			break
		}
	}
	if err == nil {
		err = x.Close()
	}
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("err %v, want disk full", err)
	}
}
