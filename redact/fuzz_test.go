package redact

import (
	"path/filepath"
	"regexp"
	"testing"

	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/formats"
	"github.com/atbridge/atbridge/formats/at"
	"github.com/atbridge/atbridge/internal/session"
)

// fuzzRecords turns fuzz input into records: each record is a kind byte,
// a length byte and that many data bytes. Kind bit 0 picks the direction,
// bits 1-2 chunk, frame or event (with the data as its text).
func fuzzRecords(b []byte) []capture.Record {
	var out []capture.Record
	t := int64(0)
	for len(b) >= 2 {
		kind, n := b[0], int(b[1])
		b = b[2:]
		n = min(n, len(b))
		data := b[:n]
		b = b[n:]
		t += int64(kind) * 1000
		r := capture.Record{Time: t, Dir: formats.ToDevice, Data: data}
		if kind&1 != 0 {
			r.Dir = formats.ToHost
		}
		switch (kind >> 1) & 3 {
		case 1:
			r.Kind, r.Dir = capture.KindFrame, formats.ToServer
			r.Frame = capture.Frame{Opcode: 1, Fin: true, Length: uint64(n)}
		case 2:
			r.Kind, r.Data = capture.KindEvent, nil
			r.Event = capture.Event{Type: capture.EvWSConnected, Text: string(data)}
		default:
			r.Kind = capture.KindChunk
		}
		out = append(out, r)
	}
	return out
}

// sessionFuzzInput encodes a session as fuzz input.
func sessionFuzzInput(s *session.Session) []byte {
	var b []byte
	for _, st := range s.Steps {
		d := st.Data
		for len(d) > 0 {
			n := min(len(d), 255)
			k := byte(0)
			if st.Dir == formats.ToHost {
				k = 1
			}
			b = append(b, k, byte(n))
			b = append(b, d[:n]...)
			d = d[n:]
		}
	}
	return b
}

// FuzzRedact: redaction of arbitrary records never panics, keeps every
// record (same order, kind, time, direction) and every length, and never
// touches CR or LF.
func FuzzRedact(f *testing.F) {
	files, _ := filepath.Glob("../testdata/sessions/*.session")
	files = append(files, "../testdata/sessions/secrets.txt")
	for _, p := range files {
		s, err := session.ParseFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(sessionFuzzInput(s), uint8(0))
	}
	f.Add([]byte("\x00\x10AT+CWJAP=\"a\",\"b\x01\x05\r\nOK\r"), uint8(1))
	// The secrets of esp-at-surface.md §9: read-backs, prompted payloads.
	for _, ex := range [][]string{
		{"AT+CIPSSLCPSK=0,\"psk1\",\"h\"\r\n", "\r\nOK\r\n", "AT+CIPSSLCPSK?\r\n", "+CIPSSLCPSK:0,\"psk1\",\"h\"\r\n\r\nOK\r\n"},
		{"AT+FS=0,1,\"a.key\",0,6\r\n", ">", "k1\r\nk2", "\r\nOK\r\n", "AT+FS=0,2,\"a.key\",0,6\r\n", "+FS:6,k1\r\nk2\r\nOK\r\n"},
		{"AT+HTTPCHEAD=9\r\n", "\r\nOK\r\n\r\n>", "Cookie: x", "\r\nOK\r\n", "AT+HTTPCHEAD?\r\n", "+HTTPCHEAD:0,\"Cookie: x\"\r\n\r\nOK\r\n"},
		{"AT+CWJEAP=\"s\",1,\"id\",\"u\",\"pw\",0\r\n", "AT+CWJEAP=\"s\",1,\"id\",\"u\",\"pw\",0\r\n\r\nOK\r\n"},
	} {
		var b []byte
		for i, d := range ex {
			b = append(b, byte(i%2), byte(len(d)))
			b = append(b, d...)
		}
		f.Add(b, uint8(0))
	}
	pat := regexp.MustCompile(`[0-9]{3,}`)
	f.Fuzz(func(t *testing.T, in []byte, mode uint8) {
		recs := fuzzRecords(in)
		o := &Options{MaxHeld: 1 << 10}
		if mode&1 != 0 {
			o.Rules.Patterns = []*regexp.Regexp{pat}
		}
		if mode&2 != 0 {
			o.Decoder = &at.DecoderOptions{EchoOff: true}
		}
		out := runAll(capture.Header{}, recs, o)
		if len(out) != len(recs) {
			t.Fatalf("%d records out for %d in", len(out), len(recs))
		}
		for i := range recs {
			a, b := recs[i], out[i]
			if a.Kind != b.Kind || a.Time != b.Time || a.Dir != b.Dir || len(a.Data) != len(b.Data) || len(a.Event.Text) != len(b.Event.Text) {
				t.Fatalf("record %d changed: %+v -> %+v", i, a, b)
			}
			for j := range a.Data {
				if (a.Data[j] == '\r' || a.Data[j] == '\n') != (b.Data[j] == '\r' || b.Data[j] == '\n') {
					t.Fatalf("record %d byte %d: %q -> %q", i, j, a.Data[j], b.Data[j])
				}
				if a.Data[j] != b.Data[j] && b.Data[j] != at.Mask {
					t.Fatalf("record %d byte %d: %q -> %q, not the mask", i, j, a.Data[j], b.Data[j])
				}
			}
		}
	})
}
