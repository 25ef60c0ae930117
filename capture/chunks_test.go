package capture

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// bulkFile writes recs as import does (bulk, parity, codec 3 blocks) and
// returns the file.
func bulkFile(t testing.TB, recs []Record) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "bulk.atcap")
	w, err := Create(path, testHeader(), &WriterOptions{FlushInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	for i := range recs {
		if err := w.Write(&recs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// readAllOf reads b to the end, returning the records and the damage in
// the order Next gave them (nil entries mark where records came).
func readAllOf(t *testing.T, b []byte) ([]Record, []*DamageError, []bool) {
	t.Helper()
	r, err := NewReader(bytes.NewReader(b), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var recs []Record
	var dmg []*DamageError
	var order []bool // true: a damage report
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return recs, dmg, order
		}
		var d *DamageError
		if errors.As(err, &d) {
			dmg = append(dmg, d)
			order = append(order, true)
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, *rec)
		order = append(order, false)
	}
}

// TestChunksCut cuts a file of codec 3 blocks at offsets across its
// first block: the reader returns every record of the chunks before the
// cut, in order, then one truncation report counting the rest of the
// block, then io.EOF; what is lost before the cut is at most a second of
// traffic (gaps counted up to 100 ms) and under 64 KiB.
func TestChunksCut(t *testing.T) {
	recs := corpusRecords(3, 600_000)
	b := bulkFile(t, recs)
	_, spans := layout(t, b)
	first := spans[0]
	h, ok := parseBlockHeader(b[first.start:])
	if !ok || h.codec != codecChunks {
		t.Fatalf("first block: codec %d, want %d (codec 3)", h.codec, codecChunks)
	}
	got, dmg, _ := readAllOf(t, b)
	if len(dmg) != 0 || len(got) != len(recs) {
		t.Fatalf("whole file: %d of %d records, damage %v", len(got), len(recs), dmg)
	}
	step := max(1, (first.end-first.start)/400)
	for cut := first.start + blockHeaderSize + 1; cut < first.end; cut += step {
		got, dmg, order := readAllOf(t, b[:cut])
		for i := range got {
			if !equalRecord(got[i], recs[i]) {
				t.Fatalf("cut at %d: record %d differs", cut, i)
			}
		}
		if len(dmg) != 1 || !errors.Is(dmg[0], ErrTruncated) || !order[len(order)-1] {
			t.Fatalf("cut at %d: damage %v, want one truncation after the records", cut, dmg)
		}
		if want := int64(first.count - len(got)); dmg[0].RecordsLost != want {
			t.Errorf("cut at %d: %d records lost reported, %d lost", cut, dmg[0].RecordsLost, want)
		}
		before := recordsBefore(b, spans, cut)
		var lost int
		var idx []int
		for i := len(got); i < before; i++ {
			lost += len(recs[i].Data)
			idx = append(idx, i)
		}
		if span := trafficTime(recs, idx); lost > 64<<10 || span > int64(time.Second)+chunkGap {
			t.Errorf("cut at %d: %d bytes of traffic over %v before the cut lost", cut, lost, time.Duration(span))
		}
	}
}

// TestReadCodec2 reads a file that format 1.2 wrote, in codec 2
// sub-frames (testdata/v1.2-subframes.atcap, made by the writer of
// 02bed31 from these records): whole, then cut inside its block.
func TestReadCodec2(t *testing.T) {
	recs := append(sampleRecords(), corpusRecords(7, 150_000)...)
	for i := 1; i < len(recs); i++ { // the writer keeps time from going back
		recs[i].Time = max(recs[i].Time, recs[i-1].Time)
	}
	b, err := os.ReadFile("testdata/v1.2-subframes.atcap")
	if err != nil {
		t.Fatal(err)
	}
	_, spans := layout(t, b)
	var sub *blockSpan
	for i := range spans {
		if h, ok := parseBlockHeader(b[spans[i].start:]); ok && h.codec == codecColumns {
			sub = &spans[i]
			break
		}
	}
	if sub == nil {
		t.Fatal("no codec 2 block in the file")
	}
	got, dmg, _ := readAllOf(t, b)
	if len(dmg) != 0 || len(got) != len(recs) {
		t.Fatalf("whole file: %d of %d records, damage %v", len(got), len(recs), dmg)
	}
	for i := range got {
		if !equalRecord(got[i], recs[i]) {
			t.Fatalf("record %d differs", i)
		}
	}
	got, dmg, _ = readAllOf(t, b[:sub.end-100])
	if len(dmg) != 1 || !errors.Is(dmg[0], ErrTruncated) {
		t.Fatalf("cut: damage %v, want one truncation", dmg)
	}
	if kept := len(got) - (len(recs) - sub.count); kept <= 0 {
		t.Fatalf("cut near the block's end kept %d of its sub-frames' records", kept)
	}
}

// TestChunksDamagedNoParity damages a chunk in the middle of a
// codec 3 block whose parity block is gone: the chunks before it are
// read, the rest of the block is reported, and the blocks after it are
// read whole.
func TestChunksDamagedNoParity(t *testing.T) {
	recs := corpusRecords(4, 600_000)
	b := bulkFile(t, recs)
	_, spans := layout(t, b)
	if len(spans) < 2 {
		t.Fatalf("%d data blocks, want 2 or more", len(spans))
	}
	first := spans[0]
	// Drop the parity block after the first data block.
	ph, ok := parseBlockHeader(b[first.end:])
	if !ok || ph.typ != blockParity {
		t.Fatal("no parity block after the first data block")
	}
	pend := first.end + blockHeaderSize + int64(ph.storedLen)
	c := append(append([]byte(nil), b[:first.end]...), b[pend:]...)
	mid := first.start + (first.end-first.start)*2/3
	c[mid] ^= 0x40
	got, all, _ := readAllOf(t, c)
	var dmg []*DamageError
	for _, d := range all {
		if d.RecordsLost != 0 { // the trailer no longer points at the index: nothing lost
			dmg = append(dmg, d)
		}
	}
	if len(dmg) != 1 || !errors.Is(dmg[0], ErrChecksum) {
		t.Fatalf("damage %v, want one checksum report with records lost", all)
	}
	kept := first.count - int(dmg[0].RecordsLost)
	if kept <= 0 || kept >= first.count {
		t.Fatalf("%d of the block's %d records kept, want some and not all", kept, first.count)
	}
	if len(got) != len(recs)-int(dmg[0].RecordsLost) {
		t.Fatalf("%d records read, %d written, %d reported lost", len(got), len(recs), dmg[0].RecordsLost)
	}
	for i := range got {
		j := i
		if i >= kept {
			j = i + int(dmg[0].RecordsLost)
		}
		if !equalRecord(got[i], recs[j]) {
			t.Fatalf("record %d differs from record %d written", i, j)
		}
	}
}

// TestChunksRepairKeepsPrefix repairs a cut file of codec 3 blocks: the
// output holds the chunks before the cut and a damage event.
func TestChunksRepairKeepsPrefix(t *testing.T) {
	recs := corpusRecords(5, 300_000)
	b := bulkFile(t, recs)
	_, spans := layout(t, b)
	cut := spans[0].start + (spans[0].end-spans[0].start)/2
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "cut.atcap"), filepath.Join(dir, "fixed.atcap")
	if err := os.WriteFile(src, b[:cut], 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Repair(src, dst, nil); err != nil {
		t.Fatal(err)
	}
	fixed, err := os.ReadFile(dst)
	if err != nil {
		t.Fatal(err)
	}
	got, dmg, _ := readAllOf(t, fixed)
	if len(dmg) != 0 {
		t.Fatalf("repaired file reads with damage %v", dmg)
	}
	var n, events int
	for i := range got {
		if got[i].Kind == KindEvent && got[i].Event.Type == EvDamage {
			events++
			continue
		}
		if !equalRecord(got[i], recs[n]) {
			t.Fatalf("record %d differs", n)
		}
		n++
	}
	if n == 0 || events != 1 {
		t.Fatalf("repaired: %d records kept, %d damage events; want some and one", n, events)
	}
}
