package redact

import (
	"sync"

	"github.com/atbridge/atbridge/capture"
)

// Sink is where a Writer puts redacted records: a *capture.Writer, a
// bridge.SplitWriter, or any recorder with this method.
type Sink interface {
	Write(*capture.Record) error
}

// Writer redacts records on their way to a Sink, for recording redacted
// from the start (proxy, emulate and mock --redact). Records are held back
// until the decoder has settled their bytes (see the package comment);
// Close releases the rest and appends an EvNote saying what was redacted
// ("redacted: rule=count,..."). A Writer is safe for concurrent use.
type Writer struct {
	mu     sync.Mutex
	next   Sink
	r      *Redactor
	last   int64
	closed bool
	err    error
}

// NewWriter returns a Writer in front of next.
func NewWriter(next Sink, opts *Options) *Writer {
	return &Writer{next: next, r: New(opts)}
}

// Now returns next's clock when it has one (Now() int64), else 0, so a
// Writer can stand where a bridge.Recorder is expected.
func (w *Writer) Now() int64 {
	if n, ok := w.next.(interface{ Now() int64 }); ok {
		return n.Now()
	}
	return 0
}

// Write redacts rec (copied) and writes the records that are ready. It
// returns the first error next returned, then and on every later call.
func (w *Writer) Write(rec *capture.Record) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return capture.ErrClosed
	}
	w.last = max(w.last, rec.Time)
	return w.put(w.r.Add(rec))
}

func (w *Writer) put(recs []capture.Record) error {
	for i := range recs {
		if w.err != nil {
			break
		}
		w.err = w.next.Write(&recs[i])
	}
	return w.err
}

// Counts returns how many secrets each rule found so far.
func (w *Writer) Counts() map[string]int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.r.Counts()
}

// Close writes every held record and the closing note. It does not close
// next. Close is idempotent.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return w.err
	}
	w.closed = true
	w.put(w.r.Flush())
	note := capture.Record{Kind: capture.KindEvent, Time: w.last,
		Event: capture.Event{Type: capture.EvNote, Text: "redacted: " + Summary(w.r.Counts())}}
	w.put([]capture.Record{note})
	return w.err
}
