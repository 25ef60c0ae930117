package pcapng_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/atbridge/atbridge/formats"
	"github.com/atbridge/atbridge/formats/pcapng"
	"github.com/atbridge/atbridge/formats/ws"
)

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
