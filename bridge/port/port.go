package port

import (
	"io"

	"github.com/atbridge/atbridge/capture"
)

// Port is an open serial-like endpoint: a serial device, a pseudo-terminal
// made for a host app, a TCP serial server, or an in-process device.
//
// Read and Write may be called from different goroutines at once. Close is
// idempotent and unblocks a Read in progress, which then returns an error
// wrapping io.EOF or ErrClosed.
type Port interface {
	io.ReadWriteCloser
	// Name is the user's spelling of the port, e.g. "pty:/tmp/esp".
	Name() string
	// Line returns the settings in force (zero value when not applicable).
	Line() capture.LineSettings
	// SetLine changes the line settings. Ports without settings (tcp:) accept
	// and remember them.
	SetLine(capture.LineSettings) error
}
