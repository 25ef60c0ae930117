package replay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/formats"
	"github.com/atbridge/atbridge/formats/at"
)

// Pacing says when Run sends the host's next input.
type Pacing uint8

// Pacings.
const (
	// Lockstep, the zero value, sends a command once the previous ones have
	// their final result, a payload once its prompt came, and waits (at most
	// RunOptions.URCWait) for the unsolicited output the capture had before
	// the next input.
	Lockstep Pacing = iota
	// Paced sends each input at its recorded time (scaled by
	// RunOptions.Timing), from one anchor so it never drifts; a payload
	// still waits for its prompt.
	Paced
)

// RunOptions configure Run. A nil *RunOptions means all defaults.
type RunOptions struct {
	Pacing Pacing
	// Timing scales recorded times under Paced; the zero value is fast.
	Timing Timing
	// Timeout bounds each wait for a final result or a prompt; default 5 s.
	// A device that does not answer in time is not an error: the run goes
	// on and the comparison shows what is missing.
	Timeout time.Duration
	// URCWait bounds each wait for recorded unsolicited output under
	// Lockstep; default 1 s.
	URCWait time.Duration
	// Record, when set, receives every chunk written to and read from the
	// device (Port capture.PortDevice), with Time from Clock, from Run's
	// goroutine; the record is only valid during the call.
	Record func(*capture.Record)
	// Clock gives the records' times; nil means nanoseconds since Run
	// started.
	Clock func() int64
	// Progress, when set, is called from Run's goroutine after each host
	// input is sent, with how many of the script's inputs have been.
	Progress func(sent, total int)
}

// guard is the silence Run keeps before and after "+++": the firmware's
// 20 ms with a margin for scheduling.
const guard = 40 * time.Millisecond

// ErrNoDevice is returned by Run when not one byte came back from the
// device (while the capture has device output): a wrong port or a dead
// board, nothing worth comparing.
var ErrNoDevice = errors.New("the device did not answer at all")

// runState follows the live traffic with a decoder.
type runState struct {
	opts  RunOptions
	port  io.ReadWriter
	start time.Time
	dec   *at.Decoder
	recs  []capture.Record
	rd    *reader

	done    int // transactions finished
	prompts int
	readies int
	urcs    int // unsolicited outputs (EvURC) seen
	got     int64
	err     error
}

// Run sends the host side of s to the device on port, records what comes
// back, and returns the run as a Script to Compare with s. It returns an
// error only when the run could not be made: ctx ended, or not one byte
// came back (ErrNoDevice, wrapping the port's error if it failed); a device
// that answers differently, late or partly is the comparison's business. The pending Read is unblocked at the end as Mock.Serve does.
func Run(ctx context.Context, port io.ReadWriter, s *Script, opts *RunOptions) (*Script, error) {
	st := &runState{port: port, start: time.Now(), dec: at.NewDecoder(&at.DecoderOptions{Firmware: firmwareOf(s.Header)})}
	if opts != nil {
		st.opts = *opts
	}
	if st.opts.Timeout <= 0 {
		st.opts.Timeout = 5 * time.Second
	}
	if st.opts.URCWait <= 0 {
		st.opts.URCWait = time.Second
	}
	st.rd = startReader(port)
	defer unblockWrites(ctx, port)()
	var once sync.Once
	var left []byte
	stop := func() { once.Do(func() { left = st.rd.stop() }) }
	defer stop()

	// What the capture had seen before each host input: unsolicited
	// output, restarts, final results and prompts. Lockstep waits for the
	// same before sending that input.
	urcBefore := make([]int, len(s.Host)+1)
	readyBefore := make([]int, len(s.Host)+1)
	doneBefore := make([]int, len(s.Host)+1)
	promptBefore := make([]int, len(s.Host)+1)
	for oi := range s.Out {
		o := &s.Out[oi]
		switch {
		case o.Kind == at.EvPrompt:
			promptBefore[o.Anchor+1]++
		case o.Tx >= 0 && o.Kind == at.EvResult && s.Txs[o.Tx].Result != "" &&
			s.Txs[o.Tx].Response[len(s.Txs[o.Tx].Response)-1] == oi:
			doneBefore[o.Anchor+1]++
		case o.Tx < 0 && o.Kind == at.EvURC:
			urcBefore[o.Anchor+1]++
		}
		// A restart counts wherever the decoder placed its "ready": one
		// that ended a command (the board panicked in it) belongs to
		// that transaction, and the next input must still wait for it,
		// as the firmware drops input until then.
		if o.Kind == at.EvURC && o.Name == "ready" {
			readyBefore[o.Anchor+1]++
		}
	}
	for i := 1; i <= len(s.Host); i++ {
		urcBefore[i] += urcBefore[i-1]
		readyBefore[i] += readyBefore[i-1]
		doneBefore[i] += doneBefore[i-1]
		promptBefore[i] += promptBefore[i-1]
	}
	for i, h := range s.Host {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if st.err != nil {
			break
		}
		switch st.opts.Pacing {
		case Paced:
			st.waitUntil(ctx, st.start.Add(st.opts.Timing.after(h.Loc.Time)), func() bool { return false })
		default:
			st.waitUntil(ctx, time.Now().Add(st.opts.Timeout), func() bool {
				return st.done >= doneBefore[i] && st.prompts >= promptBefore[i] && st.readies >= readyBefore[i]
			})
			st.waitUntil(ctx, time.Now().Add(st.opts.URCWait), func() bool { return st.urcs >= urcBefore[i] })
		}
		if st.opts.Pacing == Paced && h.Kind == at.EvPayload && h.Tx >= 0 {
			st.waitUntil(ctx, time.Now().Add(st.opts.Timeout), func() bool { return st.prompts >= promptBefore[i] })
		}
		plus := string(h.Raw) == "+++"
		if plus {
			// The firmware takes "+++" as an escape only with 20 ms of
			// silence around it (esp-at.md §1.5, §1.6).
			st.waitUntil(ctx, time.Now().Add(guard), func() bool { return false })
		}
		st.write(h.Raw)
		if plus {
			st.waitUntil(ctx, time.Now().Add(guard), func() bool { return false })
		}
		if st.opts.Progress != nil {
			st.opts.Progress(i+1, len(s.Host))
		}
	}
	if st.err == nil && ctx.Err() == nil {
		st.waitUntil(ctx, time.Now().Add(st.opts.Timeout), func() bool { return st.done >= doneBefore[len(s.Host)] })
		st.waitUntil(ctx, time.Now().Add(st.opts.URCWait), func() bool { return st.urcs >= urcBefore[len(s.Host)] })
		if st.opts.Pacing == Paced {
			// Recorded pacing plays the capture's whole length: the
			// device's output after the host's last input included.
			st.waitUntil(ctx, st.start.Add(st.opts.Timing.after(s.Duration)), func() bool { return false })
			st.waitUntil(ctx, time.Now().Add(st.opts.Timeout), func() bool { return st.got >= s.DeviceBytes })
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	stop()
	if len(left) > 0 {
		st.take(chunk{b: left})
	}
	if st.got == 0 && s.DeviceBytes > 0 {
		if st.err != nil {
			return nil, fmt.Errorf("%w: %v", ErrNoDevice, st.err)
		}
		return nil, ErrNoDevice
	}
	h := capture.Header{Tool: "atbridge replay", Ports: []capture.PortInfo{{Name: "device", Role: "device"}},
		Meta: map[string]string{"command": "replay"}}
	if fw := s.Header.Meta["firmware"]; fw != "" {
		h.Meta["firmware"] = fw
	}
	return FromRecords(h, st.recs)
}

func (st *runState) now() int64 {
	if st.opts.Clock != nil {
		return st.opts.Clock()
	}
	return int64(time.Since(st.start))
}

func (st *runState) note(dir formats.Dir, b []byte) {
	r := capture.Record{Kind: capture.KindChunk, Time: st.now(), Dir: dir, Port: capture.PortDevice, Data: b}
	st.recs = append(st.recs, r)
	if st.opts.Record != nil {
		st.opts.Record(&r)
	}
	st.track(st.dec.Feed(r.Time, dir, b))
}

func (st *runState) track(evs []at.Event) {
	for _, e := range evs {
		switch {
		case e.Kind == at.EvTransaction:
			st.done++
		case e.Kind == at.EvPrompt:
			st.prompts++
		case e.Kind == at.EvURC:
			st.urcs++
			if e.Name == "ready" {
				st.readies++
			}
		}
	}
}

func (st *runState) write(b []byte) {
	if _, err := st.port.Write(b); err != nil {
		st.err = err
		return
	}
	st.note(formats.ToDevice, b)
}

// waitUntil reads the device until cond holds, the deadline passes, ctx
// ends or the port fails.
func (st *runState) waitUntil(ctx context.Context, deadline time.Time, cond func() bool) {
	t := time.NewTimer(max(time.Until(deadline), 0))
	defer t.Stop()
	for !cond() && st.err == nil {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			return
		case c := <-st.rd.c:
			st.take(c)
		}
	}
}

func (st *runState) take(c chunk) {
	if c.err != nil {
		if st.err == nil {
			st.err = c.err
		}
		return
	}
	st.got += int64(len(c.b))
	st.note(formats.ToHost, c.b)
}
