package redact

import (
	"bytes"

	"github.com/atbridge/atbridge/formats"
	"github.com/atbridge/atbridge/formats/at"
)

// events finds the secrets in decoded events.
func (r *Redactor) events(evs []at.Event) {
	for k := range evs {
		e := &evs[k]
		if e.Kind.CarriesBytes() {
			r.byteEvent(e)
			i := dirIndex(e.Dir)
			r.st[i].settled = max(r.st[i].settled, e.Offset+int64(len(e.Raw)))
			continue
		}
		if e.Kind == at.EvTransaction && e.Tx != nil {
			// A command that fails before its prompt takes no payload. A
			// success there (only SET OK: the OK before ">" is no result)
			// ends it for the decoder, but its wait stays, so a prompt that
			// comes anyway still opens the payload (see afterPayload).
			failed := e.Tx.Result != "OK" && e.Tx.Result != "SET OK"
			for j := 0; j < len(r.waits); j++ {
				if failed && r.waits[j].cmdSeq == e.Tx.CmdSeq && !r.waits[j].confirmed {
					r.waits = append(r.waits[:j], r.waits[j+1:]...)
					j--
				}
			}
			if r.reading == e.Tx.CmdSeq {
				r.reading = -1
			}
		}
	}
	r.completeWaits()
	r.resolveEchoes(false)
}

// sub returns the offset of part inside whole (a subslice of it), or -1.
func sub(whole, part []byte) int {
	if len(part) == 0 {
		return -1
	}
	off := cap(whole) - cap(part)
	if off >= 0 && off+len(part) <= len(whole) && bytes.Equal(whole[off:off+len(part)], part) {
		return off
	}
	return bytes.Index(whole, part)
}

// add records secrets found at base inside e.Raw, with known secrets and
// patterns searched too; free says no quoting structure is kept.
func (r *Redactor) add(e *at.Event, found []at.Secret, free bool) []at.Secret {
	i := dirIndex(e.Dir)
	if free {
		for k := range found {
			found[k].Free = true
		}
	}
	for _, s := range found {
		r.addSpan(i, e.Offset+int64(s.Off), s, nil, true)
	}
	more := r.knownSecrets(e.Raw, found)
	for _, s := range r.o.Rules.PatternSecrets(e.Raw) {
		s.Free = free
		more = append(more, s)
	}
	for _, s := range more {
		if !free {
			s.Free = false
		}
		r.addSpan(i, e.Offset+int64(s.Off), s, nil, true)
	}
	return append(found, more...)
}

// shift moves secrets found in a part of e.Raw to Raw coordinates.
func shift(in []at.Secret, by int) []at.Secret {
	for k := range in {
		in[k].Off += by
	}
	return in
}

func (r *Redactor) byteEvent(e *at.Event) {
	rules := &r.o.Rules
	if e.Dir == formats.ToDevice {
		// Host bytes settled where a payload would start, before any
		// prompt: the host did not wait for one, so there is no payload.
		for j := 0; j < len(r.waits); j++ {
			if w := r.waits[j]; !w.confirmed && e.Offset >= w.off && e.Seq > w.cmdSeq {
				r.waits = append(r.waits[:j], r.waits[j+1:]...)
				j--
			}
		}
	}
	var tail []at.Secret
	if e.Dir == formats.ToDevice {
		tail = r.afterPayload(e)
	}
	switch e.Kind {
	case at.EvCommand:
		var found []at.Secret
		if e.Cmd != nil {
			found = r.command(e.Seq, e.Offset, e.Cmd)
		} else {
			// A command line that does not parse may still carry a token.
			found = rules.TextSecrets(e.Raw)
		}
		all := r.add(e, append(found, tail...), false)
		r.logTyped(e, all)
	case at.EvEcho:
		r.echoes = append(r.echoes, echoWait{off: e.Offset, raw: e.Raw, typed: r.typedAt + int64(len(r.typed))})
	case at.EvPrompt:
		for k := range r.waits {
			if !r.waits[k].confirmed {
				r.waits[k].confirmed = true
				r.payEnds = append(r.payEnds, r.waits[k].off+r.waits[k].p.N)
				break
			}
		}
		r.add(e, nil, true)
	case at.EvPayload:
		found := tail
		switch e.Name {
		case "+WSHEAD":
			found = at.HeaderSecrets(e.Raw, "wshead")
		case "passthrough", "excess":
		default:
			found = rules.TextSecrets(e.Raw)
		}
		r.add(e, found, tail == nil)
	case at.EvUnparsed:
		if e.Dir == formats.ToDevice {
			// A host line that does not parse may still carry a token.
			all := r.add(e, append(tail, rules.TextSecrets(e.Raw)...), false)
			r.logTyped(e, all)
			return
		}
		r.deviceLine(e, e.Raw)
	default: // result, info, URC
		line := e.Line
		if line == nil {
			line = e.Raw
		}
		r.deviceLine(e, line)
	}
}

// eventPayloads are the payload commands whose payload is redacted from its
// EvPayload events alone (byteEvent applies their rule). The others wait for
// the announced bytes, so their rule sees the whole payload even where the
// decoder reports it in pieces or ends it early.
var eventPayloads = map[string]bool{"+WSSEND": true, "+WSHEAD": true}

// command handles a host command line that starts at stream offset off:
// its secrets (offsets in its line), the payload it announces, whether the
// device will print secrets.
func (r *Redactor) command(seq, off int64, c *at.Command) []at.Secret {
	found := r.o.Rules.CommandSecrets(c)
	if p, ok := at.CommandPayload(c); ok && !eventPayloads[c.Name] {
		r.waits = append(r.waits, payloadWait{cmdSeq: seq, off: off + int64(len(c.Line)) + 2, p: p})
	}
	if at.ReadsSecret(c) {
		r.reading = seq
	}
	return found
}

// afterPayload handles a command line that starts inside host item e, where
// a payload this redactor waited for ends. The decoder knows every payload,
// so this happens only where it ended one before its announced length: a
// result or a restart while the host was typing it, or SET OK before the
// prompt and a prompt anyway. The host, which saw none of it, types the
// rest of the payload and then its next command, and the decoder reads the
// two as one line that does not parse. Here the line is read from where the
// announced bytes end, for its secrets and its effects, returned in e.Raw's
// coordinates (TestRedactAfterCutPayload).
func (r *Redactor) afterPayload(e *at.Event) []at.Secret {
	end := e.Offset + int64(len(e.Raw))
	var out []at.Secret
	keep := r.payEnds[:0]
	for _, p := range r.payEnds {
		if p >= end {
			keep = append(keep, p)
			continue
		}
		if p <= e.Offset {
			continue
		}
		line := e.Raw[p-e.Offset:]
		line = bytes.TrimSuffix(line, []byte("\r\n"))
		if c, err := at.ParseCommand(line); err == nil {
			out = append(out, shift(r.command(e.Seq, p, c), int(p-e.Offset))...)
		}
	}
	r.payEnds = keep
	return out
}

// deviceLine finds secrets in a device item whose text line is line.
func (r *Redactor) deviceLine(e *at.Event, line []byte) {
	rules := &r.o.Rules
	base := sub(e.Raw, line)
	if base < 0 {
		line, base = e.Raw, 0
	}
	var found []at.Secret
	switch {
	case r.reading >= 0 && (e.Kind == at.EvInfo || e.Kind == at.EvUnparsed):
		if d := sub(e.Raw, e.Data); d >= 0 && e.Data != nil {
			// A length-counted read (+FS:<n>,<data>, +SYSMFG:...,<len>,<value>)
			// the decoder delivers whole: its data, CR and LF kept.
			found = []at.Secret{{Off: d, Len: len(e.Data), Rule: "key-material"}}
			break
		}
		keep := at.SecretReadPrefix(line)
		found = []at.Secret{{Off: base + keep, Len: len(line) - keep, Rule: "key-material"}}
	case e.Data != nil && (e.Kind == at.EvURC || e.Kind == at.EvInfo):
		// +IPD, +WS_DATA, +MQTTSUBRECV, HTTP body chunks: the data.
		if d := sub(e.Raw, e.Data); d >= 0 {
			found = shift(rules.TextSecrets(e.Data), d)
		}
	default:
		found = shift(rules.DeviceLineSecrets(line), base)
	}
	r.add(e, found, true)
}

// logTyped appends a host command-mode item, masked, to the typed log the
// echo is matched against.
func (r *Redactor) logTyped(e *at.Event, found []at.Secret) {
	masked := append([]byte(nil), e.Raw...)
	for _, s := range found {
		at.MaskSecret(masked, s)
	}
	r.typed = append(r.typed, e.Raw...)
	r.typedMask = append(r.typedMask, masked...)
}

// completeWaits turns confirmed payload waits whose bytes have all arrived
// into spans.
func (r *Redactor) completeWaits() {
	s := &r.st[0]
	keep := r.waits[:0]
	for _, w := range r.waits {
		if !w.confirmed {
			keep = append(keep, w)
			continue
		}
		n := int(min(w.p.N, 1<<20))
		if w.p.How == "all" {
			r.addSpan(0, w.off, at.Secret{Len: int(w.p.N), Rule: w.p.Rule, Free: true}, nil, true)
			continue
		}
		b := s.bytesAt(w.off, n)
		if b == nil {
			if s.fed < w.off+int64(n) {
				keep = append(keep, w)
				continue
			}
			b = s.bytesAt(w.off, int(s.fed-w.off))
		}
		var found []at.Secret
		switch w.p.How {
		case "header":
			found = at.HeaderSecrets(b, w.p.Rule)
		case "uri":
			found = r.o.Rules.URISecrets(b)
		case "text":
			found = r.o.Rules.TextSecrets(b)
		}
		for _, f := range found {
			f.Free = true
			r.addSpan(0, w.off+int64(f.Off), f, nil, true)
		}
	}
	r.waits = keep
}

// resolveEchoes gives each waiting echo the mask of the typed bytes it
// copies. An echo that matches nothing typed (yet) waits for more host
// lines; with force, or once plenty more was typed, its bytes are searched
// for known secrets instead.
func (r *Redactor) resolveEchoes(force bool) {
	for len(r.echoes) > 0 {
		e := r.echoes[0]
		from := r.cursor - r.typedAt
		j := bytes.Index(r.typed[from:], e.raw)
		if j < 0 {
			typedSince := r.typedAt + int64(len(r.typed)) - e.typed
			if !force && typedSince < int64(len(e.raw))+512 {
				return
			}
			// No typed line to copy the mask from (lost, or not recorded):
			// an echo of a whole line is a command line itself.
			var found []at.Secret
			if line, ok := bytes.CutSuffix(e.raw, []byte("\r\n")); ok {
				if c, err := at.ParseCommand(line); err == nil {
					found = r.o.Rules.CommandSecrets(c)
				}
			}
			found = append(found, r.knownSecrets(e.raw, found)...)
			for _, s := range found {
				r.addSpan(1, e.off+int64(s.Off), s, nil, true)
			}
			r.echoes = r.echoes[1:]
			continue
		}
		pos := from + int64(j)
		mask := r.typedMask[pos : pos+int64(len(e.raw))]
		if !bytes.Equal(mask, e.raw) {
			// Spans per differing run, so --check lists them like the host's.
			for k := 0; k < len(mask); {
				if mask[k] == e.raw[k] {
					k++
					continue
				}
				m := k
				for m < len(mask) && (mask[m] != e.raw[m] || (m+1 < len(mask) && mask[m+1] != e.raw[m+1])) {
					m++
				}
				r.addSpan(1, e.off+int64(k), at.Secret{Len: m - k, Rule: "echo"}, append([]byte(nil), mask[k:m]...), true)
				k = m
			}
		}
		r.cursor = r.typedAt + pos + int64(len(e.raw))
		r.echoes = r.echoes[1:]
	}
	// A device with echo off leaves the log unread: keep it bounded.
	if over := int64(len(r.typed)) - 64<<10; over > 0 {
		r.typed = r.typed[:copy(r.typed, r.typed[over:])]
		r.typedMask = r.typedMask[:copy(r.typedMask, r.typedMask[over:])]
		r.typedAt += over
		r.cursor = max(r.cursor, r.typedAt)
	}
	// Forget typed bytes before the cursor, keeping some for echoes that
	// skip back (none do; the margin is cheap).
	if drop := r.cursor - r.typedAt - 4096; drop > 0 {
		r.typed = r.typed[:copy(r.typed, r.typed[drop:])]
		r.typedMask = r.typedMask[:copy(r.typedMask, r.typedMask[drop:])]
		r.typedAt += drop
	}
}
