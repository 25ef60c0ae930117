package esp

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/atbridge/atbridge/bridge/port"
	"github.com/atbridge/atbridge/formats/ws"
	"github.com/atbridge/atbridge/internal/rig"
)

// joinWiFi brings the simulated station up.
func joinWiFi(h *emuHost) {
	h.t.Helper()
	h.Cmd(`AT+CWJAP="ap","password"`, "WIFI CONNECTED\r\nWIFI GOT IP\r\n\r\nOK\r\n")
}

// hostPort returns the host:port of a ws:// or wss:// URL.
func hostPort(u string) string {
	return u[strings.Index(u, "://")+3:]
}

// TestEmuTranscriptWSEcho plays the seed's ws:// scenario (this package's
// transcript and the shared golden) against two independent echo servers.
func TestEmuTranscriptWSEcho(t *testing.T) {
	for name, start := range rig.WSEchoServers {
		t.Run(name, func(t *testing.T) {
			uri := start(t)
			runSession(t, "testdata/emulate/ws_echo.txt", map[string]string{"$URI": uri}, nil)
			runSession(t, "../../testdata/sessions/seed-tcp.session", map[string]string{"192.168.200.249:8765": hostPort(uri)}, nil)
		})
	}
}

// TestEmuTranscriptWSSMutual plays the seed's wss:// scenario with mutual
// TLS (server and client certificates from different roots).
func TestEmuTranscriptWSSMutual(t *testing.T) {
	pki := rig.NewPKI(t)
	fixed := time.Date(2021, 10, 18, 12, 12, 27, 0, time.UTC)
	servers := map[string]func(t *testing.T) string{
		"coder": func(t *testing.T) string { return rig.NewWSEchoServer(t, pki.ServerTLS).URL },
		"python": func(t *testing.T) string {
			return rig.PythonWSEcho(t, "--cert", pki.ServerCert, "--key", pki.ServerKey, "--client-ca", pki.ClientCAFile)
		},
	}
	for name, start := range servers {
		t.Run(name, func(t *testing.T) {
			uri := start(t)
			opts := &Options{PKIDir: pki.Dir, Now: func() time.Time { return fixed }}
			runSession(t, "testdata/emulate/wss_mutual.txt", map[string]string{"$URI": uri}, opts)
			runSession(t, "../../testdata/sessions/seed-tls.session", map[string]string{"192.168.200.249:8766": hostPort(uri)}, opts)
		})
	}
}

func TestEmuWSSFailures(t *testing.T) {
	pki := rig.NewPKI(t)
	srv := rig.NewWSEchoServer(t, pki.ServerTLS)
	h := startEmu(t, &Options{PKIDir: pki.Dir, ReconnectInterval: time.Hour})
	joinWiFi(h)
	h.Cmd("AT+WSCFG=0,30,60,4096,1,5,0", "NO CERT FOUND\r\n\r\nERROR\r\n")
	h.Cmd("AT+WSCFG=0,30,60,4096,1,1,0", "NO PRVT_KEY FOUND\r\n\r\nERROR\r\n")
	h.Cmd("AT+WSCFG=0,30,60,4096,2,0,7", "NO CA FOUND\r\n\r\nERROR\r\n")
	h.Cmd("AT+WSCFG=0,30,60,4096,3,0,7", "NO CA FOUND\r\n\r\nERROR\r\n")
	// The wrong CA: verification fails, which is an open failure.
	h.Cmd("AT+WSCFG=0,30,60,4096,3,0,1", "\r\nOK\r\n")
	h.Cmd(fmt.Sprintf("AT+WSOPEN=0,%q", srv.URL), "+WS_DISCONNECTED:0\r\n\r\nERROR\r\n")
	// No client certificate: the server refuses the handshake.
	h.Cmd("AT+WSCFG=0,30,60,4096,2,0,0", "\r\nOK\r\n")
	h.Cmd(fmt.Sprintf("AT+WSOPEN=0,%q", srv.URL), "+WS_DISCONNECTED:0\r\n\r\nERROR\r\n")
	// The config was freed by the failed open: the defaults (no client
	// cert) apply again and fail the same way.
	h.Cmd(fmt.Sprintf("AT+WSOPEN=0,%q", srv.URL), "+WS_DISCONNECTED:0\r\n\r\nERROR\r\n")
	// Without --pki every auth mode reports the missing files.
	h2 := startEmu(t, nil)
	h2.Cmd("AT+WSCFG=1,30,60,4096,3,0,0", "NO CERT FOUND\r\n\r\nERROR\r\n")
	h2.Cmd("AT+WSCFG=1,30,60,4096,2,0,0", "NO CA FOUND\r\n\r\nERROR\r\n")
}

func TestEmuWSHeadersAndAuth(t *testing.T) {
	srv := rig.NewWSEchoServer(t, nil)
	h := startEmu(t, nil)
	joinWiFi(h)
	hdr := "X-Device: esp32-emulated"
	h.Cmd(fmt.Sprintf("AT+WSHEAD=%d", len(hdr)), "\r\nOK\r\n\r\n>")
	h.Send(hdr)
	h.Expect("\r\nOK\r\n")
	h.Cmd(fmt.Sprintf("AT+WSOPEN=0,%q,\"chat\",5000,\"Basic QTpC\"", srv.URL+"/path?q=1"), "+WS_CONNECTED:0\r\n\r\nOK\r\n")
	got := srv.LastHeader()
	if got.Get("Authorization") != "Basic QTpC" || got.Get("X-Device") != "esp32-emulated" || got.Get("Sec-WebSocket-Protocol") != "chat" || got.Get("User-Agent") != "ESP32 Websocket Client" {
		t.Fatalf("server saw headers %v", got)
	}
	// user:pass@ in the URI becomes Basic authentication when no auth
	// field is given.
	h.Cmd(fmt.Sprintf("AT+WSOPEN=1,%q", strings.Replace(srv.URL, "://", "://u:p@", 1)), "+WS_CONNECTED:1\r\n\r\nOK\r\n")
	if got := srv.LastHeader().Get("Authorization"); got != "Basic dTpw" {
		t.Fatalf("Authorization from the URI's user info = %q", got)
	}
	h.Cmd("AT+WSHEAD=6", "\r\nOK\r\n\r\n>")
	h.Send("X-B:b2")
	h.Expect("\r\nOK\r\n")
	h.Cmd("AT+WSHEAD?", "+WSHEAD:0,\"X-B:b2\"\r\n+WSHEAD:1,\"X-Device: esp32-emulated\"\r\n\r\nOK\r\n")
	h.Cmd("AT+WSHEAD=0", "\r\nOK\r\n")
	h.Cmd("AT+WSHEAD?", "\r\nOK\r\n")
}

// TestEmuWSErrors walks every ERROR path of the WebSocket commands that
// does not need a server.
func TestEmuWSErrors(t *testing.T) {
	for _, fw := range []Firmware{FirmwareRelease, FirmwareDev} {
		t.Run(fw.String(), func(t *testing.T) {
			h := startEmu(t, &Options{Firmware: fw, ReconnectInterval: time.Hour})
			joinWiFi(h)
			errs := []string{
				"AT+WSCFG", "AT+WSCFG?", "AT+WSCFG=?", "AT+WSCFG=0", "AT+WSCFG=0,30", "AT+WSCFG=3,30,60", "AT+WSCFG=-1,30,60",
				"AT+WSCFG=0,0,60", "AT+WSCFG=0,7201,60", "AT+WSCFG=0,30,0", "AT+WSCFG=0,30,7201", "AT+WSCFG=0,30,60,0",
				"AT+WSCFG=0,30,60,16385", "AT+WSCFG=0,30,60,,3,0,0", "AT+WSCFG=0,30,60,4096,1", "AT+WSCFG=0,30,60,4096,0,0",
				"AT+WSCFG=0,30,60,4096,4,0,0", "AT+WSCFG=0,30,60,4096,0,0,0", "AT+WSCFG=0,30,60,4096,3,-1,0", "AT+WSCFG=0,\"30\",60",
				"AT+WSHEAD", "AT+WSHEAD=-1", "AT+WSHEAD=1,2", "AT+WSHEAD=?", "AT+WSHEAD=\"5\"",
				"AT+WSOPEN", "AT+WSOPEN=?", "AT+WSOPEN=0", "AT+WSOPEN=3,\"ws://127.0.0.1:1\"", "AT+WSOPEN=0,\"http://127.0.0.1:1\"",
				"AT+WSOPEN=0,\"ws://127.0.0.1:1\",,0", "AT+WSOPEN=0,\"ws://127.0.0.1:1\",,180001", "AT+WSOPEN=0,\"ws://127.0.0.1:1\",,,\"auth\"",
				"AT+WSOPEN=0,ws", "AT+WSOPEN=0,\"\"", "AT+WSOPEN=0,\"ws://127.0.0.1:1\",\"\",1000,\"a\",6",
				"AT+WSSEND", "AT+WSSEND?", "AT+WSSEND=?", "AT+WSSEND=0", "AT+WSSEND=0,4", "AT+WSSEND=3,4", "AT+WSSEND=0,4,,5000",
				"AT+WSSEND=0,16385", "AT+WSSEND=0,4,16", "AT+WSSEND=0,4,1,60001", "AT+WSSEND=0,4,1,1000,2",
				"AT+WSCLOSE", "AT+WSCLOSE?", "AT+WSCLOSE=3", "AT+WSCLOSE=0,1", "AT+WSCLOSE=-1",
				"AT+WSDATAFMT=0", "AT+WSDATAFMT=0,2", "AT+WSDATAFMT=3,,", "AT+WSDATAFMT=0,3,", "AT+WSDATAFMT=0,,0", "AT+WSDATAFMT=0,,64", "AT+WSDATAFMT?",
			}
			if fw == FirmwareRelease {
				errs = append(errs, "AT+WSCFG=0,30,60,8193", "AT+WSSEND=0,8193", "AT+WSSEND=0,4,1,1000,1", "AT+WSDATAFMT=0,2,")
			}
			for _, c := range errs {
				h.Cmd(c, "\r\nERROR\r\n")
			}
			h.Cmd("AT+WSCLOSE=0", "\r\nOK\r\n") // never open: still OK
			h.Cmd("AT+WSCFG=0,30,60", "\r\nOK\r\n")
			h.Cmd("AT+WSCFG=0,30,60,8192,0", "\r\nOK\r\n")
			h.Cmd("AT+WSHEAD=4", "\r\nOK\r\n\r\n>")
			h.Send("nope")
			h.Expect("\r\nERROR\r\n")
			h.Cmd("AT+WSHEAD=4", "\r\nOK\r\n\r\n>")
			h.Send("a:\x00b")
			h.Expect("\r\nERROR\r\n")
			if fw == FirmwareDev {
				h.Cmd("AT+WSDATAFMT=0,2,", "\r\nOK\r\n")
				h.Cmd("AT+WSDATAFMT=0,,4", "\r\nOK\r\n")
				h.Cmd("AT+WSCFG=0,30,60,16384", "\r\nOK\r\n")
			}
			// A refused connection: +WS_DISCONNECTED before ERROR.
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			rig.Must(t, err)
			addr := ln.Addr().String()
			ln.Close()
			h.Cmd(fmt.Sprintf("AT+WSOPEN=1,\"ws://%s\"", addr), "+WS_DISCONNECTED:1\r\n\r\nERROR\r\n")
			h.Cmd("AT+WSOPEN?", "\r\nOK\r\n")
			// Without Wi-Fi nothing is reachable.
			h.Cmd("AT+CWQAP", "\r\nOK\r\nWIFI DISCONNECT\r\n")
			srv := rig.NewWSEchoServer(t, nil)
			h.Cmd(fmt.Sprintf("AT+WSOPEN=2,%q", srv.URL), "+WS_DISCONNECTED:2\r\n\r\nERROR\r\n")
		})
	}
}

func TestEmuWSOpenTwiceAndSendErrors(t *testing.T) {
	srv := rig.NewWSEchoServer(t, nil)
	h := startEmu(t, &Options{Firmware: FirmwareDev})
	joinWiFi(h)
	h.Cmd(fmt.Sprintf("AT+WSOPEN=2,%q", srv.URL), "+WS_CONNECTED:2\r\n\r\nOK\r\n")
	h.Cmd(fmt.Sprintf("AT+WSOPEN=2,%q", srv.URL), "\r\nERROR\r\n")
	// Opcode 9 without FIN is not a combination the library sends.
	h.Cmd("AT+WSSEND=2,1,9,1000,0", "\r\nOK\r\n\r\n>")
	h.Send("x")
	h.Expect("\r\nERROR\r\n")
	// More bytes than announced: busy p... for the excess.
	h.Cmd("AT+WSSEND=2,2", "\r\nOK\r\n\r\n>")
	h.Send("hi!!")
	h.ExpectAnyOrder("\r\nbusy p...\r\n", "\r\nSEND OK\r\n", "+WS_DATA:2,2,hi\r\n")
	// Opcode 0 with FIN sends an empty FIN continuation and ignores the
	// payload; with a payload the command answers ERROR. A continuation
	// with no message to continue is a protocol error for coder/websocket,
	// which closes the connection: +WS_CLOSED.
	h.Cmd("AT+WSSEND=2,3,0,1000,1", "\r\nOK\r\n\r\n>")
	h.Send("abc")
	h.ExpectAnyOrder("\r\nERROR\r\n", "+WS_CLOSED:2\r\n")
	h.Cmd("AT+WSCLOSE=2", "\r\nOK\r\n")
	h.Cmd("AT+WSSEND=2,2", "\r\nERROR\r\n") // no prompt for a closed link
}

// TestEmuWSFragmentation checks both directions against buffer_size: a
// message larger than it goes out as TEXT/BINARY then CONT frames, and a
// frame from the server comes in as several +WS_DATA pieces.
func TestEmuWSFragmentation(t *testing.T) {
	for _, fw := range []Firmware{FirmwareRelease, FirmwareDev} {
		t.Run(fw.String(), func(t *testing.T) {
			frames := rig.NewFrameLog()
			toSend := make(chan rig.RawFrame, 16)
			srv := rig.NewRawWSServer(t, func(c *rig.RawConn) {
				done := make(chan struct{})
				defer close(done)
				go func() {
					for {
						select {
						case f := <-toSend:
							if c.WriteFrame(f.Header.Opcode, f.Header.Fin, f.Payload) != nil {
								return
							}
						case <-done:
							return
						}
					}
				}()
				for {
					f, err := c.ReadFrame()
					if err != nil {
						return
					}
					frames.Add(f)
				}
			})
			h := startEmu(t, &Options{Firmware: fw})
			joinWiFi(h)
			h.Cmd("AT+WSCFG=0,30,60,4", "\r\nOK\r\n")
			h.Cmd(fmt.Sprintf("AT+WSOPEN=0,%q", srv.URL), "+WS_CONNECTED:0\r\n\r\nOK\r\n")
			base := frames.Len()
			h.Cmd("AT+WSSEND=0,10", "\r\nOK\r\n\r\n>")
			h.Send("0123456789")
			h.Expect("\r\nSEND OK\r\n")
			h.Cmd("AT+WSSEND=0,6,2", "\r\nOK\r\n\r\n>")
			h.Send("ab\r\ncd")
			h.Expect("\r\nSEND OK\r\n")
			h.Cmd("AT+WSSEND=0,2,10", "\r\nOK\r\n\r\n>") // raw pong opcode, allowed
			h.Send("pp")
			h.Expect("\r\nSEND OK\r\n")
			want := []string{"1 0 \"0123\"", "0 0 \"4567\"", "0 1 \"89\"", "2 0 \"ab\\r\\n\"", "0 1 \"cd\"", "10 1 \"pp\""}
			if fw == FirmwareDev {
				h.Cmd("AT+WSSEND=0,3,1,1000,0", "\r\nOK\r\n\r\n>")
				h.Send("xyz")
				h.Expect("\r\nSEND OK\r\n")
				h.Cmd("AT+WSSEND=0,0,0,1000,1", "\r\nSEND OK\r\n") // no prompt on dev
				want = append(want, "1 0 \"xyz\"", "0 1 \"\"")
			}
			got := frames.Wait(t, base+len(want))[base:]
			for i, w := range want {
				f := got[i]
				if s := fmt.Sprintf("%d %d %q", f.Header.Opcode, b2u(f.Header.Fin), f.Payload); s != w || !f.Header.Masked {
					t.Errorf("frame %d = %s (masked %v), want %s", i, s, f.Header.Masked, w)
				}
			}
			// Server to host: a 10-byte binary frame with CRLF inside comes
			// as pieces of at most 4 bytes; an empty frame as one line.
			toSend <- rig.RawFrame{Header: ws.Header{Fin: true, Opcode: ws.OpBinary}, Payload: []byte("ab\r\n\r\nefgh")}
			h.Expect("+WS_DATA:0,4,ab\r\n\r\n+WS_DATA:0,4,\r\nef\r\n+WS_DATA:0,2,gh\r\n")
			toSend <- rig.RawFrame{Header: ws.Header{Fin: true, Opcode: ws.OpText}, Payload: nil}
			h.Expect("+WS_DATA:0,0,\r\n")
			h.Cmd("AT+WSCLOSE=0", "\r\nOK\r\n")
			// AT+WSCLOSE freed the WSCFG: the next open has buffer_size 1024.
			h.Cmd(fmt.Sprintf("AT+WSOPEN=0,%q", srv.URL), "+WS_CONNECTED:0\r\n\r\nOK\r\n")
			toSend <- rig.RawFrame{Header: ws.Header{Fin: true, Opcode: ws.OpBinary}, Payload: []byte("0123456789")}
			h.Expect("+WS_DATA:0,10,0123456789\r\n")
			h.Cmd("AT+WSCLOSE=0", "\r\nOK\r\n")
		})
	}
}

func TestEmuWSDataFormat(t *testing.T) {
	toSend := make(chan rig.RawFrame, 16)
	srv := rig.NewRawWSServer(t, func(c *rig.RawConn) {
		gone := make(chan struct{})
		go func() {
			defer close(gone)
			for {
				if _, err := c.ReadFrame(); err != nil {
					return
				}
			}
		}()
		for {
			select {
			case f := <-toSend:
				if c.WriteFrame(f.Header.Opcode, f.Header.Fin, f.Payload) != nil {
					return
				}
			case <-gone:
				return
			}
		}
	})
	h := startEmu(t, &Options{Firmware: FirmwareDev})
	joinWiFi(h)
	h.Cmd("AT+WSCFG=0,30,60,4", "\r\nOK\r\n")
	h.Cmd(fmt.Sprintf("AT+WSOPEN=0,%q", srv.URL), "+WS_CONNECTED:0\r\n\r\nOK\r\n")
	push := func(op uint8, fin bool, p string) {
		toSend <- rig.RawFrame{Header: ws.Header{Fin: fin, Opcode: op}, Payload: []byte(p)}
	}
	tests := []struct {
		fmt  string
		want string
	}{
		// level 0, all fields: every piece has a prefix and CRLF.
		{"0,0,63", "+WS_DATA:0,1,0,6,0,4,abcd\r\n+WS_DATA:0,1,0,6,4,2,ef\r\n+WS_DATA:0,0,1,3,0,3,ghi\r\n"},
		// level 1: prefix at frame start, CRLF at frame end; data_len is
		// the first piece's.
		{"0,1,52", "+WS_DATA:0,6,4,abcdef\r\n+WS_DATA:0,3,3,ghi\r\n"},
		// level 2: prefix at message start, CRLF at the message's end.
		{"0,2,4", "+WS_DATA:0,6,abcdefghi"},
		// no CRLF bit
		{"0,0,16", "+WS_DATA:0,4,abcd+WS_DATA:0,2,ef+WS_DATA:0,3,ghi"},
	}
	for _, tt := range tests {
		h.Cmd("AT+WSDATAFMT="+tt.fmt, "\r\nOK\r\n")
		push(ws.OpText, false, "abcdef")
		push(ws.OpCont, true, "ghi")
		h.Expect(tt.want)
	}
	// WSDATAFMT survives AT+WSCLOSE.
	h.Cmd("AT+WSCLOSE=0", "\r\nOK\r\n")
	h.Cmd(fmt.Sprintf("AT+WSOPEN=0,%q", srv.URL), "+WS_CONNECTED:0\r\n\r\nOK\r\n")
	push(ws.OpBinary, true, "zz")
	h.Expect("+WS_DATA:0,2,zz")
}

// TestEmuWSServerClose: a close frame from the server prints +WS_CLOSED,
// the emulator answers with its own close frame, and the link is freed with
// no reconnect.
func TestEmuWSServerClose(t *testing.T) {
	frames := rig.NewFrameLog()
	srv := rig.NewRawWSServer(t, func(c *rig.RawConn) {
		_ = c.WriteFrame(ws.OpClose, true, []byte{0x03, 0xE8, 'b', 'y', 'e'})
		if f, err := c.ReadFrame(); err == nil {
			frames.Add(f)
		}
	})
	h := startEmu(t, &Options{ReconnectInterval: 10 * time.Millisecond})
	joinWiFi(h)
	h.Send(fmt.Sprintf("AT+WSOPEN=0,%q\r\n", srv.URL))
	h.Expect(fmt.Sprintf("AT+WSOPEN=0,%q\r\n+WS_CONNECTED:0\r\n", srv.URL))
	h.ExpectAnyOrder("\r\nOK\r\n", "+WS_CLOSED:0\r\n")
	f := frames.Wait(t, 1)[0]
	if f.Header.Opcode != ws.OpClose || !f.Header.Fin || len(f.Payload) != 0 {
		t.Fatalf("close reply = %v %q", f.Header, f.Payload)
	}
	h.ExpectQuiet(200 * time.Millisecond) // no reconnect
	h.Cmd("AT+WSOPEN?", "\r\nOK\r\n")
}

// TestEmuWSReconnect: the server drops the TCP connection: +WS_DISCONNECTED,
// then a reconnect every interval with +WS_DISCONNECTED per failed attempt
// and +WS_CONNECTED when the server is back.
func TestEmuWSReconnect(t *testing.T) {
	drop := make(chan struct{})
	var conns atomic.Int32
	srv := rig.NewRawWSServer(t, func(c *rig.RawConn) {
		if conns.Add(1) == 1 {
			<-drop // the first connection is dropped on cue
			return
		}
		for {
			if _, err := c.ReadFrame(); err != nil {
				return
			}
		}
	})
	h := startEmu(t, &Options{ReconnectInterval: 50 * time.Millisecond})
	joinWiFi(h)
	h.Cmd(fmt.Sprintf("AT+WSOPEN=0,%q", srv.URL), "+WS_CONNECTED:0\r\n\r\nOK\r\n")
	close(drop)
	h.Expect("+WS_DISCONNECTED:0\r\n")
	h.Expect("+WS_CONNECTED:0\r\n") // the server still listens
	h.Cmd("AT+WSOPEN?", fmt.Sprintf("+WSOPEN:0,2,%q\r\n\r\nOK\r\n", srv.URL))
	srv.Close() // now it is gone for good
	h.Expect("+WS_DISCONNECTED:0\r\n")
	// A send while reconnecting: prompt, then ERROR (never SEND FAIL).
	h.Send("AT+WSSEND=0,4\r\n")
	h.ExpectIgnoring("AT+WSSEND=0,4\r\n\r\nOK\r\n\r\n>", "+WS_DISCONNECTED:0\r\n")
	h.Send("ping")
	h.ExpectIgnoring("\r\nERROR\r\n", "+WS_DISCONNECTED:0\r\n")
	h.Expect("+WS_DISCONNECTED:0\r\n")
	h.Expect("+WS_DISCONNECTED:0\r\n")
	h.Send("AT+WSOPEN?\r\n")
	got, _ := h.WaitLen(60, rig.Timeout)
	if !bytes.Contains(got, []byte(fmt.Sprintf("+WSOPEN:0,3,%q\r\n", srv.URL))) && !bytes.Contains(got, []byte(fmt.Sprintf("+WSOPEN:0,1,%q\r\n", srv.URL))) {
		t.Fatalf("AT+WSOPEN? while reconnecting gave %q", got)
	}
	h.Consume(len(got))
	h.Send("AT+WSCLOSE=0\r\n")
	h.ExpectIgnoring("AT+WSCLOSE=0\r\n\r\nOK\r\n", "+WS_DISCONNECTED:0\r\n")
	h.ExpectQuiet(150 * time.Millisecond) // no more attempts, no URC
}

// TestEmuWSPing: the emulator pings after ping_intv_sec of silence, answers
// the server's pings with the same payload silently, and drops the link
// when no PONG comes within ping_timeout_sec.
func TestEmuWSPing(t *testing.T) {
	frames := rig.NewFrameLog()
	srv := rig.NewRawWSServer(t, func(c *rig.RawConn) {
		_ = c.WriteFrame(ws.OpPing, true, []byte("hello?"))
		for {
			f, err := c.ReadFrame()
			if err != nil {
				return
			}
			frames.Add(f) // never answers the emulator's pings
		}
	})
	h := startEmu(t, &Options{ReconnectInterval: time.Hour})
	joinWiFi(h)
	h.Cmd("AT+WSCFG=0,1,1", "\r\nOK\r\n")
	h.Cmd(fmt.Sprintf("AT+WSOPEN=0,%q", srv.URL), "+WS_CONNECTED:0\r\n\r\nOK\r\n")
	fs := frames.Wait(t, 2)
	if fs[0].Header.Opcode != ws.OpPong || string(fs[0].Payload) != "hello?" {
		t.Fatalf("first frame = %v %q, want the pong", fs[0].Header, fs[0].Payload)
	}
	if fs[1].Header.Opcode != ws.OpPing || len(fs[1].Payload) != 0 {
		t.Fatalf("second frame = %v %q, want an empty ping", fs[1].Header, fs[1].Payload)
	}
	h.Expect("+WS_DISCONNECTED:0\r\n") // pong timeout
	h.Cmd("AT+WSOPEN?", fmt.Sprintf("+WSOPEN:0,3,%q\r\n\r\nOK\r\n", srv.URL))
	h.Cmd("AT+WSCLOSE=0", "\r\nOK\r\n")
}

// TestEmuWSForcedRestart: AT+RST typed while a command is busy (an
// AT+WSOPEN to a server that never answers) restarts the board.
func TestEmuWSForcedRestart(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	rig.Must(t, err)
	defer ln.Close()
	h := startEmu(t, nil)
	joinWiFi(h)
	h.Send(fmt.Sprintf("AT+WSOPEN=0,\"ws://%s\"\r\n", ln.Addr()))
	h.Expect(fmt.Sprintf("AT+WSOPEN=0,\"ws://%s\"\r\n", ln.Addr()))
	h.Send("AT\r\n")
	h.Expect("\r\nbusy p...\r\n")
	h.Send("AT+RST\r\n")
	h.Expect("\r\nWill force to restart!!!\r\n\r\nOK\r\n\r\nready\r\nWIFI CONNECTED\r\nWIFI GOT IP\r\n")
	h.Cmd("AT+WSOPEN?", "\r\nOK\r\n")
}

// TestEmuWSOpenTimeout: AT+WSOPEN gives up after timeout_ms when the server
// never answers the handshake: ERROR, the link is freed, no URC.
func TestEmuWSOpenTimeout(t *testing.T) {
	addr := silentListener(t)
	h := startEmu(t, nil)
	h.Cmd(fmt.Sprintf("AT+WSOPEN=0,\"ws://%s\",,200", addr), "\r\nERROR\r\n")
	h.Cmd("AT+WSOPEN?", "\r\nOK\r\n")
	h.ExpectQuiet(100 * time.Millisecond)
}

// TestEmuWSSendZeroRelease: v5.0.1 has no zero-length case: AT+WSSEND=0,0
// prompts and waits for a byte, which is excess input (busy p...), then
// sends an empty frame.
func TestEmuWSSendZeroRelease(t *testing.T) {
	frames := rig.NewFrameLog()
	srv := rig.NewRawWSServer(t, func(c *rig.RawConn) {
		for {
			f, err := c.ReadFrame()
			if err != nil {
				return
			}
			frames.Add(f)
		}
	})
	h := startEmu(t, nil)
	h.Cmd(fmt.Sprintf("AT+WSOPEN=0,%q", srv.URL), "+WS_CONNECTED:0\r\n\r\nOK\r\n")
	h.Cmd("AT+WSSEND=0,0,9", "\r\nOK\r\n\r\n>")
	h.ExpectQuiet(50 * time.Millisecond)
	h.Send("x")
	h.Expect("\r\nbusy p...\r\n\r\nSEND OK\r\n")
	f := frames.Wait(t, 1)[0]
	if f.Header.Opcode != ws.OpPing || !f.Header.Fin || len(f.Payload) != 0 {
		t.Fatalf("frame %v %q, want an empty ping", f.Header, f.Payload)
	}
}

// TestEmuExternalHostApp drives the emulator from a separate program, a
// Python host app using only termios, through the pty link exactly as a
// product's code would open /dev/ttyUSB0.
func TestEmuExternalHostApp(t *testing.T) {
	py := "/usr/bin/python3"
	if _, err := os.Stat(py); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required on CI", py)
		}
		t.Skipf("%s not available", py)
	}
	srv := rig.NewWSEchoServer(t, nil)
	link := filepath.Join(t.TempDir(), "esp")
	ctx, cancel := context.WithCancel(context.Background())
	p, err := port.Open(ctx, "pty:"+link, nil)
	rig.Must(t, err)
	em := New(&Options{Log: rig.Logger(t)})
	served := make(chan error, 1)
	go func() { served <- em.Serve(ctx, p) }()
	defer func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
		p.Close()
	}()
	out, err := exec.Command(py, "testdata/emulate/host_app.py", link, srv.URL).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "all answers matched") {
		t.Fatalf("host app: %v\n%s", err, out)
	}
}

// TestEmuWSLargeMessage sends the largest message each firmware allows
// through the pty and gets it back from the echo server: in one +WS_DATA
// when buffer_size is as large, in buffer_size pieces otherwise.
func TestEmuWSLargeMessage(t *testing.T) {
	srv := rig.NewWSEchoServer(t, nil)
	for _, fw := range []Firmware{FirmwareRelease, FirmwareDev} {
		t.Run(fw.String(), func(t *testing.T) {
			h := startEmu(t, &Options{Firmware: fw})
			n := int(map[Firmware]int{FirmwareRelease: 8192, FirmwareDev: 16384}[fw])
			msg := make([]byte, n)
			for i := range msg {
				msg[i] = byte(i * 7)
			}
			h.Cmd(fmt.Sprintf("AT+WSCFG=0,30,60,%d", n), "\r\nOK\r\n")
			h.Cmd(fmt.Sprintf("AT+WSOPEN=0,%q", srv.URL), "+WS_CONNECTED:0\r\n\r\nOK\r\n")
			h.Cmd(fmt.Sprintf("AT+WSSEND=0,%d,2", n), "\r\nOK\r\n\r\n>")
			h.Send(string(msg))
			h.ExpectAnyOrder("\r\nSEND OK\r\n", fmt.Sprintf("+WS_DATA:0,%d,%s\r\n", n, msg))
			h.Cmd(fmt.Sprintf("AT+WSSEND=0,%d,2", n+1), "\r\nERROR\r\n")
			h.Cmd("AT+WSCLOSE=0", "\r\nOK\r\n")
			// Default buffer_size 1024: the echo comes back in 1024-byte pieces.
			h.Cmd(fmt.Sprintf("AT+WSOPEN=0,%q", srv.URL), "+WS_CONNECTED:0\r\n\r\nOK\r\n")
			h.Cmd(fmt.Sprintf("AT+WSSEND=0,%d,2", n), "\r\nOK\r\n\r\n>")
			h.Send(string(msg))
			// SEND OK may come before, between or after the pieces, which
			// must arrive whole and in order.
			var want strings.Builder
			for off := 0; off < n; off += 1024 {
				fmt.Fprintf(&want, "+WS_DATA:0,1024,%s\r\n", msg[off:off+1024])
			}
			if h.ExpectIgnoring(want.String(), "\r\nSEND OK\r\n") == 0 {
				h.Expect("\r\nSEND OK\r\n")
			}
			h.Cmd("AT+WSCLOSE=0", "\r\nOK\r\n")
		})
	}
}

// TestEmuWSThreeLinks: links 0..2 are independent: each has its own
// connection, data and state, and closing one leaves the others.
func TestEmuWSThreeLinks(t *testing.T) {
	srv := rig.NewWSEchoServer(t, nil)
	h := startEmu(t, nil)
	for id := 0; id < 3; id++ {
		h.Cmd(fmt.Sprintf("AT+WSOPEN=%d,%q", id, srv.URL), fmt.Sprintf("+WS_CONNECTED:%d\r\n\r\nOK\r\n", id))
	}
	for id := 0; id < 3; id++ {
		h.Cmd(fmt.Sprintf("AT+WSSEND=%d,2", id), "\r\nOK\r\n\r\n>")
		h.Send(fmt.Sprintf("L%d", id))
		h.ExpectAnyOrder("\r\nSEND OK\r\n", fmt.Sprintf("+WS_DATA:%d,2,L%d\r\n", id, id))
	}
	h.Cmd("AT+WSCLOSE=1", "\r\nOK\r\n")
	h.Cmd("AT+WSOPEN?", fmt.Sprintf("+WSOPEN:0,2,%q\r\n+WSOPEN:2,2,%q\r\n\r\nOK\r\n", srv.URL, srv.URL))
	h.Cmd("AT+WSSEND=2,1", "\r\nOK\r\n\r\n>")
	h.Send("z")
	h.ExpectAnyOrder("\r\nSEND OK\r\n", "+WS_DATA:2,1,z\r\n")
}

// TestEmuWSSServerAuthOnly: without auth_mode the board verifies nothing
// (any server certificate is accepted); with auth_mode 2 it verifies the
// chain against CA #0 but not the host name (the certificate names
// esp-server.invalid, the test dials 127.0.0.1).
func TestEmuWSSServerAuthOnly(t *testing.T) {
	pki := rig.NewPKI(t)
	cfg := pki.ServerTLS.Clone()
	cfg.ClientAuth = 0 // tls.NoClientCert
	srv := rig.NewWSEchoServer(t, cfg)
	h := startEmu(t, &Options{PKIDir: pki.Dir})
	h.Cmd(fmt.Sprintf("AT+WSOPEN=0,%q", srv.URL), "+WS_CONNECTED:0\r\n\r\nOK\r\n")
	h.Cmd("AT+WSCFG=1,30,60,1024,2,0,0", "\r\nOK\r\n")
	h.Cmd(fmt.Sprintf("AT+WSOPEN=1,%q", srv.URL), "+WS_CONNECTED:1\r\n\r\nOK\r\n")
	h.Cmd("AT+WSSEND=1,3", "\r\nOK\r\n\r\n>")
	h.Send("tls")
	h.ExpectAnyOrder("\r\nSEND OK\r\n", "+WS_DATA:1,3,tls\r\n")
	h.Cmd("AT+WSCFG=2,30,60,1024,2,0,1", "\r\nOK\r\n") // the unrelated root
	h.Cmd(fmt.Sprintf("AT+WSOPEN=2,%q", srv.URL), "+WS_DISCONNECTED:2\r\n\r\nERROR\r\n")
}
