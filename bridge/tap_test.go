package bridge

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/atbridge/atbridge/bridge/esp"

	"github.com/coder/websocket"

	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/formats"
	"github.com/atbridge/atbridge/formats/view"
	"github.com/atbridge/atbridge/internal/rig"
)

// startTap runs a taps-only proxy recording to a file; stop ends it and
// returns the records.
func startTap(t *testing.T, cfg TapConfig) (addr string, stop func() []capture.Record) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tap.atcap")
	w, err := capture.Create(path, capture.Header{Tool: "test"}, nil)
	rig.Must(t, err)
	closed := make(chan struct{}, 16)
	tapClosed[t.Name()] = closed
	px, err := OpenProxy(context.Background(), &ProxyOptions{Taps: []TapConfig{cfg}, Recorder: w, Observe: func(r *capture.Record) {
		if r.Kind == capture.KindEvent && r.Event.Type == capture.EvWSClosed {
			closed <- struct{}{}
		}
	}})
	rig.Must(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- px.Run(ctx) }()
	stopped := false
	stopFn := func() []capture.Record {
		if !stopped {
			stopped = true
			cancel()
			rig.Must(t, <-done)
			rig.Must(t, w.Close())
		}
		return readCapture(t, path)
	}
	t.Cleanup(func() { stopFn() })
	return px.TapAddrs()[0], stopFn
}

// emuOnPty runs an emulator on a fresh pty with a host app on its link.
func emuOnPty(t *testing.T, opts *esp.Options) (*rigEmu, *rig.HostApp) {
	t.Helper()
	link := filepath.Join(t.TempDir(), "esp")
	e := startRigEmu(t, link, opts)
	f, err := os.OpenFile(link, os.O_RDWR, 0)
	rig.Must(t, err)
	h := rig.NewHostApp(t, f)
	t.Cleanup(func() {
		e.stop()
		h.Close()
	})
	h.Expect("\r\nready\r\n")
	return e, h
}

// frameRecs returns the frame records, each with Link set to 0.
func frameRecs(recs []capture.Record) []capture.Record {
	var out []capture.Record
	for _, r := range recs {
		if r.Kind == capture.KindFrame {
			r.Time, r.Frame.Link, r.Port = 0, 0, 0
			if len(r.Data) == 0 {
				r.Data = nil
			}
			out = append(out, r)
		}
	}
	return out
}

func sameFrames(t *testing.T, emu, tap []capture.Record) {
	t.Helper()
	if len(emu) != len(tap) {
		t.Fatalf("emulator saw %d frames, the tap %d:\n%v\n%v", len(emu), len(tap), emu, tap)
	}
	for i := range emu {
		a, b := emu[i], tap[i]
		if a.Dir != b.Dir || a.Frame != b.Frame || !bytes.Equal(a.Data, b.Data) {
			t.Errorf("frame %d: emulator %v %+v %q, tap %v %+v %q", i, a.Dir, a.Frame, a.Data, b.Dir, b.Frame, b.Data)
		}
	}
}

// TestTapFrames runs the seed scenario from the emulator through a ws tap
// to coder/websocket and python3-websockets echo servers, and compares the
// frames the tap recorded with those the emulator sent and received, field
// by field (opcode, FIN, RSV, mask key, length, payload), in order per
// direction.
func TestTapFrames(t *testing.T) {
	for name, start := range rig.WSEchoServers {
		t.Run(name, func(t *testing.T) {
			up := start(t)
			addr, stop := startTap(t, TapConfig{Listen: "127.0.0.1:0", Upstream: up + "/echo"})
			e, h := emuOnPty(t, nil)
			h.Play(t, "testdata/proxy/seed.txt", map[string]string{"URI": "ws://" + addr + "/echo"})
			// The close handshake finishes after the OK; wait for the tap to
			// see the TCP connection end.
			recs := waitTapClosed(t, stop, e)
			emu := frameRecs(e.sink.All())
			tap := frameRecs(recs)
			for _, d := range []formats.Dir{formats.ToServer, formats.ToClient} {
				sameFrames(t, filterDir(emu, d), filterDir(tap, d))
			}
			var conn, closed *capture.Record
			for i := range recs {
				switch recs[i].Event.Type {
				case capture.EvWSConnected:
					conn = &recs[i]
				case capture.EvWSClosed:
					closed = &recs[i]
				}
			}
			if conn == nil || conn.Event.Text != up+"/echo" {
				t.Errorf("ws_connected %+v, want text %q", conn, up+"/echo")
			}
			if closed == nil {
				t.Fatal("no ws_closed event")
			}
			t.Logf("closed: code %d %q", closed.Event.Code, closed.Event.Text)
			if len(tap) != 4 {
				t.Errorf("%d frames, want 4 (two messages, two echoes)", len(tap))
			}
		})
	}
}

func filterDir(recs []capture.Record, d formats.Dir) []capture.Record {
	var out []capture.Record
	for _, r := range recs {
		if r.Dir == d {
			out = append(out, r)
		}
	}
	return out
}

// tapClosed maps a test to the channel its tap signals ws_closed on.
var tapClosed = map[string]chan struct{}{}

// waitTapClosed waits until the tap recorded the connection's end (AT+WSCLOSE
// drops the TCP connection without a close handshake), then stops the tap.
func waitTapClosed(t *testing.T, stop func() []capture.Record, _ *rigEmu) []capture.Record {
	t.Helper()
	select {
	case <-tapClosed[t.Name()]:
	case <-time.After(rig.Timeout):
		t.Error("the tap did not record the connection's end")
	}
	return stop()
}

// TestTapWSS terminates the emulator's TLS with one certificate and
// re-originates mutual TLS to a coder/websocket server.
func TestTapWSS(t *testing.T) {
	pki := rig.NewPKI(t)
	srv := rig.NewWSEchoServer(t, pki.ServerTLS)
	serverCert, err := tls.LoadX509KeyPair(pki.ServerCert, pki.ServerKey)
	rig.Must(t, err)
	clientCert, err := tls.LoadX509KeyPair(filepath.Join(pki.Dir, "wss_cert", "wss_client_00.crt"), filepath.Join(pki.Dir, "wss_key", "wss_client_00.key"))
	rig.Must(t, err)
	caPEM, err := os.ReadFile(filepath.Join(pki.Dir, "wss_ca", "wss_ca_00.crt"))
	rig.Must(t, err)
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	addr, stop := startTap(t, TapConfig{
		Listen:    "0",
		Upstream:  srv.URL,
		ServerTLS: &tls.Config{Certificates: []tls.Certificate{serverCert}},
		ClientTLS: &tls.Config{Certificates: []tls.Certificate{clientCert}, RootCAs: roots, ServerName: "esp-server.invalid"},
	})
	if !strings.HasPrefix(addr, "127.0.0.1:") {
		t.Errorf("tap listens on %s, want loopback", addr)
	}
	e, h := emuOnPty(t, &esp.Options{PKIDir: pki.Dir})
	h.Cmd(`AT+CWJAP="ap","password"`, "WIFI CONNECTED\r\nWIFI GOT IP\r\n\r\nOK\r\n")
	h.Cmd("AT+WSCFG=0,30,60,4096,2,0,0", "\r\nOK\r\n")
	uri := "wss://" + addr
	h.Cmd(`AT+WSOPEN=0,"`+uri+`"`, "+WS_CONNECTED:0\r\n\r\nOK\r\n")
	h.Cmd("AT+WSSEND=0,4", "\r\nOK\r\n\r\n>")
	h.Send("test")
	h.ExpectAnyOrder("\r\nSEND OK\r\n", "+WS_DATA:0,4,test\r\n")
	h.Cmd("AT+WSCLOSE=0", "\r\nOK\r\n")
	recs := waitTapClosed(t, stop, e)
	emu := frameRecs(e.sink.All())
	tap := frameRecs(recs)
	for _, d := range []formats.Dir{formats.ToServer, formats.ToClient} {
		sameFrames(t, filterDir(emu, d), filterDir(tap, d))
	}
	if countEvents(recs, capture.EvWSConnected) != 1 {
		t.Error("no ws_connected")
	}
}

// TestTapKeepsForwardingGarbage: bytes that are not WebSocket at all still
// go through unchanged both ways; the tap notes it stopped parsing.
func TestTapKeepsForwardingGarbage(t *testing.T) {
	srv := rig.EchoTCP(t)
	addr, stop := startTap(t, TapConfig{Listen: "127.0.0.1:0", Upstream: "ws://" + srv})
	c, err := dialTCP(addr)
	rig.Must(t, err)
	msg := []byte("GET / HTTP/1.1\r\n\r\n\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff" + strings.Repeat("garbage", 1000))
	go func() { _, _ = c.Write(msg) }()
	got := rig.ReadN(t, c, len(msg))
	c.Close()
	if !bytes.Equal(got, msg) {
		t.Fatal("bytes changed in flight")
	}
	time.Sleep(50 * time.Millisecond)
	recs := stop()
	notes := 0
	for _, r := range recs {
		if r.Kind == capture.KindEvent && r.Event.Type == capture.EvNote && strings.Contains(r.Event.Text, "stopped parsing") {
			notes++
		}
	}
	if notes == 0 {
		t.Errorf("no note about the parse failure: %v", recs)
	}
}

func TestParseTapSpec(t *testing.T) {
	for _, tc := range []struct{ in, listen, err string }{
		{"127.0.0.1:8765=ws://10.0.0.5:8765", "127.0.0.1:8765", ""},
		{"8765=wss://example.com/ws", "127.0.0.1:8765", ""},
		{":8765=ws://h", "127.0.0.1:8765", ""},
		{"0.0.0.0:8765=ws://h", "0.0.0.0:8765", ""},
		{"8765", "", "want LISTEN=UPSTREAM"},
		{"8765=http://h", "", "ws:// or wss://"},
		{"8765=ws://", "", "no host"},
	} {
		cfg, err := ParseTapSpec(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: err %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || listenAddr(cfg.Listen) != tc.listen {
			t.Errorf("%q: %v %v, want %s", tc.in, listenAddr(cfg.Listen), err, tc.listen)
		}
	}
}

// TestTapControlFrames: pings, pongs and the close handshake with its code
// and reason, between a coder/websocket client and server.
func TestTapControlFrames(t *testing.T) {
	up := rig.ClosingWSServer(t)
	addr, stop := startTap(t, TapConfig{Listen: "127.0.0.1:0", Upstream: up})
	ctx := context.Background()
	c, _, err := websocket.Dial(ctx, "ws://"+addr+"/x", nil)
	rig.Must(t, err)
	rig.Must(t, c.Write(ctx, websocket.MessageText, []byte("hi")))
	if _, data, err := c.Read(ctx); err != nil || string(data) != "hi" {
		t.Fatalf("echo %q %v", data, err)
	}
	_, _, err = c.Read(ctx)
	if websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Fatalf("read: %v, want close 1001", err)
	}
	c.CloseNow()
	recs := waitTapClosed(t, stop, nil)
	var got []string
	for _, r := range recs {
		switch r.Kind {
		case capture.KindFrame:
			got = append(got, fmt.Sprintf("%s %s masked=%v %q", r.Dir, view.OpcodeName(int(r.Frame.Opcode)), r.Frame.Masked, r.Data))
		case capture.KindEvent:
			got = append(got, fmt.Sprintf("%s %d %q", r.Event.Type, r.Event.Code, r.Event.Text))
		}
	}
	// Pings carry coder/websocket's random payload: compare opcodes. The
	// two directions run on their own goroutines, so only the order within
	// each (and the events around them) is fixed.
	want := map[string][]string{
		"ws_": {`ws_connected 0 "` + up + `/x"`, `ws_closed 1001 "bye"`},
		"to_server": {
			`to_server text masked=true "hi"`,
			`to_server pong masked=true`,
			`to_server close masked=true "\x03\xe9bye"`,
		},
		"to_client": {
			`to_client text masked=false "hi"`,
			`to_client ping masked=false`,
			`to_client close masked=false "\x03\xe9bye"`,
		},
	}
	if len(got) < 2 || !strings.HasPrefix(got[0], "ws_connected") || !strings.HasPrefix(got[len(got)-1], "ws_closed") {
		t.Errorf("events not around the frames:\n%s", strings.Join(got, "\n"))
	}
	for key, w := range want {
		var g []string
		for _, line := range got {
			if strings.HasPrefix(line, key) {
				g = append(g, line)
			}
		}
		if len(g) != len(w) {
			t.Errorf("%s: recorded\n%s\nwant\n%s", key, strings.Join(g, "\n"), strings.Join(w, "\n"))
			continue
		}
		for i := range w {
			if !strings.HasPrefix(g[i], w[i]) {
				t.Errorf("%s %d: %s, want %s", key, i, g[i], w[i])
			}
		}
	}
}

// TestTapUpstreamDown: the upstream refuses; the client's connection is
// closed and the capture says why.
func TestTapUpstreamDown(t *testing.T) {
	ln, err := dialTCP("127.0.0.1:1")
	if err == nil {
		ln.Close()
		t.Skip("something listens on port 1")
	}
	addr, stop := startTap(t, TapConfig{Listen: "127.0.0.1:0", Upstream: "ws://127.0.0.1:1/"})
	c, err := dialTCP(addr)
	rig.Must(t, err)
	_ = c.SetReadDeadline(time.Now().Add(rig.Timeout))
	if n, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatalf("read %d bytes from a tap with no upstream", n)
	}
	c.Close()
	recs := stop()
	found := false
	for _, r := range recs {
		if r.Kind == capture.KindEvent && r.Event.Type == capture.EvNote && strings.Contains(r.Event.Text, "cannot reach ws://127.0.0.1:1/") {
			found = true
		}
	}
	if !found {
		t.Errorf("no note about the unreachable upstream: %v", recs)
	}
}

func dialTCP(addr string) (net.Conn, error) { return net.Dial("tcp", addr) }
