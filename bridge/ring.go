package bridge

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/atbridge/atbridge/capture"
)

// RingOptions configure a RingWriter.
type RingOptions struct {
	// Span keeps the records of the last Span of the session; Bytes keeps
	// the last Bytes of them (data plus RingRecordCost a record). Set one.
	Span  time.Duration
	Bytes int64
	// After is how long a window goes on recording after its trigger; a
	// trigger within it extends it by After from that trigger.
	After time.Duration
	// Triggers say when to write a window; at least one.
	Triggers []Trigger
	// MaxWindows bounds the files written (DefaultMaxWindows when zero);
	// later triggers are counted, not written.
	MaxWindows int
	// Memory bounds what a Span ring holds (DefaultRingMemory when zero):
	// past it the oldest records go even if younger than Span, and the
	// windows written say so.
	Memory int64
	// Writer is passed to capture.Create for every window file.
	Writer *capture.WriterOptions
	// OnWindow, when set, is called once for each window when its file is
	// complete (or failed), from a goroutine of the RingWriter's.
	OnWindow func(Window)

	// Clock, when set, replaces the wall clock: record times since the
	// ring's start (simulations, tests).
	Clock func() int64
}

// ParseRing reads --ring: a duration ("10m") or a size ("50MB", "512KiB").
func ParseRing(s string) (RingOptions, error) {
	sp, err := ParseSplit(s)
	if err != nil {
		return RingOptions{}, fmt.Errorf("--ring %q: want a duration (10m, 1h) or a size (50MB, 512KiB)", s)
	}
	return RingOptions{Span: sp.Every, Bytes: sp.Size}, nil
}

// Defaults of RingOptions.
const (
	DefaultMaxWindows = 100
	DefaultRingMemory = 256 << 20
	// RingRecordCost is what a held record costs besides its data and
	// text, counted against RingOptions.Bytes and Memory (the Record
	// struct's 160-byte allocation, its pointer in the ring, the data's
	// allocation rounding).
	RingRecordCost = 176
)

// closeGrace is how long past a window's end the RingWriter waits for
// records stamped before the end that are still in the proxy's queue.
const closeGrace = int64(time.Second)

// Window is one file a RingWriter wrote.
type Window struct {
	N    int    // 1, 2, ...
	Path string // BASE-0001.atcap ...
	// Trigger says what fired first; Triggers counts the triggers the
	// window holds (later ones extended it).
	Trigger  string
	Triggers int
	// From is the time of the window's first record, At the first
	// trigger's, Until the last record's (record times: since the ring's
	// start).
	From, At, Until int64
	// End is where the window's after part ended: the last trigger plus
	// After, or the end of the recording when that came first.
	End     int64
	Records int64 // in the file, its EvTrigger records included
	// Short says why the part before the trigger is shorter than asked,
	// when it is ("the session began 2m10s before", "the 256 MiB memory
	// bound"); empty when it is whole.
	Short string
	// Lost counts records (LostBytes their data) of the after part not
	// written because the disk fell behind by more than the memory bound.
	Lost, LostBytes int64
	Err             error
}

// RingWriter is a Recorder that keeps the last part of a session in
// memory and writes it to a file only when a trigger fires: the window
// before the trigger, an EvTrigger record, and the records of RingOptions.After
// after it, in BASE-0001.atcap, BASE-0002.atcap, ... Memory is bounded by
// RingOptions.Bytes or Memory, disk by MaxWindows windows of at most that
// much plus their after part, for a session of any length.
//
// Every window file has the ring's Header.Start and MonoBase, so times run
// on one clock across them, and carries the line settings in force at its
// first record. Windows may overlap: each is whole in itself. Triggers are
// decoded from the records as they are written (at, esplog); writing a
// window's file happens in a goroutine of its own, so a trigger never
// holds up the recording.
//
// A RingWriter is safe for concurrent use.
type RingWriter struct {
	base string
	hdr  capture.Header
	opts RingOptions
	now  func() int64
	det  *detector

	mu    sync.Mutex
	ring  []*capture.Record // ring[head:] is held, oldest first
	head  int
	held  int64 // bytes held, RingRecordCost a record included
	first int64 // time of the first record ever written, -1 before
	// trimmed is the time of the youngest record that went for the memory
	// bound rather than for age, -1 when none.
	trimmed int64
	lines   []capture.LineSettings // in force at ring[head]
	win     *window
	n       int
	skipped int
	files   []string
	closed  bool

	bg   sync.WaitGroup
	stop chan struct{}
	errs []error // window errors, s.mu
}

// CreateRing makes a RingWriter whose windows are named after path
// ("bench.atcap" gives bench-0001.atcap, ...). Nothing is written until a
// trigger fires.
func CreateRing(path string, h capture.Header, opts RingOptions) (*RingWriter, error) {
	if len(opts.Triggers) == 0 {
		return nil, errors.New("ring: no trigger: a ring recording writes only when one fires")
	}
	if (opts.Span > 0) == (opts.Bytes > 0) {
		return nil, errors.New("ring: want a duration or a size to keep")
	}
	if opts.After < 0 {
		return nil, errors.New("ring: the time after a trigger cannot be negative")
	}
	if opts.MaxWindows <= 0 {
		opts.MaxWindows = DefaultMaxWindows
	}
	if opts.Memory <= 0 {
		opts.Memory = DefaultRingMemory
	}
	if opts.Bytes > 0 {
		opts.Memory = opts.Bytes
	}
	now := time.Now()
	h.Start = now.UTC()
	h.MonoBase = capture.MonotonicNow()
	r := &RingWriter{base: path, hdr: h, opts: opts, first: -1, trimmed: -1, stop: make(chan struct{})}
	r.now = opts.Clock
	if r.now == nil {
		r.now = func() int64 { return int64(time.Since(now)) }
	}
	for _, p := range h.Ports {
		r.lines = append(r.lines, p.Line)
	}
	r.det = newDetector(h, opts.Triggers)
	go r.ticker()
	return r, nil
}

// RingName returns the path of window n of a ring recording to path.
func RingName(path string, n int) string {
	ext := filepath.Ext(path)
	return fmt.Sprintf("%s-%04d%s", strings.TrimSuffix(path, ext), n, ext)
}

// Now returns the time since the ring's start.
func (r *RingWriter) Now() int64 { return r.now() }

// Header returns the header the windows are written with (their line
// settings aside).
func (r *RingWriter) Header() capture.Header { return r.hdr }

// Files returns the window files started so far.
func (r *RingWriter) Files() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.files...)
}

// Skipped returns how many triggers fired after MaxWindows windows and
// were not written.
func (r *RingWriter) Skipped() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.skipped
}

// Held returns the records and bytes the ring holds now.
func (r *RingWriter) Held() (records int, bytes int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.ring) - r.head, r.held
}

func cost(rec *capture.Record) int64 {
	return RingRecordCost + int64(len(rec.Data)) + int64(len(rec.Event.Text))
}

// Write keeps a copy of rec, hands it to the open window if there is one,
// and opens or extends a window when a trigger fires on it.
func (r *RingWriter) Write(rec *capture.Record) error {
	c := *rec
	if len(c.Data) > 0 {
		c.Data = append([]byte(nil), c.Data...)
	}
	rr := &c
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return errors.New("ring: closed")
	}
	if r.first < 0 {
		r.first = rr.Time
	}
	r.ring = append(r.ring, rr)
	r.held += cost(rr)
	r.evict(rr.Time)
	if w := r.win; w != nil {
		if rr.Time > w.deadline {
			r.endWindow(false)
		} else {
			w.push(rr, r.opts.Memory)
		}
	}
	for _, what := range r.det.check(rr) {
		r.fired(rr.Time, what)
	}
	return nil
}

// evict drops the records older than Span, or past the memory bound (the
// newest record stays whatever its size). r.mu held.
func (r *RingWriter) evict(t int64) {
	for r.head < len(r.ring)-1 {
		old := r.ring[r.head]
		byAge := r.opts.Span > 0 && old.Time < t-int64(r.opts.Span)
		if !byAge && r.held <= r.opts.Memory {
			break
		}
		if !byAge && r.opts.Span > 0 {
			r.trimmed = old.Time
		}
		r.held -= cost(old)
		if old.Kind == capture.KindEvent && old.Event.Line.Baud != 0 && int(old.Port) < len(r.lines) {
			switch old.Event.Type {
			case capture.EvLineSettings, capture.EvPortOpened, capture.EvPortReopened:
				r.lines[old.Port] = old.Event.Line
			}
		}
		r.ring[r.head] = nil
		r.head++
	}
	// Reclaim the slice's front once it is most of it.
	if r.head > 1024 && r.head > len(r.ring)/2 {
		n := copy(r.ring, r.ring[r.head:])
		clear(r.ring[n:])
		r.ring, r.head = r.ring[:n], 0
	}
}

// fired opens a window at t, or extends the open one. r.mu held.
func (r *RingWriter) fired(t int64, what string) {
	ev := &capture.Record{Kind: capture.KindEvent, Time: t, Event: capture.Event{Type: capture.EvTrigger, Text: what}}
	if w := r.win; w != nil {
		w.Triggers++
		w.deadline = max(w.deadline, t+int64(r.opts.After))
		w.push(ev, r.opts.Memory)
		return
	}
	if r.n >= r.opts.MaxWindows {
		r.skipped++
		return
	}
	r.n++
	w := &window{Window: Window{N: r.n, Path: RingName(r.base, r.n), Trigger: what, Triggers: 1, At: t},
		deadline: t + int64(r.opts.After), wake: make(chan struct{}, 1)}
	held := r.ring[r.head:]
	w.From = held[0].Time
	switch {
	case r.trimmed >= 0 && r.opts.Span > 0 && w.From > t-int64(r.opts.Span):
		w.Short = fmt.Sprintf("the ring's %d MiB memory bound kept only %s of the %s asked",
			r.opts.Memory>>20, time.Duration(t-w.From).Round(time.Millisecond), r.opts.Span)
	case r.opts.Span > 0 && r.first == w.From && t-w.From < int64(r.opts.Span):
		w.Short = fmt.Sprintf("the session began %s before", time.Duration(t-w.From).Round(time.Millisecond))
	}
	h := r.hdr
	h.Ports = append([]capture.PortInfo(nil), r.hdr.Ports...)
	for i := range h.Ports {
		if i < len(r.lines) {
			h.Ports[i].Line = r.lines[i]
		}
	}
	h.Meta = map[string]string{}
	for k, v := range r.hdr.Meta {
		h.Meta[k] = v
	}
	h.Meta["ring_window"] = strconv.Itoa(r.n)
	h.Meta["ring_trigger"] = what
	r.files = append(r.files, w.Path)
	cw, err := capture.Create(w.Path, h, r.opts.Writer)
	if err != nil {
		w.Err = fmt.Errorf("ring: window %d: %w", w.N, err)
		r.errs = append(r.errs, w.Err)
		r.report(w.Window)
		return
	}
	w.w = cw
	// The snapshot shares the held records: they are never changed.
	w.pending = append(append(make([]*capture.Record, 0, len(held)+1), held...), ev)
	r.win = w
	r.bg.Add(1)
	go r.writeWindow(w)
}

// endWindow closes the open window: its goroutine writes what is pending
// and closes the file. stopped says the recording ended before the window
// did, which a note records last. r.mu held.
func (r *RingWriter) endWindow(stopped bool) {
	w := r.win
	r.win = nil
	w.mu.Lock()
	w.End = w.deadline
	if stopped {
		end := max(w.last, r.now())
		w.End = min(end, w.deadline)
		w.pending = append(w.pending, &capture.Record{Kind: capture.KindEvent, Time: end,
			Event: capture.Event{Type: capture.EvNote, Text: fmt.Sprintf("the recording stopped %s after the trigger, before the %s asked",
				time.Duration(end-w.At).Round(time.Millisecond), r.opts.After)}})
	}
	w.ending = true
	w.mu.Unlock()
	w.signal()
}

func (r *RingWriter) report(w Window) {
	if r.opts.OnWindow != nil {
		r.opts.OnWindow(w)
	}
}

// ticker ends a window whose time is up when no record comes to end it.
func (r *RingWriter) ticker() {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-t.C:
			r.tick()
		}
	}
}

func (r *RingWriter) tick() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.win != nil && r.now() > r.win.deadline+closeGrace {
		r.endWindow(false)
	}
}

// Close ends the open window (its after part cut short, and saying so),
// waits for every window's file and returns their errors.
func (r *RingWriter) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	close(r.stop)
	if r.win != nil {
		r.endWindow(true)
	}
	r.mu.Unlock()
	r.bg.Wait()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ring, r.head, r.held = nil, 0, 0
	return errors.Join(r.errs...)
}

// window is a window file being written.
type window struct {
	Window
	w        *capture.Writer
	deadline int64 // record time the window ends at; RingWriter.mu

	mu      sync.Mutex
	pending []*capture.Record
	bytes   int64 // of pending, the snapshot not counted
	last    int64 // time of the last record handed over
	ending  bool
	wake    chan struct{}
}

// push hands rec to the window's goroutine; past limit bytes waiting (the
// disk far behind), records are counted as lost instead.
func (w *window) push(rec *capture.Record, limit int64) {
	w.mu.Lock()
	if w.bytes > limit {
		w.Lost++
		w.LostBytes += int64(len(rec.Data))
		w.mu.Unlock()
		return
	}
	w.pending = append(w.pending, rec)
	w.bytes += cost(rec)
	w.last = rec.Time
	w.mu.Unlock()
	w.signal()
}

func (w *window) signal() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// writeWindow writes w's records as they come, then closes its file.
func (r *RingWriter) writeWindow(w *window) {
	defer r.bg.Done()
	var err error
	for {
		w.mu.Lock()
		batch, ending, lost, lostBytes := w.pending, w.ending, w.Lost, w.LostBytes
		w.pending, w.bytes = nil, 0
		w.mu.Unlock()
		for _, rec := range batch {
			if err == nil {
				err = w.w.Write(rec)
			}
			w.Records++
			w.Until = rec.Time
		}
		if ending && len(batch) == 0 {
			if lost > 0 && err == nil {
				err = w.w.WriteEvent(w.Until, capture.Event{Type: capture.EvBytesLost, Count: lostBytes,
					Text: fmt.Sprintf("%d records of the window's after part: the disk fell behind", lost)})
			}
			break
		}
		if len(batch) == 0 {
			<-w.wake
		}
	}
	if cerr := w.w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		w.Err = fmt.Errorf("ring: window %s: %w", w.Path, err)
		r.mu.Lock()
		r.errs = append(r.errs, w.Err)
		r.mu.Unlock()
	}
	r.report(w.Window)
}
