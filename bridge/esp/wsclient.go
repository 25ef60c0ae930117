package esp

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/atbridge/atbridge/formats"
	"github.com/atbridge/atbridge/formats/ws"
)

// This file is the emulator's WebSocket client. It does the RFC 6455
// handshake and speaks frames itself over net.Conn or tls.Conn, because the
// ESP32's behaviour is defined frame by frame (see Emulator). It sends the
// request headers esp_transport_ws sends.

// wsDial says where and how to connect.
type wsDial struct {
	u           *url.URL
	subprotocol string
	auth        string   // Authorization header value; empty for none
	headers     []string // "Key: value" lines from AT+WSHEAD, in order
	tls         *tls.Config
}

// wsConn is an open client connection. Writes are serialised by wmu; reads
// happen on one goroutine only.
type wsConn struct {
	c   net.Conn
	br  *bufio.Reader
	wmu sync.Mutex
	wb  []byte
	// onFrame, when set, sees every frame written or fully read (payload
	// unmasked).
	onFrame func(dir formats.Dir, h ws.Header, payload []byte)
}

var errHandshake = errors.New("websocket handshake failed")

// dialWS connects, does TLS for wss:// and the WebSocket upgrade.
func dialWS(ctx context.Context, d *wsDial) (*wsConn, error) {
	host := d.u.Host
	if d.u.Port() == "" {
		if d.u.Scheme == "wss" {
			host = net.JoinHostPort(d.u.Hostname(), "443")
		} else {
			host = net.JoinHostPort(d.u.Hostname(), "80")
		}
	}
	var nd net.Dialer
	raw, err := nd.DialContext(ctx, "tcp", host)
	if err != nil {
		return nil, err
	}
	conn := raw
	stop := context.AfterFunc(ctx, func() { _ = raw.SetDeadline(time.Now()) })
	defer stop()
	if d.u.Scheme == "wss" {
		cfg := d.tls.Clone()
		if cfg.ServerName == "" {
			cfg.ServerName = d.u.Hostname()
		}
		tc := tls.Client(raw, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			raw.Close()
			return nil, fmt.Errorf("tls: %w", err)
		}
		conn = tc
	}
	key := make([]byte, 16)
	_, _ = rand.Read(key)
	k64 := base64.StdEncoding.EncodeToString(key)
	path := d.u.RequestURI()
	var b strings.Builder
	// esp_transport_ws always names the port in Host.
	fmt.Fprintf(&b, "GET %s HTTP/1.1\r\nConnection: Upgrade\r\nHost: %s\r\nUser-Agent: ESP32 Websocket Client\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: %s\r\n", path, host, k64)
	if d.subprotocol != "" {
		fmt.Fprintf(&b, "Sec-WebSocket-Protocol: %s\r\n", d.subprotocol)
	}
	// The <"auth"> field of AT+WSOPEN; without it, user:pass@ in the URI
	// becomes Basic authentication, as esp_websocket_client does with a
	// URI's user info. Choice: the auth field wins when both are given.
	auth := d.auth
	if auth == "" && d.u.User != nil {
		pw, _ := d.u.User.Password()
		auth = "Basic " + base64.StdEncoding.EncodeToString([]byte(d.u.User.Username()+":"+pw))
	}
	if auth != "" {
		fmt.Fprintf(&b, "Authorization: %s\r\n", auth)
	}
	for _, h := range d.headers {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("\r\n")
	if _, err := io.WriteString(conn, b.String()); err != nil {
		conn.Close()
		return nil, err
	}
	br := bufio.NewReaderSize(conn, 4096)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("%w: reading the response: %v", errHandshake, err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		conn.Close()
		return nil, fmt.Errorf("%w: status %s", errHandshake, resp.Status)
	}
	sum := sha1.Sum([]byte(k64 + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	if resp.Header.Get("Sec-WebSocket-Accept") != base64.StdEncoding.EncodeToString(sum[:]) {
		conn.Close()
		return nil, fmt.Errorf("%w: bad Sec-WebSocket-Accept", errHandshake)
	}
	return &wsConn{c: conn, br: br}, nil
}

// writeFrame sends one masked frame, as a client must. A zero timeout means
// no deadline.
func (w *wsConn) writeFrame(op uint8, fin bool, payload []byte, timeout time.Duration) error {
	w.wmu.Lock()
	defer w.wmu.Unlock()
	h := ws.Header{Fin: fin, Opcode: op, Masked: true, Length: uint64(len(payload))}
	_, _ = rand.Read(h.MaskKey[:])
	w.wb = ws.AppendHeader(w.wb[:0], h)
	n := len(w.wb)
	w.wb = append(w.wb, payload...)
	ws.Mask(h.MaskKey, 0, w.wb[n:])
	if timeout > 0 {
		_ = w.c.SetWriteDeadline(time.Now().Add(timeout))
		defer w.c.SetWriteDeadline(time.Time{})
	}
	// Recorded as handed to the connection, before the write: a reply can
	// then never be recorded ahead of the frame that caused it.
	if w.onFrame != nil {
		w.onFrame(formats.ToServer, h, payload)
	}
	_, err := w.c.Write(w.wb)
	return err
}

// readHeader reads the next frame header.
func (w *wsConn) readHeader() (ws.Header, error) {
	var buf [14]byte
	n := 0
	need := 2
	for {
		if _, err := io.ReadFull(w.br, buf[n:need]); err != nil {
			return ws.Header{}, err
		}
		n = need
		h, _, err := ws.ParseHeader(buf[:n])
		if err == nil {
			return h, nil
		}
		if err != ws.ErrShort {
			return h, err
		}
		// Work out how long the header is from what is known.
		need = 2
		switch buf[1] & 0x7F {
		case 126:
			need += 2
		case 127:
			need += 8
		}
		if buf[1]&0x80 != 0 {
			need += 4
		}
	}
}

// readFull reads exactly len(p) payload bytes.
func (w *wsConn) readFull(p []byte) error {
	_, err := io.ReadFull(w.br, p)
	return err
}

// Close drops the TCP connection without a closing handshake, as
// esp_websocket_client_stop does.
func (w *wsConn) Close() error { return w.c.Close() }
