//go:build linux || darwin

package bridge

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"
)

// pollableFile returns a non-blocking *os.File for fd's open file, owned by
// the runtime poller, so that Close unblocks a Read or Write in progress.
// It takes ownership of fd.
func pollableFile(fd int, name string) (*os.File, error) {
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, err
	}
	unix.CloseOnExec(fd)
	return os.NewFile(uintptr(fd), name), nil
}

// repoll turns f into a pollable file (creack/pty hands out a blocking
// master on macOS) and closes f.
func repoll(f *os.File) (*os.File, error) {
	var nfd int
	err := withFd(f, func(fd int) (err error) {
		nfd, err = unix.Dup(fd)
		return err
	})
	name := f.Name()
	f.Close()
	if err != nil {
		return nil, err
	}
	return pollableFile(nfd, name)
}

// withFd runs fn with f's descriptor without changing its blocking mode (as
// f.Fd() would).
func withFd(f *os.File, fn func(fd int) error) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) { ferr = fn(int(fd)) }); err != nil {
		return err
	}
	return ferr
}

// ioError maps an error from reading or writing a tty to the package's
// sentinels: the file closed under us means ErrPortClosed; a hang-up (EOF)
// or EIO, ENXIO, ENODEV mean the device went away, ErrPortLost.
func ioError(op, name string, err error, closed bool) error {
	switch {
	case closed || errors.Is(err, fs.ErrClosed):
		return fmt.Errorf("%s %s: %w", op, name, ErrPortClosed)
	case errors.Is(err, io.EOF), errors.Is(err, unix.EIO), errors.Is(err, unix.ENXIO), errors.Is(err, unix.ENODEV):
		return fmt.Errorf("%s %s: %w (device gone: unplugged?): %w", op, name, ErrPortLost, err)
	}
	return fmt.Errorf("%s %s: %w", op, name, err)
}
