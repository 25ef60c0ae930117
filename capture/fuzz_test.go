package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"testing"

	"github.com/atbridge/atbridge/formats"
)

// FuzzReader feeds arbitrary bytes to the reader: it must never panic, must
// stay within its limits (small here, so a hostile length cannot make it
// allocate much), and must always end with io.EOF after finitely many calls.
func FuzzReader(f *testing.F) {
	_, small := smallMultiBlock(f)
	f.Add(small)
	f.Add(writeAll(f, sampleRecords(), nil))
	f.Add(writeAll(f, sampleRecords(), &WriterOptions{Stored: true}))
	f.Add(small[:len(small)/2])
	f.Add([]byte{})
	sub := bulkFile(f, corpusRecords(6, 70_000)) // a codec 3 block of many chunks
	f.Add(sub)
	f.Add(sub[:len(sub)*2/3])
	if v12, err := os.ReadFile("testdata/v1.2-subframes.atcap"); err == nil { // codec 2
		f.Add(v12)
		f.Add(v12[:len(v12)*2/3])
	}

	opts := &ReaderOptions{MaxBlockSize: 1 << 20, MaxRecordSize: 1 << 16, MaxHeaderSize: 1 << 16}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := NewReader(bytes.NewReader(b), opts)
		if err != nil {
			return
		}
		defer r.Close()
		for i := 0; ; i++ {
			if i > len(b)+10 {
				t.Fatal("reader does not terminate")
			}
			rec, err := r.Next()
			if err == io.EOF {
				break
			}
			var d *DamageError
			if err != nil && !errors.As(err, &d) {
				t.Fatalf("unexpected error type: %v", err)
			}
			if err == nil && len(rec.Data) > opts.MaxRecordSize {
				t.Fatalf("record over the limit: %d bytes", len(rec.Data))
			}
		}
		for _, at := range []int64{0, 1 << 40} {
			if err := r.SeekTime(at); err != nil {
				t.Fatal(err)
			}
			for i := 0; i <= len(b)+10; i++ {
				if _, err := r.Next(); err == io.EOF {
					break
				}
			}
		}
	})
}

// FuzzRoundTrip builds records from fuzz input, writes and reads them back:
// they must come back equal (times clamped to be non-decreasing).
func FuzzRoundTrip(f *testing.F) {
	for _, r := range sampleRecords() {
		f.Add(encodeFuzzRecord(r))
	}
	f.Add(bytes.Repeat([]byte{1, 2, 3, 200, 0, 9}, 40))
	f.Fuzz(func(t *testing.T, in []byte) {
		var recs []Record
		for len(in) > 0 && len(recs) < 200 {
			var r Record
			r, in = decodeFuzzRecord(in)
			recs = append(recs, r)
		}
		for i := range recs {
			if recs[i].Time < 0 {
				recs[i].Time = 0
			}
			if i > 0 && recs[i].Time < recs[i-1].Time {
				recs[i].Time = recs[i-1].Time
			}
		}
		b := writeAll(t, recs, &WriterOptions{BlockSize: 64, FlushInterval: -1})
		res, err := readBytes(t, b, nil)
		if err != nil || len(res.damages) > 0 {
			t.Fatal(err, res.damages)
		}
		sameRecords(t, res.recs, recs)
	})
}

// decodeFuzzRecord takes one record's worth of fields from in.
func decodeFuzzRecord(in []byte) (Record, []byte) {
	take := func(n int) []byte {
		n = min(n, len(in))
		b := in[:n]
		in = in[n:]
		return b
	}
	u8 := func() uint8 {
		if b := take(1); len(b) == 1 {
			return b[0]
		}
		return 0
	}
	u64 := func() uint64 {
		var b [8]byte
		copy(b[:], take(8))
		return binary.LittleEndian.Uint64(b[:])
	}
	var r Record
	r.Kind = Kind(1 + u8()%3)
	r.Time = int64(u64() >> 2)
	r.Port = u8()
	r.Dir = formats.Dir(u8())
	r.Data = bytes.Clone(take(int(u8())))
	switch r.Kind {
	case KindFrame:
		r.Frame = Frame{Link: u8(), Opcode: u8(), Fin: u8()&1 == 1, Rsv: u8(), Masked: u8()&1 == 1, Length: u64()}
		copy(r.Frame.MaskKey[:], take(4))
		if !r.Frame.Masked {
			r.Frame.MaskKey = [4]byte{}
		}
	case KindEvent:
		r.Event = Event{Type: EventType(uint16(u8()) | uint16(u8())<<8), Text: string(take(int(u8()))), Count: int64(u64()),
			Link: u8(), Code: uint16(u8()) << 4, Control: ControlLines(u8()),
			Line: LineSettings{Baud: int(u64() % (1 << 31)), DataBits: u8(), Parity: Parity(u8()), StopBits: StopBits(u8()), Flow: FlowControl(u8())}}
	default:
		if r.Kind != KindChunk {
			panic("kind")
		}
	}
	return r, in
}

// encodeFuzzRecord is a rough inverse of decodeFuzzRecord for seeds.
func encodeFuzzRecord(r Record) []byte {
	b := []byte{byte(r.Kind - 1)}
	b = binary.LittleEndian.AppendUint64(b, uint64(r.Time)<<2)
	b = append(b, r.Port, byte(r.Dir), byte(len(r.Data)))
	return append(b, r.Data...)
}

// FuzzBlock wraps arbitrary bytes in a block with valid checksums, so the
// fuzzer reaches record and field decoding past the CRCs: the reader must
// never panic, and a payload that is not valid records is reported as
// damage wrapping ErrCorrupt or ErrTooLarge.
func FuzzBlock(f *testing.F) {
	recs, _ := smallMultiBlock(f)
	for _, r := range recs[:25] {
		f.Add(encodeRaw(r), uint8(1), false)
	}
	f.Add(encodeRaw(recs[20:40]...), uint8(20), true)
	f.Add([]byte{9, 1, 1, 1, 4, 0, 1, 0, 1, 2, 3, 0, 2, 0, 0, 0, 0, 0, 0, 'x', 'y'}, uint8(1), false)
	hdr := headerOnly(f)
	f.Fuzz(func(t *testing.T, payload []byte, records uint8, zstdCodec bool) {
		codec, stored := uint8(codecStored), payload
		if zstdCodec {
			codec = codecZstd
			var buf bytes.Buffer
			zw, _ := NewWriter(&buf, Header{}, &WriterOptions{FlushInterval: -1})
			stored = zw.enc.EncodeAll(payload, nil)
			zw.Close()
		}
		file := cat(hdr, craftBlock(blockData, codec, stored, uint32(len(payload)), uint32(records)))
		res, err := readBytes(t, file, &ReaderOptions{MaxRecordSize: 1 << 12})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range res.damages {
			if !errors.Is(d, ErrCorrupt) && !errors.Is(d, ErrTooLarge) && !errors.Is(d, ErrTruncated) {
				t.Fatalf("damage %v", d)
			}
		}
	})
}

// encodeRaw returns the raw block payload of recs, as the writer would
// make a block of them.
func encodeRaw(recs ...Record) []byte {
	var buf bytes.Buffer
	nw, _ := NewWriter(&buf, Header{}, &WriterOptions{FlushInterval: -1, Stored: true})
	for i := range recs {
		nw.Write(&recs[i])
	}
	raw := nw.cols.appendPayload(nil)
	nw.Close()
	return raw
}
