package analysis

import (
	"fmt"
	"time"

	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/formats/at"
)

// Live is the model of a live view: it follows a recording as it is made
// and hands what happened to a LiveSink, decoded or raw. It never holds up
// the recorder: Observe copies the record into a bounded queue and returns
// at once; when the view is behind (a slow or paused terminal, a browser
// tab that stopped reading), records are skipped and counted, and the sink
// is told how many before the next one it gets. The capture itself always
// has every record.
//
// Observe and Close belong to the recording side (one goroutine); Run
// belongs to the view's goroutine, which the caller starts and waits for.
type Live struct {
	ch      chan capture.Record
	dec     *at.Decoder
	skipped int // records not queued; only Observe and Close touch it
	tick    time.Duration
	viewer  string
}

// LiveOptions configures a Live. The zero value (or nil) means decoded,
// a queue of 8192 records, a tick every 100 ms.
type LiveOptions struct {
	// Raw hands chunks to the sink as records, not decoded.
	Raw bool
	// Queue is how many records the view may fall behind; default 8192.
	Queue int
	// Tick is how often the sink's Tick is called while records flow or
	// not; default 100 ms.
	Tick time.Duration
	// Viewer is what the skip notes name as too slow; default "view"
	// ("terminal" for the CLI's live view).
	Viewer string
}

// LiveSink receives what a Live follows, in the order it happened, on
// Run's goroutine.
type LiveSink interface {
	// Events gets decoded events; evs is reused after the call returns.
	Events(evs []at.Event)
	// Record gets a record that is not decoded: a frame, an event, a note
	// of skipped records, or with Raw any record.
	Record(r *capture.Record)
	// Tick is called every LiveOptions.Tick, and once at the end.
	Tick()
}

// NewLive returns a Live for the recording with header h.
func NewLive(h capture.Header, o *LiveOptions) *Live {
	if o == nil {
		o = &LiveOptions{}
	}
	l := &Live{ch: make(chan capture.Record, cmpOr(o.Queue, 8192)), tick: o.Tick, viewer: o.Viewer}
	if l.viewer == "" {
		l.viewer = "view"
	}
	if l.tick <= 0 {
		l.tick = 100 * time.Millisecond
	}
	if !o.Raw {
		l.dec = at.NewDecoder(h.DecoderOptions())
	}
	return l
}

func cmpOr(v, def int) int {
	if v > 0 {
		return v
	}
	return def
}

// Observe queues a copy of r, or counts it as skipped when the view is
// behind. It never blocks; it has the signature of the proxy's Observe
// hook. It must not be called after Close.
func (l *Live) Observe(r *capture.Record) {
	if l.skipped > 0 {
		// Tell the view how many went missing before this one.
		note := capture.Record{Kind: capture.KindEvent, Time: r.Time, Event: capture.Event{Type: capture.EvNote,
			Text: fmt.Sprintf("live view: %d records not shown (the %s was too slow); the capture has them", l.skipped, l.viewer)}}
		select {
		case l.ch <- note:
			l.skipped = 0
		default:
			l.skipped++
			return
		}
	}
	c := *r
	c.Data = append([]byte(nil), r.Data...)
	select {
	case l.ch <- c:
	default:
		l.skipped++
	}
}

// Close ends the queue: Run hands over what is queued, then returns. It
// waits for room for a last note when records were skipped at the end.
func (l *Live) Close() {
	if l.skipped > 0 {
		l.ch <- capture.Record{Kind: capture.KindEvent, Event: capture.Event{Type: capture.EvNote,
			Text: fmt.Sprintf("live view: %d records not shown at the end (the %s was too slow); the capture has them", l.skipped, l.viewer)}}
	}
	close(l.ch)
}

// Run hands every queued record to sink until Close, then settles what
// the decoder still holds, calls Tick a last time and returns.
func (l *Live) Run(sink LiveSink) {
	t := time.NewTicker(l.tick)
	defer t.Stop()
	for {
		select {
		case r, ok := <-l.ch:
			if !ok {
				if l.dec != nil {
					sink.Events(l.dec.Flush())
				}
				sink.Tick()
				return
			}
			// The log UART's chunks are not AT traffic: the sink decodes
			// them (DeviceLog) or shows them as they are.
			if l.dec != nil && r.Kind == capture.KindChunk && r.Port != capture.PortLog {
				sink.Events(l.dec.Feed(r.Time, r.Dir, r.Data))
			} else {
				sink.Record(&r)
			}
		case <-t.C:
			sink.Tick()
		}
	}
}
