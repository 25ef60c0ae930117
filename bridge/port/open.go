package port

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/atbridge/atbridge/capture"
)

// Options tune Open. A nil *Options means all defaults.
type Options struct {
	// Line is applied when the port opens. Zero fields take the defaults:
	// Baud 115200, DataBits 8, Parity N, StopBits 1, Flow none; so the zero
	// value means "115200 8N1", ESP-AT's factory setting.
	Line capture.LineSettings

	// ReadOnly opens the port for listening only (atbridge sniff): Write and
	// SetControl return ErrReadOnly, so not a byte nor a control line change
	// reaches the wire from us. SetLine is still allowed (a sniffer must
	// match the line's speed). Default false.
	ReadOnly bool

	// Control, when non-nil, sets DTR and RTS (only the LineDTR and LineRTS
	// bits count) right after a real serial port opens. Nil leaves them as
	// the driver raises them on open (both raised on Linux and macOS). ESP32
	// boards with auto-reset wiring reset or enter the bootloader on some
	// DTR/RTS patterns, hence the choice. Ignored by pty: and tcp: ports.
	Control *capture.ControlLines

	// LinePoll is how often a pty: port reads the host app's termios to
	// report changes on LineChanges. Default 50 ms.
	LinePoll time.Duration

	// RetryInterval is how long Reopen waits between attempts.
	// Default 250 ms.
	RetryInterval time.Duration
}

// Defaults for Options fields left zero.
const (
	DefaultBaud          = 115200
	DefaultLinePoll      = 50 * time.Millisecond
	DefaultRetryInterval = 250 * time.Millisecond
)

// LineNotifier is implemented by ports whose other side can change the line
// settings: a pty: port reports each change the host app makes to its
// termios (baud, parity, stop bits, flow control).
type LineNotifier interface {
	// LineChanges returns a channel that receives the new settings each time
	// the other side changes them. The channel is buffered; when the reader
	// falls behind, the oldest pending values are dropped, never the latest.
	// It is closed when the port is closed.
	LineChanges() <-chan capture.LineSettings
}

// LineSource names who changes a LineNotifier's settings, for the
// records of each change: tag is short ("termios", "rfc2217"), who says it
// in words.
func LineSource(p Port) (tag, who string) {
	if _, ok := p.(*rfc2217Listen); ok {
		return "rfc2217", "RFC 2217 client (host app)"
	}
	return "termios", "termios (host app)"
}

// Controller is implemented by real serial ports, whose modem control lines
// can be driven and read.
type Controller interface {
	// SetControl raises or drops DTR and RTS as given by the LineDTR and
	// LineRTS bits; other bits are ignored.
	SetControl(capture.ControlLines) error
	// Control returns the state of all lines: DTR and RTS as driven, CTS,
	// DSR, DCD and RI as read from the device.
	Control() (capture.ControlLines, error)
}

// portKind is what a spec names.
type portKind int

const (
	kindSerial portKind = iota
	kindPty
	kindTCP
	kindRFC2217
	kindRFC2217Listen
)

// parseSpec splits a port spec into its kind and target: "pty:PATH",
// "tcp:HOST:PORT", "serial:PATH", or a bare device path or name such as
// "/dev/ttyUSB0" or "COM3".
func parseSpec(spec string) (portKind, string, error) {
	kind, target := kindSerial, spec
	switch {
	case strings.HasPrefix(spec, "pty:"):
		kind, target = kindPty, strings.TrimPrefix(spec, "pty:")
	case strings.HasPrefix(spec, "rfc2217://"):
		kind, target = kindRFC2217, strings.TrimSuffix(strings.TrimPrefix(spec, "rfc2217://"), "/")
	case strings.HasPrefix(spec, "rfc2217-listen:"):
		kind, target = kindRFC2217Listen, strings.TrimPrefix(spec, "rfc2217-listen:")
	case strings.HasPrefix(spec, "tcp:"):
		kind, target = kindTCP, strings.TrimPrefix(spec, "tcp:")
	case strings.HasPrefix(spec, "serial:"):
		target = strings.TrimPrefix(spec, "serial:")
	}
	if target == "" {
		return 0, "", fmt.Errorf("port %q: empty path (want pty:PATH, tcp:HOST:PORT, rfc2217://HOST:PORT, rfc2217-listen:ADDR, or a device such as /dev/ttyUSB0)", spec)
	}
	return kind, target, nil
}

// Open opens the port named by spec:
//
//   - "pty:PATH" creates a pseudo-terminal in raw mode and a symlink at PATH
//     to its slave side, for a host app to open as it would /dev/ttyUSB0.
//   - "tcp:HOST:PORT" connects to a serial server in raw mode (ser2net
//     "raw", esp-link). Line settings are remembered but not sent, so set
//     the server's line to match.
//   - "rfc2217://HOST:PORT" connects to an RFC 2217 server (ser2net's
//     telnet(rfc2217) accepter): line settings, DTR and RTS go to it, and
//     its modem and line state notifications are the port's.
//   - "rfc2217-listen:ADDR" serves the port as an RFC 2217 server for one
//     remote client at a time (pyserial's "rfc2217://HOST:PORT"); the
//     client's line settings arrive on LineChanges.
//   - "serial:PATH", or anything else ("/dev/ttyUSB0", "COM3"), opens a real
//     serial device with opts.Line applied.
//
// ctx bounds the opening only (the TCP dial); the port outlives it. The
// returned port may also implement LineNotifier (pty:) and Controller
// (real serial ports). Errors name the port and say what to try next.
func Open(ctx context.Context, spec string, opts *Options) (Port, error) {
	o := withDefaults(opts)
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("open %s: %w", spec, err)
	}
	kind, target, err := parseSpec(spec)
	if err != nil {
		return nil, err
	}
	if err := CheckLine(o.Line); err != nil {
		return nil, fmt.Errorf("open %s: %w", spec, err)
	}
	switch kind {
	case kindPty:
		return openPty(spec, target, o)
	case kindTCP:
		return openTCP(ctx, spec, target, o)
	case kindRFC2217:
		return openRFC2217(ctx, spec, target, o)
	case kindRFC2217Listen:
		return openRFC2217Listen(spec, target, o)
	}
	return openSerial(spec, target, o)
}

// Reopen opens spec again after ErrLost, trying every
// opts.RetryInterval until it succeeds or ctx ends: a replugged USB adapter
// takes a moment to reappear and get its permissions. It gives up at once on
// errors that waiting cannot fix (bad settings, unsupported platform, a
// regular file in the way of a pty link).
func Reopen(ctx context.Context, spec string, opts *Options) (Port, error) {
	o := withDefaults(opts)
	for {
		p, err := Open(ctx, spec, opts)
		if err == nil {
			return p, nil
		}
		if !retryOpen(ctx, err) {
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("reopen %s: %w (last error: %v)", spec, ctx.Err(), err)
		case <-time.After(o.RetryInterval):
		}
	}
}

// retryOpen says whether an open that failed with err is worth trying
// again: not when waiting cannot fix it or ctx has ended.
func retryOpen(ctx context.Context, err error) bool {
	return Retryable(err) && ctx.Err() == nil
}

// Retryable says whether Reopen would try again after an Open that failed
// with err: false for errors that waiting cannot fix (bad settings, an
// unsupported platform, a regular file in the way of a pty link).
func Retryable(err error) bool {
	return !errors.Is(err, ErrNotSupported) && !errors.Is(err, errPermanent)
}

// errPermanent marks open errors that retrying cannot fix.
var errPermanent = errors.New("permanent")

// permanentError wraps err so that Reopen stops retrying, without
// changing its message.
type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() []error {
	return []error{e.err, errPermanent}
}

func withDefaults(opts *Options) Options {
	var o Options
	if opts != nil {
		o = *opts
	}
	o.Line = LineDefaults(o.Line)
	if o.LinePoll <= 0 {
		o.LinePoll = DefaultLinePoll
	}
	if o.RetryInterval <= 0 {
		o.RetryInterval = DefaultRetryInterval
	}
	return o
}

// LineDefaults returns l with its zero fields filled in: 115200 8N1, no
// flow control, as Open applies them.
func LineDefaults(l capture.LineSettings) capture.LineSettings {
	if l.Baud == 0 {
		l.Baud = DefaultBaud
	}
	if l.DataBits == 0 {
		l.DataBits = 8
	}
	if l.Parity == 0 {
		l.Parity = capture.ParityNone
	}
	if l.StopBits == 0 {
		l.StopBits = capture.Stop1
	}
	return l
}

// CheckLine checks settings after LineDefaults, as Open and SetLine do; the
// error says which field is out of range.
func CheckLine(l capture.LineSettings) error {
	bad := func(format string, a ...any) error {
		return permanentError{fmt.Errorf("invalid line settings %s: "+format, append([]any{l}, a...)...)}
	}
	if l.Baud < 0 || l.Baud > 20_000_000 {
		return bad("baud %d (want 1..20000000)", l.Baud)
	}
	if l.DataBits < 5 || l.DataBits > 8 {
		return bad("data bits %d (want 5..8)", l.DataBits)
	}
	switch l.Parity {
	case capture.ParityNone, capture.ParityEven, capture.ParityOdd, capture.ParityMark, capture.ParitySpace:
	default:
		return bad("parity %q (want N, E, O, M or S)", rune(l.Parity))
	}
	switch l.StopBits {
	case capture.Stop1, capture.Stop1_5, capture.Stop2:
	default:
		return bad("stop bits %d half-bits (want 2, 3 or 4)", l.StopBits)
	}
	switch l.Flow {
	case capture.FlowNone, capture.FlowRTSCTS, capture.FlowXONXOFF:
	default:
		return bad("flow control %d", l.Flow)
	}
	return nil
}
