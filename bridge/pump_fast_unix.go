//go:build linux || darwin

package bridge

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"sync/atomic"
	"syscall"

	"github.com/atbridge/atbridge/bridge/port"
	"golang.org/x/sys/unix"
)

// The fast path: while both ports are descriptors (serial devices, pty:
// ports), one goroutine forwards both directions as socat does: poll(2) on
// both descriptors, read what is there, queue it for recording, write it
// on at once. Per message that is one thread wake-up and three system
// calls.
//
// Why not two pumps: each read through the runtime poller is an epoll
// wake-up, the netpoller readying the goroutine and often a futex wake of
// another thread to run it (measured in atbridge proxy's own process: 3.6
// to 3.9 context switches and about 4.5 system calls per forwarded
// message); and two goroutines each blocked in poll(2) hold both Ps with
// GOMAXPROCS=2, so the runtime's sysmon retakes and hands them off every
// 20 µs, waking threads for nothing. One goroutine in poll(2) leaves a P
// idle and the runtime alone. The ports' descriptors are not in the
// runtime's epoll set either (port.Descriptor), or every byte that arrives would
// wake the netpoller too.

// loopEnd is one port as the loop sees it.
type loopEnd struct {
	s    *side
	pt   port.Descriptor
	fd   int
	wake int
}

// loopDir is one direction of the loop.
type loopDir struct {
	from, to *loopEnd
	count    *atomic.Int64
	buf      []byte
	pending  []byte // read and recorded, not yet written
}

// loopExit says why the loop stopped: op ("read", "write") on end failed
// with err (fs.ErrClosed: its wake pipe fired).
type loopExit struct {
	end *loopEnd
	op  string
	err error
}

// pumpBoth runs the fast path while it can. It returns done with the
// pumps' result when forwarding is over (ctx ended, or a side failed for
// good); otherwise (not both port.Descriptors, a port lost or replaced)
// the two pumps must take over. A sniffer runs it too, reading only: one
// poll over both taps stamps each read as it returns, where two pumps each
// blocked in their own poll were stamped milliseconds late under load and
// put an answer before its command.
func (p *Proxy) pumpBoth(ctx context.Context) (done bool, err error) {
	hp, ok1 := p.host.current().(port.Descriptor)
	dp, ok2 := p.dev.current().(port.Descriptor)
	if !ok1 || !ok2 {
		return false, nil
	}
	h := &loopEnd{s: p.host, pt: hp}
	d := &loopEnd{s: p.dev, pt: dp}
	dirs := [2]*loopDir{
		{from: h, to: d, count: &p.toDevice, buf: make([]byte, pumpBuf)},
		{from: d, to: h, count: &p.toHost, buf: make([]byte, pumpBuf)},
	}
	var ex loopExit
	herr := hp.HoldFD(func(fd, wake int) {
		h.fd, h.wake = fd, wake
		derr := dp.HoldFD(func(fd, wake int) {
			d.fd, d.wake = fd, wake
			p.inLoop.Store(true)
			ex = p.loop(dirs)
			p.inLoop.Store(false)
		})
		if derr != nil {
			ex = loopExit{d, "read", derr}
		}
	})
	if herr != nil {
		ex = loopExit{h, "read", herr}
	}
	if ctx.Err() != nil {
		return true, nil
	}
	perr := ex.end.pt.FDError(ex.op, ex.err)
	// What was read for the side that is still there goes on before the
	// pumps start reading.
	for _, dr := range dirs {
		if len(dr.pending) == 0 {
			continue
		}
		w := 0
		if dr.to != ex.end {
			w = p.forward(dr.to.s, dr.pending)
		}
		if w < len(dr.pending) {
			p.notDelivered(dr.from.s, dr.to.s, len(dr.pending)-w)
		}
	}
	switch {
	case ex.op == "write":
		if !errors.Is(perr, port.ErrClosed) {
			ex.end.s.lost(ex.end.pt, perr)
		}
	case errors.Is(perr, port.ErrClosed) && ex.end.s.current() != ex.end.pt:
	case !ex.end.s.lost(ex.end.pt, perr):
		return true, sideErr(ex.end.s, perr)
	}
	return false, nil
}

// loop forwards both directions until a port fails or is closed.
func (p *Proxy) loop(dirs [2]*loopDir) loopExit {
	h, d := dirs[0].from, dirs[1].from
	// pfd: the two wake pipes, then per direction its source (POLLIN) or,
	// with data pending, its destination (POLLOUT).
	pfd := make([]unix.PollFd, 4)
	pfd[0] = unix.PollFd{Fd: int32(h.wake), Events: unix.POLLIN}
	pfd[1] = unix.PollFd{Fd: int32(d.wake), Events: unix.POLLIN}
	var record [2]func([]byte) // queue one read of each direction for the capture
	for i, dr := range dirs {
		record[i] = func(b []byte) { p.q.chunk(p.q.now(), dr.from.s.idx, dr.from.s.readDir, b) }
	}
	for {
		for i, dr := range dirs {
			e := &pfd[2+i]
			if len(dr.pending) == 0 {
				*e = unix.PollFd{Fd: int32(dr.from.fd), Events: unix.POLLIN}
			} else {
				*e = unix.PollFd{Fd: int32(dr.to.fd), Events: unix.POLLOUT}
			}
		}
		if _, err := unix.Poll(pfd, -1); err != nil && !errors.Is(err, unix.EINTR) {
			return loopExit{h, "read", err}
		}
		switch {
		case pfd[0].Revents != 0:
			return loopExit{h, "read", fs.ErrClosed}
		case pfd[1].Revents != 0:
			return loopExit{d, "read", fs.ErrClosed}
		}
		for i, dr := range dirs {
			rev := pfd[2+i].Revents
			if rev == 0 {
				continue
			}
			if len(dr.pending) == 0 {
				n, err := syscall.Read(dr.from.fd, dr.buf)
				switch {
				case errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR):
					if rev&(unix.POLLHUP|unix.POLLERR|unix.POLLNVAL) != 0 {
						return loopExit{dr.from, "read", unix.EIO} // hung up: do not spin
					}
					continue
				case err != nil:
					return loopExit{dr.from, "read", err}
				case n == 0:
					return loopExit{dr.from, "read", io.EOF}
				}
				// As in pump: timestamp at the read's return and queue
				// before forwarding.
				record[i](dr.buf[:n])
				if n >= bulkRead {
					n += readMore(dr.from.fd, dr.buf[n:], record[i])
				}
				b := dr.buf[:n]
				dr.count.Add(int64(n))
				if !p.opts.Sniff { // a sniffer never writes
					dr.pending = b
				}
				if l, why, ok := p.uart.feed(dr.from.s.readDir, b); ok {
					// The OK goes out at the old settings, then the switch:
					// write it first, waiting if it must.
					if ex, ok := p.drain(dr); !ok {
						return ex
					}
					p.setLine(l, why, nil)
				}
			}
			// Write at once, whether or not the poll said there was room:
			// a single small message must not wait for another poll.
			for len(dr.pending) > 0 {
				n, err := syscall.Write(dr.to.fd, dr.pending)
				if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
					break
				}
				if err != nil {
					return loopExit{dr.to, "write", err}
				}
				dr.pending = dr.pending[n:]
			}
		}
	}
}

// drain writes dr.pending in full, polling for room (and the wake pipes).
func (p *Proxy) drain(dr *loopDir) (loopExit, bool) {
	pfd := []unix.PollFd{
		{Fd: int32(dr.to.fd), Events: unix.POLLOUT},
		{Fd: int32(dr.to.wake), Events: unix.POLLIN},
		{Fd: int32(dr.from.wake), Events: unix.POLLIN},
	}
	for len(dr.pending) > 0 {
		n, err := syscall.Write(dr.to.fd, dr.pending)
		switch {
		case errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR):
			if _, err := unix.Poll(pfd, -1); err != nil && !errors.Is(err, unix.EINTR) {
				return loopExit{dr.to, "write", err}, false
			}
			if pfd[1].Revents != 0 {
				return loopExit{dr.to, "write", fs.ErrClosed}, false
			}
			if pfd[2].Revents != 0 {
				return loopExit{dr.from, "read", fs.ErrClosed}, false
			}
		case err != nil:
			return loopExit{dr.to, "write", err}, false
		default:
			dr.pending = dr.pending[n:]
		}
	}
	return loopExit{}, true
}

// bulkRead is the read size from which the loop takes what else has
// arrived before writing: a tty read returns at most a line discipline
// buffer (4 KiB on Linux), and one larger write costs the next pty one
// wake-up instead of several. A smaller read (a message, not a stream) is
// written at once.
const bulkRead = 2048

// readMore reads what is already there into b, up to a few reads, without
// waiting, so that it goes out in one write. each (when not nil) gets the
// bytes of every read as it returns: a capture records each read as its
// own chunk with its own time, whatever the forwarding does with them. It
// returns how many bytes it read; errors are left for the next poll to find.
func readMore(fd int, b []byte, each func([]byte)) int {
	got := 0
	for i := 0; i < 7 && len(b)-got >= bulkRead; i++ {
		n, err := syscall.Read(fd, b[got:])
		if err != nil || n <= 0 {
			break
		}
		if each != nil {
			each(b[got : got+n])
		}
		got += n
		if n < bulkRead {
			break
		}
	}
	return got
}
