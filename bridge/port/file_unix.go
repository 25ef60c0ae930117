//go:build linux || darwin

package port

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"
)

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
// sentinels: the file closed under us means ErrClosed; a hang-up (EOF)
// or EIO, ENXIO, ENODEV mean the device went away, ErrLost.
func ioError(op, name string, err error, closed bool) error {
	switch {
	case closed || errors.Is(err, fs.ErrClosed):
		return fmt.Errorf("%s %s: %w", op, name, ErrClosed)
	case errors.Is(err, io.EOF), errors.Is(err, unix.EIO), errors.Is(err, unix.ENXIO), errors.Is(err, unix.ENODEV):
		return fmt.Errorf("%s %s: %w (device gone: unplugged?): %w", op, name, ErrLost, err)
	}
	return fmt.Errorf("%s %s: %w", op, name, err)
}
