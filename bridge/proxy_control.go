package bridge

import (
	"context"
	"time"

	"github.com/atbridge/atbridge/bridge/port"
	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/formats"
)

// startControlMirror mirrors the host's DTR and RTS to the device where
// both sides are real serial ports (ESP32 boards use DTR and RTS for reset
// and boot mode). The host's UART reaches our host adapter through a
// null-modem crossing, so the host's DTR arrives on our DSR and its RTS on
// our CTS; the device adapter then drives the same levels on its DTR and
// RTS. With RTS/CTS flow control CTS belongs to the flow control, so only
// DTR is mirrored. The host's lines are polled every ControlPoll; each
// change is recorded on both ports (EvControlLines).
func (p *Proxy) startControlMirror(ctx context.Context) {
	if p.opts.Sniff {
		return
	}
	if _, ok := p.host.current().(port.Controller); !ok {
		return
	}
	if _, ok := p.dev.current().(port.Controller); !ok {
		return
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		tick := time.NewTicker(p.opts.ControlPoll)
		defer tick.Stop()
		last := capture.ControlLines(0xFF)
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			hp, ok1 := p.host.current().(port.Controller)
			dp, ok2 := p.dev.current().(port.Controller)
			if !ok1 || !ok2 {
				continue
			}
			in, err := hp.Control()
			if err != nil {
				continue
			}
			want := mirrorLines(in, p.host.lineNow().Flow == capture.FlowRTSCTS)
			if want == last {
				continue
			}
			last = want
			t := p.q.now()
			p.q.event(t, capture.PortHost, formats.DirNone, capture.Event{Type: capture.EvControlLines, Control: in})
			if err := dp.SetControl(want); err != nil {
				p.log.Warn("could not mirror control lines", "lines", want.String(), "err", err)
				continue
			}
			p.q.event(t, capture.PortDevice, formats.DirNone, capture.Event{Type: capture.EvControlLines, Control: want})
		}
	}()
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
