package esp

import (
	"time"

	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/formats"
	"github.com/atbridge/atbridge/formats/ws"
)

// recordPayloadLimit is how much of one received frame's payload the
// recorder keeps; Frame.Length still says how long the frame was.
const recordPayloadLimit = 1 << 20

// now returns the recording clock.
func (e *Emulator) now() int64 {
	if e.opts.Clock != nil {
		return e.opts.Clock()
	}
	return int64(time.Since(e.recBase))
}

func (e *Emulator) record(r *capture.Record) {
	if e.opts.Record == nil {
		return
	}
	e.recMu.Lock()
	defer e.recMu.Unlock()
	r.Time = e.now()
	e.opts.Record(r)
}

// recordChunk records serial bytes on the host's side of the emulated UART.
func (e *Emulator) recordChunk(dir formats.Dir, b []byte) {
	e.record(&capture.Record{Kind: capture.KindChunk, Dir: dir, Port: capture.PortHost, Data: b})
}

// recordFrame records one WebSocket frame of link id, payload unmasked.
func (e *Emulator) recordFrame(id int, dir formats.Dir, h ws.Header, payload []byte) {
	e.record(&capture.Record{Kind: capture.KindFrame, Dir: dir, Data: payload, Frame: capture.Frame{
		Link: uint8(id), Opcode: h.Opcode, Fin: h.Fin, Rsv: h.Rsv, Masked: h.Masked, MaskKey: h.MaskKey, Length: h.Length,
	}})
}

// event records a link or emulator event.
func (e *Emulator) event(ev capture.Event) {
	e.record(&capture.Record{Kind: capture.KindEvent, Event: ev})
	e.logEvent(ev)
}
