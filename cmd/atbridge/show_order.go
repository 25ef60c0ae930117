package main

import (
	"fmt"
	"strconv"
	"time"

	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/formats"
	"github.com/atbridge/atbridge/formats/view"
)

// tapOrderMeta is the header key where sniff records how far apart two
// reads on its two taps may be recorded out of their true order.
const tapOrderMeta = "tap_order_error_ns"

// tapOrderError is that bound: the 99th percentile ordering error
// BenchmarkSniffTwoTapOrder measured (bridge/sniff_order_test.go) over
// pairs 0.5 to 5 ms apart on a loaded 2-core machine, rounded up.
const tapOrderError = 3 * time.Millisecond

// orderCheck flags chunks of a sniffed capture recorded less than the taps'
// ordering error after a chunk of the other direction: their order is
// uncertain, and show says so rather than present it as fact.
type orderCheck struct {
	bound int64
	last  [2]int64 // time of the last chunk ToDevice, ToHost
	seen  [2]bool
}

func newOrderCheck(h *capture.Header) *orderCheck {
	v, err := strconv.ParseInt(h.Meta[tapOrderMeta], 10, 64)
	if err != nil || v <= 0 {
		return nil
	}
	return &orderCheck{bound: v}
}

// check returns a note to show before chunk r when its order against the
// other tap's last chunk is uncertain.
func (o *orderCheck) check(r *capture.Record) *capture.Record {
	if o == nil || !r.ATChunk() {
		return nil
	}
	i, other := 0, 1
	if r.Dir == formats.ToHost {
		i, other = 1, 0
	}
	o.last[i], o.seen[i] = r.Time, true
	if !o.seen[other] || r.Time-o.last[other] >= o.bound {
		return nil
	}
	return &capture.Record{Kind: capture.KindEvent, Time: r.Time, Event: capture.Event{Type: capture.EvNote,
		Text: fmt.Sprintf("order uncertain: %s read %s after the other tap's last read, within the taps' ordering error (%s)",
			view.DirLabel(r.Dir), time.Duration(r.Time-o.last[other]), time.Duration(o.bound))}}
}
