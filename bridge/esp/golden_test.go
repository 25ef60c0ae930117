package esp

import (
	"net"
	"sync"
	"testing"
	"time"

	"github.com/atbridge/atbridge/formats/ws"
	"github.com/atbridge/atbridge/internal/rig"
)

// The shared golden sessions (../../testdata/sessions) replayed against the
// emulator, with their server addresses mapped to test servers that behave
// as each scenario needs. Sessions whose server pushes frames at set times
// (ws-data, wsdatafmt, reconnect) or that show boot noise are not replayed
// here; the package's own tests cover that behaviour.

// goldenGMR is the AT+GMR answer the goldens were written with; replays put
// the emulator's own in its place.
const goldenGMR = "AT version:2.2.0.0-dev(ca41ec4 - ESP32 - Sep 16 2020 11:28:17)\r\nSDK version:v4.0.1-193-ge7ac221b4\r\ncompile time(98b95fc):Oct 29 2020 11:23:25\r\nBin version:2.1.0(MINI-1)\r\n"

const emuGMR = "AT version:5.0.1.0(3258eee - ESP32 - Mar  9 2026 12:00:00)\r\nSDK version:atbridge emulator\r\ncompile time(atbridge):Jan  1 2026 00:00:00\r\nBin version:release(atbridge emulate)\r\n"

// frameEcho is a raw handler that sends every frame back as it came,
// close frames included (then it stops).
func frameEcho(c *rig.RawConn) {
	for {
		f, err := c.ReadFrame()
		if err != nil {
			return
		}
		if f.Header.Opcode == ws.OpPing {
			_ = c.WriteFrame(ws.OpPong, true, f.Payload)
			continue
		}
		if c.WriteFrame(f.Header.Opcode, f.Header.Fin, f.Payload) != nil || f.Header.Opcode == ws.OpClose {
			return
		}
	}
}

// silentListener accepts TCP connections and never answers them.
func silentListener(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	rig.Must(t, err)
	var mu sync.Mutex
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	return ln.Addr().String()
}

// closedAddr is a loopback address nobody listens on.
func closedAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	rig.Must(t, err)
	a := ln.Addr().String()
	ln.Close()
	return a
}

func TestEmuGoldenSessions(t *testing.T) {
	const a8765, a8766, a8767, a250 = "192.168.200.249:8765", "192.168.200.249:8766", "192.168.200.249:8767", "192.168.200.250:8765"
	t.Run("errors", func(t *testing.T) {
		srv := rig.NewRawWSServer(t, frameEcho)
		runSession(t, "../../testdata/sessions/errors.session", map[string]string{a8765: hostPort(srv.URL), a250: closedAddr(t)}, nil)
	})
	t.Run("config", func(t *testing.T) {
		srv := rig.NewWSEchoServer(t, nil)
		runSession(t, "../../testdata/sessions/config.session", map[string]string{a8765: hostPort(srv.URL), goldenGMR: emuGMR}, nil)
		if h := srv.LastHeader(); h.Get("Authorization") != "Basic dXNlcjpwYXNz" || h.Get("Sec-WebSocket-Protocol") != "chat" {
			t.Errorf("server saw %v", h)
		}
	})
	t.Run("ate0", func(t *testing.T) {
		srv := rig.NewRawWSServer(t, frameEcho)
		runSession(t, "../../testdata/sessions/ate0.session", map[string]string{a8765: hostPort(srv.URL), goldenGMR: emuGMR}, nil)
	})
	t.Run("busy", func(t *testing.T) {
		// The handshake waits so that the "AT" typed during AT+WSOPEN finds
		// the command busy; link 1's server never answers, so AT+RST typed
		// during that AT+WSOPEN forces a restart.
		srv := rig.NewRawWSServer(t, frameEcho)
		srv.HandshakeDelay.Store(int64(300 * time.Millisecond))
		runSession(t, "../../testdata/sessions/busy.session", map[string]string{a8765: hostPort(srv.URL), a8767: silentListener(t)}, nil)
	})
	t.Run("server-close", func(t *testing.T) {
		var n sync.Mutex
		first := true
		srv := rig.NewRawWSServer(t, func(c *rig.RawConn) {
			n.Lock()
			f := first
			first = false
			n.Unlock()
			if f {
				time.Sleep(50 * time.Millisecond) // after the OK of AT+WSOPEN
				_ = c.WriteFrame(ws.OpText, true, []byte("bye"))
				_ = c.WriteFrame(ws.OpClose, true, []byte{0x03, 0xE8})
				_, _ = c.ReadFrame() // the emulator's close reply
				return
			}
			frameEcho(c)
		})
		runSession(t, "../../testdata/sessions/server-close.session", map[string]string{a8765: hostPort(srv.URL), a8766: "unused"}, nil)
	})
}
