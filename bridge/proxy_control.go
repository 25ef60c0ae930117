package bridge

import (
	"context"
	"errors"
	"time"

	"github.com/atbridge/atbridge/bridge/port"
	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/formats"
)

// startLineWatch polls every port's modem lines and line counters every
// ControlPoll and records what changed: EvControlLines with a port's whole
// state, EvBreak for BREAKs and EvLineErrors for the receive errors the OS
// counted (framing, parity, overrun), each on the port that saw it and in
// the direction its received bytes travel. A port that cannot tell (a pty,
// a CDC ACM adapter without counters) is asked once and then left alone.
//
// Where both the host and the device are real serial ports it also mirrors
// the host's DTR and RTS to the device (ESP32 boards use DTR and RTS for
// reset and boot mode). The host's UART reaches our host adapter through a
// null-modem crossing, so the host's DTR arrives on our DSR and its RTS on
// our CTS; the device adapter then drives the same levels on its DTR and
// RTS. With RTS/CTS flow control CTS belongs to the flow control, so only
// DTR is mirrored. Sniffing never drives a line.
func (p *Proxy) startLineWatch(ctx context.Context) {
	sides := []*side{p.host, p.dev}
	if p.logSide != nil {
		sides = append(sides, p.logSide)
	}
	watches := make([]*lineWatch, len(sides))
	for i, s := range sides {
		watches[i] = &lineWatch{s: s}
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		tick := time.NewTicker(p.opts.ControlPoll)
		defer tick.Stop()
		lastMirror := capture.ControlLines(0xFF)
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			host := watches[0].poll(p)
			if dp, ok := p.dev.current().(port.Controller); ok && !p.opts.Sniff && watches[0].control && watches[1].control {
				want := mirrorLines(host, p.host.lineNow().Flow == capture.FlowRTSCTS)
				if want != lastMirror {
					if err := dp.SetControl(want); err != nil {
						p.log.Warn("could not mirror control lines", "lines", want.String(), "err", err)
					} else {
						lastMirror = want
					}
				}
			}
			// Polled after the mirror, so a mirrored change is recorded
			// in the same tick as the host's.
			for _, w := range watches[1:] {
				w.poll(p)
			}
		}
	}()
}

// lineWatch is what startLineWatch last saw on one side.
type lineWatch struct {
	s        *side
	pt       port.Port // the port instance the baseline belongs to
	control  bool      // the port answers Control
	counts   bool      // the port answers LineCounts
	lines    capture.ControlLines
	haveLine bool
	prev     port.LineCounts
	havePrev bool
}

// poll reads the side's lines and counters, records what changed and
// returns the current control lines.
func (w *lineWatch) poll(p *Proxy) capture.ControlLines {
	pt := w.s.current()
	if pt == nil {
		return w.lines
	}
	if pt != w.pt { // opened or reopened: start over with what it can tell
		w.pt, w.haveLine, w.havePrev = pt, false, false
		_, w.control = pt.(port.Controller)
		_, w.counts = pt.(port.LineCounter)
	}
	if w.control {
		c, err := pt.(port.Controller).Control()
		switch {
		case errors.Is(err, port.ErrNotSupported):
			w.control = false
		case err != nil: // lost; the pump reopens it and a new baseline follows
		case !w.haveLine || c != w.lines:
			w.lines, w.haveLine = c, true
			p.q.event(p.q.now(), w.s.idx, formats.DirNone, capture.Event{Type: capture.EvControlLines, Control: c})
		}
	}
	if w.counts {
		cur, err := pt.(port.LineCounter).LineCounts()
		switch {
		case errors.Is(err, port.ErrNotSupported):
			w.counts = false
		case err != nil:
		case !w.havePrev:
			w.prev, w.havePrev = cur, true
		default:
			t := p.q.now()
			for _, ev := range lineEvents(w.prev, cur) {
				p.q.event(t, w.s.idx, w.s.readDir, ev)
			}
			w.prev = cur
		}
	}
	return w.lines
}

// lineEvents turns the growth of a port's line counters into events: one
// EvBreak with the BREAKs seen and one EvLineErrors per kind of receive
// error. A counter that went down (the driver started over) gives nothing.
func lineEvents(prev, cur port.LineCounts) []capture.Event {
	var evs []capture.Event
	if n := cur.Break - prev.Break; n > 0 {
		evs = append(evs, capture.Event{Type: capture.EvBreak, Count: n})
	}
	for _, k := range []struct {
		name      string
		prev, cur int64
	}{
		{"framing", prev.Frame, cur.Frame},
		{"parity", prev.Parity, cur.Parity},
		{"overrun", prev.Overrun, cur.Overrun},
		{"buffer_overrun", prev.BufOverrun, cur.BufOverrun},
	} {
		if n := k.cur - k.prev; n > 0 {
			evs = append(evs, capture.Event{Type: capture.EvLineErrors, Text: k.name, Count: n})
		}
	}
	return evs
}

// mirrorLines maps the host adapter's inputs to the device adapter's
// outputs across a null-modem crossing: DSR -> DTR, CTS -> RTS (unless CTS
// is taken by RTS/CTS flow control).
func mirrorLines(in capture.ControlLines, rtscts bool) capture.ControlLines {
	var out capture.ControlLines
	if in&capture.LineDSR != 0 {
		out |= capture.LineDTR
	}
	if !rtscts && in&capture.LineCTS != 0 {
		out |= capture.LineRTS
	}
	return out
}
