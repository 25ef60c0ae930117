package capture_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/formats"
	"github.com/atbridge/atbridge/formats/at"
	"github.com/atbridge/atbridge/formats/pcapng"
	"github.com/atbridge/atbridge/internal/session"
)

// tsharkPath returns tshark's path, skipping the test where it is missing
// unless CI=true.
func tsharkPath(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("tshark")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("tshark is required under CI=true: %v", err)
		}
		t.Skipf("tshark not installed: %v", err)
	}
	return p
}

// tshark runs tshark on file with args and returns its output lines.
func tshark(t *testing.T, file string, args ...string) []string {
	t.Helper()
	cmd := exec.Command(tsharkPath(t), append([]string{"-n", "-r", file}, args...)...)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir()) // no user preferences: out of the box
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("tshark %v: %v\n%s", args, err, errb.String())
	}
	s := strings.TrimRight(out.String(), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

var exportStart = time.Date(2026, 11, 25, 19, 0, 0, 0, time.UTC)

// goldenCapture returns the golden capture testdata/NAME.atcap (recorded
// from testdata/sessions/NAME.session) with its session, or makes it with
// sessionCapture when the golden file is not there.
func goldenCapture(t *testing.T, name string) (string, *session.Session) {
	t.Helper()
	path := filepath.Join("..", "testdata", name+".atcap")
	if _, err := os.Stat(path); err != nil {
		return sessionCapture(t, name)
	}
	s, err := session.ParseFile(filepath.Join("..", "testdata", "sessions", name+".session"))
	if err != nil {
		t.Fatal(err)
	}
	return path, s
}

// sessionCapture writes testdata/sessions/NAME.session as a capture the
// way atbridge's recorders do (host app's writes on port 0, the ESP32's on
// port 1) and returns its path and the session.
func sessionCapture(t *testing.T, name string) (string, *session.Session) {
	t.Helper()
	s, err := session.ParseFile(filepath.Join("..", "testdata", "sessions", name+".session"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), name+".atcap")
	w, err := capture.Create(path, capture.Header{
		Tool:  "atbridge test",
		Start: exportStart,
		Ports: []capture.PortInfo{{Name: "host app", Role: "host"}, {Name: "ESP32", Role: "device"}},
		Meta:  s.Meta,
	}, &capture.WriterOptions{FlushInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range s.Records() {
		if err := w.Write(&r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return path, s
}

func exportFile(t *testing.T, in, out string, opts *pcapng.Options) capture.ExportStats {
	t.Helper()
	r, err := capture.Open(in, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	f, err := capture.CreateExportFile(out)
	if err != nil {
		t.Fatal(err)
	}
	st, err := capture.Export(context.Background(), r, f, opts)
	if err != nil {
		f.Abort()
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return st
}

// wsExpect is what the decoder says crossed each WebSocket link.
type wsExpect struct {
	sent, received []string // data frames of AT+WSSEND (SEND OK) and +WS_DATA, in order
	commands       []string // host command lines without CRLF
}

func expectFrom(s *session.Session) wsExpect {
	d := at.NewDecoder(&at.DecoderOptions{EchoOff: s.Meta["echo"] == "off"})
	var evs []at.Event
	for _, st := range s.Steps {
		evs = append(evs, d.Feed(st.Time, st.Dir, st.Data)...)
	}
	evs = append(evs, d.Flush()...)
	var x wsExpect
	for _, ev := range evs {
		switch {
		case ev.Kind == at.EvCommand:
			x.commands = append(x.commands, strings.TrimRight(string(ev.Raw), "\r\n"))
		case ev.Kind != at.EvWSMessage || ev.Msg.Opcode >= 8:
			// control frames are checked on their own
		case ev.Msg.Dir == formats.ToServer && ev.Msg.Result == "SEND OK":
			x.sent = append(x.sent, string(ev.Data))
		case ev.Msg.Dir == formats.ToClient:
			x.received = append(x.received, string(ev.Data))
		}
	}
	return x
}

// TestExportTshark exports every golden capture (testdata/NAME.atcap, the
// scripted sessions as recorded) and checks the result
// with tshark as installed, with no plugin and no options: the file opens
// with no expert error, every command line is one "Sent AT Command" packet,
// the raw packets are the capture's chunks with their timestamps, and the
// WebSocket dissector decodes every frame with its payload.
func TestExportTshark(t *testing.T) {
	tsharkPath(t)
	m, _ := filepath.Glob(filepath.Join("..", "testdata", "sessions", "*.session"))
	if len(m) == 0 {
		t.Fatal("no sessions")
	}
	for _, p := range m {
		name := strings.TrimSuffix(filepath.Base(p), ".session")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			in, s := goldenCapture(t, name)
			out := filepath.Join(t.TempDir(), name+".pcapng")
			exportFile(t, in, out, nil)
			want := expectFrom(s)

			// One tshark pass gives every packet's fields; the checks are
			// made here (fewer tshark runs keep the test fast).
			type pkt struct{ iface, epoch, rtac, dlen, dir, protos, info, sport, opcode, text, sev, malformed, reset string }
			var pk []pkt
			for _, l := range tshark(t, out, "-T", "fields", "-E", "separator=/t", "-E", "occurrence=f",
				"-e", "frame.interface_name", "-e", "frame.time_epoch", "-e", "rtacser.eventtype", "-e", "data.len",
				"-e", "frame.p2p_dir", "-e", "frame.protocols", "-e", "_ws.col.Info", "-e", "tcp.srcport",
				"-e", "websocket.opcode", "-e", "websocket.payload.text", "-e", "_ws.expert.severity",
				"-e", "_ws.malformed", "-e", "tcp.flags.reset") {
				f := strings.Split(l, "\t")
				if len(f) != 13 {
					t.Fatalf("tshark line with %d fields: %q", len(f), l)
				}
				pk = append(pk, pkt{f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8], f[9], f[10], f[11], f[12]})
			}

			// No expert error, and no warning except TCP's for the RST that
			// shows a lost connection (+WS_DISCONNECTED); nothing malformed.
			for i, p := range pk {
				sev, _ := strconv.Atoi(p.sev) // the first (highest) severity
				if p.malformed != "" || sev >= 8388608 || sev >= 6291456 && p.reset != "1" {
					t.Errorf("packet %d (%s %s): severity %s malformed %q", i+1, p.iface, p.info, p.sev, p.malformed)
				}
			}

			// Raw view: the chunks, in order, with their times.
			var raw []pkt
			for _, p := range pk {
				if strings.HasPrefix(p.iface, "uart-raw-") {
					raw = append(raw, p)
				}
			}
			if len(raw) != len(s.Steps) {
				t.Fatalf("%d raw packets, want %d chunks", len(raw), len(s.Steps))
			}
			for i, st := range s.Steps {
				ts := exportStart.Add(time.Duration(st.Time))
				got := fmt.Sprintf("%s|%s|%s|%s", raw[i].iface, raw[i].epoch, raw[i].rtac, raw[i].dlen)
				wantLine := fmt.Sprintf("uart-raw-%s|%d.%09d|0x%02x|%d", st.Dir, ts.Unix(), ts.Nanosecond(), map[formats.Dir]int{formats.ToDevice: 1, formats.ToHost: 2}[st.Dir], len(st.Data))
				if got != wantLine {
					t.Errorf("raw packet %d: %q, want %q", i, got, wantLine)
				}
			}

			// AT view: every command once, sent; no received packet is
			// taken for a command.
			var sent []string
			for _, p := range pk {
				if p.iface != "uart-at" || !strings.HasSuffix(p.protos, ":at") {
					continue
				}
				switch p.dir {
				case "0":
					sent = append(sent, p.info)
				case "1":
					if strings.HasPrefix(strings.TrimSpace(strings.TrimPrefix(p.info, "Rcvd AT Command:")), "AT") {
						t.Errorf("received packet shown as a command: %q", p.info)
					}
				default:
					t.Errorf("AT packet without direction: %q", p.info)
				}
			}
			if len(sent) != len(want.commands) {
				t.Fatalf("%d sent AT packets, want %d commands:\n%s", len(sent), len(want.commands), strings.Join(sent, "\n"))
			}
			for i, c := range want.commands {
				if !strings.Contains(sent[i], "Sent AT Command") || !strings.Contains(sent[i], c) {
					t.Errorf("command %d: %q, want %q", i, sent[i], c)
				}
			}

			// WebSocket view: every data frame decodes, with its text, in
			// order per direction.
			var nSent, nRecv int
			for _, p := range pk {
				op, err := strconv.Atoi(p.opcode)
				if err != nil || op >= 8 {
					continue
				}
				port, _ := strconv.Atoi(p.sport)
				list := &want.received
				if port >= 49152 {
					nSent++
					list = &want.sent
				} else {
					nRecv++
				}
				if p.text == "" {
					continue // binary, or a fragment shown with the message's end
				}
				if !strings.Contains(strings.Join(*list, "\n"), p.text) {
					t.Errorf("websocket text %q from port %d is no message of that direction", p.text, port)
				}
			}
			if nSent != len(want.sent) || nRecv != len(want.received) {
				t.Errorf("websocket data frames: %d sent, %d received; want %d and %d", nSent, nRecv, len(want.sent), len(want.received))
			}
		})
	}
}

// TestExportTsharkSeed pins the issue's own checks on the seed scenario,
// over ws:// and wss://: "test" in websocket.payload.text both ways, the
// wss:// flow labelled as a decrypted reconstruction, Follow TCP Stream
// showing the handshake and the frames.
func TestExportTsharkSeed(t *testing.T) {
	for _, name := range []string{"seed-tcp", "seed-tls"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			in, _ := goldenCapture(t, name)
			out := filepath.Join(t.TempDir(), name+".pcapng")
			exportFile(t, in, out, nil)
			if lines := tshark(t, out, "-q", "-z", "expert,error"); len(lines) > 0 {
				t.Errorf("tshark -z expert,error:\n%s", strings.Join(lines, "\n"))
			}
			lines := tshark(t, out, "-Y", `websocket.payload.text == "test"`, "-T", "fields", "-e", "frame.interface_name", "-e", "websocket.mask", "-e", "frame.p2p_dir")
			want := []string{"ws-link0\t1\t0", "ws-link0\t0\t1"}
			if strings.Join(lines, "\n") != strings.Join(want, "\n") {
				t.Errorf("test frames %q, want %q", lines, want)
			}
			follow := strings.Join(tshark(t, out, "-q", "-z", "follow,tcp,ascii,0"), "\n")
			for _, w := range []string{"GET / HTTP/1.1", "Upgrade: websocket", "HTTP/1.1 101 Switching Protocols"} {
				if !strings.Contains(follow, w) {
					t.Errorf("follow tcp stream lacks %q:\n%s", w, follow)
				}
			}
			comments := strings.Join(tshark(t, out, "-Y", "frame.comment", "-T", "fields", "-e", "frame.comment"), "\n")
			if !strings.Contains(comments, "RECONSTRUCTED") {
				t.Errorf("flow not labelled as reconstructed: %q", comments)
			}
			if strings.Contains(comments, "decrypted reconstruction") != (name == "seed-tls") {
				t.Errorf("wss labelling wrong: %q", comments)
			}
		})
	}
}

// TestExportTsharkFrames: binary and close frames decode (ws-data,
// server-close), and a frame split by AT+WSDATAFMT pieces is one frame.
func TestExportTsharkFrames(t *testing.T) {
	in, _ := goldenCapture(t, "ws-data")
	out := filepath.Join(t.TempDir(), "ws-data.pcapng")
	exportFile(t, in, out, nil)
	bin := tshark(t, out, "-Y", "websocket.opcode == 2", "-T", "fields", "-e", "websocket.payload_length", "-e", "data.data")
	if len(bin) != 2 {
		t.Fatalf("binary frames: %q", bin)
	}
	for _, l := range bin {
		if !strings.HasPrefix(l, "17\t000d0a2b57535f444154413a302c312cff") {
			t.Errorf("binary frame %q", l)
		}
	}

	in, _ = goldenCapture(t, "server-close")
	out = filepath.Join(t.TempDir(), "server-close.pcapng")
	exportFile(t, in, out, nil)
	cl := tshark(t, out, "-Y", "websocket.opcode == 8", "-T", "fields", "-e", "tcp.srcport", "-e", "websocket.payload.close.status_code")
	want := []string{"8765\t", "49153\t1000", "8765\t1000"}
	if strings.Join(cl, "\n") != strings.Join(want, "\n") {
		t.Errorf("close frames %q, want %q", cl, want)
	}
}

// TestExportTsharkPorts: the synthetic flow keeps the URI's port, and the
// WebSocket dissector still decodes it out of the box for the usual ones.
func TestExportTsharkPorts(t *testing.T) {
	tsharkPath(t)
	for _, uri := range []string{"ws://10.0.0.5", "ws://10.0.0.5:8080/x", "ws://10.0.0.5:5000", "wss://10.0.0.5", "wss://echo.example.com:9443/a?b=c", "ws://10.0.0.5:1"} {
		t.Run(strings.NewReplacer("/", "_", ":", "_").Replace(uri), func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "c.atcap")
			w, err := capture.Create(path, capture.Header{Start: exportStart}, nil)
			if err != nil {
				t.Fatal(err)
			}
			open := fmt.Sprintf("AT+WSOPEN=0,\"%s\"\r\n", uri)
			for i, c := range []struct {
				d formats.Dir
				s string
			}{
				{formats.ToDevice, open}, {formats.ToHost, open + "+WS_CONNECTED:0\r\n\r\nOK\r\n"},
				{formats.ToDevice, "AT+WSSEND=0,4\r\n"}, {formats.ToHost, "AT+WSSEND=0,4\r\n\r\nOK\r\n\r\n>"},
				{formats.ToDevice, "test"}, {formats.ToHost, "\r\nSEND OK\r\n"}, {formats.ToHost, "+WS_DATA:0,4,test\r\n"},
			} {
				w.WriteChunk(int64(i)*1e6, 0, c.d, []byte(c.s))
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(t.TempDir(), "c.pcapng")
			exportFile(t, path, out, nil)
			lines := tshark(t, out, "-Y", `websocket.payload.text == "test"`, "-T", "fields", "-e", "tcp.dstport", "-e", "tcp.srcport")
			if len(lines) != 2 {
				t.Fatalf("%d test frames decoded, want 2:\n%s", len(lines), strings.Join(tshark(t, out, "-Y", "tcp"), "\n"))
			}
		})
	}
}

// TestExportCompressed writes .pcapng.gz and .pcapng.zst, which tshark
// opens directly, and classic pcap.
func TestExportCompressed(t *testing.T) {
	in, s := goldenCapture(t, "seed-tcp")
	dir := t.TempDir()
	plain := filepath.Join(dir, "x.pcapng")
	exportFile(t, in, plain, nil)
	n := len(tshark(t, plain))
	for _, name := range []string{"x.pcapng.gz", "x.pcapng.zst"} {
		out := filepath.Join(dir, name)
		exportFile(t, in, out, nil)
		if got := len(tshark(t, out)); got != n {
			t.Errorf("%s: %d packets, want %d", name, got, n)
		}
		b, _ := os.ReadFile(out)
		if bytes.HasPrefix(b, []byte{0x0A, 0x0D, 0x0D, 0x0A}) {
			t.Errorf("%s is not compressed", name)
		}
	}
	out := filepath.Join(dir, "raw.pcap")
	exportFile(t, in, out, &pcapng.Options{Classic: true, Views: pcapng.ViewRaw})
	if got := tshark(t, out, "-T", "fields", "-e", "rtacser.eventtype"); len(got) != len(s.Steps) {
		t.Errorf("classic raw pcap: %d packets, want %d", len(got), len(s.Steps))
	}
	if m, _ := filepath.Glob(filepath.Join(dir, ".*tmp*")); len(m) > 0 {
		t.Errorf("temporary files left: %v", m)
	}
}

// TestExportRecorded exports a capture with network-side frames and
// events, as the emulator records them: the flow uses the recorded frames,
// and the events show.
func TestExportRecorded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "emu.atcap")
	w, err := capture.Create(path, capture.Header{Start: exportStart, Meta: map[string]string{"command": "emulate", "firmware": "release"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ms := int64(time.Millisecond)
	recs := []capture.Record{
		{Kind: capture.KindEvent, Time: 0, Event: capture.Event{Type: capture.EvPortOpened, Text: "pty:/tmp/esp"}},
		{Kind: capture.KindChunk, Time: 1 * ms, Dir: formats.ToDevice, Data: []byte("AT+WSOPEN=0,\"ws://127.0.0.1:8765/\"\r\n")},
		{Kind: capture.KindChunk, Time: 2 * ms, Dir: formats.ToHost, Data: []byte("AT+WSOPEN=0,\"ws://127.0.0.1:8765/\"\r\n")},
		{Kind: capture.KindEvent, Time: 50 * ms, Event: capture.Event{Type: capture.EvWSConnected, Link: 0, Text: "ws://127.0.0.1:8765/"}},
		{Kind: capture.KindChunk, Time: 51 * ms, Dir: formats.ToHost, Data: []byte("+WS_CONNECTED:0\r\n\r\nOK\r\n")},
		{Kind: capture.KindChunk, Time: 60 * ms, Dir: formats.ToDevice, Data: []byte("AT+WSSEND=0,4\r\n")},
		{Kind: capture.KindChunk, Time: 61 * ms, Dir: formats.ToHost, Data: []byte("AT+WSSEND=0,4\r\n\r\nOK\r\n\r\n>")},
		{Kind: capture.KindChunk, Time: 70 * ms, Dir: formats.ToDevice, Data: []byte("test")},
		{Kind: capture.KindFrame, Time: 71 * ms, Dir: formats.ToServer, Data: []byte("test"), Frame: capture.Frame{Opcode: 1, Fin: true, Masked: true, MaskKey: [4]byte{9, 8, 7, 6}, Length: 4}},
		{Kind: capture.KindChunk, Time: 72 * ms, Dir: formats.ToHost, Data: []byte("\r\nSEND OK\r\n")},
		{Kind: capture.KindFrame, Time: 80 * ms, Dir: formats.ToClient, Data: []byte("test"), Frame: capture.Frame{Opcode: 1, Fin: true, Length: 4}},
		{Kind: capture.KindChunk, Time: 81 * ms, Dir: formats.ToHost, Data: []byte("+WS_DATA:0,4,test\r\n")},
		{Kind: capture.KindEvent, Time: 90 * ms, Event: capture.Event{Type: capture.EvMarker, Text: "the user pressed reset"}},
		{Kind: capture.KindEvent, Time: 91 * ms, Event: capture.Event{Type: capture.EvControlLines, Control: capture.LineDTR}},
		{Kind: capture.KindEvent, Time: 92 * ms, Dir: formats.ToHost, Event: capture.Event{Type: capture.EvBytesLost, Count: 5}},
		{Kind: capture.KindFrame, Time: 95 * ms, Dir: formats.ToClient, Data: []byte{3, 232}, Frame: capture.Frame{Opcode: 8, Fin: true, Length: 2}},
		{Kind: capture.KindEvent, Time: 96 * ms, Event: capture.Event{Type: capture.EvWSClosed, Link: 0, Code: 1000}},
		{Kind: capture.KindChunk, Time: 97 * ms, Dir: formats.ToHost, Data: []byte("+WS_CLOSED:0\r\n")},
	}
	for i := range recs {
		if err := w.Write(&recs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "emu.pcapng")
	exportFile(t, path, out, nil)
	ws := tshark(t, out, "-Y", "websocket", "-T", "fields", "-e", "websocket.opcode", "-e", "websocket.masking_key", "-e", "websocket.payload.text")
	want := []string{"1\t09080706\ttest", "1\t\ttest", "8\t\t"}
	if strings.Join(ws, "\n") != strings.Join(want, "\n") {
		t.Errorf("frames %q, want %q", ws, want)
	}
	ev := tshark(t, out, "-Y", `frame.interface_name == "atbridge-events"`, "-T", "fields", "-e", "_ws.col.Protocol", "-e", "frame.comment")
	all := strings.Join(ev, "\n")
	for _, w := range []string{"marker: the user pressed reset", "ws_connected: link 0 ws://127.0.0.1:8765/", "bytes_lost: 5 bytes to_host", "ws_closed: link 0 code 1000"} {
		if !strings.Contains(all, w) {
			t.Errorf("events lack %q:\n%s", w, all)
		}
	}
	rt := tshark(t, out, "-Y", "rtacser.eventtype == 0 || rtacser.eventtype == 5", "-T", "fields", "-e", "rtacser.eventtype", "-e", "rtacser.dtr")
	if strings.Join(rt, ",") != "0x00\t1,0x05\t1" {
		t.Errorf("rtac status/lost packets %q", rt)
	}
	if c := tshark(t, out, "-Y", `frame.comment contains "RECONSTRUCTED"`); len(c) > 0 {
		t.Errorf("recorded capture labelled as reconstructed: %q", c)
	}
}

// TestExportDamaged: a damaged capture still exports; the damage is a
// counted event.
func TestExportDamaged(t *testing.T) {
	in, _ := sessionCapture(t, "ws-data")
	b, err := os.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	// Flip a byte in the middle of the (single) data block.
	b[len(b)/2] ^= 0xFF
	r, err := capture.NewReader(bytes.NewReader(b), nil)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	st, err := capture.Export(context.Background(), r, &out, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.Damaged == 0 || !bytes.Contains(out.Bytes(), []byte("damage: ")) {
		t.Errorf("damage not reported: %+v", st)
	}
}
