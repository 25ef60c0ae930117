//go:build linux || darwin

package port

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/atbridge/atbridge/capture"
)

// On Linux and macOS a real serial port is our own termios code on a
// non-blocking descriptor owned by the runtime poller, not go.bug.st/serial:
// its Write blocks in the kernel where Close cannot reach it (with RTS/CTS
// flow control and CTS low, for ever), and it has no flow control setting.
// This is also the code a host app's side of a pty: port is tested through.

// serialPort is a real serial device (or anything with termios).
type serialPort struct {
	name     string
	path     string
	f        *os.File  // direct's file, for ioctls
	direct   *directFD // reads and writes
	readOnly bool

	portLine // Line, and SetLine's bookkeeping

	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error
}

var (
	_ Port       = (*serialPort)(nil)
	_ Controller = (*serialPort)(nil)
)

// openSerial implements Open for real serial devices: it opens path
// exclusively (TIOCEXCL, like go.bug.st/serial: a second opener gets EBUSY),
// in raw mode with o.Line applied.
func openSerial(spec, path string, o Options) (Port, error) {
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_NOCTTY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, openError(spec, path, err)
	}
	fail := func(what string, err error) (Port, error) {
		unix.Close(fd)
		return nil, fmt.Errorf("open %s: %s: %w", spec, what, err)
	}
	if _, err := getTermios(fd); err != nil {
		if errors.Is(err, unix.ENOTTY) || errors.Is(err, unix.EINVAL) {
			unix.Close(fd)
			return nil, permanentError{fmt.Errorf("open %s: %s is not a serial device (no termios)", spec, path)}
		}
		return fail("read termios", err)
	}
	if err := unix.IoctlSetInt(fd, unix.TIOCEXCL, 0); err != nil {
		return fail("lock exclusively", err)
	}
	if err := setLine(fd, o.Line); err != nil {
		return fail("set line "+o.Line.String(), err)
	}
	if o.Control != nil && !o.ReadOnly {
		// A device without modem lines (a pty) has nothing to set.
		if err := setModem(fd, *o.Control); err != nil && !errors.Is(err, ErrNotSupported) {
			return fail("set control lines", err)
		}
	}
	d, err := openDirect(fd, path)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", spec, err)
	}
	return &serialPort{name: spec, path: path, f: d.f, direct: d, readOnly: o.ReadOnly, portLine: portLine{line: o.Line}}, nil
}

// openError says what went wrong opening a device and what to try.
func openError(spec, path string, err error) error {
	var hint string
	switch {
	case errors.Is(err, unix.ENOENT), errors.Is(err, unix.ENXIO), errors.Is(err, unix.ENODEV):
		hint = "no such device (is it plugged in? see ls " + deviceGlob(path) + ")"
	case errors.Is(err, unix.EACCES), errors.Is(err, unix.EPERM):
		hint = "permission denied (" + permissionHint + ")"
	case errors.Is(err, unix.EBUSY):
		hint = "port busy (another program has it open: see fuser " + path + ")"
	default:
		return fmt.Errorf("open %s: %w", spec, err)
	}
	return &openErr{msg: "open " + spec + ": " + hint, err: err}
}

// openErr keeps the errno for errors.Is while reading as advice.
type openErr struct {
	msg string
	err error
}

func (e *openErr) Error() string { return e.msg }
func (e *openErr) Unwrap() error { return e.err }

// deviceGlob turns /dev/ttyUSB9 into /dev/ttyUSB*.
func deviceGlob(path string) string {
	dir, base := filepath.Split(path)
	stem := strings.TrimRight(base, "0123456789")
	if stem == "" || stem == base {
		if dir == "" {
			dir = "./"
		}
		return dir
	}
	return dir + stem + "*"
}

// Name returns the spec as the user wrote it.
func (p *serialPort) Name() string { return p.name }

// SetLine applies l at once (TCSANOW: bytes still in the output queue go at
// the new speed). Allowed on read-only ports.
func (p *serialPort) SetLine(l capture.LineSettings) error {
	return p.portLine.set(p.name, l, func(l capture.LineSettings) error {
		if err := withFd(p.f, func(fd int) error { return setLine(fd, l) }); err != nil {
			return ioError("set line", p.name, err, p.closed.Load())
		}
		return nil
	})
}

// Read reads what the device sent. Close unblocks it.
func (p *serialPort) Read(b []byte) (int, error) {
	n, err := p.direct.read(b)
	if err != nil {
		return n, ioError("read", p.name, err, p.closed.Load())
	}
	return n, nil
}

// Write sends b. Close unblocks it, even when flow control holds it back.
func (p *serialPort) Write(b []byte) (int, error) {
	if p.readOnly {
		return 0, fmt.Errorf("write %s: %w", p.name, ErrReadOnly)
	}
	n, err := p.direct.write(b)
	if err != nil {
		return n, ioError("write", p.name, err, p.closed.Load())
	}
	return n, nil
}

// HoldFD implements Descriptor.
func (p *serialPort) HoldFD(fn func(fd, wake int)) error { return p.direct.hold(fn) }

// FDError implements Descriptor.
func (p *serialPort) FDError(op string, err error) error {
	return ioError(op, p.name, err, p.closed.Load())
}

// SetControl implements Controller.
func (p *serialPort) SetControl(c capture.ControlLines) error {
	if p.readOnly {
		return fmt.Errorf("set control %s: %w", p.name, ErrReadOnly)
	}
	if err := withFd(p.f, func(fd int) error { return setModem(fd, c) }); err != nil {
		return ioError("set control", p.name, err, p.closed.Load())
	}
	return nil
}

// SendBreak implements Breaker: TIOCSBRK, d, TIOCCBRK.
func (p *serialPort) SendBreak(d time.Duration) error {
	if p.readOnly {
		return fmt.Errorf("send break %s: %w", p.name, ErrReadOnly)
	}
	if err := withFd(p.f, func(fd int) error { return unix.IoctlSetInt(fd, unix.TIOCSBRK, 0) }); err != nil {
		return ioError("send break", p.name, err, p.closed.Load())
	}
	time.Sleep(d)
	if err := withFd(p.f, func(fd int) error { return unix.IoctlSetInt(fd, unix.TIOCCBRK, 0) }); err != nil {
		return ioError("send break", p.name, err, p.closed.Load())
	}
	return nil
}

// Control implements Controller.
func (p *serialPort) Control() (capture.ControlLines, error) {
	var m int
	err := withFd(p.f, func(fd int) (err error) {
		m, err = getModem(fd)
		return err
	})
	if err != nil {
		return 0, ioError("read control", p.name, err, p.closed.Load())
	}
	return controlFromModem(m), nil
}

// getModem reads the TIOCM_* bits; a device without modem lines (a pty)
// gives ErrNotSupported.
func getModem(fd int) (int, error) {
	m, err := unix.IoctlGetInt(fd, unix.TIOCMGET)
	if errors.Is(err, unix.ENOTTY) || errors.Is(err, unix.EINVAL) {
		return 0, fmt.Errorf("%w: this device has no modem control lines", ErrNotSupported)
	}
	return m, err
}

// setModem drives DTR and RTS as c says.
func setModem(fd int, c capture.ControlLines) error {
	m, err := getModem(fd)
	if err != nil {
		return err
	}
	m &^= unix.TIOCM_DTR | unix.TIOCM_RTS
	if c&capture.LineDTR != 0 {
		m |= unix.TIOCM_DTR
	}
	if c&capture.LineRTS != 0 {
		m |= unix.TIOCM_RTS
	}
	return unix.IoctlSetPointerInt(fd, unix.TIOCMSET, m)
}

// Close releases the exclusive lock and closes the device, unblocking Read
// and Write. It is idempotent.
func (p *serialPort) Close() error {
	p.closeOnce.Do(func() {
		p.closed.Store(true)
		withFd(p.f, func(fd int) error { return unix.IoctlSetInt(fd, unix.TIOCNXCL, 0) })
		if err := p.direct.close(); err != nil {
			p.closeErr = fmt.Errorf("close %s: %w", p.name, err)
		}
	})
	return p.closeErr
}
