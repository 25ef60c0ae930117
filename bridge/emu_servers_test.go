package bridge

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

// coderEchoServer is a WebSocket echo server on coder/websocket: every
// message comes back with its type. It remembers each handshake's headers.
type coderEchoServer struct {
	URL string
	srv *httptest.Server

	mu      sync.Mutex
	headers []http.Header
}

func newCoderEchoServer(t testing.TB, tlsCfg *tls.Config) *coderEchoServer {
	s := &coderEchoServer{}
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
			if err := c.Write(ctx, typ, data); err != nil {
				return
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

func (s *coderEchoServer) lastHeader() http.Header {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.headers) == 0 {
		return nil
	}
	return s.headers[len(s.headers)-1]
}

// pythonEchoServer starts testdata/ws_echo_server.py on Debian's
// python3-websockets. It skips when that is missing, unless CI=true.
func pythonEchoServer(t *testing.T, args ...string) string {
	t.Helper()
	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import websockets").Run(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("python3-websockets is required on CI: %v", err)
		}
		t.Skipf("python3-websockets not available: %v", err)
	}
	cmd := exec.Command(py, append([]string{"testdata/ws_echo_server.py"}, args...)...)
	out, err := cmd.StdoutPipe()
	must(t, err)
	cmd.Stderr = tLogWriter{t}
	must(t, cmd.Start())
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

// rawFrame is one frame as the raw server read it (payload unmasked).
type rawFrame struct {
	h       ws.Header
	payload []byte
}

// rawConn is the server side of one connection of a rawServer.
type rawConn struct {
	c  net.Conn
	br *bufio.Reader
	mu sync.Mutex
}

func (r *rawConn) readFrame() (rawFrame, error) {
	var b [14]byte
	if _, err := io.ReadFull(r.br, b[:2]); err != nil {
		return rawFrame{}, err
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
		return rawFrame{}, err
	}
	h, _, err := ws.ParseHeader(b[:n])
	if err != nil {
		return rawFrame{}, err
	}
	p := make([]byte, h.Length)
	if _, err := io.ReadFull(r.br, p); err != nil {
		return rawFrame{}, err
	}
	if h.Masked {
		ws.Mask(h.MaskKey, 0, p)
	}
	return rawFrame{h, p}, nil
}

func (r *rawConn) writeFrame(op uint8, fin bool, p []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	b := ws.AppendHeader(nil, ws.Header{Fin: fin, Opcode: op, Length: uint64(len(p))})
	_, err := r.c.Write(append(b, p...))
	return err
}

// connServer accepts TCP connections on 127.0.0.1, keeps them in accept
// order and runs a handler on each; Close (at the test's end) stops
// accepting, drops every connection and waits for the handlers.
type connServer struct {
	ln net.Listener
	wg sync.WaitGroup

	mu    sync.Mutex
	conns []net.Conn
}

func startConnServer(t testing.TB, network string, handle func(net.Conn)) *connServer {
	ln, err := net.Listen(network, "127.0.0.1:0")
	must(t, err)
	s := &connServer{ln: ln}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns = append(s.conns, c)
			s.mu.Unlock()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				handle(c)
			}()
		}
	}()
	t.Cleanup(s.Close)
	return s
}

// Close stops accepting, drops every connection and waits.
func (s *connServer) Close() {
	s.ln.Close()
	s.mu.Lock()
	for _, c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// rawServer is a frame-level WebSocket server for tests that must see or
// make exact frames: each accepted connection is handed to handle after
// the handshake; the connection closes when handle returns.
type rawServer struct {
	*connServer
	URL string
	// handshakeDelay (nanoseconds) holds every handshake back.
	handshakeDelay atomic.Int64
}

func newRawServer(t testing.TB, handle func(*rawConn)) *rawServer {
	s := &rawServer{}
	s.connServer = startConnServer(t, "tcp", func(c net.Conn) {
		defer c.Close()
		time.Sleep(time.Duration(s.handshakeDelay.Load()))
		rc, err := rawHandshake(c)
		if err != nil {
			return
		}
		handle(rc)
	})
	s.URL = "ws://" + s.ln.Addr().String()
	return s
}

func rawHandshake(c net.Conn) (*rawConn, error) {
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
	return &rawConn{c: c, br: br}, nil
}

// frameLog collects frames a raw handler saw, for assertions.
type frameLog struct {
	mu     sync.Mutex
	frames []rawFrame
	more   chan struct{}
}

func newFrameLog() *frameLog { return &frameLog{more: make(chan struct{}, 1024)} }

func (l *frameLog) add(f rawFrame) {
	l.mu.Lock()
	l.frames = append(l.frames, f)
	l.mu.Unlock()
	l.more <- struct{}{}
}

// wait returns once n frames were seen (or fails after expectTimeout).
func (l *frameLog) wait(t *testing.T, n int) []rawFrame {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), expectTimeout)
	defer cancel()
	for {
		l.mu.Lock()
		if len(l.frames) >= n {
			fs := append([]rawFrame(nil), l.frames...)
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
