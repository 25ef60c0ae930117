package redact

import (
	"bytes"
	"sort"

	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/formats"
	"github.com/atbridge/atbridge/formats/at"
)

// Options configure a Redactor. A nil *Options means defaults.
type Options struct {
	// Rules say what is secret; the zero value uses the documented
	// defaults (at.DefaultSecretParams, no extra patterns).
	Rules at.SecretRules
	// Decoder configures the AT decoder (echo and firmware at the start);
	// nil means defaults.
	Decoder *at.DecoderOptions
	// MinKnown is the shortest secret that is also searched for, literally,
	// everywhere else (echoes, data, frames, events, the header); default 4.
	// Shorter ones would mask ordinary bytes.
	MinKnown int
	// MaxHeld bounds the serial bytes held back waiting for the decoder
	// (default 4 MiB); beyond it held ranges are settled with what is known.
	MaxHeld int
	// OnRedact, when set, is called for each redacted range of each record.
	OnRedact func(Redaction)

	known [][]byte // secrets learned by an earlier pass over the same input
}

// Redaction says where a rule overwrote bytes: never what they were.
type Redaction struct {
	Rule string
	// Record is the record's index in the input (from 0), or -1 for the
	// header.
	Record int64
	// Field is "data" (the record's Data), "text" (an event's Text), or for
	// the header "meta:<key>" or "port:<i>".
	Field  string
	Offset int
	Length int
}

// span is a secret in one direction's serial stream.
type span struct {
	off  int64
	s    at.Secret // s.Off is unused; s.Len, Rule, Quoted, Free apply
	mask []byte    // when set, the masked bytes (echo spans)
}

func (p *span) end() int64 { return p.off + int64(p.s.Len) }

// stream is one serial direction's state.
type stream struct {
	fed     int64 // bytes added
	settled int64 // bytes the decoder has put in events
	win     []byte
	winBase int64 // stream offset of win[0]
	spans   []span
}

func (s *stream) bytesAt(off int64, n int) []byte {
	i := off - s.winBase
	if i < 0 || i+int64(n) > int64(len(s.win)) {
		return nil
	}
	return s.win[i : i+int64(n)]
}

// held is a record waiting to be released.
type held struct {
	rec   capture.Record
	idx   int64
	start int64 // stream offset of a serial chunk's first byte
}

// payloadWait is a payload announced by a command line: the N host bytes
// after it, redacted by the command's rule once the device prompts,
// whatever the decoder makes of them.
type payloadWait struct {
	cmdSeq    int64
	off       int64
	p         at.PayloadSecret
	confirmed bool
}

// echoWait is a device echo waiting for the host line it echoes.
type echoWait struct {
	off   int64
	raw   []byte
	typed int64 // typed bytes logged when it arrived
}

// A Redactor redacts a capture's records one at a time. It is not safe for
// concurrent use (Writer is).
type Redactor struct {
	o       Options
	dec     *at.Decoder
	st      [2]stream // ToDevice, ToHost
	q       []held
	n       int64
	counts  map[string]int
	known   [][]byte
	waits   []payloadWait
	payEnds []int64 // where prompted payloads end: a command line may follow (afterPayload)
	echoes  []echoWait
	reading int64 // Seq of a running command that prints secrets, -1
	// typed is the log of host command-mode bytes, masked as sent, for
	// the echo; typedAt is the count of bytes dropped from its front.
	typed, typedMask []byte
	typedAt, cursor  int64
}

// New returns a Redactor for a capture.
func New(opts *Options) *Redactor {
	r := &Redactor{counts: map[string]int{}, reading: -1}
	if opts != nil {
		r.o = *opts
	}
	if r.o.MinKnown <= 0 {
		r.o.MinKnown = 4
	}
	if r.o.MaxHeld <= 0 {
		r.o.MaxHeld = 4 << 20
	}
	r.dec = at.NewDecoder(r.o.Decoder)
	for _, k := range r.o.known {
		r.learn(k, false)
	}
	return r
}

// Counts returns how many secrets each rule found so far.
func (r *Redactor) Counts() map[string]int {
	m := make(map[string]int, len(r.counts))
	for k, v := range r.counts {
		m[k] = v
	}
	return m
}

func dirIndex(d formats.Dir) int {
	if d == formats.ToHost {
		return 1
	}
	return 0
}

// Add takes the next record and returns the records that are ready, in
// input order, redacted. rec is copied; the returned records are the
// caller's.
func (r *Redactor) Add(rec *capture.Record) []capture.Record {
	h := held{rec: *rec, idx: r.n}
	h.rec.Data = append([]byte(nil), rec.Data...)
	r.n++
	if rec.ATChunk() && len(rec.Data) > 0 {
		s := &r.st[dirIndex(rec.Dir)]
		h.start = s.fed
		s.fed += int64(len(rec.Data))
		s.win = append(s.win, rec.Data...)
		r.q = append(r.q, h)
		r.events(r.dec.Feed(rec.Time, rec.Dir, rec.Data))
	} else {
		r.q = append(r.q, h)
	}
	if held := r.st[0].fed - r.st[0].winBase + r.st[1].fed - r.st[1].winBase; held > int64(r.o.MaxHeld) {
		r.settleAll()
	}
	return r.release(false)
}

// Flush ends the input: the decoder's pending bytes are settled, every
// held record is released.
func (r *Redactor) Flush() []capture.Record {
	r.events(r.dec.Flush())
	r.settleAll()
	return r.release(true)
}

// settleAll gives up waiting: unconfirmed payloads are not secrets,
// unmatched echoes are searched for known secrets.
func (r *Redactor) settleAll() {
	for _, w := range r.waits {
		if w.confirmed {
			r.addSpan(0, w.off, at.Secret{Len: int(w.p.N), Rule: w.p.Rule, Free: true}, nil, true)
		}
	}
	r.waits = nil
	r.resolveEchoes(true)
}

// decided is the stream offset up to which direction i's bytes are final.
func (r *Redactor) decided(i int) int64 {
	d := r.st[i].settled
	if i == 0 {
		for _, w := range r.waits {
			d = min(d, w.off)
		}
	} else if len(r.echoes) > 0 {
		d = min(d, r.echoes[0].off)
	}
	return d
}

func (r *Redactor) release(all bool) []capture.Record {
	var out []capture.Record
	k := 0
	for ; k < len(r.q); k++ {
		h := &r.q[k]
		if h.rec.ATChunk() && len(h.rec.Data) > 0 {
			i := dirIndex(h.rec.Dir)
			end := h.start + int64(len(h.rec.Data))
			if !all && end > r.decided(i) {
				break
			}
			r.applySpans(h, i)
		} else {
			r.redactOther(h)
		}
		out = append(out, h.rec)
	}
	r.q = append(r.q[:0], r.q[k:]...)
	for i := range r.st {
		r.trim(i)
	}
	return out
}

// trim forgets window bytes and spans before the first held chunk.
func (r *Redactor) trim(i int) {
	s := &r.st[i]
	keep := s.fed
	for _, h := range r.q {
		if h.rec.ATChunk() && dirIndex(h.rec.Dir) == i && len(h.rec.Data) > 0 {
			keep = h.start
			break
		}
	}
	for _, w := range r.waits {
		if i == 0 {
			keep = min(keep, w.off)
		}
	}
	for _, e := range r.echoes {
		if i == 1 {
			keep = min(keep, e.off)
		}
	}
	// A span that continues into a held chunk keeps its start, so it is
	// masked whole (an escape pair cut by the chunk boundary stays a pair).
	for _, p := range s.spans {
		if p.mask == nil && p.end() > keep && p.off < keep {
			keep = p.off
		}
	}
	if n := keep - s.winBase; n > 0 {
		if n > int64(len(s.win)) {
			n = int64(len(s.win))
		}
		s.win = s.win[:copy(s.win, s.win[n:])]
		s.winBase += n
	}
	sp := s.spans[:0]
	for _, p := range s.spans {
		if p.end() > s.winBase {
			sp = append(sp, p)
		}
	}
	s.spans = sp
}

// applySpans masks the parts of the chunk's bytes that spans cover.
func (r *Redactor) applySpans(h *held, i int) {
	end := h.start + int64(len(h.rec.Data))
	for _, p := range r.st[i].spans {
		from, to := max(p.off, h.start), min(p.end(), end)
		if from >= to {
			continue
		}
		d := h.rec.Data[from-h.start : to-h.start]
		if p.mask != nil {
			copy(d, p.mask[from-p.off:to-p.off])
		} else {
			// Mask the whole span in stream coordinates, so an escape pair
			// cut by a chunk boundary keeps its backslash.
			full := r.st[i].bytesAt(p.off, p.s.Len)
			if full != nil {
				m := append([]byte(nil), full...)
				at.MaskSecret(m, at.Secret{Len: len(m), Quoted: p.s.Quoted, Free: p.s.Free})
				copy(d, m[from-p.off:to-p.off])
			} else {
				s := p.s
				s.Off, s.Len = 0, len(d)
				at.MaskSecret(d, s)
			}
		}
		r.report(Redaction{Rule: p.s.Rule, Record: h.idx, Field: "data", Offset: int(from - h.start), Length: int(to - from)})
	}
}

func (r *Redactor) report(x Redaction) {
	if r.o.OnRedact != nil {
		r.o.OnRedact(x)
	}
}

// addSpan records a secret at stream offset off of direction i and counts
// it; a secret inside one already recorded is not counted again.
func (r *Redactor) addSpan(i int, off int64, s at.Secret, mask []byte, count bool) {
	if s.Len <= 0 {
		return
	}
	st := &r.st[i]
	for _, p := range st.spans {
		if off >= p.off && off+int64(s.Len) <= p.end() {
			return
		}
	}
	st.spans = append(st.spans, span{off: off, s: s, mask: mask})
	if count {
		r.counts[s.Rule]++
	}
	if mask == nil && s.Len >= r.o.MinKnown && s.Rule != "pattern" {
		if b := st.bytesAt(off, s.Len); b != nil {
			r.learn(b, s.Quoted)
		}
	}
}

// learn remembers a secret's bytes (and its unescaped value) to search for
// elsewhere.
func (r *Redactor) learn(b []byte, quoted bool) {
	add := func(v []byte) {
		v = bytes.Trim(v, " \t\r\n")
		if len(v) < r.o.MinKnown {
			return
		}
		for _, k := range r.known {
			if bytes.Equal(k, v) {
				return
			}
		}
		r.known = append(r.known, append([]byte(nil), v...))
		sort.Slice(r.known, func(a, b int) bool { return len(r.known[a]) > len(r.known[b]) })
	}
	add(b)
	if quoted && bytes.IndexByte(b, '\\') >= 0 {
		var v []byte
		for j := 0; j < len(b); j++ {
			if b[j] == '\\' && j+1 < len(b) {
				j++
			}
			v = append(v, b[j])
		}
		add(v)
	}
	// Lines of key material: each line alone, as the device prints them.
	if bytes.IndexByte(b, '\n') >= 0 {
		for _, l := range bytes.Split(b, []byte("\n")) {
			add(l)
		}
	}
}

// knownSecrets returns the known secrets found in b, excluding ranges
// covered by got.
func (r *Redactor) knownSecrets(b []byte, got []at.Secret) []at.Secret {
	var out []at.Secret
	for _, k := range r.known {
		from := 0
		for {
			j := bytes.Index(b[from:], k)
			if j < 0 {
				break
			}
			s := at.Secret{Off: from + j, Len: len(k), Rule: "known-secret", Free: true}
			covered := false
			for _, g := range append(got, out...) {
				if s.Off >= g.Off && s.Off+s.Len <= g.Off+g.Len {
					covered = true
					break
				}
			}
			if !covered {
				out = append(out, s)
			}
			from += j + len(k)
		}
	}
	return out
}
