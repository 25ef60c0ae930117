package capture

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// onlyReader hides Seek.
type onlyReader struct{ io.Reader }

func TestSeekTime(t *testing.T) {
	recs := corpusRecords(7, 300_000)
	full := writeAll(t, recs, &WriterOptions{BlockSize: 4096, FlushInterval: -1})
	_, spans := layout(t, full)
	noIndex := full[:len(full)-trailerSize] // a crashed recorder's file looks like this, minus the index block
	last := recs[len(recs)-1].Time
	for _, tc := range []struct {
		name string
		file []byte
	}{{"index", full}, {"no index", noIndex}, {"no index block", full[:spans[len(spans)-1].start]}} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := NewReader(bytes.NewReader(tc.file), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if r.loadIndex() != nil != (tc.name == "index") {
				t.Fatalf("index found does not match the case")
			}
			for _, at := range []int64{-1, 0, recs[1].Time, recs[len(recs)/3].Time, recs[len(recs)/3].Time + 1, last - 1, last, last + 1} {
				if err := r.SeekTime(at); err != nil {
					t.Fatal(err)
				}
				before := r.blocksRead
				var got []Record
				for {
					rec, err := r.Next()
					if err == io.EOF {
						break
					}
					if err != nil {
						if errors.Is(err, ErrTruncated) && tc.name != "index" {
							continue
						}
						t.Fatalf("seek %d: %v", at, err)
					}
					got = append(got, *rec)
					if len(got) == 1 && r.blocksRead-before > 1 {
						t.Errorf("seek %d: decoded %d blocks to reach the first record", at, r.blocksRead-before)
					}
				}
				var want []Record
				for _, rec := range recs {
					if rec.Time >= at {
						want = append(want, rec)
					}
				}
				sameRecords(t, got, want)
			}
		})
	}
	r, err := NewReader(onlyReader{bytes.NewReader(full)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := r.SeekTime(5); !errors.Is(err, ErrNotSeekable) {
		t.Errorf("SeekTime on a plain reader: %v", err)
	}
}

// TestIndexBounded checks the writer's index stays under maxIndexEntries on
// an endless recording and still points at every stride-th block.
func TestIndexBounded(t *testing.T) {
	w := &Writer{stride: 1}
	const blocks = 5*maxIndexEntries + 123
	for i := range int64(blocks) {
		w.addIndex(indexEntry{off: i * 100, firstTime: i})
	}
	if len(w.index) > maxIndexEntries || len(w.index) < maxIndexEntries/2 {
		t.Fatalf("index has %d entries", len(w.index))
	}
	for i, e := range w.index {
		if e.off != int64(i)*w.stride*100 {
			t.Fatalf("entry %d points at %d, stride %d", i, e.off, w.stride)
		}
	}
	got, err := decodeIndex(encodeIndex(w.stride, w.index))
	if err != nil || len(got) != len(w.index) || got[len(got)-1] != w.index[len(got)-1] {
		t.Fatalf("index round trip: %v", err)
	}
}
