package bridge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"github.com/atbridge/atbridge/bridge/port"
	"github.com/atbridge/atbridge/capture"
)

// EmulateSpec is the device spec that runs the emulator in-process.
const EmulateSpec = "emulate"

// DeviceEmulator is the in-process device a Proxy runs when its Device is
// EmulateSpec: *esp.Options implements it. Package bridge does not import
// the emulator; cmd/atbridge hands it over.
type DeviceEmulator interface {
	// Emulate runs a freshly booted device on dev until ctx ends or reading
	// dev fails. Its records carry times from clock and go to record, which
	// may be called from several goroutines, one call at a time.
	Emulate(ctx context.Context, dev io.ReadWriter, clock func() int64, record func(*capture.Record)) error
}

// memPort is one end of an in-memory serial line (net.Pipe): the proxy's
// device side when the device is the in-process emulator. Line settings are
// remembered only: there is no wire to time.
type memPort struct {
	c    net.Conn
	name string

	mu   sync.Mutex
	line capture.LineSettings
	once sync.Once
}

var _ port.Port = (*memPort)(nil)

// memPair returns the two ends of an in-memory line.
func memPair(name string, l capture.LineSettings) (*memPort, *memPort) {
	a, b := net.Pipe()
	l = port.LineDefaults(l)
	return &memPort{c: a, name: name, line: l}, &memPort{c: b, name: name, line: l}
}

func (m *memPort) Name() string { return m.name }

func (m *memPort) Line() capture.LineSettings {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.line
}

func (m *memPort) SetLine(l capture.LineSettings) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.line = port.LineDefaults(l)
	return nil
}

func (m *memPort) Read(b []byte) (int, error) {
	n, err := m.c.Read(b)
	return n, m.wrap("read", err)
}

func (m *memPort) Write(b []byte) (int, error) {
	n, err := m.c.Write(b)
	return n, m.wrap("write", err)
}

// SetReadDeadline lets the emulator's Serve stop without closing the line.
func (m *memPort) SetReadDeadline(t time.Time) error { return m.c.SetReadDeadline(t) }

func (m *memPort) wrap(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, io.ErrClosedPipe):
		return fmt.Errorf("%s %s: %w", op, m.name, port.ErrClosed)
	case errors.Is(err, io.EOF):
		return fmt.Errorf("%s %s: %w (the emulator stopped): %w", op, m.name, port.ErrLost, io.EOF)
	case errors.Is(err, os.ErrDeadlineExceeded):
		return err
	}
	return fmt.Errorf("%s %s: %w", op, m.name, err)
}

// Close is idempotent and unblocks Read and Write on both ends.
func (m *memPort) Close() error {
	m.once.Do(func() { _ = m.c.Close() })
	return nil
}
