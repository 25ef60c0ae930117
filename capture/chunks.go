package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/klauspost/compress/flate"
)

// Codec 3 (codecChunks) is what the writers of big blocks (compaction,
// Repair, import) write since format 1.3: the block stays decodable up to
// any cut, to within about a second of traffic, for the cost of its chunk
// tables.
//
// A cut can only be survived by the part of a block before it, so a block
// must be decodable a piece at a time, and every piece must hold all the
// columns of its records. Codec 2 (subframes.go) made the pieces by
// ending a zstd block in every column, which costs each column a block
// header and its own tables: affordable every 64 KiB, not every second
// (62.8% of the serial payload instead of 39.0%). zstd cannot do better,
// as it reads a block's sequences backwards from the block's end. Deflate
// (RFC 1951) is read forwards, one symbol after another, so a prefix of a
// deflate stream decodes to a prefix of its data whatever block it ends
// in. Codec 3 compresses each column as one deflate stream for the whole
// block and cuts the compressed streams, not the data, into chunks:
// chunk k holds, for each stream, the bytes that take it past the
// records of chunk k (deflateEnds finds them). Nothing is flushed, so
// the streams cost what one stream per column costs; on atcorpus traffic
// deflate at level 6 packs these columns to within 0.2 points of zstd's
// "better" level and compresses them faster; it inflates them about 3x
// slower (BenchmarkChunkLevels).
//
//	stream count S uvarint | S × raw length uvarint | chunk count K uvarint |
//	K chunks
//
//	chunk: records n uvarint | S × segment length uvarint | S segments |
//	       CRC-32C u32 LE of the chunk's bytes before it
//
// The streams are the columns of appendPayload in its order, with the
// time column as four streams, one per byte plane (so that each plane is
// a stream in record order and a prefix of it is complete). Stream i's
// segments, joined, are a raw deflate stream whose data is column i; its
// raw length is in the payload's header. A reader puts the block back
// into the layout of codec 0 and 1; the block header's raw length is that
// layout's length.
//
// A chunk ends after a second of traffic (the time between reads counted
// up to 100 ms, so idle time is not traffic) or after chunkSize raw bytes,
// whichever comes first: a cut loses at most the chunk it falls in.
const (
	numStreams = numColumns + 3 // the time column as 4 streams
	chunkSize  = 64 << 10
	chunkTime  = int64(time.Second)
	// chunkGap is the longest gap between two reads that counts as
	// traffic time in chunkTime.
	chunkGap = 100 * int64(time.Millisecond)
	// chunkLevel is deflate's level for codec 3: level 8 saves 1.2 points
	// at a quarter of the speed (BenchmarkChunkLevels).
	chunkLevel = 6
	// inflateSlack is what a chunk holds of each stream past the last
	// symbol of its records: inflaters read a few bytes ahead (Go's and
	// klauspost's read up to 3) and only give out what they decoded
	// before it.
	inflateSlack = 8
)

// streamOf maps stream i to its column and, for the time planes, the plane.
func streamOf(i int) (col, plane int) {
	switch {
	case i < colTime:
		return i, 0
	case i < colTime+4:
		return colTime, i - colTime
	}
	return i - 3, 0
}

// stream returns stream i's raw bytes (a time plane laid out in scratch).
func (c *columns) stream(i int, scratch []byte) ([]byte, []byte) {
	col, plane := streamOf(i)
	switch col {
	case colKind:
		return c.kinds, scratch
	case colPort:
		return c.ports, scratch
	case colDir:
		return c.dirs, scratch
	case colOverflow:
		return c.overflow, scratch
	case colMetaLen:
		return c.metaLens, scratch
	case colMeta:
		return c.meta, scratch
	case colDataLen:
		return c.dataLens, scratch
	case colData:
		return c.data, scratch
	}
	scratch = slices.Grow(scratch[:0], len(c.times))[:len(c.times)]
	sh := 8 * plane
	for j, t := range c.times {
		scratch[j] = byte(t >> sh)
	}
	return scratch, scratch
}

// streamLen is stream i's raw length at the mark m.
func streamLen(m colMark, i int) int {
	col, _ := streamOf(i)
	return m.lens[col]
}

// chunkEncoder holds a writer's buffers for codecChunks blocks.
type chunkEncoder struct {
	fw      *flate.Writer
	out     [numStreams]bytes.Buffer
	ends    [numStreams][]int
	targets []int
	scratch []byte
}

// appendChunks appends the codecChunks payload of c's records to dst.
func (s *chunkEncoder) appendChunks(dst []byte, c *columns) ([]byte, error) {
	bounds := c.marks
	if len(bounds) > 0 && bounds[len(bounds)-1].n == c.n {
		bounds = bounds[:len(bounds)-1]
	}
	bounds = append(bounds, colMark{n: c.n, lens: c.lens()})
	final := bounds[len(bounds)-1]
	for i := range numStreams {
		buf := &s.out[i]
		buf.Reset()
		if s.fw == nil {
			fw, err := flate.NewWriter(buf, chunkLevel)
			if err != nil {
				return dst, fmt.Errorf("capture: deflate: %w", err)
			}
			s.fw = fw
		} else {
			s.fw.Reset(buf)
		}
		var part []byte
		part, s.scratch = c.stream(i, s.scratch)
		if _, err := s.fw.Write(part); err != nil {
			return dst, fmt.Errorf("capture: compress stream %d: %w", i, err)
		}
		if err := s.fw.Close(); err != nil {
			return dst, fmt.Errorf("capture: compress stream %d: %w", i, err)
		}
		s.targets = s.targets[:0]
		for _, b := range bounds {
			s.targets = append(s.targets, streamLen(b, i))
		}
		ends, err := deflateEnds(buf.Bytes(), s.targets)
		if err != nil {
			return dst, fmt.Errorf("capture: stream %d: %w", i, err)
		}
		for k := range ends {
			ends[k] = min(ends[k]+inflateSlack, buf.Len())
		}
		ends[len(ends)-1] = buf.Len()
		s.ends[i] = ends
	}
	dst = binary.AppendUvarint(dst, numStreams)
	for i := range numStreams {
		dst = binary.AppendUvarint(dst, uint64(streamLen(final, i)))
	}
	dst = binary.AppendUvarint(dst, uint64(len(bounds)))
	prevN := 0
	for k, b := range bounds {
		start := len(dst)
		dst = binary.AppendUvarint(dst, uint64(b.n-prevN))
		for i := range numStreams {
			dst = binary.AppendUvarint(dst, uint64(s.ends[i][k]-chunkStart(s.ends[i], k)))
		}
		for i := range numStreams {
			dst = append(dst, s.out[i].Bytes()[chunkStart(s.ends[i], k):s.ends[i][k]]...)
		}
		dst = binary.LittleEndian.AppendUint32(dst, crc32c(dst[start:]))
		prevN = b.n
	}
	return dst, nil
}

// decodePieces decodes a block whose payload comes in pieces a reader can
// decode up to a cut: codecChunks or codecColumns (decodeChunks,
// decodeColumns).
func (r *Reader) decodePieces(codec uint8, p []byte, prefix bool) (records, used int, err error) {
	if codec == codecChunks {
		return r.decodeChunks(p, prefix)
	}
	return r.decodeColumns(p, prefix)
}

// decodeChunks decodes the codecChunks payload p into r.raw, laid out as
// appendPayload lays out a block. With prefix false, any fault is an
// error. With prefix true it decodes the records of the chunks before the
// first one that is cut short or damaged. It returns the records decoded
// and the payload bytes their chunks take.
func (r *Reader) decodeChunks(p []byte, prefix bool) (records, used int, err error) {
	limit := uint64(r.opts.MaxBlockSize)
	u := uvarints{q: p, limit: limit}
	next := u.next
	ns, ok := next()
	if !ok || ns < numStreams || ns > 64 {
		return 0, 0, fmt.Errorf("stream count: %w", ErrCorrupt)
	}
	rawLens := make([]uint64, ns)
	var total uint64
	for i := range rawLens {
		if rawLens[i], ok = next(); !ok {
			return 0, 0, fmt.Errorf("stream %d length: %w", i, ErrCorrupt)
		}
		total += rawLens[i]
	}
	if total > limit {
		return 0, 0, fmt.Errorf("streams of %d bytes (limit %d): %w", total, limit, ErrTooLarge)
	}
	nchunks, ok := next()
	if !ok || nchunks > uint64(len(p)) {
		return 0, 0, fmt.Errorf("chunk count: %w", ErrCorrupt)
	}
	if cap(r.segs) < int(ns) {
		r.segs = make([][]byte, ns)
	}
	segs := r.segs[:ns]
	for i := range segs {
		segs[i] = segs[i][:0]
	}
	seg := make([]uint64, ns)
	var n uint64
	parsed := uint64(0)
	for ; parsed < nchunks; parsed++ {
		c := u.q
		cn, ok := next()
		for i := range seg {
			if !ok {
				break
			}
			seg[i], ok = next()
		}
		var sum uint64
		for _, l := range seg {
			sum += l
		}
		if !ok || sum+4 > uint64(len(u.q)) {
			err = fmt.Errorf("chunk %d of %d runs past the block: %w", parsed, nchunks, ErrTruncated)
			break
		}
		body := len(c) - len(u.q) + int(sum)
		if crc32c(c[:body]) != binary.LittleEndian.Uint32(c[body:]) {
			err = fmt.Errorf("chunk %d of %d: %w", parsed, nchunks, ErrChecksum)
			break
		}
		for i, l := range seg {
			segs[i] = append(segs[i], u.q[:l]...)
			u.q = u.q[l:]
		}
		u.q = u.q[4:]
		if n += cn; n > limit {
			err = fmt.Errorf("chunks of %d records: %w", n, ErrTooLarge)
			break
		}
	}
	used = len(p) - len(u.q)
	if err != nil && !prefix {
		return 0, 0, err
	}
	if !prefix && used != len(p) {
		return 0, 0, fmt.Errorf("%d bytes after the last chunk: %w", len(p)-used, ErrCorrupt)
	}
	if n == 0 {
		return 0, used, nil
	}
	whole := parsed == nchunks
	if whole && !fixedStreamsMatch(rawLens, n) {
		return 0, 0, fmt.Errorf("streams do not match %d records: %w", n, ErrCorrupt)
	}
	// A whole block: the layout of appendPayload, the column table, then
	// the columns, each stream inflated into its place. A prefix: the
	// streams inflated into r.scratch, then laid out for the records
	// that came back.
	var buf []byte
	if whole {
		buf = appendColumnTable(r.raw[:0], rawLens)
	} else {
		buf = r.scratch[:0]
	}
	pos := len(buf)
	buf = slices.Grow(buf, int(total))[:pos+int(total)]
	got := make([]int, ns)
	o := pos
	for i := range ns {
		dst := buf[o : o+int(rawLens[i])]
		if got[i], err = r.inflate(segs[i], dst, whole); err != nil {
			return 0, 0, fmt.Errorf("inflate stream %d: %v: %w", i, err, ErrCorrupt)
		}
		o += int(rawLens[i])
	}
	if whole {
		r.raw = buf
		return int(n), used, nil
	}
	r.scratch = buf
	// The records every fixed stream reached; then those of them that
	// parse, so that a stream shorter than its chunks promise ends the
	// prefix early rather than in an error.
	m := int(n)
	for i := range ns {
		if col, _ := streamOf(int(i)); col <= colTime {
			m = min(m, got[i])
		}
	}
	r.layPrefix(rawLens, got, m)
	cur, err := parseColumns(r.raw, m)
	if err != nil {
		return 0, used, nil
	}
	k := 0
	for ; cur.more(); k++ {
		if _, _, _, _, _, _, err := cur.next(r.opts.MaxRecordSize); err != nil {
			break
		}
	}
	if k < m {
		r.layPrefix(rawLens, got, k)
	}
	return k, used, nil
}

func chunkStart(ends []int, k int) int {
	if k == 0 {
		return 0
	}
	return ends[k-1]
}

// uvarints reads uvarints of at most limit from the front of q.
type uvarints struct {
	q     []byte
	limit uint64
}

func (u *uvarints) next() (uint64, bool) {
	v, k := binary.Uvarint(u.q)
	if k <= 0 || v > u.limit {
		return 0, false
	}
	u.q = u.q[k:]
	return v, true
}

// appendColumnTable appends appendPayload's column table for streams of
// the lengths lens: the column count, then each column's length (the time
// column's is that of its four planes).
func appendColumnTable(dst []byte, lens []uint64) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(lens)-3))
	for i, l := range lens {
		if col, plane := streamOf(i); col != colTime {
			dst = binary.AppendUvarint(dst, l)
		} else if plane == 0 {
			dst = binary.AppendUvarint(dst, 4*l)
		}
	}
	return dst
}

func fixedStreamsMatch(rawLens []uint64, n uint64) bool {
	for i := range colTime + 4 {
		if rawLens[i] != n {
			return false
		}
	}
	return true
}

// layPrefix lays out in r.raw, as appendPayload would, the first m
// records of the streams in r.scratch (each at its full raw length,
// holding got bytes).
func (r *Reader) layPrefix(rawLens []uint64, got []int, m int) {
	lens := make([]uint64, len(rawLens))
	for i := range rawLens {
		lens[i] = uint64(got[i])
		if col, _ := streamOf(i); col <= colTime {
			lens[i] = uint64(m)
		}
	}
	out := appendColumnTable(r.raw[:0], lens)
	o := 0
	for i, l := range lens {
		out = append(out, r.scratch[o:o+int(l)]...)
		o += int(rawLens[i])
	}
	r.raw = out
}

// inflate inflates the raw deflate stream src into dst and returns the
// bytes it made. A whole stream must fill dst exactly and end; a prefix
// gives what it holds.
func (r *Reader) inflate(src, dst []byte, whole bool) (int, error) {
	r.segReader.Reset(src)
	if r.inflater == nil {
		r.inflater = flate.NewReader(&r.segReader)
	} else if err := r.inflater.(flate.Resetter).Reset(&r.segReader, nil); err != nil {
		return 0, err
	}
	n, err := io.ReadFull(r.inflater, dst)
	if !whole {
		return n, nil
	}
	if err != nil {
		return n, fmt.Errorf("stream decodes to %d bytes, header says %d", n, len(dst))
	}
	var one [1]byte
	if k, err := r.inflater.Read(one[:]); k != 0 || !errors.Is(err, io.EOF) {
		return n, errors.New("stream decodes past its length")
	}
	return n, nil
}
