package port

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/atbridge/atbridge/capture"
)

// CharTime is how long one character takes on the wire with settings l:
// a start bit, the data bits, a parity bit unless parity is none, and the
// stop bits (1, 1.5 or 2). Zero fields count as 8N1; a zero Baud gives 0.
func CharTime(l capture.LineSettings) time.Duration {
	if l.Baud <= 0 {
		return 0
	}
	l = LineDefaults(l)
	half := 2 * (1 + int64(l.DataBits)) // in half bits
	if l.Parity != capture.ParityNone {
		half += 2
	}
	half += int64(l.StopBits)
	return time.Duration(half * int64(time.Second) / (2 * int64(l.Baud)))
}

// pacedSlice is the stretch of line time written at once: the receiver gets
// bytes about every millisecond, as from a UART's FIFO, not in one lump.
const pacedSlice = time.Millisecond

// pacedIdle is how long after the last character's arrival a Write may
// start and still continue the schedule; a longer gap is the line resting,
// not time to catch up on.
const pacedIdle = 10 * time.Millisecond

// PacedWriter delivers bytes no faster than a serial line would: each
// character takes CharTime of the line in force. Bytes go out in slices of
// about a millisecond of line time, each when its last character would have
// arrived. The schedule is kept from one anchor (the time the line last
// became busy), so sleeping late never accumulates drift: a late slice is
// followed by the next ones at once until the schedule is met. A settings
// change, or a Write starting more than 10 ms after the previous bytes
// would have arrived, starts a new anchor.
//
// Write must not be called concurrently; Close may be called at any time.
type PacedWriter struct {
	w    io.Writer
	line func() capture.LineSettings

	anchor     time.Time            // when the current busy period began
	sent       int64                // bytes written since anchor
	anchorLine capture.LineSettings // settings the schedule was made for
	timer      *time.Timer

	stop      chan struct{}
	closeOnce sync.Once
}

// NewPacedWriter returns a writer to w that paces bytes at the settings
// line returns, asked before every slice. When line returns a zero Baud,
// bytes pass straight through.
func NewPacedWriter(w io.Writer, line func() capture.LineSettings) *PacedWriter {
	return &PacedWriter{w: w, line: line, stop: make(chan struct{})}
}

// Write writes p to the underlying writer at the line's pace, returning
// once the last byte is written. After Close, or when Close interrupts it,
// it returns an error wrapping ErrClosed.
func (pw *PacedWriter) Write(p []byte) (int, error) {
	written := 0
	for written < len(p) {
		select {
		case <-pw.stop:
			return written, fmt.Errorf("paced write: %w", ErrClosed)
		default:
		}
		l := pw.line()
		ct := CharTime(l)
		if ct <= 0 {
			n, err := pw.w.Write(p[written:])
			return written + n, err
		}
		// A new schedule starts when the settings change, or at the start
		// of a Write after the line rested. Within a Write, lateness is
		// caught up, never carried.
		if l != pw.anchorLine || pw.anchor.IsZero() || (written == 0 && time.Since(pw.due(ct, 0)) > pacedIdle) {
			pw.anchor, pw.sent, pw.anchorLine = time.Now(), 0, l
		}
		k := int(pacedSlice / ct)
		k = max(1, min(k, len(p)-written))
		if err := pw.sleepUntil(pw.due(ct, k)); err != nil {
			return written, err
		}
		n, err := pw.w.Write(p[written : written+k])
		written += n
		pw.sent += int64(n)
		if err != nil {
			return written, err
		}
	}
	return written, nil
}

// due is when the k-th next character finishes arriving.
func (pw *PacedWriter) due(ct time.Duration, k int) time.Time {
	return pw.anchor.Add(time.Duration(pw.sent+int64(k)) * ct)
}

func (pw *PacedWriter) sleepUntil(t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return nil
	}
	if pw.timer == nil {
		pw.timer = time.NewTimer(d)
	} else {
		pw.timer.Reset(d)
	}
	select {
	case <-pw.timer.C:
		return nil
	case <-pw.stop:
		pw.timer.Stop()
		return fmt.Errorf("paced write: %w", ErrClosed)
	}
}

// Close stops a Write in progress and makes later ones fail. It does not
// close the underlying writer. It is idempotent and always returns nil.
func (pw *PacedWriter) Close() error {
	pw.closeOnce.Do(func() { close(pw.stop) })
	return nil
}
