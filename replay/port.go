package replay

import (
	"context"
	"io"
	"time"
)

// The engines take an io.ReadWriter: a bridge/port Port (serial device, pty:,
// tcp:), one end of a net.Pipe, or anything alike. This package does not
// import bridge; cmd/atbridge opens the ports.

// readDeadliner is implemented by *os.File and net.Conn.
type readDeadliner interface {
	SetReadDeadline(time.Time) error
}

// writeDeadliner is implemented by *os.File and net.Conn.
type writeDeadliner interface {
	SetWriteDeadline(time.Time) error
}

// unblockWrites makes a Write blocked on port return once ctx ends: with
// SetWriteDeadline when port has it, else by closing port if it is an
// io.Closer. The returned func disarms it.
func unblockWrites(ctx context.Context, port io.Writer) func() bool {
	return context.AfterFunc(ctx, func() {
		if d, ok := port.(writeDeadliner); ok {
			_ = d.SetWriteDeadline(time.Now())
		} else if c, ok := port.(io.Closer); ok {
			_ = c.Close()
		}
	})
}

// chunk is one Read's bytes, or the error that ended reading.
type chunk struct {
	b   []byte
	err error
}

// reader reads port into a channel until a read fails.
type reader struct {
	port io.Reader
	c    chan chunk
	done chan struct{}
}

func startReader(port io.Reader) *reader {
	r := &reader{port: port, c: make(chan chunk, 64), done: make(chan struct{})}
	go r.run()
	return r
}

func (r *reader) run() {
	defer close(r.done)
	buf := make([]byte, 32<<10)
	for {
		n, err := r.port.Read(buf)
		if n > 0 {
			r.c <- chunk{b: append([]byte(nil), buf[:n]...)}
		}
		if err != nil {
			r.c <- chunk{err: err}
			return
		}
	}
}

// stop unblocks the pending Read (SetReadDeadline when the port has it,
// else Close when it is an io.Closer), waits for the goroutine and returns
// the bytes it had read and not yet delivered. It drains the channel so the
// goroutine never blocks on a send.
func (r *reader) stop() []byte {
	var left []byte
	if d, ok := r.port.(readDeadliner); ok {
		_ = d.SetReadDeadline(time.Now())
	} else if c, ok := r.port.(io.Closer); ok {
		_ = c.Close()
	}
	for {
		select {
		case c := <-r.c:
			left = append(left, c.b...)
		case <-r.done:
			for {
				select {
				case c := <-r.c:
					left = append(left, c.b...)
				default:
					if d, ok := r.port.(readDeadliner); ok {
						_ = d.SetReadDeadline(time.Time{})
					}
					return left
				}
			}
		}
	}
}
