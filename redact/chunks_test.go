package redact

import (
	"bytes"
	"math/rand/v2"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/formats"
	"github.com/atbridge/atbridge/formats/at"
)

// rechunk cuts each record's data at random places (at most n bytes a
// piece, 1 for byte by byte), keeping times and order.
func rechunk(recs []capture.Record, rng *rand.Rand, n int) []capture.Record {
	var out []capture.Record
	for _, r := range recs {
		d := r.Data
		for len(d) > 0 {
			k := 1 + rng.IntN(n)
			if k > len(d) {
				k = len(d)
			}
			c := r
			c.Data = d[:k]
			out = append(out, c)
			d = d[k:]
		}
	}
	return out
}

// streams concatenates each direction's bytes.
func streams(recs []capture.Record) (host, dev []byte) {
	for _, r := range recs {
		if r.Dir == formats.ToDevice {
			host = append(host, r.Data...)
		} else {
			dev = append(dev, r.Data...)
		}
	}
	return
}

// TestRedactChunkingIndependent redacts every golden session (and the
// secrets session) cut into chunks in many ways, byte by byte included: a
// secret split across chunks, and an echo split differently from the
// host's bytes, are redacted the same way as when whole.
func TestRedactChunkingIndependent(t *testing.T) {
	files, _ := filepath.Glob("../testdata/sessions/*.session")
	files = append(files, "../testdata/sessions/secrets.txt")
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			h, recs := sessionRecords(t, f)
			o := func() *Options {
				return &Options{Rules: at.SecretRules{Patterns: []*regexp.Regexp{goldenPattern}}}
			}
			wantH, wantD := streams(runAll(h, recs, o()))
			rng := rand.New(rand.NewPCG(1, uint64(len(f))))
			for _, n := range []int{1, 2, 3, 7, 16, 64} {
				gotH, gotD := streams(runAll(h, rechunk(recs, rng, n), o()))
				if !bytes.Equal(gotH, wantH) {
					t.Fatalf("chunks of up to %d: host bytes differ:\n got %q\nwant %q", n, gotH, wantH)
				}
				if !bytes.Equal(gotD, wantD) {
					t.Fatalf("chunks of up to %d: device bytes differ:\n got %q\nwant %q", n, gotD, wantD)
				}
			}
		})
	}
}

// TestWriter feeds the secrets session through a Writer from several
// goroutines' worth of records (serialised by the Writer) and checks the
// sink gets every record once, in order, redacted as in one batch, then
// the note.
func TestWriter(t *testing.T) {
	h, recs := sessionRecords(t, "../testdata/sessions/secrets.txt")
	want := runAll(h, recs, &Options{})
	var sink recordSink
	w := NewWriter(&sink, &Options{Decoder: h.DecoderOptions()})
	var mu sync.Mutex
	for i := range recs {
		mu.Lock()
		if err := w.Write(&recs[i]); err != nil {
			t.Fatal(err)
		}
		mu.Unlock()
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
	if err := w.Write(&recs[0]); err == nil {
		t.Fatal("Write after Close succeeded")
	}
	if len(sink.recs) != len(want)+1 {
		t.Fatalf("%d records, want %d and the note", len(sink.recs), len(want))
	}
	for i := range want {
		if !bytes.Equal(sink.recs[i].Data, want[i].Data) {
			t.Fatalf("record %d: %q, want %q", i, sink.recs[i].Data, want[i].Data)
		}
	}
	note := sink.recs[len(sink.recs)-1]
	if note.Event.Type != capture.EvNote || !strings.HasPrefix(note.Event.Text, "redacted: ") || !strings.Contains(note.Event.Text, "wshead=") {
		t.Errorf("note %+v", note.Event)
	}
	if w.Now() != 0 {
		t.Error("Now of a sink without a clock")
	}
}

type recordSink struct{ recs []capture.Record }

func (s *recordSink) Write(r *capture.Record) error {
	c := *r
	c.Data = bytes.Clone(r.Data)
	s.recs = append(s.recs, c)
	return nil
}
