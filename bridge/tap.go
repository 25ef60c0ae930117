package bridge

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/formats"
	"github.com/atbridge/atbridge/formats/ws"
)

// TapConfig is one WebSocket tap: atbridge listens where the ESP32 is told
// to connect, dials the real server for each connection, forwards the TCP
// byte stream unchanged both ways and records every frame it sees.
type TapConfig struct {
	// Listen is "HOST:PORT" or just "PORT"; a missing host means 127.0.0.1
	// (a tap binds to loopback unless told otherwise, e.g. "0.0.0.0:8765").
	Listen string
	// Upstream is the real server: ws://HOST[:PORT][/PATH] or wss://...
	// The path is informative: the client's request goes through unchanged.
	Upstream string
	// ServerTLS, when set, terminates TLS from the client (the ESP32) with
	// its certificates. Required for a wss:// upstream.
	ServerTLS *tls.Config
	// ClientTLS configures TLS to a wss:// upstream (RootCAs for the
	// server's CA, Certificates for a client certificate). Nil means the
	// system roots and no client certificate. ServerName defaults to the
	// upstream's host.
	ClientTLS *tls.Config
	// MaxPayload bounds the payload recorded per frame (Frame.Length keeps
	// the real length); zero means 1 MiB.
	MaxPayload int
	// DialTimeout bounds connecting to the upstream; zero means 10 s.
	DialTimeout time.Duration
}

// ParseTapSpec splits "LISTEN=UPSTREAM" as --ws-tap takes it, e.g.
// "127.0.0.1:8765=ws://10.0.0.5:8765" or "8443=wss://example.com/ws".
func ParseTapSpec(s string) (TapConfig, error) {
	listen, up, ok := strings.Cut(s, "=")
	if !ok || listen == "" || up == "" {
		return TapConfig{}, fmt.Errorf("ws tap %q: want LISTEN=UPSTREAM, e.g. 127.0.0.1:8765=ws://10.0.0.5:8765", s)
	}
	if _, _, err := upstreamAddr(up); err != nil {
		return TapConfig{}, fmt.Errorf("ws tap %q: %w", s, err)
	}
	return TapConfig{Listen: listen, Upstream: up}, nil
}

// upstreamAddr returns the dial address of a ws:// or wss:// URL.
func upstreamAddr(raw string) (addr string, secure bool, err error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", false, fmt.Errorf("upstream %q: %w", raw, err)
	}
	port := "80"
	switch u.Scheme {
	case "ws":
	case "wss":
		secure, port = true, "443"
	default:
		return "", false, fmt.Errorf("upstream %q: want a ws:// or wss:// URL", raw)
	}
	if u.Hostname() == "" {
		return "", false, fmt.Errorf("upstream %q: no host", raw)
	}
	if u.Port() != "" {
		port = u.Port()
	}
	return net.JoinHostPort(u.Hostname(), port), secure, nil
}

// listenAddr applies the loopback default to a tap's Listen.
func listenAddr(s string) string {
	if !strings.Contains(s, ":") {
		return net.JoinHostPort("127.0.0.1", s)
	}
	host, port, err := net.SplitHostPort(s)
	if err == nil && host == "" {
		return net.JoinHostPort("127.0.0.1", port)
	}
	return s
}

// tapListener accepts the connections of one tap.
type tapListener struct {
	px     *Proxy
	cfg    TapConfig
	addr   string
	secure bool
	ln     net.Listener

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	once  sync.Once
}

func listenTap(ctx context.Context, px *Proxy, cfg TapConfig) (*tapListener, error) {
	addr, secure, err := upstreamAddr(cfg.Upstream)
	if err != nil {
		return nil, fmt.Errorf("ws tap: %w", err)
	}
	if secure && cfg.ServerTLS == nil {
		return nil, fmt.Errorf("ws tap %s: a wss:// upstream needs a certificate and key to present to the client (--ws-tap-cert, --ws-tap-key)", cfg.Upstream)
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = 10 * time.Second
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", listenAddr(cfg.Listen))
	if err != nil {
		return nil, fmt.Errorf("ws tap: listen: %w", err)
	}
	return &tapListener{px: px, cfg: cfg, addr: addr, secure: secure, ln: ln, conns: map[net.Conn]struct{}{}}, nil
}

// serve accepts until ctx ends, then closes every connection and waits for
// their goroutines.
func (t *tapListener) serve(ctx context.Context) {
	var wg sync.WaitGroup
	stop := context.AfterFunc(ctx, t.close)
	defer stop()
	for {
		c, err := t.ln.Accept()
		if err != nil {
			break
		}
		if !t.track(c, true) {
			c.Close()
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer t.track(c, false)
			t.handle(ctx, c)
		}()
	}
	t.close()
	wg.Wait()
}

// track adds or removes a live connection; it refuses new ones after close.
func (t *tapListener) track(c net.Conn, add bool) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !add {
		delete(t.conns, c)
		return true
	}
	if t.conns == nil {
		return false
	}
	t.conns[c] = struct{}{}
	return true
}

// close stops accepting and closes every connection; idempotent.
func (t *tapListener) close() {
	t.once.Do(func() {
		t.ln.Close()
		t.mu.Lock()
		for c := range t.conns {
			c.Close()
		}
		t.conns = nil
		t.mu.Unlock()
	})
}

// tapConn is one tapped connection and what has been seen of it.
type tapConn struct {
	t    *tapListener
	link uint8

	mu        sync.Mutex
	connected bool
	closeSeen bool
	code      uint16
	reason    string
	target    string
}

// handle dials the upstream for client c and runs the two copiers.
func (t *tapListener) handle(ctx context.Context, c net.Conn) {
	px := t.px
	tc := &tapConn{t: t, link: uint8(px.links.Add(1) - 1)}
	d := net.Dialer{Timeout: t.cfg.DialTimeout}
	up, err := d.DialContext(ctx, "tcp", t.addr)
	if err == nil && t.secure {
		cfg := &tls.Config{}
		if t.cfg.ClientTLS != nil {
			cfg = t.cfg.ClientTLS.Clone()
		}
		if cfg.ServerName == "" {
			cfg.ServerName, _, _ = net.SplitHostPort(t.addr)
		}
		up = tls.Client(up, cfg)
	}
	if err != nil {
		px.q.event(px.q.now(), 0, formats.DirNone, capture.Event{Type: capture.EvNote, Link: tc.link,
			Text: fmt.Sprintf("ws tap link %d: cannot reach %s: %v", tc.link, t.cfg.Upstream, err)})
		c.Close()
		return
	}
	if !t.track(up, true) {
		up.Close()
		c.Close()
		return
	}
	defer t.track(up, false)
	if t.cfg.ServerTLS != nil {
		c = tls.Server(c, t.cfg.ServerTLS)
		t.track(c, true) // closing the TLS layer closes the TCP one too
		defer t.track(c, false)
	}
	done := make(chan struct{}, 2)
	go func() { tc.copyToServer(up, c); done <- struct{}{} }()
	go func() { tc.copyToClient(c, up); done <- struct{}{} }()
	<-done
	<-done
	c.Close()
	up.Close()
	tc.ended()
}

// copyToServer forwards the client's bytes to the upstream.
func (tc *tapConn) copyToServer(dst io.Writer, src io.Reader) {
	tc.copy(dst, src, ws.NewStream(true, tc.t.cfg.MaxPayload), formats.ToServer)
}

// copyToClient forwards the upstream's bytes to the client.
func (tc *tapConn) copyToClient(dst io.Writer, src io.Reader) {
	tc.copy(dst, src, ws.NewStream(false, tc.t.cfg.MaxPayload), formats.ToClient)
}

// closeWriter is a connection that can half-close (TCP, TLS).
type closeWriter interface{ CloseWrite() error }

// copy forwards src to dst unchanged and records the frames it sees; a
// parse failure stops the parsing (noted in the capture), never the
// forwarding.
func (tc *tapConn) copy(dst io.Writer, src io.Reader, stream *ws.Stream, dir formats.Dir) {
	px := tc.t.px
	buf := make([]byte, 32<<10)
	parsing := true
	for {
		n, rerr := src.Read(buf)
		if n > 0 {
			// Record before forwarding, so that the peer's answer can never
			// be recorded ahead of what it answers. The parser only reads
			// buf and returns errors, never panics (fuzzed), so this cannot
			// disturb the bytes in flight.
			now := px.q.now()
			if parsing {
				items, perr := stream.Feed(buf[:n])
				for i := range items {
					tc.item(now, dir, &items[i])
				}
				if perr != nil {
					parsing = false
					if !errors.Is(perr, ws.ErrNotUpgraded) {
						px.q.event(now, 0, dir, capture.Event{Type: capture.EvNote, Link: tc.link,
							Text: fmt.Sprintf("ws tap link %d: stopped parsing %s (forwarding goes on): %v", tc.link, dir, perr)})
					}
				}
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				break
			}
		}
		if rerr != nil {
			break
		}
	}
	if cw, ok := dst.(closeWriter); ok {
		_ = cw.CloseWrite()
	} else if c, ok := dst.(io.Closer); ok {
		_ = c.Close()
	}
}

// item records what the parser found.
func (tc *tapConn) item(t int64, dir formats.Dir, it *ws.Item) {
	px := tc.t.px
	switch it.Kind {
	case ws.ItemHTTP:
		tc.mu.Lock()
		if it.Target != "" {
			tc.target = it.Target
		}
		up := tc.upstreamURL()
		ok := it.Status == 101 && !tc.connected
		if ok {
			tc.connected = true
		}
		tc.mu.Unlock()
		if ok {
			px.q.event(t, 0, formats.DirNone, capture.Event{Type: capture.EvWSConnected, Link: tc.link, Text: up})
		} else if it.Status != 0 && it.Status != 101 {
			px.q.event(t, 0, dir, capture.Event{Type: capture.EvNote, Link: tc.link,
				Text: fmt.Sprintf("ws tap link %d: upgrade refused with HTTP %d", tc.link, it.Status)})
		}
	case ws.ItemFrame:
		h := it.Header
		if h.Opcode == ws.OpClose {
			if code, reason, ok := ws.ParseClose(it.Payload); ok {
				tc.mu.Lock()
				if !tc.closeSeen {
					tc.closeSeen, tc.code, tc.reason = true, code, reason
				}
				tc.mu.Unlock()
			}
		}
		px.q.push(capture.Record{Kind: capture.KindFrame, Time: t, Dir: dir, Data: it.Payload, Frame: capture.Frame{
			Link: tc.link, Opcode: h.Opcode, Fin: h.Fin, Rsv: h.Rsv, Masked: h.Masked, MaskKey: h.MaskKey, Length: h.Length,
		}}, false)
	}
}

// upstreamURL is the upstream with the client's request target; tc.mu held.
func (tc *tapConn) upstreamURL() string {
	u, err := url.Parse(tc.t.cfg.Upstream)
	if err != nil || tc.target == "" {
		return tc.t.cfg.Upstream
	}
	if t, err := url.ParseRequestURI(tc.target); err == nil {
		u.Path, u.RawQuery = t.Path, t.RawQuery
	}
	return u.String()
}

// ended records the end of a connection that was upgraded.
func (tc *tapConn) ended() {
	tc.mu.Lock()
	connected, code, reason, seen := tc.connected, tc.code, tc.reason, tc.closeSeen
	tc.mu.Unlock()
	if !connected {
		return
	}
	if !seen {
		reason = "connection ended without a close frame"
	}
	px := tc.t.px
	px.q.event(px.q.now(), 0, formats.DirNone, capture.Event{Type: capture.EvWSClosed, Link: tc.link, Code: code, Text: reason})
}
