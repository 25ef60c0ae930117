//go:build !linux && !darwin

package port

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"go.bug.st/serial"

	"github.com/atbridge/atbridge/capture"
)

// serialPort is a real serial device opened through go.bug.st/serial (on
// Windows and other systems without our termios code). RTS/CTS and
// XON/XOFF flow control are not available here.
type serialPort struct {
	name     string
	sp       serial.Port
	readOnly bool

	portLine // Line, and SetLine's bookkeeping

	mu      sync.Mutex           // guards control
	control capture.ControlLines // DTR and RTS as last driven

	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error
}

var (
	_ Port       = (*serialPort)(nil)
	_ Controller = (*serialPort)(nil)
)

func toMode(l capture.LineSettings) (*serial.Mode, error) {
	if l.Flow != capture.FlowNone {
		return nil, fmt.Errorf("flow control %s: %w on this system", l, ErrNotSupported)
	}
	m := &serial.Mode{BaudRate: l.Baud, DataBits: int(l.DataBits)}
	switch l.Parity {
	case capture.ParityEven:
		m.Parity = serial.EvenParity
	case capture.ParityOdd:
		m.Parity = serial.OddParity
	case capture.ParityMark:
		m.Parity = serial.MarkParity
	case capture.ParitySpace:
		m.Parity = serial.SpaceParity
	}
	switch l.StopBits {
	case capture.Stop1_5:
		m.StopBits = serial.OnePointFiveStopBits
	case capture.Stop2:
		m.StopBits = serial.TwoStopBits
	}
	return m, nil
}

// openSerial implements Open for real serial devices.
func openSerial(spec, path string, o Options) (Port, error) {
	mode, err := toMode(o.Line)
	if err != nil {
		return nil, permanentError{fmt.Errorf("open %s: %w", spec, err)}
	}
	control := capture.LineDTR | capture.LineRTS
	if o.Control != nil && !o.ReadOnly {
		control = *o.Control & (capture.LineDTR | capture.LineRTS)
		mode.InitialStatusBits = &serial.ModemOutputBits{DTR: control&capture.LineDTR != 0, RTS: control&capture.LineRTS != 0}
	}
	sp, err := serial.Open(path, mode)
	if err != nil {
		var pe *serial.PortError
		if errors.As(err, &pe) {
			switch pe.Code() {
			case serial.PortNotFound:
				return nil, fmt.Errorf("open %s: no such device (is it plugged in? see Device Manager, Ports): %w", spec, err)
			case serial.PortBusy, serial.PermissionDenied:
				return nil, fmt.Errorf("open %s: access denied (another program has it open?): %w", spec, err)
			}
		}
		return nil, fmt.Errorf("open %s: %w", spec, err)
	}
	return &serialPort{name: spec, sp: sp, readOnly: o.ReadOnly, portLine: portLine{line: o.Line}, control: control}, nil
}

// Name returns the spec as the user wrote it.
func (p *serialPort) Name() string { return p.name }

// SetLine applies l. Allowed on read-only ports.
func (p *serialPort) SetLine(l capture.LineSettings) error {
	return p.portLine.set(p.name, l, func(l capture.LineSettings) error {
		mode, err := toMode(l)
		if err != nil {
			return fmt.Errorf("set line %s: %w", p.name, err)
		}
		if err := p.sp.SetMode(mode); err != nil {
			return p.ioError("set line", err)
		}
		return nil
	})
}

// Read reads what the device sent. Close unblocks it.
func (p *serialPort) Read(b []byte) (int, error) {
	for {
		n, err := p.sp.Read(b)
		if err != nil {
			return n, p.ioError("read", err)
		}
		if n > 0 {
			return n, nil
		}
		if p.closed.Load() {
			return 0, p.ioError("read", nil)
		}
	}
}

// Write sends b.
func (p *serialPort) Write(b []byte) (int, error) {
	if p.readOnly {
		return 0, fmt.Errorf("write %s: %w", p.name, ErrReadOnly)
	}
	n, err := p.sp.Write(b)
	if err != nil {
		return n, p.ioError("write", err)
	}
	return n, nil
}

func (p *serialPort) ioError(op string, err error) error {
	var pe *serial.PortError
	switch {
	case p.closed.Load():
		return fmt.Errorf("%s %s: %w", op, p.name, ErrClosed)
	case errors.As(err, &pe) && pe.Code() == serial.PortClosed:
		return fmt.Errorf("%s %s: %w (device gone: unplugged?): %w", op, p.name, ErrLost, err)
	}
	return fmt.Errorf("%s %s: %w", op, p.name, err)
}

// SetControl implements Controller.
func (p *serialPort) SetControl(c capture.ControlLines) error {
	if p.readOnly {
		return fmt.Errorf("set control %s: %w", p.name, ErrReadOnly)
	}
	if err := p.sp.SetDTR(c&capture.LineDTR != 0); err != nil {
		return p.ioError("set control", err)
	}
	if err := p.sp.SetRTS(c&capture.LineRTS != 0); err != nil {
		return p.ioError("set control", err)
	}
	p.mu.Lock()
	p.control = c & (capture.LineDTR | capture.LineRTS)
	p.mu.Unlock()
	return nil
}

// Control implements Controller: DTR and RTS as last driven, the rest as
// read from the device.
func (p *serialPort) Control() (capture.ControlLines, error) {
	bits, err := p.sp.GetModemStatusBits()
	if err != nil {
		return 0, p.ioError("read control", err)
	}
	p.mu.Lock()
	c := p.control
	p.mu.Unlock()
	for _, x := range []struct {
		on   bool
		line capture.ControlLines
	}{{bits.CTS, capture.LineCTS}, {bits.DSR, capture.LineDSR}, {bits.DCD, capture.LineDCD}, {bits.RI, capture.LineRI}} {
		if x.on {
			c |= x.line
		}
	}
	return c, nil
}

// Close closes the device, unblocking Read. It is idempotent.
func (p *serialPort) Close() error {
	p.closeOnce.Do(func() {
		p.closed.Store(true)
		if err := p.sp.Close(); err != nil {
			p.closeErr = fmt.Errorf("close %s: %w", p.name, err)
		}
	})
	return p.closeErr
}
