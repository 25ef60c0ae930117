package redact

import (
	"bytes"
	"fmt"
	"sort"
	"strings"

	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/formats/at"
)

// free finds the secrets in bytes that are not serial traffic (frame
// payloads, event texts and data, header fields): URLs, token-like
// parameters, handshake header lines, known secrets and patterns.
func (r *Redactor) free(b []byte) []at.Secret {
	found := r.o.Rules.TextSecrets(b)
	if bytes.HasPrefix(b, []byte("GET ")) || bytes.HasPrefix(b, []byte("HTTP/")) {
		// A recorded handshake: every header line but the public ones.
		off := 0
		for _, l := range bytes.SplitAfter(b, []byte("\n")) {
			line := bytes.TrimRight(l, "\r\n")
			if off > 0 && len(line) > 0 {
				found = append(found, shift(at.HeaderSecrets(line, "ws-handshake"), off)...)
			}
			off += len(l)
		}
	}
	found = append(found, r.knownSecrets(b, found)...)
	found = append(found, r.o.Rules.PatternSecrets(b)...)
	return found
}

// mask redacts b in place and reports what it did.
func (r *Redactor) mask(b []byte, idx int64, field string) {
	for _, s := range r.free(b) {
		s.Free = true
		if at.MaskSecret(b, s) > 0 {
			r.counts[s.Rule]++
			r.report(Redaction{Rule: s.Rule, Record: idx, Field: field, Offset: s.Off, Length: s.Len})
		}
	}
}

// redactOther redacts a record that is not a serial chunk.
func (r *Redactor) redactOther(h *held) {
	if len(h.rec.Data) > 0 {
		r.mask(h.rec.Data, h.idx, "data")
	}
	if h.rec.Kind == capture.KindEvent && h.rec.Event.Text != "" {
		t := []byte(h.rec.Event.Text)
		r.mask(t, h.idx, "text")
		h.rec.Event.Text = string(t)
	}
}

// Header returns h redacted: its metadata values and port names are
// searched like event texts, with the secrets known so far (redact the
// header after the records for the most complete result).
func (r *Redactor) Header(h capture.Header) capture.Header {
	out := h
	out.Meta = make(map[string]string, len(h.Meta))
	keys := make([]string, 0, len(h.Meta))
	for k := range h.Meta {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := []byte(h.Meta[k])
		r.mask(v, -1, "meta:"+k)
		out.Meta[k] = string(v)
	}
	out.Ports = append([]capture.PortInfo(nil), h.Ports...)
	for i := range out.Ports {
		v := []byte(out.Ports[i].Name)
		r.mask(v, -1, fmt.Sprintf("port:%d", i))
		out.Ports[i].Name = string(v)
	}
	return out
}

// Summary formats counts as "rule=count" pairs sorted by rule, comma
// separated: what the header's "redacted" metadata holds ("none" when
// nothing was found).
func Summary(counts map[string]int) string {
	keys := make([]string, 0, len(counts))
	for k, v := range counts {
		if v > 0 {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return "none"
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%d", k, counts[k])
	}
	return strings.Join(parts, ",")
}
