package at

import "github.com/atbridge/atbridge/formats"

// Firmware selects which ESP-AT line the decoder expects (esp-at.md §0,
// "Version split").
type Firmware uint8

// Firmware lines.
const (
	// FirmwareAuto, the zero value, accepts what either line sends:
	// AT+WSDATAFMT settings are tracked when the device answers OK, and
	// AT+WSSEND's fifth parameter is read as <fin>.
	FirmwareAuto Firmware = iota
	// FirmwareRelease is v5.0.1.0 and older: no AT+WSDATAFMT (a faked OK is
	// ignored) and no <fin> (every AT+WSSEND is one whole message).
	FirmwareRelease
	// FirmwareDevelopment is the master line with AT+WSDATAFMT and <fin>;
	// the decoder treats it as FirmwareAuto.
	FirmwareDevelopment
)

// WSDataFormat is a link's AT+WSDATAFMT setting (esp-at.md §2.5).
type WSDataFormat struct {
	Level uint8 // 0 chunk, 1 frame, 2 message
	Mask  uint8 // bits 0..5: opcode, fin, payload_len, payload_offset, data_len, CRLF; 0 means the default 48
}

// DefaultWSDataMask is the firmware's default AT+WSDATAFMT mask: data_len
// and the trailing CRLF, which gives the released "+WS_DATA:<id>,<len>,"
// format.
const DefaultWSDataMask = 48

// DecoderOptions configure a Decoder. A nil *DecoderOptions means defaults.
type DecoderOptions struct {
	// EchoOff says the device starts with echo off (ATE0 already sent).
	// Default false: echo on, the firmware's power-up state. The decoder
	// follows ATE0/ATE1 and restarts either way.
	EchoOff bool
	// Firmware is the firmware line; default FirmwareAuto.
	Firmware Firmware
	// MaxLine is the longest host command line, CRLF included; default 256,
	// the firmware's limit. Longer input is EvUnparsed (ErrLineTooLong).
	MaxLine int
	// MaxResponseLine is the longest device line held while waiting for its
	// CRLF; default 4096.
	MaxResponseLine int
	// MaxData is the largest +WS_DATA or +IPD data length accepted, and the
	// size of the pieces in which longer typed payloads are reported;
	// default 16384, the firmware's AT+WSCFG buffer limit.
	MaxData int
	// DataFormat is each WebSocket link's AT+WSDATAFMT setting when the
	// traffic starts; the zero value is the firmware default.
	DataFormat [3]WSDataFormat
}

func (o *DecoderOptions) withDefaults() DecoderOptions {
	var r DecoderOptions
	if o != nil {
		r = *o
	}
	if r.MaxLine <= 2 {
		r.MaxLine = 256
	}
	if r.MaxResponseLine <= 2 {
		r.MaxResponseLine = 4096
	}
	if r.MaxData <= 0 {
		r.MaxData = 16384
	}
	for i := range r.DataFormat {
		if r.DataFormat[i].Mask == 0 || r.DataFormat[i].Mask > 63 {
			r.DataFormat[i].Mask = DefaultWSDataMask
		}
		if r.DataFormat[i].Level > 2 {
			r.DataFormat[i].Level = 0
		}
	}
	return r
}

// A Decoder turns the two directions of ESP-AT serial traffic into Events,
// following the project's ESP-AT reference (shared/docs/esp-at.md): command lines, echo, results,
// prompts and payloads, response lines, unsolicited messages, the
// length-counted replies with their binary data (+WS_DATA, +IPD,
// +CIPRECVDATA, +MQTTSUBRECV, the HTTP body chunks, +FS, +SYSFLASH and
// +SYSMFG reads: see Event.Data), transactions, WebSocket messages and link
// states.
//
// Feed it the chunks of both directions in the order they were read (time
// order); chunks may be split anywhere. The events do not depend on how the
// traffic is cut into chunks, as long as the pieces of one chunk keep its
// time: only passthrough data (AT+CIPMODE=1) is grouped by chunk time, as
// the firmware's "+++" rule is about timing.
//
// The decoder trusts the device to say what happened: host bytes after a
// command that announces a payload are held until the device prints the
// prompt (then they are payload) or a final result (then they are commands
// again). Events of one direction come out in stream order; across
// directions they come out in the order the decoder could settle them, which
// is the input order except for host bytes held that way.
//
// Memory stays bounded on hostile input: no line, payload or data is held
// beyond the limits in DecoderOptions.
//
// A Decoder is not safe for concurrent use.
type Decoder struct {
	opts DecoderOptions
	out  []Event
	seq  int64

	// Storage for Decode: out[:dirty] may hold old events; while reuse is
	// set (a Decode call), transactions and messages handed out go to
	// retired and usedMsgs, to be recycled by the next call.
	reuse    bool
	dirty    int
	free     []*txAlloc
	retired  []*txAlloc
	msgs     []WSMessage // slab for +WS_DATA messages
	freeMsgs []*WSMessage
	usedMsgs []*WSMessage
	names    nameCache
	topics   nameCache // +MQTTSUBRECV topics

	host, dev stream
	devWait   devWait

	// Last Feed, to close passthrough runs when the direction or time changes.
	lastDir  formats.Dir
	lastTime int64
	fed      bool

	h hostState
	s session
}

// NewDecoder returns a decoder for a fresh pair of streams (offsets from 0).
func NewDecoder(opts *DecoderOptions) *Decoder {
	d := &Decoder{opts: opts.withDefaults(), names: nameCache{}, topics: nameCache{}}
	d.host.dir, d.host.slab = formats.ToDevice, slabSize
	d.dev.dir, d.dev.slab = formats.ToHost, slabSize
	d.s.reset(d)
	d.s.cipdinfo = -1 // unknown until the device restarts or answers AT+CIPDINFO
	return d
}

// Feed decodes a chunk of bytes read at time t in direction dir (ToDevice:
// host to ESP32; ToHost: ESP32 to host) and returns the events it settles,
// in order. Chunks of other directions are ignored. The returned slice and
// everything in it belong to the caller; p is not retained.
func (d *Decoder) Feed(t int64, dir formats.Dir, p []byte) []Event {
	d.begin(false)
	return d.feed(t, dir, p)
}

// Decode is Feed for callers that look at each batch of events and then
// let it go (counting, writing out, matching): it returns the same events
// as Feed, in storage the decoder reuses. The returned slice, the Events
// and everything they point to (Cmd, Tx, Msg, and the bytes of Raw, Line
// and Data) are valid only until the next call of Decode, Feed or Flush on
// d; copy what must outlive that. Strings (Name, Result, Param.Value) are
// never reused and may be kept.
//
// Decode allocates far less than Feed, which makes it the faster way to
// scan a capture; the events themselves do not depend on which of the two
// is called, and the two may be mixed on one Decoder.
func (d *Decoder) Decode(t int64, dir formats.Dir, p []byte) []Event {
	d.begin(true)
	return d.feed(t, dir, p)
}

func (d *Decoder) feed(t int64, dir formats.Dir, p []byte) []Event {
	if !dir.Serial() || len(p) == 0 {
		return nil
	}
	if d.fed && (dir != d.lastDir || t != d.lastTime) {
		d.closeRuns()
		d.settlePlus(t-d.h.plusT >= guardTime, dir == formats.ToDevice)
	}
	if dir == formats.ToDevice {
		d.hostRun(t)
	}
	d.fed, d.lastDir, d.lastTime = true, dir, t
	if dir == formats.ToDevice {
		d.devWait.need = 0
		d.host.add(t, p, d.reuse, d.s.relocate)
		d.runHost()
	} else {
		d.dev.add(t, p, d.reuse, nil)
		d.runDev()
	}
	return d.take()
}

// Flush ends the input: it reports everything still pending (partial lines
// and payloads as EvUnparsed or truncated EvPayload, commands without a
// result as transactions with ErrNoResult) and returns those events. Later
// Feed calls continue the same streams as after a long pause.
func (d *Decoder) Flush() []Event {
	d.begin(false)
	d.devWait.need = 0
	d.closeRuns()
	d.settlePlus(true, false) // the line stays silent after the end
	d.flushHost()
	d.flushDev()
	d.s.flushTx(d)
	d.fed = false
	return d.take()
}

// take hands the settled events to the caller. Events are appended to an
// arena shared by many calls; each call gets its own window of it, capped so
// that the caller's appends cannot reach the next window.
//
// Under Decode the window stays with the decoder, to be written over by the
// next call.
func (d *Decoder) take() []Event {
	n := len(d.out)
	if n == 0 {
		return nil
	}
	out := d.out[:n:n]
	if d.reuse {
		d.out = d.out[:0]
		d.dirty = max(d.dirty, n)
	} else {
		d.out = d.out[n:]
		d.dirty = max(d.dirty-n, 0)
		// The events may point anywhere into the stream buffers.
		d.host.kept, d.dev.kept = true, true
	}
	return out
}

// begin starts a call of Feed (reuse false), Decode or Flush: what the
// last Decode call handed out may be written over from now on.
func (d *Decoder) begin(reuse bool) {
	if len(d.retired) > 0 {
		keep := d.retired[:0]
		for _, a := range d.retired {
			if d.h.wait == &a.ts {
				keep = append(keep, a) // a passthrough AT+CIPSEND still waiting for ">"
				continue
			}
			d.free = append(d.free, a)
		}
		clear(d.retired[len(keep):])
		d.retired = keep
	}
	if len(d.usedMsgs) > 0 {
		d.freeMsgs = append(d.freeMsgs, d.usedMsgs...)
		clear(d.usedMsgs)
		d.usedMsgs = d.usedMsgs[:0]
	}
	d.reuse = reuse
	d.host.callR, d.dev.callR = d.host.r, d.dev.r
}

// newTx returns storage for a command's state, recycled when a Decode call
// has let one go.
func (d *Decoder) newTx() *txAlloc {
	if n := len(d.free); n > 0 {
		a := d.free[n-1]
		d.free[n-1] = nil
		d.free = d.free[:n-1]
		a.kept = false
		return a
	}
	return &txAlloc{}
}

// handedOut notes that an event referring to a is going out: Feed and Flush
// give a to the caller for good; when Decode hands out the last event
// referring to a (over: the transaction), a may be recycled after this
// call.
func (d *Decoder) handedOut(a *txAlloc, over bool) {
	if !d.reuse {
		a.kept = true
	} else if over && !a.kept {
		d.retired = append(d.retired, a)
	}
}

// msgSlab is how many +WS_DATA messages one allocation holds.
const msgSlab = 64

// newMsg returns a WSMessage for a +WS_DATA event.
func (d *Decoder) newMsg() *WSMessage {
	var m *WSMessage
	if n := len(d.freeMsgs); d.reuse && n > 0 {
		m = d.freeMsgs[n-1]
		d.freeMsgs = d.freeMsgs[:n-1]
	} else {
		if len(d.msgs) == 0 {
			d.msgs = make([]WSMessage, msgSlab)
		}
		m = &d.msgs[0]
		d.msgs = d.msgs[1:]
	}
	if d.reuse {
		d.usedMsgs = append(d.usedMsgs, m)
	}
	return m
}

// slabSize is the smallest stream buffer: one allocation for the bytes of
// many events.
const slabSize = 16 << 10

// slot appends an event to this call's window and returns it, and whether
// it may hold what an earlier Decode call left there (else it is zero).
func (d *Decoder) slot() (*Event, bool) {
	if len(d.out) == cap(d.out) {
		// A new arena; this call's events so far move with it.
		n := 2 * len(d.out)
		if n < 128 {
			n = 128
		}
		a := make([]Event, len(d.out), n)
		copy(a, d.out)
		d.out, d.dirty = a, 0
	}
	d.out = d.out[:len(d.out)+1]
	return &d.out[len(d.out)-1], len(d.out) <= d.dirty
}

// emitBytes emits an event covering the next n pending bytes of s.
func (d *Decoder) emitBytes(s *stream, n int, kind EventKind, name string, link int, err error) (int64, *Event) {
	raw, off, start, end := s.take(n)
	e, old := d.slot()
	seq := d.seq
	d.seq++
	// Field by field, and into a zero slot only what is not zero: a
	// composite literal is built on the stack and copied, and every
	// pointer written while the GC marks goes through a write barrier.
	if old {
		e.Line, e.Data, e.Cmd, e.Tx, e.Msg, e.State, e.Err, e.Topic = nil, nil, nil, nil, nil, 0, nil, ""
	}
	e.Seq, e.Kind, e.Dir, e.Time, e.Start, e.Offset = seq, kind, s.dir, end, start, off
	e.Name, e.Raw, e.Link = name, raw, link
	if err != nil {
		e.Err = err
	}
	return seq, e
}

// derivedEvent emits an event of kind k with no bytes of its own at time t,
// to be filled in place.
func (d *Decoder) derivedEvent(k EventKind, t int64) *Event {
	e, old := d.slot()
	if old {
		e.Dir, e.Name, e.Line, e.Raw, e.Data, e.Err = formats.DirNone, "", nil, nil, nil, nil
		e.Cmd, e.Tx, e.Msg, e.State, e.Topic = nil, nil, nil, 0, ""
	}
	e.Seq, e.Kind, e.Time, e.Start, e.Offset, e.Link = d.seq, k, t, t, -1, -1
	d.seq++
	return e
}

// closeRuns ends the passthrough run of the last chunk's direction when a
// chunk of another direction or time arrives, or at Flush.
func (d *Decoder) closeRuns() {
	if !d.s.passthrough {
		return
	}
	switch d.lastDir {
	case formats.ToDevice:
		d.closeHostRun()
	case formats.ToHost:
		if n := len(d.dev.pending()); n > 0 {
			d.emitBytes(&d.dev, n, EvPayload, "passthrough", -1, nil)
		}
	}
}

// mark records that bytes from offset off on were read at time t.
type mark struct{ off, t int64 }

// stream holds one direction's undecided bytes and their read times.
//
// The buffer is append-only while events handed out by Feed or Flush may
// point into it (kept): bytes handed out are never written again. When a
// chunk does not fit, the pending bytes move to a fresh buffer and the old
// one is left to the events that refer to it. A buffer only Decode handed
// out is instead reused in place (its bytes were valid until the next call).
type stream struct {
	dir  formats.Dir
	buf  []byte // pending bytes are buf[r:]
	r    int
	base int64 // stream offset of buf[r]
	kept bool  // bytes of buf went out of Feed or Flush
	// callR is r when the current call began: bytes from there to r went
	// out in this call's events, which Decode's in-place reuse must not
	// write over (passthrough runs are emitted before the chunk is added).
	callR int
	slab  int // smallest buffer (slabSize; smaller in tests)
	marks []mark
	mr    int // first live mark
}

func (s *stream) pending() []byte { return s.buf[s.r:] }

func (s *stream) end() int64 { return s.base + int64(len(s.buf)-s.r) }

// add appends the chunk p read at time t. reuse says that the caller is
// Decode; relocate, when not nil, is told before bytes from stream offset
// from on are written over.
func (s *stream) add(t int64, p []byte, reuse bool, relocate func(from int64)) {
	if cap(s.buf)-len(s.buf) < len(p) {
		pend := len(s.buf) - s.r
		if reuse && !s.kept && pend+len(p) <= cap(s.buf) && s.r > 0 && s.r == s.callR {
			if relocate != nil {
				relocate(s.base - int64(s.r))
			}
			s.buf = s.buf[:copy(s.buf, s.buf[s.r:])]
			s.r = 0
		} else {
			n := 2 * (pend + len(p))
			if n < s.slab {
				n = s.slab
			}
			nb := make([]byte, pend, n)
			copy(nb, s.buf[s.r:])
			s.buf, s.r, s.kept = nb, 0, false
		}
	}
	if n := len(s.marks); n == s.mr || s.marks[n-1].t != t {
		if s.mr > 0 && s.mr >= len(s.marks)/2 {
			n := copy(s.marks, s.marks[s.mr:])
			s.marks = s.marks[:n]
			s.mr = 0
		}
		s.marks = append(s.marks, mark{s.end(), t})
	}
	s.buf = append(s.buf, p...)
}

// take removes the next n pending bytes and returns them (capped, never to
// be written again while kept) with their offset and the times of the first
// and last byte.
//
// The read times come from walking the marks from the first live one: each
// mark is passed at most twice (by the event ending in its chunk and by the
// next one), so a long event over many chunks costs no more than its chunks.
func (s *stream) take(n int) (raw []byte, off, start, end int64) {
	raw = s.buf[s.r : s.r+n : s.r+n]
	off = s.base
	m := s.marks
	i := s.mr
	for i+1 < len(m) && m[i+1].off <= off {
		i++
	}
	start = m[i].t
	last := off + int64(n) - 1
	for i+1 < len(m) && m[i+1].off <= last {
		i++
	}
	end = m[i].t
	s.r += n
	s.base += int64(n)
	s.mr = i // m[i].off <= last < base: the first live mark
	return raw, off, start, end
}
