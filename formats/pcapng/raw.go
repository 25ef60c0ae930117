package pcapng

import (
	"encoding/binary"
	"fmt"

	"github.com/atbridge/atbridge/formats"
)

// RTAC serial event types (Wireshark's packet-rtacser.c).
const (
	rtacStatusChange = 0
	rtacTXStart      = 1
	rtacRXStart      = 2
	rtacDataLost     = 5
	rtacFraming      = 7
	rtacParity       = 8
	rtacBreak        = 9
	rtacOverflow     = 10
)

// rawView writes the serial reads as LINKTYPE_RTAC_SERIAL packets: a
// 12-byte header (u32 seconds and u32 microseconds, big-endian; event type;
// control lines; a u16 footer, 0) and the bytes. Bytes to the ESP32 are
// "TX" and bytes to the host app "RX", as seen from the host app's UART.
type rawView struct {
	control [256]uint8 // last control lines per port
}

func (r *rawView) header(x *Writer, t int64, event, control uint8) []byte {
	ts := x.base + uint64(max(t, 0))
	b := binary.BigEndian.AppendUint32(x.pkt[:0], uint32(ts/1e9))
	b = binary.BigEndian.AppendUint32(b, uint32(ts%1e9/1e3))
	return append(b, event, control, 0, 0)
}

func rawIface(dir formats.Dir) string {
	if dir == formats.ToHost {
		return ifRawToHost
	}
	return ifRawToDevice
}

func (r *rawView) chunk(x *Writer, t int64, port uint8, dir formats.Dir, data []byte) {
	ev := uint8(rtacTXStart)
	if dir == formats.ToHost {
		ev = rtacRXStart
	}
	b := append(r.header(x, t, ev, r.control[port]), data...)
	x.pkt = b
	x.emit(rawIface(dir), t, dir, b, "")
}

func (r *rawView) event(x *Writer, t int64, ev Event) {
	switch ev.Kind {
	case EvControlLines:
		r.control[ev.Port] = ev.Control
		b := r.header(x, t, rtacStatusChange, ev.Control)
		x.pkt = b
		// A status change belongs to no direction: show it on the host
		// app's transmit side, where DTR and RTS are driven.
		x.emit(ifRawToDevice, t, formats.DirNone, b, fmt.Sprintf("port %d control lines: %s", ev.Port, ev.Text))
	case EvBytesLost:
		b := r.header(x, t, rtacDataLost, r.control[ev.Port])
		x.pkt = b
		x.emit(rawIface(ev.Dir), t, ev.Dir, b, fmt.Sprintf("port %d: %d bytes %s were read but not recorded", ev.Port, ev.Count, ev.Dir))
	case EvBreak, EvLineErrors:
		// RTAC has no event for an error kind this version does not know:
		// framing is the nearest (the comment names the kind).
		kind := uint8(rtacFraming)
		switch {
		case ev.Kind == EvBreak:
			kind = rtacBreak
		case ev.Text == "parity":
			kind = rtacParity
		case ev.Text == "overrun" || ev.Text == "buffer_overrun":
			kind = rtacOverflow
		}
		b := r.header(x, t, kind, r.control[ev.Port])
		x.pkt = b
		x.emit(rawIface(ev.Dir), t, ev.Dir, b, eventText(ev))
	}
}
