package port

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/atbridge/atbridge/capture"
)

// tcpPort is a device behind a serial server in raw TCP mode (ser2net
// "raw", esp-link's port 23): bytes in, bytes out. SetLine only remembers
// the settings; configure the server's line to match, or run the server in
// RFC 2217 mode and use rfc2217:// (rfc2217_client.go).
type tcpPort struct {
	name     string
	conn     net.Conn
	readOnly bool

	portLine // Line, and SetLine's bookkeeping

	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error
}

var _ Port = (*tcpPort)(nil)

// openTCP implements Open for "tcp:HOST:PORT".
func openTCP(ctx context.Context, spec, addr string, o Options) (Port, error) {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return nil, permanentError{fmt.Errorf("open %s: want tcp:HOST:PORT: %w", spec, err)}
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		if errors.Is(err, syscall.ECONNREFUSED) {
			return nil, fmt.Errorf("open %s: connection refused (is the serial server running and listening on %s?): %w", spec, addr, err)
		}
		return nil, fmt.Errorf("open %s: %w", spec, err)
	}
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetNoDelay(true) // AT traffic is small and latency-bound
	}
	return &tcpPort{name: spec, conn: c, readOnly: o.ReadOnly, portLine: portLine{line: o.Line}}, nil
}

// Name returns the spec as the user wrote it.
func (p *tcpPort) Name() string { return p.name }

// SetLine remembers l; nothing is sent to the serial server.
func (p *tcpPort) SetLine(l capture.LineSettings) error {
	return p.portLine.set(p.name, l, nil)
}

// Read reads from the serial server. The server closing the connection is
// ErrLost; Close unblocks a Read with ErrClosed.
func (p *tcpPort) Read(b []byte) (int, error) {
	n, err := p.conn.Read(b)
	if err != nil {
		return n, p.ioError("read", err)
	}
	return n, nil
}

// Write sends b to the serial server (ErrReadOnly on a read-only port).
func (p *tcpPort) Write(b []byte) (int, error) {
	if p.readOnly {
		return 0, fmt.Errorf("write %s: %w", p.name, ErrReadOnly)
	}
	n, err := p.conn.Write(b)
	if err != nil {
		return n, p.ioError("write", err)
	}
	return n, nil
}

func (p *tcpPort) ioError(op string, err error) error {
	return netError(op, p.name, "the serial server", p.closed.Load(), err)
}

// netError wraps an error of a port over TCP: ErrClosed after Close, ErrLost
// when server (the other end, as the user knows it) closed the connection.
func netError(op, name, server string, closed bool, err error) error {
	switch {
	case closed || errors.Is(err, net.ErrClosed):
		return fmt.Errorf("%s %s: %w", op, name, ErrClosed)
	case errors.Is(err, io.EOF), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return fmt.Errorf("%s %s: %w (%s closed the connection): %w", op, name, ErrLost, server, err)
	}
	return fmt.Errorf("%s %s: %w", op, name, err)
}

// Close closes the connection, unblocking Read and Write. It is idempotent.
func (p *tcpPort) Close() error {
	p.closeOnce.Do(func() {
		p.closed.Store(true)
		if err := p.conn.Close(); err != nil {
			p.closeErr = fmt.Errorf("close %s: %w", p.name, err)
		}
	})
	return p.closeErr
}
