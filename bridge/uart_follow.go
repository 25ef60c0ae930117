package bridge

import (
	"github.com/atbridge/atbridge/bridge/port"
	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/formats"
)

// UARTFollower is a Port that follows AT+UART_CUR and AT+UART_DEF as the
// proxy does (the same uartWatch): once the "OK" that completes one has
// passed through it, at the old settings, it switches the port to the new
// ones. It is for programs that are one end of the conversation rather
// than a pipe between two: replay (the device on the port) and mock (the
// host app on the port).
//
// Read and Write may be called from different goroutines at once, as on
// any Port; Close closes the wrapped port.
type UARTFollower struct {
	port.Port
	w        uartWatch
	readDir  formats.Dir // what Read carries
	writeDir formats.Dir
	changed  func(l capture.LineSettings, why string, err error)
}

var _ port.Port = (*UARTFollower)(nil)

// FollowUART wraps p. facesDevice says which end p is: true when the
// program writes commands to p and reads the answers (replay), false when
// it reads commands from p and writes the answers (mock). changed, when
// non-nil, is told of each switch (err is SetLine's error, and then the
// port keeps its settings); it runs in the goroutine that read or wrote
// the OK.
func FollowUART(p port.Port, facesDevice bool, changed func(l capture.LineSettings, why string, err error)) *UARTFollower {
	f := &UARTFollower{Port: p, readDir: formats.ToDevice, writeDir: formats.ToHost, changed: changed}
	if facesDevice {
		f.readDir, f.writeDir = formats.ToHost, formats.ToDevice
	}
	return f
}

// Read reads from the port; an OK completing a UART command switches the
// line once it has been read.
func (f *UARTFollower) Read(b []byte) (int, error) {
	n, err := f.Port.Read(b)
	if n > 0 {
		f.look(f.readDir, b[:n])
	}
	return n, err
}

// Write writes to the port; an OK completing a UART command switches the
// line once it has been written, as the proxy switches once it has
// forwarded it.
func (f *UARTFollower) Write(b []byte) (int, error) {
	n, err := f.Port.Write(b)
	if n > 0 {
		f.look(f.writeDir, b[:n])
	}
	return n, err
}

func (f *UARTFollower) look(dir formats.Dir, b []byte) {
	l, why, ok := f.w.feed(dir, b)
	if !ok {
		return
	}
	l = port.LineDefaults(l)
	err := f.Port.SetLine(l)
	if f.changed != nil {
		f.changed(l, why, err)
	}
}
