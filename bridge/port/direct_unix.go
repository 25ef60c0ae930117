//go:build linux || darwin

package port

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"sync"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
)

// directFD does a port's I/O with poll(2) on [descriptor, wake pipe] and
// non-blocking reads and writes, outside the runtime poller: the
// descriptor is never in the runtime's epoll set, so the proxy's
// forwarding loop (package bridge, through Descriptor) can wait on it
// without every byte that arrives also waking the netpoller.
//
// Reads and writes go through package syscall, as os.File's do, so that
// the race detector sees the same happens-before edge from a write to the
// read that gets its bytes.
//
// The os.File still owns the descriptor; every access runs inside its
// RawConn, which keeps the number valid (the real close waits) until the
// access returns. The port's Close calls stop before closing the file: stop
// writes the wake pipe, so a read or write in progress returns at once
// with fs.ErrClosed, and so does every later one.
type directFD struct {
	f  *os.File
	rc syscall.RawConn

	mu      sync.RWMutex // shared by each access, exclusive by stop
	wr, ww  int          // wake pipe: read end (polled), write end
	stopped atomic.Bool
}

// openDirect wraps fd (it takes ownership) as a file the runtime poller
// does not know and a directFD for it. name is the file's name.
func openDirect(fd int, name string) (*directFD, error) {
	// Blocking when os.NewFile sees it, so the runtime does not register
	// it; non-blocking afterwards, for poll-then-read.
	if err := unix.SetNonblock(fd, false); err != nil {
		unix.Close(fd)
		return nil, err
	}
	unix.CloseOnExec(fd)
	f := os.NewFile(uintptr(fd), name)
	var p [2]int
	err := unix.SetNonblock(fd, true)
	if err == nil {
		err = unix.Pipe(p[:])
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	d := &directFD{f: f, wr: p[0], ww: p[1]}
	for _, fd := range p {
		unix.CloseOnExec(fd)
		if err = unix.SetNonblock(fd, true); err != nil {
			break
		}
	}
	if err == nil {
		d.rc, err = f.SyscallConn()
	}
	if err != nil {
		unix.Close(p[0])
		unix.Close(p[1])
		f.Close()
		return nil, err
	}
	return d, nil
}

// close stops d and closes the file. It is idempotent.
func (d *directFD) close() error {
	if d.stopped.Swap(true) {
		return nil
	}
	_, _ = unix.Write(d.ww, []byte{1})
	d.mu.Lock()
	unix.Close(d.wr)
	unix.Close(d.ww)
	d.mu.Unlock()
	return d.f.Close()
}

// hold runs fn with the descriptor and the wake pipe's read end, both
// valid until fn returns. Once closed it fails with fs.ErrClosed.
func (d *directFD) hold(fn func(fd, wake int)) error {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.stopped.Load() {
		return fs.ErrClosed
	}
	return d.rc.Control(func(fd uintptr) { fn(int(fd), d.wr) })
}

// read reads into b, waiting for data. A read of 0 bytes (hang-up) is
// io.EOF; once closed it fails with fs.ErrClosed.
func (d *directFD) read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	return d.do(unix.POLLIN, func(fd int) (int, error) {
		n, err := syscall.Read(fd, b)
		if n == 0 && err == nil {
			return 0, io.EOF
		}
		return n, err
	})
}

// write writes all of b, waiting for room; once closed it fails with
// fs.ErrClosed.
func (d *directFD) write(b []byte) (int, error) {
	done := 0
	for done < len(b) {
		n, err := d.do(unix.POLLOUT, func(fd int) (int, error) { return syscall.Write(fd, b[done:]) })
		done += n
		if err != nil {
			return done, err
		}
	}
	return done, nil
}

// do runs sys on the descriptor until it does not say EAGAIN, polling for
// events (and the wake pipe) in between. A write is tried first (there is
// usually room); a read is polled first (on a serial line the data is
// rarely there already, and a read saying EAGAIN costs a poll's worth).
func (d *directFD) do(events int16, sys func(fd int) (int, error)) (n int, err error) {
	herr := d.hold(func(fd, wake int) {
		pfd := [2]unix.PollFd{{Fd: int32(fd), Events: events}, {Fd: int32(wake), Events: unix.POLLIN}}
		try := events == unix.POLLOUT
		for {
			if try {
				n, err = sys(fd)
				if !errors.Is(err, unix.EAGAIN) && !errors.Is(err, unix.EINTR) {
					n = max(n, 0)
					return
				}
				if pfd[0].Revents&(unix.POLLHUP|unix.POLLERR|unix.POLLNVAL) != 0 {
					n, err = 0, unix.EIO // hung up with nothing to do: do not spin
					return
				}
			}
			try = true
			pfd[0].Revents, pfd[1].Revents = 0, 0
			if _, perr := unix.Poll(pfd[:], -1); perr != nil && !errors.Is(perr, unix.EINTR) {
				n, err = 0, perr
				return
			}
			if pfd[1].Revents != 0 {
				n, err = 0, fs.ErrClosed
				return
			}
		}
	})
	if herr != nil {
		return 0, herr
	}
	return n, err
}

// Descriptor is implemented, on Linux and macOS, by the ports whose I/O runs
// on a descriptor outside the runtime poller (serial devices and pty:
// ports), so that a forwarding loop can wait on two of them with one
// poll(2) instead of one goroutine each (the proxy's fast path).
type Descriptor interface {
	Port
	// HoldFD runs fn with the port's descriptor, non-blocking, and the read
	// end of its wake pipe, which becomes readable when Close is called; both
	// stay valid until fn returns. Once the port is closed it fails with
	// fs.ErrClosed.
	HoldFD(fn func(fd, wake int)) error
	// FDError maps an error of op ("read", "write") on the descriptor as
	// Read and Write do: ErrClosed after Close, ErrLost on a hang-up.
	FDError(op string, err error) error
}

var (
	_ Descriptor = (*ptyPort)(nil)
	_ Descriptor = (*serialPort)(nil)
)
