package capture

import (
	"encoding/binary"
	"fmt"
)

// Data block raw payload: the records split into columns, so that each
// column holds values of one kind and compresses on its own terms:
//
//	column count uvarint | count × column length uvarint | columns...
//
// Columns, in this order (R is the block header's record count):
//
//	0 kind       R × u8
//	1 port       R × u8
//	2 dir        R × u8
//	3 time       R × u32 time deltas, little-endian, split into 4 byte
//	             planes: all low bytes, then all second bytes, and so on
//	             (Blosc's shuffle), so the slowly varying high bytes form
//	             long runs and the noisy low bytes stay out of their way;
//	             0xFFFFFFFF means "the next u64 of the overflow column"
//	4 overflow   u64 little-endian deltas of 2^32-1 ns (4.29 s) and more
//	5 meta len   R × uvarint
//	6 meta       the records' meta back to back
//	7 data len   R × uvarint
//	8 data       the records' data back to back
//
// A time delta is from the previous record of the block; for the first
// record, from the block header's first time. Newer writers may append
// columns; readers ignore columns past the ones they know.
const (
	colKind = iota
	colPort
	colDir
	colTime
	colOverflow
	colMetaLen
	colMeta
	colDataLen
	colData
	numColumns
)

// timeEscape in the time column sends the reader to the overflow column.
const timeEscape = 1<<32 - 1

// columns accumulates the records of one block, column by column.
type columns struct {
	n        int
	sz       int // size(), kept up to date: the writer asks twice per record
	kinds    []byte
	ports    []byte
	dirs     []byte
	times    []uint32
	overflow []byte
	metaLens []byte
	meta     []byte
	dataLens []byte
	data     []byte

	// marks are the chunk boundaries so far (chunks.go), for a writer
	// that writes codecChunks blocks; markSize is size() at the last one
	// and tick the traffic time since it (gaps counted up to chunkGap).
	marks    []colMark
	markSize int
	tick     int64
}

func newColumns(blockSize int) columns {
	perRec := blockSize / 8
	return columns{
		kinds:    make([]byte, 0, perRec),
		ports:    make([]byte, 0, perRec),
		dirs:     make([]byte, 0, perRec),
		times:    make([]uint32, 0, perRec),
		metaLens: make([]byte, 0, perRec),
		dataLens: make([]byte, 0, perRec),
		data:     make([]byte, 0, blockSize+4096),
	}
}

// addChunk appends a chunk record (no meta); it is add, unrolled for the
// hot path.
func (c *columns) addChunk(port uint8, dir uint8, dt uint64, data []byte) {
	c.n++
	c.kinds = append(c.kinds, byte(KindChunk))
	c.ports = append(c.ports, port)
	c.dirs = append(c.dirs, dir)
	c.addTime(dt)
	c.metaLens = append(c.metaLens, 0)
	if n := len(data); n < 0x80 {
		c.dataLens = append(c.dataLens, byte(n))
		c.sz += 3 + 4 + 1 + 1 + n
	} else {
		l := len(c.dataLens)
		c.dataLens = binary.AppendUvarint(c.dataLens, uint64(n))
		c.sz += 3 + 4 + 1 + len(c.dataLens) - l + n
	}
	c.data = append(c.data, data...)
}

// add appends a record of any kind.
func (c *columns) add(kind Kind, port uint8, dir uint8, dt uint64, meta, data []byte) {
	c.n++
	c.kinds = append(c.kinds, byte(kind))
	c.ports = append(c.ports, port)
	c.dirs = append(c.dirs, dir)
	c.addTime(dt)
	l := len(c.metaLens) + len(c.dataLens)
	c.metaLens = binary.AppendUvarint(c.metaLens, uint64(len(meta)))
	c.meta = append(c.meta, meta...)
	c.dataLens = binary.AppendUvarint(c.dataLens, uint64(len(data)))
	c.data = append(c.data, data...)
	c.sz += 3 + 4 + len(c.metaLens) + len(c.dataLens) - l + len(meta) + len(data)
}

func (c *columns) addTime(dt uint64) {
	c.tick += int64(min(dt, uint64(chunkGap)))
	if dt < timeEscape {
		c.times = append(c.times, uint32(dt))
		return
	}
	c.times = append(c.times, timeEscape)
	c.overflow = binary.LittleEndian.AppendUint64(c.overflow, dt)
	c.sz += 8
}

// size is the raw payload size so far, less the column table.
func (c *columns) size() int { return c.sz }

func (c *columns) reset() {
	c.n, c.sz = 0, 0
	c.marks, c.markSize, c.tick = c.marks[:0], 0, 0
	c.kinds, c.ports, c.dirs, c.times = c.kinds[:0], c.ports[:0], c.dirs[:0], c.times[:0]
	c.overflow, c.metaLens, c.meta, c.dataLens, c.data = c.overflow[:0], c.metaLens[:0], c.meta[:0], c.dataLens[:0], c.data[:0]
}

// appendPayload appends the block's raw payload to dst.
func (c *columns) appendPayload(dst []byte) []byte {
	n := len(c.times)
	lens := [numColumns]int{n, n, n, 4 * n, len(c.overflow), len(c.metaLens), len(c.meta), len(c.dataLens), len(c.data)}
	dst = binary.AppendUvarint(dst, numColumns)
	for _, l := range lens {
		dst = binary.AppendUvarint(dst, uint64(l))
	}
	dst = append(dst, c.kinds...)
	dst = append(dst, c.ports...)
	dst = append(dst, c.dirs...)
	start := len(dst)
	dst = append(dst, make([]byte, 4*n)...)
	p0, p1, p2, p3 := dst[start:start+n], dst[start+n:start+2*n], dst[start+2*n:start+3*n], dst[start+3*n:start+4*n]
	for i, t := range c.times {
		p0[i], p1[i], p2[i], p3[i] = byte(t), byte(t>>8), byte(t>>16), byte(t>>24)
	}
	dst = append(dst, c.overflow...)
	dst = append(dst, c.metaLens...)
	dst = append(dst, c.meta...)
	dst = append(dst, c.dataLens...)
	return append(dst, c.data...)
}

// cursor walks the records of a decoded data block payload.
type cursor struct {
	n, i     int
	kinds    []byte
	ports    []byte
	dirs     []byte
	time     []byte // 4 planes of n bytes
	overflow []byte
	metaLens []byte
	meta     []byte
	dataLens []byte
	data     []byte
}

// parseColumns splits raw into its columns for a block of n records. It
// checks the column table against raw and n; records are checked as they
// are read.
func parseColumns(raw []byte, n int) (cursor, error) {
	var c cursor
	ncols, k := binary.Uvarint(raw)
	if k <= 0 || ncols < numColumns || ncols > uint64(len(raw)) {
		return c, fmt.Errorf("column table: %w", ErrCorrupt)
	}
	raw = raw[k:]
	var lens [numColumns]uint64
	var total uint64
	for i := range ncols {
		l, k := binary.Uvarint(raw)
		if k <= 0 || l > uint64(len(raw)) {
			return c, fmt.Errorf("column %d length: %w", i, ErrCorrupt)
		}
		raw = raw[k:]
		if i < numColumns {
			lens[i] = l
		}
		total += l
	}
	if total > uint64(len(raw)) {
		return c, fmt.Errorf("columns of %d bytes in a payload of %d: %w", total, len(raw), ErrCorrupt)
	}
	un := uint64(n)
	if lens[colKind] != un || lens[colPort] != un || lens[colDir] != un || lens[colTime] != 4*un {
		return c, fmt.Errorf("fixed columns do not match %d records: %w", n, ErrCorrupt)
	}
	cols := make([][]byte, 0, numColumns) // escapes nothing: stays on the stack
	for _, l := range lens {
		cols = append(cols, raw[:l:l])
		raw = raw[l:]
	}
	c = cursor{n: n, kinds: cols[colKind], ports: cols[colPort], dirs: cols[colDir], time: cols[colTime],
		overflow: cols[colOverflow], metaLens: cols[colMetaLen], meta: cols[colMeta],
		dataLens: cols[colDataLen], data: cols[colData]}
	return c, nil
}

func (c *cursor) more() bool { return c.i < c.n }

// next returns the next record's fields. Lengths are checked against the
// columns and maxRecord; it never panics on malformed input.
func (c *cursor) next(maxRecord int) (kind Kind, port, dir uint8, dt uint64, meta, data []byte, err error) {
	i, n := c.i, c.n
	kind, port, dir = Kind(c.kinds[i]), c.ports[i], c.dirs[i]
	dt = uint64(c.time[i]) | uint64(c.time[n+i])<<8 | uint64(c.time[2*n+i])<<16 | uint64(c.time[3*n+i])<<24
	if dt == timeEscape {
		if len(c.overflow) < 8 {
			return 0, 0, 0, 0, nil, nil, fmt.Errorf("time overflow column ends early: %w", ErrCorrupt)
		}
		dt = binary.LittleEndian.Uint64(c.overflow)
		c.overflow = c.overflow[8:]
		if dt > 1<<62 {
			return 0, 0, 0, 0, nil, nil, fmt.Errorf("time delta: %w", ErrCorrupt)
		}
	}
	metaLen, k := binary.Uvarint(c.metaLens)
	if k <= 0 {
		return 0, 0, 0, 0, nil, nil, fmt.Errorf("meta length: %w", ErrCorrupt)
	}
	c.metaLens = c.metaLens[k:]
	dataLen, k := binary.Uvarint(c.dataLens)
	if k <= 0 {
		return 0, 0, 0, 0, nil, nil, fmt.Errorf("data length: %w", ErrCorrupt)
	}
	c.dataLens = c.dataLens[k:]
	if metaLen > uint64(maxRecord) || dataLen > uint64(maxRecord) || metaLen+dataLen > uint64(maxRecord) {
		return 0, 0, 0, 0, nil, nil, fmt.Errorf("record of %d bytes (limit %d): %w", metaLen+dataLen, maxRecord, ErrTooLarge)
	}
	if metaLen > uint64(len(c.meta)) {
		return 0, 0, 0, 0, nil, nil, fmt.Errorf("record meta of %d bytes runs past the block: %w", metaLen, ErrCorrupt)
	}
	if dataLen > uint64(len(c.data)) {
		return 0, 0, 0, 0, nil, nil, fmt.Errorf("record data of %d bytes runs past the block: %w", dataLen, ErrCorrupt)
	}
	// Capped, so a caller appending to a record's bytes copies them.
	meta, c.meta = c.meta[:metaLen:metaLen], c.meta[metaLen:]
	data, c.data = c.data[:dataLen:dataLen], c.data[dataLen:]
	c.i++
	return kind, port, dir, dt, meta, data, nil
}

// colMark is a chunk boundary: the record count and the column lengths
// before it (for colTime, the record count).
type colMark struct {
	n    int
	lens [numColumns]int
}

func (c *columns) lens() [numColumns]int {
	return [numColumns]int{len(c.kinds), len(c.ports), len(c.dirs), len(c.times), len(c.overflow),
		len(c.metaLens), len(c.meta), len(c.dataLens), len(c.data)}
}

// mark ends a chunk after the records so far.
func (c *columns) mark() {
	c.marks = append(c.marks, colMark{n: c.n, lens: c.lens()})
	c.markSize, c.tick = c.sz, 0
}

// rawLen is the length of appendPayload's output.
func (c *columns) rawLen() int {
	l := c.lens()
	l[colTime] *= 4
	n := uvarintLen(numColumns)
	for _, x := range l {
		n += uvarintLen(uint64(x)) + x
	}
	return n
}

func uvarintLen(x uint64) int {
	var b [binary.MaxVarintLen64]byte
	return binary.PutUvarint(b[:], x)
}
