package replay

import (
	"bytes"
	"container/heap"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/formats"
	"github.com/atbridge/atbridge/formats/at"
)

// MockOptions configure a Mock. A nil *MockOptions means all defaults.
type MockOptions struct {
	// Rules are the matching rules and faults; nil means lenient matching
	// with the default masks and no faults.
	Rules *Rules
	// Timing spaces the device's output; the zero value is "fast". Use
	// TimingRecorded for recorded timing.
	Timing Timing
	// Log receives one line per miss as it happens; nil discards.
	Log io.Writer
	// Record, when set, receives every chunk read from and written to the
	// port (Port capture.PortHost; ToDevice what the host typed) and an
	// EvNote event per miss, with Time from Clock. It is called from
	// Serve's goroutine only; the record is only valid during the call.
	Record func(*capture.Record)
	// Clock gives Record's timestamps; nil means nanoseconds since Serve
	// started.
	Clock func() int64
	// Linger keeps Serve answering (every command is then a miss) this
	// long after the script is done; zero returns at once.
	Linger time.Duration
	// MissTimeout ends a Serve that has missed and not finished the script
	// once the host has sent nothing for this long (counted from the later
	// of the last miss and the last input, and only when no output is
	// waiting): a host that went off script will not bring it back, and a
	// mock waiting for it would hang a CI job. Zero means
	// DefaultMissTimeout; negative means wait for ctx, as before.
	MissTimeout time.Duration
	// Seed seeds the generator behind fault chances and garbage bytes.
	Seed uint64
}

// DefaultMissTimeout is MockOptions.MissTimeout's default.
const DefaultMissTimeout = 3 * time.Second

// MockStats is what a Mock did.
type MockStats struct {
	Answered int    // transactions matched and answered
	Misses   []Miss // in order
	// Unplayed counts recorded transactions the host never sent.
	Unplayed int
	// Polls counts polls (AT+CIPRECVLEN?, AT+CIPSTATUS...) the host sent
	// more or fewer times than the capture holds, answered or passed over
	// in lenient mode (mock_polls.go).
	Polls int
	// Done is when the last recorded output was sent, measured from the
	// start of Serve (zero when the script did not finish).
	Done     time.Duration
	Finished bool
	// GaveUp is how long the host had been silent after a miss when Serve
	// stopped waiting for the rest of the script (MissTimeout); zero when
	// it did not.
	GaveUp time.Duration
	// MaxLate is the largest delay between an output's deadline and the
	// start of its write: the mock's own scheduling error, whatever the
	// host does. It is measured before the write, so a host that is slow
	// to take the bytes shows in MaxWrite, not here.
	MaxLate time.Duration
	// MaxWrite is the longest one write to the port took: the time the
	// host (or the port between) took to accept an output. On a real UART
	// it is about the bytes' time on the wire; much more means the host
	// was not reading.
	MaxWrite time.Duration
	BytesIn  int64
	BytesOut int64
}

// Mock plays the device side of a capture to a live host app: it echoes as
// the firmware does (following ATE0/ATE1 and restarts), matches each
// command line and payload the host sends with the capture's next one
// (transaction by transaction, never by the recorded chunk boundaries),
// answers with the recorded output, and sends unsolicited output at its
// recorded offset from the host input it followed. Deadlines are computed
// from fixed points (Serve's start, or when that input arrived), never by
// adding up sleeps, so long captures do not drift.
//
// A command that does not match gets "\r\nERROR\r\n", as the firmware
// answers a command it cannot run, and becomes a Miss. A Mock serves once.
// Stats is safe to call concurrently with Serve.
type Mock struct {
	s    *Script
	opts MockOptions
	r    *Rules

	byAnchor map[int][]int // host item index (or -1) -> outputs anchored to it

	mu    sync.Mutex
	stats MockStats
}

// NewMock returns a Mock for s.
func NewMock(s *Script, opts *MockOptions) *Mock {
	m := &Mock{s: s, byAnchor: map[int][]int{}}
	if opts != nil {
		m.opts = *opts
	}
	m.r = m.opts.Rules
	if m.r == nil {
		m.r = &Rules{}
	}
	for i, o := range s.Out {
		m.byAnchor[o.Anchor] = append(m.byAnchor[o.Anchor], i)
	}
	return m
}

// Stats returns a copy of what the mock did so far.
func (m *Mock) Stats() MockStats {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := m.stats
	st.Misses = append([]Miss(nil), st.Misses...)
	return st
}

// mockWriteHook, when set (by tests only), is called after each scheduled
// write with the output's index, its deadline, when the write started and
// ended, and how many outputs were still queued.
// It is atomic because a mock of an earlier test may still be writing when
// the next test sets it.
var mockWriteHook atomic.Pointer[func(out int, due, start, end time.Time, queued int)]

// mockRun is the state of one Serve.
type mockRun struct {
	m     *Mock
	port  io.ReadWriter
	start time.Time
	rng   *rand.Rand

	consumed []bool
	cur      int // first unconsumed host item
	left     int // unconsumed host items
	echo     bool
	line     []byte
	payload  []byte
	raw      []byte // a non-command host item being received
	want     int    // payload bytes still expected; -1 in command mode
	payTx    int    // transaction whose payload is being typed
	payLive  int    // payload item index it should match

	q        outQueue
	seq      int64
	dropTx   map[int]bool
	delayTx  map[int]time.Duration
	injTx    map[int][][]byte
	busyLeft map[[2]int]int // (fault, tx) -> busy answers left
	wsData   int            // +WS_DATA sent so far
	running  int            // commands answered whose final result is not sent yet
	maxLate  time.Duration
	maxWrite time.Duration
	err      error
	// lastMiss is when the latest miss or, after one, input happened;
	// zero before the first miss.
	lastMiss time.Time
}

// Serve runs the mock on port until the script is done (every recorded
// input received and every output sent, plus Linger), ctx ends, or reading
// or writing port fails. It returns nil when the script finished or ctx
// ended, and the I/O error otherwise. Misses do not end Serve: they are in
// Stats. On return the pending Read is unblocked with SetReadDeadline when
// port has it, else by closing port if it is an io.Closer.
func (m *Mock) Serve(ctx context.Context, port io.ReadWriter) error {
	r := &mockRun{m: m, port: port, start: time.Now(), want: -1,
		rng:      rand.New(rand.NewPCG(m.opts.Seed, 0x61746272)),
		consumed: make([]bool, len(m.s.Host)), left: len(m.s.Host), echo: m.s.EchoOn,
		dropTx: map[int]bool{}, delayTx: map[int]time.Duration{}, injTx: map[int][][]byte{}, busyLeft: map[[2]int]int{}}
	rd := startReader(port)
	defer func() { _ = rd.stop() }()
	defer unblockWrites(ctx, port)()
	r.release(-1, r.start)
	for i := range m.r.Faults {
		f := &m.r.Faults[i]
		if f.timed() && r.chance(f) {
			r.push(r.start.Add(f.At), r.faultBytes(f), -1)
		}
	}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var lingerUntil time.Time
	missTimeout := m.opts.MissTimeout
	if missTimeout == 0 {
		missTimeout = DefaultMissTimeout
	}
	for {
		if err := r.flush(); err != nil {
			return err
		}
		giveUp := time.Time{} // when a mock that missed stops waiting
		if r.left > 0 && !r.lastMiss.IsZero() && missTimeout > 0 && len(r.q) == 0 {
			giveUp = r.lastMiss.Add(missTimeout)
			if !time.Now().Before(giveUp) {
				m.mu.Lock()
				m.stats.GaveUp = time.Since(r.lastMiss)
				m.mu.Unlock()
				r.finish()
				return nil
			}
		}
		if r.left == 0 && len(r.q) == 0 {
			if lingerUntil.IsZero() {
				m.mu.Lock()
				m.stats.Finished = true
				m.stats.Done = time.Since(r.start)
				m.mu.Unlock()
				lingerUntil = time.Now().Add(m.opts.Linger)
			}
			if !time.Now().Before(lingerUntil) {
				return nil
			}
		}
		next := time.Hour
		if len(r.q) > 0 {
			next = time.Until(r.q[0].due)
		} else if !lingerUntil.IsZero() {
			next = time.Until(lingerUntil)
		} else if !giveUp.IsZero() {
			next = time.Until(giveUp)
		}
		timer.Reset(max(next, 0))
		select {
		case <-ctx.Done():
			r.finish()
			return nil
		case c := <-rd.c:
			if c.err != nil {
				r.finish()
				if r.left == 0 {
					return nil
				}
				return fmt.Errorf("mock: reading the port: %w", c.err)
			}
			if !r.lastMiss.IsZero() {
				r.lastMiss = time.Now()
			}
			r.input(c.b)
			if r.err != nil {
				return r.err
			}
		case <-timer.C:
		}
	}
}

// finish counts what the host never sent.
func (r *mockRun) finish() {
	n := 0
	for i, h := range r.m.s.Host {
		if !r.consumed[i] && h.Kind == at.EvCommand {
			n++
		}
	}
	r.m.mu.Lock()
	r.m.stats.Unplayed = n
	r.m.mu.Unlock()
}

func (r *mockRun) now() int64 {
	if r.m.opts.Clock != nil {
		return r.m.opts.Clock()
	}
	return int64(time.Since(r.start))
}

func (r *mockRun) record(dir formats.Dir, b []byte) {
	if r.m.opts.Record != nil {
		r.m.opts.Record(&capture.Record{Kind: capture.KindChunk, Time: r.now(), Dir: dir, Port: capture.PortHost, Data: b})
	}
}

// write sends b to the host now.
func (r *mockRun) write(b []byte) {
	if r.err != nil || len(b) == 0 {
		return
	}
	if _, err := r.port.Write(b); err != nil {
		r.err = fmt.Errorf("mock: writing the port: %w", err)
		return
	}
	r.record(formats.ToHost, b)
	r.m.mu.Lock()
	r.m.stats.BytesOut += int64(len(b))
	r.m.mu.Unlock()
}

func (r *mockRun) push(due time.Time, b []byte, out int) {
	r.seq++
	heap.Push(&r.q, &pending{due: due, seq: r.seq, data: b, out: out})
}

// flush sends every output whose deadline has passed.
func (r *mockRun) flush() error {
	now := time.Now()
	for len(r.q) > 0 && !r.q[0].due.After(now) && r.err == nil {
		p := heap.Pop(&r.q).(*pending)
		start := time.Now()
		r.write(p.data)
		end := time.Now()
		if hook := mockWriteHook.Load(); hook != nil {
			(*hook)(p.out, p.due, start, end, len(r.q))
		}
		late, took := start.Sub(p.due), end.Sub(start)
		if late > r.maxLate || took > r.maxWrite {
			r.maxLate, r.maxWrite = max(r.maxLate, late), max(r.maxWrite, took)
			r.m.mu.Lock()
			r.m.stats.MaxLate, r.m.stats.MaxWrite = r.maxLate, r.maxWrite
			r.m.mu.Unlock()
		}
		if p.out < 0 {
			continue
		}
		o := &r.m.s.Out[p.out]
		switch {
		case o.Kind == at.EvURC && o.Name == "ready":
			r.echo = true // the firmware boots with echo on
			r.running = 0
		case r.isFinal(p.out) && r.running > 0:
			r.running--
		}
	}
	return r.err
}

// isFinal reports whether output oi is its transaction's final result.
func (r *mockRun) isFinal(oi int) bool {
	o := &r.m.s.Out[oi]
	if o.Tx < 0 || o.Kind != at.EvResult {
		return false
	}
	resp := r.m.s.Txs[o.Tx].Response
	return resp[len(resp)-1] == oi
}

// release schedules the outputs anchored to host item k, received at t.
func (r *mockRun) release(k int, t time.Time) { r.releaseExcept(k, t, -1) }

// releaseExcept is release without transaction skipTx's own output.
func (r *mockRun) releaseExcept(k int, t time.Time, skipTx int) {
	var base int64
	if k >= 0 {
		base = r.m.s.Host[k].Time
	}
	for _, oi := range r.m.byAnchor[k] {
		o := &r.m.s.Out[oi]
		if o.Tx >= 0 && (r.dropTx[o.Tx] || o.Tx == skipTx) {
			continue
		}
		due := t.Add(r.m.opts.Timing.after(o.Time - base))
		if o.Tx >= 0 {
			due = due.Add(r.delayTx[o.Tx])
		}
		data := o.Raw
		if o.Kind == at.EvURC && o.Name == "+WS_DATA" {
			data = r.corrupt(o)
		}
		r.push(due, data, oi)
		if o.Tx >= 0 && len(r.m.s.Txs[o.Tx].Response) > 0 && r.m.s.Txs[o.Tx].Response[len(r.m.s.Txs[o.Tx].Response)-1] == oi {
			for _, b := range r.injTx[o.Tx] {
				r.push(due, b, -1)
			}
		}
	}
}

// input handles bytes from the host.
func (r *mockRun) input(b []byte) {
	r.record(formats.ToDevice, b)
	r.m.mu.Lock()
	r.m.stats.BytesIn += int64(len(b))
	r.m.mu.Unlock()
	for len(b) > 0 && r.err == nil {
		if r.want >= 0 {
			n := min(r.want, len(b))
			r.payload = append(r.payload, b[:n]...)
			r.want -= n
			b = b[n:]
			if r.want == 0 {
				r.payloadDone()
			}
			continue
		}
		// Recorded input that is no command line (bytes beyond a payload's
		// length, passthrough data, "+++", garbage) is taken by its
		// recorded length and compared as raw bytes.
		if h := r.rawNext(); h >= 0 && len(r.line) == 0 {
			item := r.m.s.Host[h].Raw
			n := min(len(item)-len(r.raw), len(b))
			r.raw = append(r.raw, b[:n]...)
			b = b[n:]
			if len(r.raw) == len(item) {
				got := r.raw
				r.raw = nil
				if bytes.Equal(got, item) {
					r.consume(h, time.Now())
				} else {
					r.missAt(Miss{Tx: r.m.s.Host[h].Tx, Expected: string(item), Got: string(got), What: "input", Loc: r.m.s.Host[h].Loc}, time.Now())
					r.consume(h, time.Now())
				}
			}
			continue
		}
		// Command mode: echo as the firmware does, byte for byte, except
		// while a command runs: that input only gets "busy p..." (which
		// the capture has, when the recorded host did the same).
		i := bytes.IndexByte(b, '\n')
		n := len(b)
		if i >= 0 {
			n = i + 1
		}
		if r.echo && r.running == 0 {
			r.write(b[:n])
		}
		r.line = append(r.line, b[:n]...)
		b = b[n:]
		if i >= 0 && bytes.HasSuffix(r.line, []byte("\r\n")) {
			line := r.line
			r.line = nil
			r.command(line)
		} else if len(r.line) > 4096 {
			r.line = nil // the firmware resets its buffer too
		}
	}
}

// rawNext returns the next expected host item when it is not a command
// line, -1 otherwise.
func (r *mockRun) rawNext() int {
	if r.cur >= len(r.m.s.Host) {
		return -1
	}
	h := &r.m.s.Host[r.cur]
	if h.Kind == at.EvCommand && bytes.HasSuffix(h.Raw, []byte("\r\n")) {
		return -1
	}
	return r.cur
}

// skipJunk consumes recorded host input that is no command (bytes after a
// payload, garbage) when the live host did not send it: the device output
// anchored to it ("busy p...") is dropped with it.
func (r *mockRun) skipJunk() {
	for r.cur < len(r.m.s.Host) && (r.consumed[r.cur] || r.m.s.Host[r.cur].Kind != at.EvCommand) {
		if !r.consumed[r.cur] {
			r.consumed[r.cur] = true
			r.left--
			// Outputs anchored to it still go, later ones depend on them.
			r.release(r.cur, time.Now())
		}
		r.cur++
	}
}

// command handles a complete command line from the host.
func (r *mockRun) command(line []byte) {
	now := time.Now()
	body := line[:len(line)-2]
	s := r.m.s
	// Junk the capture has here (the CRLF a host added after a payload)?
	if r.cur < len(s.Host) && !r.consumed[r.cur] && s.Host[r.cur].Kind != at.EvCommand && bytes.Equal(s.Host[r.cur].Raw, line) {
		r.consume(r.cur, now)
		return
	}
	r.skipJunk()
	key := r.m.r.CommandKey(body)
	k := -1
	if r.cur < len(s.Host) && r.m.r.CommandKey(trimCRLF(s.Host[r.cur].Raw)) == key {
		k = r.cur
	} else if r.m.r.AnyOrder {
		for j := r.cur + 1; j < len(s.Host); j++ {
			if !r.consumed[j] && s.Host[j].Kind == at.EvCommand && r.m.r.CommandKey(trimCRLF(s.Host[j].Raw)) == key {
				k = j
				break
			}
		}
	}
	if k < 0 && r.repeatPoll(key, body, now) {
		return
	}
	if k < 0 {
		k = r.skipPolls(key, now)
	}
	if k < 0 {
		r.miss("command", body, now)
		r.push(now, []byte("\r\nERROR\r\n"), -1) // after what is already due
		return
	}
	tx := s.Host[k].Tx
	if tx >= 0 && r.busyFault(tx) {
		r.push(now, []byte("\r\nbusy p...\r\n"), -1)
		return
	}
	if tx >= 0 {
		r.applyFaults(tx, body, now)
	}
	r.consume(k, now)
	if tx < 0 {
		return
	}
	t := &s.Txs[tx]
	r.m.mu.Lock()
	r.m.stats.Answered++
	r.m.mu.Unlock()
	if n := len(t.Response); n > 0 && !r.dropTx[tx] && r.isFinal(t.Response[n-1]) {
		r.running++
	}
	if t.Cmd != nil && t.Result == "OK" {
		switch t.Cmd.Name {
		case "E0":
			r.echo = false
		case "E1":
			r.echo = true
		}
	}
	if t.Prompt >= 0 && !r.dropTx[tx] {
		n := t.Prompt
		if c, err := at.ParseCommand(body); err == nil {
			if a := announced(c); a >= 0 {
				n = a
			}
		}
		// A recorded payload shorter than announced was cut short ("+++"
		// on AT+CIPSEND, or the capture ended): expect what was typed.
		if t.Payload >= 0 && len(s.Host[t.Payload].Raw) < t.Prompt {
			n = min(n, len(s.Host[t.Payload].Raw))
		}
		r.want, r.payTx, r.payload = n, tx, nil
		r.payLive = t.Payload
		if n == 0 {
			r.payloadDone()
		}
	}
}

func trimCRLF(b []byte) []byte { return bytes.TrimSuffix(b, []byte("\r\n")) }

// consume marks host item k received at t and schedules what it triggers.
func (r *mockRun) consume(k int, t time.Time) { r.consumeExcept(k, t, -1) }

// consumeExcept is consume without transaction skipTx's own output (a poll
// passed over: its answer is not sent, what followed it is).
func (r *mockRun) consumeExcept(k int, t time.Time, skipTx int) {
	r.consumed[k] = true
	r.left--
	for r.cur < len(r.consumed) && r.consumed[r.cur] {
		r.cur++
	}
	r.releaseExcept(k, t, skipTx)
}

// payloadDone compares a typed payload with the recorded one.
func (r *mockRun) payloadDone() {
	now := time.Now()
	r.want = -1
	s := r.m.s
	k := r.payLive
	if k >= 0 && !r.consumed[k] && r.m.r.PayloadKey(r.payload) == r.m.r.PayloadKey(s.Host[k].Raw) {
		r.consume(k, now)
		return
	}
	exp := ""
	if k >= 0 {
		exp = string(s.Host[k].Raw)
	}
	r.missAt(Miss{Tx: r.payTx, Expected: exp, Got: string(r.payload), What: "payload", Loc: s.Txs[r.payTx].Loc}, now)
	// The firmware answers a send it could not make with ERROR; what the
	// capture had after the payload is not sent.
	if k >= 0 && !r.consumed[k] {
		r.consumed[k] = true
		r.left--
		for r.cur < len(r.consumed) && r.consumed[r.cur] {
			r.cur++
		}
	}
	r.push(now, []byte("\r\nERROR\r\n"), -1)
}
