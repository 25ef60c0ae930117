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
	// Watch before writing, as the proxy's pump does: the answer to a
	// command written here may be read on another goroutine before this
	// Write returns, and must find the command already seen. The switch
	// itself waits until the OK has been written.
	l, why, ok := f.w.feed(f.writeDir, b)
	n, err := f.Port.Write(b)
	if ok && n == len(b) {
		f.switchTo(l, why)
	}
	return n, err
}

func (f *UARTFollower) look(dir formats.Dir, b []byte) {
	if l, why, ok := f.w.feed(dir, b); ok {
		f.switchTo(l, why)
	}
}

// switchTo sets the port to l, completing the UART command why.
func (f *UARTFollower) switchTo(l capture.LineSettings, why string) {
	l = port.LineDefaults(l)
	err := f.Port.SetLine(l)
	if f.changed != nil {
		f.changed(l, why, err)
	}
}
