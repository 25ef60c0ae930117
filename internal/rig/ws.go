package rig

import (
	"bufio"
	"context"
	"crypto/sha1"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/atbridge/atbridge/formats/ws"
)

// WSEchoServer is a WebSocket echo server on coder/websocket: every
// message comes back with its type. It remembers each handshake's headers.
type WSEchoServer struct {
	URL string
	// Delay (nanoseconds) holds every echo back from the message's
	// arrival, a known server time for latency tests; zero answers at once.
	Delay atomic.Int64
	srv   *httptest.Server

	mu      sync.Mutex
	headers []http.Header
	held    []time.Duration
}

// NewWSEchoServer starts one on 127.0.0.1, with TLS when tlsCfg is not
// nil, offering the subprotocol "chat"; the test's end stops it.
func NewWSEchoServer(t testing.TB, tlsCfg *tls.Config) *WSEchoServer {
	s := &WSEchoServer{}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.headers = append(s.headers, r.Header.Clone())
		s.mu.Unlock()
		c, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{"chat"}})
		if err != nil {
			return
		}
		defer c.CloseNow()
		c.SetReadLimit(1 << 22)
		ctx := r.Context()
		for {
			typ, data, err := c.Read(ctx)
			if err != nil {
				return
			}
			d, t0 := time.Duration(s.Delay.Load()), time.Now()
			time.Sleep(d)
			if err := c.Write(ctx, typ, data); err != nil {
				return
			}
			if d > 0 {
				s.mu.Lock()
				s.held = append(s.held, time.Since(t0)) // a sleep overshoots: what was really held
				s.mu.Unlock()
			}
		}
	})
	s.srv = httptest.NewUnstartedServer(h)
	s.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused TLS handshakes are expected
	if tlsCfg != nil {
		s.srv.TLS = tlsCfg
		s.srv.StartTLS()
		s.URL = "wss://" + s.srv.Listener.Addr().String()
	} else {
		s.srv.Start()
		s.URL = "ws://" + s.srv.Listener.Addr().String()
	}
	t.Cleanup(func() {
		s.srv.CloseClientConnections()
		s.srv.Close()
	})
	return s
}

// Held returns how long the server had each message under Delay, from
// reading it to having written its echo, in order: at least Delay, more
// by however late the sleep woke and the write took.
func (s *WSEchoServer) Held() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.held...)
}

// LastHeader returns the last handshake's request headers (nil before any).
func (s *WSEchoServer) LastHeader() http.Header {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.headers) == 0 {
		return nil
	}
	return s.headers[len(s.headers)-1]
}

// PythonWSEcho starts rig's testdata/ws_echo_server.py on Debian's
// python3-websockets. It skips when that is missing, unless CI=true.
func PythonWSEcho(t *testing.T, args ...string) string {
	t.Helper()
	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import websockets").Run(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("python3-websockets is required on CI: %v", err)
		}
		t.Skipf("python3-websockets not available: %v", err)
	}
	cmd := exec.Command(py, append([]string{Testdata("ws_echo_server.py")}, args...)...)
	out, err := cmd.StdoutPipe()
	Must(t, err)
	cmd.Stderr = LogWriter{t}
	Must(t, cmd.Start())
	done := make(chan struct{})
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
	})
	br := bufio.NewReader(out)
	line, err := br.ReadString('\n')
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		close(done)
		t.Fatalf("python server did not start: %v", err)
	}
	go func() {
		_, _ = io.Copy(io.Discard, br)
		_ = cmd.Wait()
		close(done)
	}()
	return strings.TrimSpace(line) // "ws://127.0.0.1:PORT" or wss://
}

// RawFrame is one frame as the raw server read it (payload unmasked).
type RawFrame struct {
	Header  ws.Header
	Payload []byte
}

// RawConn is the server side of one connection of a RawWSServer.
type RawConn struct {
	c  net.Conn
	br *bufio.Reader
	mu sync.Mutex
}

// ReadFrame reads the next frame and unmasks its payload.
func (r *RawConn) ReadFrame() (RawFrame, error) {
	var b [14]byte
	if _, err := io.ReadFull(r.br, b[:2]); err != nil {
		return RawFrame{}, err
	}
	n := 2
	switch b[1] & 0x7F {
	case 126:
		n += 2
	case 127:
		n += 8
	}
	if b[1]&0x80 != 0 {
		n += 4
	}
	if _, err := io.ReadFull(r.br, b[2:n]); err != nil {
		return RawFrame{}, err
	}
	h, _, err := ws.ParseHeader(b[:n])
	if err != nil {
		return RawFrame{}, err
	}
	p := make([]byte, h.Length)
	if _, err := io.ReadFull(r.br, p); err != nil {
		return RawFrame{}, err
	}
	if h.Masked {
		ws.Mask(h.MaskKey, 0, p)
	}
	return RawFrame{Header: h, Payload: p}, nil
}

// WriteFrame writes one unmasked frame; it is safe for concurrent use.
func (r *RawConn) WriteFrame(op uint8, fin bool, p []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	b := ws.AppendHeader(nil, ws.Header{Fin: fin, Opcode: op, Length: uint64(len(p))})
	_, err := r.c.Write(append(b, p...))
	return err
}

// RawWSServer is a frame-level WebSocket server for tests that must see or
// make exact frames: each accepted connection is handed to handle after
// the handshake; the connection closes when handle returns.
type RawWSServer struct {
	*ConnServer
	URL string
	// HandshakeDelay (nanoseconds) holds every handshake back.
	HandshakeDelay atomic.Int64
}

// NewRawWSServer starts one on 127.0.0.1; the test's end stops it.
func NewRawWSServer(t testing.TB, handle func(*RawConn)) *RawWSServer {
	s := &RawWSServer{}
	s.ConnServer = StartConnServer(t, "tcp", func(c net.Conn) {
		defer c.Close()
		time.Sleep(time.Duration(s.HandshakeDelay.Load()))
		rc, err := rawHandshake(c)
		if err != nil {
			return
		}
		handle(rc)
	})
	s.URL = "ws://" + s.ln.Addr().String()
	return s
}

func rawHandshake(c net.Conn) (*RawConn, error) {
	br := bufio.NewReader(c)
	req, err := http.ReadRequest(br)
	if err != nil {
		return nil, err
	}
	key := req.Header.Get("Sec-WebSocket-Key")
	if key == "" || !strings.EqualFold(req.Header.Get("Upgrade"), "websocket") {
		return nil, errors.New("not a websocket request")
	}
	sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	resp := fmt.Sprintf("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", base64.StdEncoding.EncodeToString(sum[:]))
	if _, err := io.WriteString(c, resp); err != nil {
		return nil, err
	}
	return &RawConn{c: c, br: br}, nil
}

// FrameLog collects frames a raw handler saw, for assertions.
type FrameLog struct {
	mu     sync.Mutex
	frames []RawFrame
	more   chan struct{}
}

// Len returns how many frames were seen so far.
func (l *FrameLog) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.frames)
}

// NewFrameLog returns an empty log.
func NewFrameLog() *FrameLog { return &FrameLog{more: make(chan struct{}, 1024)} }

// Add appends f; handlers call it from any goroutine.
func (l *FrameLog) Add(f RawFrame) {
	l.mu.Lock()
	l.frames = append(l.frames, f)
	l.mu.Unlock()
	l.more <- struct{}{}
}

// Wait returns once n frames were seen (or fails after Timeout).
func (l *FrameLog) Wait(t *testing.T, n int) []RawFrame {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	for {
		l.mu.Lock()
		if len(l.frames) >= n {
			fs := append([]RawFrame(nil), l.frames...)
			l.mu.Unlock()
			return fs
		}
		l.mu.Unlock()
		select {
		case <-l.more:
		case <-ctx.Done():
			t.Fatalf("saw %d frames, want %d", len(l.frames), n)
		}
	}
}

// ClosingWSServer is a coder/websocket server that echoes one message, pings
// the client, then closes with 1001 "bye".
func ClosingWSServer(t *testing.T) string {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		ctx := r.Context()
		typ, data, err := c.Read(ctx)
		if err != nil {
			return
		}
		if c.Write(ctx, typ, data) != nil {
			return
		}
		ctx = c.CloseRead(ctx)
		if c.Ping(ctx) != nil {
			return
		}
		_ = c.Close(websocket.StatusGoingAway, "bye")
	})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return "ws://" + srv.Listener.Addr().String()
}
