package port

import "errors"

// Sentinel errors of the port code. Callers branch on them with errors.Is;
// the returned errors wrap them with the port's name and what happened.
var (
	// ErrClosed is returned by Read, Write and SetLine after Close, and
	// by a Read or Write that Close interrupted.
	ErrClosed = errors.New("port closed")

	// ErrLost is returned by Read or Write when the other end went away
	// without us closing the port: a USB serial adapter was unplugged (the
	// tty hung up, or the driver answered EIO, ENXIO or ENODEV), or a tcp:
	// serial server dropped the connection. The port is useless afterwards:
	// Close it and call Reopen with the same spec to wait for the device
	// to come back.
	ErrLost = errors.New("port lost")

	// ErrReadOnly is returned by Write and SetControl (which would also
	// disturb the line) on a port opened with Options.ReadOnly.
	ErrReadOnly = errors.New("port is read-only")

	// ErrNotSupported is returned when the platform or the kind of port cannot
	// do what was asked: a pty: port on Windows, RTS/CTS flow control on a
	// Windows serial port, control lines on a pseudo-terminal.
	ErrNotSupported = errors.New("not supported")
)
