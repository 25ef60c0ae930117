package at

import (
	"bytes"

	"github.com/atbridge/atbridge/formats"
)

// This file decodes the host side (ToDevice): command lines, payloads after
// a prompt, passthrough data and "+++".

// hostMode is what the host's next bytes are.
type hostMode uint8

const (
	hostCmd         hostMode = iota // command lines
	hostAwait                       // held: a command announced a payload; the device has not yet answered
	hostPayload                     // raw payload bytes after ">"
	hostPassthrough                 // raw data after AT+CIPSEND in AT+CIPMODE=1, until "+++"
)

// guardTime is the silence the firmware needs before "+++" (esp-at.md §1.6),
// in nanoseconds.
const guardTime = 20_000_000

type hostState struct {
	mode hostMode
	scan int      // pending bytes already searched for CRLF and queued for echo
	wait *txState // the command whose prompt or payload this is
	left int64    // payload bytes still expected
	esc  int      // AT+CIPSENDEX: pending payload bytes searched for `\0`

	// Times of the current and previous runs of host chunks, for "+++".
	runT, prevT       int64
	hasRun, hasPrevRn bool
	// In passthrough: the pending host bytes are plusN '+' (1..3) that may
	// be the escape, the last typed at plusT; settlePlus settles them.
	plusN int
	plusT int64
}

// hostRun notes a host chunk at time t (called before it is added).
func (d *Decoder) hostRun(t int64) {
	h := &d.h
	if d.fed && d.lastDir == formats.ToDevice && d.lastTime == t {
		return
	}
	h.prevT, h.hasPrevRn = h.runT, h.hasRun
	h.runT, h.hasRun = t, true
}

func (d *Decoder) runHost() {
	for len(d.host.pending()) > 0 {
		var progress bool
		switch d.h.mode {
		case hostCmd:
			progress = d.hostLine()
		case hostAwait:
			// Bound what is held: a host that keeps typing without a
			// prompt is not sending this command's payload.
			if n := len(d.host.pending()); n > 2*d.opts.MaxData+d.opts.MaxLine {
				seq, _ := d.emitBytes(&d.host, d.opts.MaxData, EvUnparsed, "", -1, ErrNoPrompt)
				respond(d.h.wait, seq)
				progress = true
			}
		case hostPayload:
			progress = d.hostPayload()
		case hostPassthrough:
			if len(d.host.pending()) >= d.opts.MaxData {
				d.emitBytes(&d.host, d.opts.MaxData, EvPayload, "passthrough", -1, nil)
				progress = true
			}
		}
		if !progress {
			return
		}
	}
}

// hostLine decodes one command line if a whole one is pending.
func (d *Decoder) hostLine() bool {
	p := d.host.pending()
	limit := d.opts.MaxLine
	from := d.h.scan - 1
	if from < 0 {
		from = 0
	}
	win := p
	if len(win) > limit {
		win = win[:limit]
	}
	n := -1
	if from < len(win) {
		if i := bytes.Index(win[from:], crlf); i >= 0 {
			n = from + i + 2
		}
	}
	if n < 0 {
		if len(p) < limit {
			d.s.typed(p[d.h.scan:])
			d.h.scan = len(p)
			return false
		}
		// The firmware resets its buffer when a line outgrows it.
		d.s.typed(p[d.h.scan:limit])
		d.h.scan = 0
		seq, _ := d.emitBytes(&d.host, limit, EvUnparsed, "", -1, ErrLineTooLong)
		respond(d.s.head(), seq)
		return true
	}
	if n > d.h.scan {
		d.s.typed(p[d.h.scan:n])
	}
	d.h.scan = 0
	if h := d.s.head(); h != nil && (n < 4 || p[0] != 'A' || p[1] != 'T') {
		// Not a command, typed while one runs: bytes beyond a payload's
		// length (often a CRLF the host added), which the firmware hands
		// to its busy parser and drops with "busy p...".
		d.s.untype(n)
		seq, e := d.emitBytes(&d.host, n, EvPayload, "excess", -1, ErrDiscarded)
		e.Data = e.Raw
		respond(h, seq)
		return true
	}
	seq, e := d.emitBytes(&d.host, n, EvCommand, "", -1, nil)
	e.Line = e.Raw[:n-2]
	a := d.newTx()
	if err := parseCommand(&a.cmd, e.Line, d.names); err != nil { // e.Line is the event's own copy
		e.Err = err
	} else {
		e.Cmd = &a.cmd
		e.Name = cmdName(e.Cmd)
	}
	d.handedOut(a, false)
	t := e.Time
	ts := d.command(a, seq, e, t)
	// command may have emitted a link state: e is stale from here on.
	d.out[seq-d.out[0].Seq].Link = ts.link
	if ts.prompt != promptNone {
		d.h.mode, d.h.wait = hostAwait, ts
	}
	return true
}

// hostPayload decodes payload bytes after a prompt.
func (d *Decoder) hostPayload() bool {
	p := d.host.pending()
	ts := d.h.wait
	n := int64(len(p))
	last := false
	if ts.end == endBackslash0 {
		w := p
		if n > d.h.left {
			w = p[:d.h.left]
		}
		if k := d.h.findBackslash0(w); k >= 0 {
			n, last = int64(k), true
		}
	}
	if n > d.h.left {
		n = d.h.left
	} else if !last && n < d.h.left && n < int64(d.opts.MaxData) {
		return false
	}
	if n > int64(d.opts.MaxData) {
		n, last = int64(d.opts.MaxData), false
	}
	if ts.end == endBackslash0 && !last && n < d.h.left {
		n = int64(escBoundary(p, int(n)))
	}
	d.payloadPiece(ts, int(n), nil)
	d.h.left -= n
	d.h.esc = max(d.h.esc-int(n), 0)
	if d.h.left == 0 || last {
		ts.paid = true
		d.h.mode, d.h.wait, d.h.esc = hostCmd, nil, 0
	}
	return true
}

// findBackslash0 returns the length of p up to and including its first
// unescaped `\0` (AT+CIPSENDEX's end of data), or -1. A backslash makes the
// next byte literal, so `\\0` is no end; a backslash that ends p waits for
// the next byte. It resumes where the last search of these pending bytes
// stopped.
func (h *hostState) findBackslash0(p []byte) int {
	i := h.esc
	for i < len(p) {
		if p[i] != '\\' {
			i++
			continue
		}
		if i+1 == len(p) {
			break
		}
		if p[i+1] == '0' {
			return i + 2
		}
		i += 2
	}
	h.esc = i
	return -1
}

// escBoundary returns n, or n-1 when byte n-1 of p starts an escape pair
// (a backslash and the byte it escapes), so that a piece of an AT+CIPSENDEX
// payload never ends inside a pair and the search for `\0` goes on from a
// pair boundary.
func escBoundary(p []byte, n int) int {
	for i := 0; i < n; i++ {
		if p[i] == '\\' {
			if i == n-1 && n > 1 {
				return n - 1
			}
			i++
		}
	}
	return n
}

// payloadPiece emits the next n pending host bytes as ts's payload.
func (d *Decoder) payloadPiece(ts *txState, n int, err error) {
	name := "+CIPSEND"
	if ts.tx.Cmd != nil {
		name = ts.tx.Cmd.Name
	}
	seq, e := d.emitBytes(&d.host, n, EvPayload, name, ts.link, err)
	e.Data = e.Raw
	respond(ts, seq)
	if ts.ws && len(ts.wsData) < d.opts.MaxData {
		room := d.opts.MaxData - len(ts.wsData)
		if room > n {
			room = n
		}
		if ts.wsData == nil {
			// Typed in one piece (the usual case), the message's data is
			// the payload event's; a second piece makes it a copy.
			ts.wsData, ts.wsOff = e.Raw[:room:room], e.Offset
		} else {
			ts.wsData, ts.wsOff = append(ts.wsData, e.Raw[:room]...), -1
		}
	}
}

// prompted handles the device's ">" (event seq).
func (d *Decoder) prompted(seq int64) {
	h := &d.h
	ts := h.wait
	if h.mode != hostAwait || ts == nil {
		respond(d.s.head(), seq)
		return
	}
	respond(ts, seq)
	switch ts.prompt {
	case promptPassthrough:
		d.s.passthrough = true
		h.mode, h.wait = hostPassthrough, nil
	default:
		h.mode, h.left, h.esc = hostPayload, ts.n, 0
		if ts.n == 0 {
			// Release firmware prompts even for AT+WSSEND=<id>,0.
			ts.paid = true
			h.mode, h.wait = hostCmd, nil
		}
	}
	d.runHost()
}

// endHostWait ends a wait for ts's prompt or payload (any wait when ts is
// nil) because the command is over: held bytes are commands again (the
// caller runs runHost), a partial payload is reported as such.
func (d *Decoder) endHostWait(ts *txState, t int64) {
	h := &d.h
	if ts != nil && h.wait != ts {
		return
	}
	switch h.mode {
	case hostAwait:
		h.mode, h.wait, h.scan = hostCmd, nil, 0
	case hostPayload:
		w := h.wait
		if p := d.host.pending(); len(p) > 0 {
			// "+++" typed alone cancels AT+CIPSEND (SEND Canceled).
			n := len(p)
			if bytes.HasSuffix(p, plus3) {
				n -= 3
			}
			if n > 0 {
				var err error
				switch {
				case ts == nil:
					err = ErrRestarted
				case n == len(p):
					err = ErrTruncated
				}
				d.payloadPiece(w, n, err)
			}
			if len(d.host.pending()) == 3 {
				seq, e := d.emitBytes(&d.host, 3, EvCommand, "+++", -1, nil)
				e.Line = e.Raw
				respond(w, seq)
			}
		}
		h.mode, h.wait, h.scan = hostCmd, nil, 0
	case hostPassthrough:
		if ts == nil {
			d.closeHostRun()
			d.passData() // held pluses too: the restart ended passthrough
			h.mode, h.scan = hostCmd, 0
		}
	}
}

// discardHost reports held or partial host input that the busy device
// dropped.
func (d *Decoder) discardHost() {
	h := &d.h
	if h.mode != hostCmd && h.mode != hostAwait {
		return
	}
	if n := len(d.host.pending()); n > 0 {
		seq, e := d.emitBytes(&d.host, n, EvPayload, "excess", -1, ErrDiscarded)
		e.Data = e.Raw
		respond(d.s.head(), seq)
		h.scan = 0
	}
}

// closeHostRun ends a run of passthrough host bytes (chunks read at one
// time). The firmware leaves passthrough on "+++" alone: more than 20 ms of
// silence on the host's line before the first '+', less than 20 ms between
// the pluses, and 20 ms of silence after the last (esp-at.md §1.6). So a
// run of pluses after a pause, or pluses continuing such a run, are held
// until what comes next settles them (settlePlus); anything else is data.
func (d *Decoder) closeHostRun() {
	p := d.host.pending()
	if len(p) == 0 || d.h.mode != hostPassthrough {
		return
	}
	h := &d.h
	// A continuation was let through by settlePlus (within the guard time
	// of the last plus); a new candidate needs the pause before it.
	starts := h.plusN > 0 || !h.hasPrevRn || h.runT-h.prevT >= guardTime
	if len(p) <= 3 && starts && onlyPlus(p) {
		h.plusN, h.plusT = len(p), h.runT
		return
	}
	d.passData()
}

// settlePlus settles held pluses when a chunk arrives (host says it is the
// host's; quiet that it comes the guard time or more after the last plus):
// with the silence after them, three are the escape and fewer are data;
// host bytes sooner than that make three data and may continue fewer.
func (d *Decoder) settlePlus(quiet, host bool) {
	h := &d.h
	if h.plusN == 0 || h.mode != hostPassthrough {
		h.plusN = 0
		return
	}
	switch {
	case quiet && h.plusN == 3:
		d.escapePassthrough()
	case quiet || (host && h.plusN == 3):
		d.passData()
	}
}

// passData reports the pending passthrough bytes, held pluses included, as
// data.
func (d *Decoder) passData() {
	d.h.plusN = 0
	if n := len(d.host.pending()); n > 0 {
		d.emitBytes(&d.host, n, EvPayload, "passthrough", -1, nil)
	}
}

// escapePassthrough reports the held "+++" and leaves passthrough.
func (d *Decoder) escapePassthrough() {
	h := &d.h
	_, e := d.emitBytes(&d.host, 3, EvCommand, "+++", -1, nil)
	e.Line = e.Raw
	d.s.passthrough = false
	h.mode, h.scan, h.plusN = hostCmd, 0, 0
}

func onlyPlus(p []byte) bool {
	for _, b := range p {
		if b != '+' {
			return false
		}
	}
	return true
}

// flushHost reports pending host bytes at the end of the input.
func (d *Decoder) flushHost() {
	h := &d.h
	p := d.host.pending()
	if len(p) == 0 {
		return
	}
	switch h.mode {
	case hostPayload:
		d.payloadPiece(h.wait, len(p), ErrTruncated)
	case hostPassthrough:
		d.passData()
	default:
		seq, _ := d.emitBytes(&d.host, len(p), EvUnparsed, "", -1, ErrTruncated)
		respond(d.s.head(), seq)
		h.scan = 0
	}
}

var (
	crlf  = []byte("\r\n")
	plus3 = []byte("+++")
)
