package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

func TestChooseParity(t *testing.T) {
	for _, L := range []int{49, 100, 1000, 4096, 10_000, 40_000, 100_000, 1 << 20, 3 << 20, 32 << 20} {
		p := chooseParity(L)
		if p.k*p.sh < L || (p.k-1)*p.sh >= L || p.k+p.m > maxShards || p.m < 2 {
			t.Errorf("L %d: bad layout %+v", L, p)
		}
		pageSafe := p.m >= (pageSize+p.sh-1)/p.sh+1
		if L >= 64<<10 && L <= 1<<30 && !pageSafe {
			t.Errorf("L %d: %+v does not survive a zeroed page", L, p)
		}
		t.Logf("L %8d: sh %6d k %3d m %2d, %6d bytes (%.2f%%), page-safe %v", L, p.sh, p.k, p.m, p.size()+blockHeaderSize,
			100*float64(p.size()+blockHeaderSize)/float64(L), pageSafe)
	}
}

// compactedBytes is a compacted file of recs (Close compacts it).
func compactedBytes(t *testing.T, recs []Record) []byte {
	path := filepath.Join(t.TempDir(), "c.atcap")
	writeLive(t, path, recs, nil)
	_, _, b := readFile(t, path)
	return b
}

// TestParityRebuilds damages a compacted file (one data block and its
// parity) with a flipped bit or a zeroed 4 KiB page at seeded positions
// after the file header: every record must come back, with one damage
// that wraps ErrRecovered (or nothing, for damage in the parity block the
// reader does not need).
func TestParityRebuilds(t *testing.T) {
	recs := liveRecords()
	b := compactedBytes(t, recs)
	dataStart, spans := layout(t, b)
	t.Logf("%d bytes, %d blocks", len(b), len(spans))
	indexStart := spans[len(spans)-1].start
	rng := rand.New(rand.NewPCG(7, 8))
	for iter := range 300 {
		c := bytes.Clone(b)
		page := iter%2 == 1
		off := dataStart + rng.Int64N(indexStart-dataStart)
		if page {
			off = off &^ (pageSize - 1)
			end := min(off+pageSize, indexStart)
			off = max(off, dataStart)
			clear(c[off:end])
		} else {
			c[off] ^= 1 << rng.IntN(8)
		}
		res, err := readBytes(t, c, nil)
		if err != nil {
			t.Fatalf("iter %d (page %v at %d): %v", iter, page, off, err)
		}
		if len(res.recs) != len(recs) {
			t.Fatalf("iter %d (page %v at %d): %d of %d records, damages %v", iter, page, off, len(res.recs), len(recs), res.damages)
		}
		sameRecords(t, res.recs, recs)
		if len(res.damages) == 0 {
			t.Fatalf("iter %d (page %v at %d): damage not reported", iter, page, off)
		}
	}
}

// TestReadsVersion10 reads a file written by a 1.0 writer (no header copy,
// no parity): the 1.1 reader must read all of it without damage.
func TestReadsVersion10(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "v1.0.atcap"))
	if err != nil {
		t.Fatal(err)
	}
	if minor := binary.LittleEndian.Uint16(b[10:]); minor != 0 {
		t.Fatalf("testdata/v1.0.atcap has minor version %d", minor)
	}
	res, err := readBytes(t, b, nil)
	if err != nil || len(res.damages) != 0 || len(res.recs) == 0 {
		t.Fatalf("%d records, damages %v, %v", len(res.recs), res.damages, err)
	}
}

// TestHeaderCopy damages every byte of the file header in turn: the
// reader must read every record, with the header from its copy.
func TestHeaderCopy(t *testing.T) {
	recs := sampleRecords()
	b := writeAll(t, recs, &WriterOptions{FlushInterval: -1})
	n := fileHeaderSize + int(binary.LittleEndian.Uint32(b[12:]))
	want := testHeader()
	for i := range n {
		c := bytes.Clone(b)
		c[i] ^= 0x10
		r, err := NewReader(bytes.NewReader(c), nil)
		if err != nil {
			t.Fatalf("byte %d damaged: %v", i, err)
		}
		h := r.Header()
		r.Close()
		if h.Tool != want.Tool || !h.Start.Equal(want.Start) || len(h.Ports) != len(want.Ports) {
			t.Fatalf("byte %d damaged: header %+v", i, h)
		}
		res, err := readBytes(t, c, nil)
		if err != nil || len(res.damages) != 1 || !errors.Is(res.damages[0], ErrRecovered) {
			t.Fatalf("byte %d damaged: damages %v, %v", i, res.damages, err)
		}
		sameRecords(t, res.recs, recs)
	}
	// Both copies gone: the records still come back, the header is empty.
	c := bytes.Clone(b)
	c[20] ^= 1
	c[n+20] ^= 1
	res, err := readBytes(t, c, nil)
	if err != nil || len(res.damages) != 1 || errors.Is(res.damages[0], ErrRecovered) {
		t.Fatalf("header and copy damaged: damages %v, %v", res.damages, err)
	}
	sameRecords(t, res.recs, recs)
}
