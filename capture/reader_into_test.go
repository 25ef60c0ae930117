package capture

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"testing"
)

// readEvery reads b to the end through Next or NextInto and returns the
// records (NextInto's copied before the next call) and the errors met.
func readEvery(t testing.TB, b []byte, into bool) ([]Record, []string) {
	r, err := NewReader(bytes.NewReader(b), &ReaderOptions{MaxBlockSize: 1 << 20, MaxRecordSize: 1 << 16})
	if err != nil {
		return nil, []string{err.Error()}
	}
	defer r.Close()
	var recs []Record
	var errs []string
	var rec Record
	for i := 0; i <= len(b)+10; i++ {
		if into {
			err = r.NextInto(&rec)
			if err == nil {
				c := rec
				c.Data = clone(rec.Data)
				recs = append(recs, c)
			}
		} else {
			var p *Record
			p, err = r.Next()
			if err == nil {
				recs = append(recs, *p)
			}
		}
		if err == io.EOF {
			return recs, errs
		}
		if err != nil {
			var d *DamageError
			if !errors.As(err, &d) {
				t.Fatalf("unexpected error type: %v", err)
			}
			errs = append(errs, err.Error())
		}
	}
	t.Fatal("reader does not terminate")
	return nil, nil
}

// TestNextIntoMatchesNext reads whole, cut and bit-flipped captures both
// ways: the same records and the same damage must come out.
func TestNextIntoMatchesNext(t *testing.T) {
	recs, small := smallMultiBlock(t)
	inputs := map[string][]byte{
		"multi-block": small,
		"stored":      writeAll(t, sampleRecords(), &WriterOptions{Stored: true}),
		"cut":         small[:len(small)*2/3],
	}
	flipped := bytes.Clone(small)
	flipped[len(flipped)/2] ^= 0x10
	inputs["bit flip"] = flipped
	for name, b := range inputs {
		t.Run(name, func(t *testing.T) {
			want, wantErrs := readEvery(t, b, false)
			got, gotErrs := readEvery(t, b, true)
			if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(gotErrs, wantErrs) {
				t.Fatalf("NextInto read %d records, errors %q; Next read %d, errors %q", len(got), gotErrs, len(want), wantErrs)
			}
			if name == "multi-block" && len(got) != len(recs) {
				t.Fatalf("read %d records, wrote %d", len(got), len(recs))
			}
		})
	}
}

// TestNextIntoAllocs checks the contract that makes NextInto worth having:
// no allocation per chunk record once the block buffers are sized.
func TestNextIntoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	b := writeAll(t, corpusRecords(5, 64<<10), nil)
	r, err := NewReader(bytes.NewReader(b), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var rec Record
	if err := r.NextInto(&rec); err != nil { // loads the first block
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(1000, func() {
		if err := r.NextInto(&rec); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("NextInto allocates %.2f times per record", allocs)
	}
}

// FuzzNextInto is a differential fuzz test: NextInto must return what Next
// returns on any input, damage included.
func FuzzNextInto(f *testing.F) {
	_, small := smallMultiBlock(f)
	f.Add(small)
	f.Add(writeAll(f, sampleRecords(), &WriterOptions{Stored: true}))
	f.Add(small[:len(small)/2])
	f.Fuzz(func(t *testing.T, b []byte) {
		want, wantErrs := readEvery(t, b, false)
		got, gotErrs := readEvery(t, b, true)
		if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(gotErrs, wantErrs) {
			t.Fatalf("NextInto read %d records, errors %q; Next read %d, errors %q", len(got), gotErrs, len(want), wantErrs)
		}
	})
}
