package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/atbridge/atbridge/formats"
	"github.com/atbridge/atbridge/internal/atcorpus"
)

// blockSpan is where one block sits in a file and which records it holds.
type blockSpan struct {
	start, end   int64
	first, count int // records[first:first+count]
	typ          uint8
}

// layout walks a clean file's block headers, leaving out parity blocks and
// the header copy.
func layout(t testing.TB, b []byte) (dataStart int64, spans []blockSpan) {
	t.Helper()
	off := int64(fileHeaderSize) + int64(binary.LittleEndian.Uint32(b[12:]))
	dataStart = off
	n := 0
	for off+blockHeaderSize <= int64(len(b)) {
		h, ok := parseBlockHeader(b[off:])
		if !ok {
			break
		}
		end := off + blockHeaderSize + int64(h.storedLen)
		if h.typ == blockParity || h.typ == blockHeaderCopy {
			off = end // tests that use layout damage data blocks; parity and copies have their own tests
			continue
		}
		spans = append(spans, blockSpan{start: off, end: end, first: n, count: int(h.records), typ: h.typ})
		n += int(h.records)
		off = end
	}
	return dataStart, spans
}

func corpusRecords(seed int64, size int) []Record {
	var recs []Record
	for _, c := range atcorpus.Generate(seed, size) {
		port := PortHost
		if c.Dir == formats.ToHost {
			port = PortDevice
		}
		recs = append(recs, Record{Kind: KindChunk, Time: c.Time, Port: port, Dir: c.Dir, Data: c.Data})
	}
	return recs
}

func smallMultiBlock(t testing.TB) ([]Record, []byte) {
	recs := append(sampleRecords()[:19], corpusRecords(3, 1500)...)
	for i := 19; i < len(recs); i++ {
		recs[i].Time += 1 << 20
	}
	return recs, writeAll(t, recs, &WriterOptions{BlockSize: 200, FlushInterval: -1})
}

// TestCutEverywhere cuts a small multi-block file at every byte offset: every
// record of every complete block must come back, then exactly one damage
// wrapping ErrTruncated, then io.EOF; never a panic.
func TestCutEverywhere(t *testing.T) {
	recs, b := smallMultiBlock(t)
	dataStart, spans := layout(t, b)
	if len(spans) < 5 {
		t.Fatalf("only %d blocks", len(spans))
	}
	for cut := 0; cut < len(b); cut++ {
		res, err := readBytes(t, b[:cut], nil)
		if int64(cut) < dataStart {
			if !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrNotCapture) {
				t.Fatalf("cut %d in the file header: %v", cut, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("cut %d: %v", cut, err)
		}
		want := 0
		for _, s := range spans {
			if s.end <= int64(cut) {
				want = s.first + s.count
			}
		}
		sameRecords(t, res.recs, recs[:want])
		if len(res.damages) != 1 || !errors.Is(res.damages[0], ErrTruncated) {
			t.Fatalf("cut %d: damages %v, want one ErrTruncated", cut, res.damages)
		}
	}
	if res, err := readBytes(t, b, nil); err != nil || len(res.damages) != 0 || len(res.recs) != len(recs) {
		t.Fatalf("whole file: %d records, %v, %v", len(res.recs), res.damages, err)
	}
}

// TestBitFlips flips random bits after the file header: the reader must not
// panic, must report every flipped byte inside a damage region, must return
// every record of every untouched block, and nothing that was not written.
func TestBitFlips(t *testing.T) {
	recs, b := smallMultiBlock(t)
	dataStart, spans := layout(t, b)
	rng := rand.New(rand.NewPCG(1, 2))
	for iter := range 400 {
		c := bytes.Clone(b)
		var flips []int64
		for range 1 + rng.IntN(3) {
			off := dataStart + rng.Int64N(int64(len(b))-dataStart)
			c[off] ^= 1 << rng.IntN(8)
			flips = append(flips, off)
		}
		res, err := readBytes(t, c, nil)
		if err != nil {
			t.Fatalf("iter %d: %v", iter, err)
		}
		for _, f := range flips {
			covered := false
			for _, d := range res.damages {
				covered = covered || (f >= d.Offset && f < d.Offset+max(d.Length, 1))
			}
			if !covered {
				t.Fatalf("iter %d: flip at %d not reported (damages %v)", iter, f, res.damages)
			}
		}
		// Expected: records of untouched blocks, in order, as a subsequence.
		var want []Record
		for _, s := range spans {
			touched := false
			for _, f := range flips {
				touched = touched || (f >= s.start && f < s.end)
			}
			if !touched {
				want = append(want, recs[s.first:s.first+s.count]...)
			}
		}
		j := 0
		for _, g := range res.recs {
			if j < len(want) && equalRecord(g, want[j]) {
				j++
				continue
			}
			found := false
			for _, r := range recs {
				found = found || equalRecord(g, r)
			}
			if !found {
				t.Fatalf("iter %d: reader made up a record %+v", iter, g)
			}
		}
		if j != len(want) {
			t.Fatalf("iter %d: recovered %d of %d records of undamaged blocks", iter, j, len(want))
		}
	}
}

func equalRecord(a, b Record) bool {
	a, b = normalize(a), normalize(b)
	return a.Kind == b.Kind && a.Time == b.Time && a.Port == b.Port && a.Dir == b.Dir &&
		bytes.Equal(a.Data, b.Data) && a.Frame == b.Frame && a.Event == b.Event
}

// craftBlock builds a block with a valid header CRC around payload.
func craftBlock(typ, codec uint8, payload []byte, rawLen, records uint32) []byte {
	b := make([]byte, blockHeaderSize, blockHeaderSize+len(payload))
	h := blockHeader{typ: typ, codec: codec, storedLen: uint32(len(payload)), rawLen: rawLen, records: records, crc: crc32c(payload)}
	h.put(b)
	return append(b, payload...)
}

// bareHeader is headerOnly without the copy block: a file header alone.
func bareHeader(t testing.TB) []byte {
	b := headerOnly(t)
	return b[:fileHeaderSize+int(binary.LittleEndian.Uint32(b[12:]))]
}

// headerOnly is a file header and its copy block.
func headerOnly(t testing.TB) []byte {
	var buf bytes.Buffer
	w, err := NewWriter(&buf, testHeader(), &WriterOptions{FlushInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	n := buf.Len()
	w.Close()
	return buf.Bytes()[:n]
}

// TestLimits feeds declared sizes far beyond the limits: they must be
// rejected with ErrTooLarge without allocating them.
func TestLimits(t *testing.T) {
	hdr := headerOnly(t)
	var c columns
	c.addChunk(0, uint8(formats.ToHost), 0, []byte("x"))
	gp := c.appendPayload(nil)
	good := craftBlock(blockData, codecStored, gp, uint32(len(gp)), 1)
	huge := make([]byte, blockHeaderSize)
	(&blockHeader{typ: blockData, codec: codecZstd, storedLen: 3 << 30, rawLen: 3 << 30, records: 9}).put(huge)
	c.reset()
	c.addChunk(0, uint8(formats.ToHost), 0, []byte("x"))
	c.dataLens = binary.AppendUvarint(c.dataLens[:0], 1<<40)
	bigRecord := c.appendPayload(nil)
	// a zstd frame that expands far beyond the rawLen its header claims
	var zb bytes.Buffer
	w, _ := NewWriter(&zb, testHeader(), nil)
	w.WriteChunk(0, 0, formats.ToHost, make([]byte, 100000))
	w.Close()
	_, zspans := layout(t, zb.Bytes())
	zpayload := zb.Bytes()[zspans[0].start+blockHeaderSize : zspans[0].end]

	for _, tc := range []struct {
		name  string
		file  []byte
		want  error
		recs  int
		opts  *ReaderOptions
		inNew bool
	}{
		{name: "block 3 GiB", file: cat(hdr, huge, good), want: ErrTooLarge, recs: 1},
		{name: "record 1 TiB", file: cat(hdr, craftBlock(blockData, codecStored, bigRecord, uint32(len(bigRecord)), 1), good), want: ErrTooLarge, recs: 1},
		{name: "zstd bomb", file: cat(hdr, craftBlock(blockData, codecZstd, zpayload, 1000, 1), good), want: ErrCorrupt, recs: 1},
		{name: "small MaxBlockSize", file: zb.Bytes(), opts: &ReaderOptions{MaxBlockSize: 1000}, want: ErrTooLarge},
		{name: "small MaxRecordSize", file: zb.Bytes(), opts: &ReaderOptions{MaxRecordSize: 1000}, want: ErrTooLarge},
		{name: "header 4 GiB", file: func() []byte {
			c := bareHeader(t)
			binary.LittleEndian.PutUint32(c[12:], 0xffffffff)
			return c
		}(), want: ErrTooLarge, inNew: true},
		{name: "bad magic", file: []byte("PK\x03\x04 not a capture at all"), want: ErrNotCapture, inNew: true},
		{name: "version 2", file: func() []byte {
			c := bareHeader(t)
			c[8] = 2
			binary.LittleEndian.PutUint32(c[16:], crc32c(append(c[:16:16], c[fileHeaderSize:]...)))
			return cat(c, good)
		}(), want: ErrVersion, inNew: true},
		{name: "header checksum", file: func() []byte {
			c := bareHeader(t)
			c[len(c)-1] ^= 1
			return c
		}(), want: ErrChecksum, inNew: true},
		{name: "empty", file: nil, want: ErrTruncated, inNew: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := readBytes(t, tc.file, tc.opts)
			if tc.inNew {
				if !errors.Is(err, tc.want) {
					t.Fatalf("NewReader: %v, want %v", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, d := range res.damages {
				found = found || errors.Is(d, tc.want)
			}
			if !found {
				t.Errorf("damages %v, want one wrapping %v", res.damages, tc.want)
			}
			if len(res.recs) != tc.recs {
				t.Errorf("got %d records, want %d", len(res.recs), tc.recs)
			}
		})
	}
}

func cat(bs ...[]byte) []byte { return bytes.Join(bs, nil) }

func TestVerifyRepair(t *testing.T) {
	dir := t.TempDir()
	recs := corpusRecords(5, 100_000)
	clean := writeAll(t, recs, &WriterOptions{BlockSize: 4096, FlushInterval: -1})
	_, spans := layout(t, clean)
	src := filepath.Join(dir, "clean.atcap")
	os.WriteFile(src, clean, 0o600)
	rep, err := Verify(src, nil)
	if err != nil || !rep.OK() || !rep.Indexed || rep.Records != int64(len(recs)) {
		t.Fatalf("clean file: %+v, %v", rep, err)
	}

	// Damage block 3's payload and block 7's header, and cut the tail.
	bad := bytes.Clone(clean)
	bad[spans[3].start+blockHeaderSize+10] ^= 0x40
	bad[spans[7].start+20] ^= 0x01
	bad = bad[:spans[len(spans)-3].start+100]
	damaged := filepath.Join(dir, "damaged.atcap")
	os.WriteFile(damaged, bad, 0o600)
	var calls int
	rep, err = Verify(damaged, &VerifyOptions{Progress: func(done, total int64) {
		calls++
		if done > total || total != int64(len(bad)) {
			t.Errorf("progress %d/%d", done, total)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK() || rep.Indexed || len(rep.Problems) != 3 || calls == 0 {
		t.Fatalf("damaged file: %+v (progress calls %d)", rep, calls)
	}
	for i, want := range []int64{spans[3].start, spans[7].start, spans[len(spans)-3].start} {
		if rep.Problems[i].Offset != want {
			t.Errorf("problem %d at %d, want %d: %s", i, rep.Problems[i].Offset, want, rep.Problems[i])
		}
	}
	if !errors.Is(rep.Problems[2].Err, ErrTruncated) {
		t.Errorf("last problem: %v, want ErrTruncated", rep.Problems[2].Err)
	}
	wantLost := int64(spans[3].count + spans[len(spans)-3].count)
	if rep.RecordsLost != wantLost || rep.Unknown != 1 {
		t.Errorf("records lost %d (unknown %d), want %d and 1", rep.RecordsLost, rep.Unknown, wantLost)
	}

	fixed := filepath.Join(dir, "fixed.atcap")
	rr, err := Repair(damaged, fixed, nil)
	if err != nil {
		t.Fatal(err)
	}
	var want []Record
	for i, s := range spans[:len(spans)-3] {
		if i != 3 && i != 7 {
			want = append(want, recs[s.first:s.first+s.count]...)
		}
	}
	if rr.Records != int64(len(want)) || len(rr.Problems) != 3 {
		t.Errorf("repair report %+v, want %d records", rr, len(want))
	}
	if rr.Events != 3 {
		t.Errorf("repair wrote %d damage events, want 3", rr.Events)
	}
	rep, err = Verify(fixed, nil)
	if err != nil || !rep.OK() || !rep.Indexed || rep.Records != int64(len(want))+rr.Events {
		t.Fatalf("repaired file does not verify clean: %+v %v", rep, err)
	}
	r, _ := Open(fixed, nil)
	defer r.Close()
	var got, holes []Record
	readAll(nil, r, func(rec *Record) error {
		c := *rec
		c.Data = clone(rec.Data)
		if c.Kind == KindEvent && c.Event.Type == EvDamage {
			holes = append(holes, c)
		} else {
			got = append(got, c)
		}
		return nil
	}, func(*DamageError) {}, func() {})
	sameRecords(t, got, want)
	// Each hole spans the lost block's times, and says how much it lost.
	for i, b := range []blockSpan{spans[3], spans[7]} {
		h := holes[i]
		if h.Time > recs[b.first].Time || h.Event.Until < recs[b.first+b.count-1].Time || h.Event.Bytes <= 0 {
			t.Errorf("hole %d: %+v, want it to cover records %d..%d (times %d..%d)", i, h.Event, b.first, b.first+b.count-1,
				recs[b.first].Time, recs[b.first+b.count-1].Time)
		}
	}
	if holes[0].Event.Count != int64(spans[3].count) || holes[1].Event.Count != -1 || holes[2].Event.Until < holes[2].Time {
		t.Errorf("holes %+v", holes)
	}
	t.Logf("hole: %s", holes[0].Event.Text)
	fb, _ := os.ReadFile(fixed)
	if _, fs := layout(t, fb); len(fs) != 2 {
		t.Errorf("repaired file has %d blocks, want one large data block and the index", len(fs))
	}
	if fi, _ := os.Stat(fixed); fi.Mode().Perm() != 0o600 {
		t.Errorf("repaired file mode %v", fi.Mode().Perm())
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 3 {
		t.Errorf("temp files left behind: %v", ents)
	}
	if _, err := Repair(fixed, fixed, nil); err == nil {
		t.Error("repair onto itself succeeded")
	}
}

// recordsBefore is how many records lay before a cut at offset cut: those
// of the blocks before it, and of the block it falls in, those of the
// chunks it holds whole (codec 3) plus the chunk the cut falls in in
// proportion to the part of it before the cut (a block of another codec
// counts as one chunk).
func recordsBefore(b []byte, spans []blockSpan, cut int64) int {
	for _, s := range spans {
		if cut >= s.end {
			continue
		}
		if cut <= s.start {
			return s.first
		}
		n, lo, hi, count := s.first, s.start, s.end, s.count
		for _, c := range chunksOf(b, s) {
			if c.end > cut {
				hi, count = c.end, c.records
				break
			}
			n += c.records
			lo = c.end
		}
		return n + int(int64(count)*(cut-lo)/max(1, hi-lo))
	}
	return spans[len(spans)-1].first + spans[len(spans)-1].count
}

type chunkSpan struct {
	end     int64
	records int
}

// chunksOf lists the chunks of the codec 3 block s (none for others).
func chunksOf(b []byte, s blockSpan) []chunkSpan {
	h, ok := parseBlockHeader(b[s.start:])
	if !ok || h.codec != codecChunks {
		return nil
	}
	p := b[s.start+blockHeaderSize : s.end]
	q := p
	next := func() uint64 {
		v, k := binary.Uvarint(q)
		q = q[max(k, 0):]
		return v
	}
	ns := next()
	for range ns {
		next()
	}
	var out []chunkSpan
	for k := next(); k > 0 && len(q) > 0; k-- {
		n := next()
		var sum uint64
		for range ns {
			sum += next()
		}
		q = q[min(uint64(len(q)), sum+4):]
		out = append(out, chunkSpan{end: s.start + blockHeaderSize + int64(len(p)-len(q)), records: int(n)})
	}
	return out
}

// TestLivePagePad records sparse traffic as a recorder does (a block every
// 100 ms) and checks the padding that keeps a page of the live file to
// about a second of traffic: no aligned 4 KiB page holds records spanning
// more than a second of traffic, the file reads back whole, and LastTime
// and SeekTime walk past the padding of a file without an index.
func TestLivePagePad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "live.atcap")
	w, err := Create(path, testHeader(), &WriterOptions{NoCompaction: true})
	if err != nil {
		t.Fatal(err)
	}
	var recs []Record
	for i := range 3000 {
		tm := int64(i) * 40 * int64(time.Millisecond)
		if i%3 == 0 {
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
		}
		rec := Record{Kind: KindChunk, Time: tm, Port: PortHost, Dir: formats.ToDevice, Data: []byte(fmt.Sprintf("AT+WSSEND=0,%d\r\n", i))}
		recs = append(recs, rec)
		if err := w.Write(&rec); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if w.Stats().PadBytes == 0 {
		t.Fatal("no padding in a sparse live file")
	}
	b, err := os.ReadFile(path) // as a crash leaves it: no index
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	_, spans := layout(t, b)
	pages := map[int64][]int{}
	for _, s := range spans {
		for p := s.start / pageSize; p <= (s.end-1)/pageSize; p++ {
			for i := s.first; i < s.first+s.count; i++ {
				pages[p] = append(pages[p], i)
			}
		}
	}
	for p, idx := range pages {
		if d := trafficTime(recs, idx); d > int64(time.Second)+chunkGap {
			t.Errorf("page %d holds %d records over %v of traffic", p, len(idx), time.Duration(d))
		}
	}
	got, dmg, _ := readAllOf(t, b)
	if len(got) != len(recs) || len(dmg) != 1 || !errors.Is(dmg[0], ErrTruncated) { // no index: the crash
		t.Fatalf("read %d of %d records, damage %v", len(got), len(recs), dmg)
	}
	r, err := NewReader(bytes.NewReader(b), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if last, err := r.LastTime(); err != nil || last != recs[len(recs)-1].Time {
		t.Fatalf("LastTime %d, %v; want %d", last, err, recs[len(recs)-1].Time)
	}
	mid := recs[len(recs)/2].Time
	if err := r.SeekTime(mid); err != nil {
		t.Fatal(err)
	}
	rec, err := r.Next()
	if err != nil || rec.Time > mid {
		t.Fatalf("after SeekTime(%d): %v, %v", mid, rec, err)
	}
}
