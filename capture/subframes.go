package capture

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"slices"

	"github.com/klauspost/compress/zstd"
)

// Codec 2 (codecColumns), which format 1.2 wrote for big blocks and this
// package still reads: the records' columns, each one zstd stream for the
// block, flushed at the end of every sub-frame of at most 64 KiB of raw
// payload (codec 3, chunks.go, replaced it: its pieces end every second
// for the cost of a chunk table).
//
//	column count C uvarint | sub-frame count S uvarint | S sub-frames
//
//	sub-frame: records n uvarint | C × raw length uvarint |
//	           C × packed length uvarint | C packed chunks | CRC-32C u32 LE
//	           of the sub-frame's bytes before it
//
// Chunk i of all sub-frames, joined, is a whole zstd frame; the chunks of
// the first k sub-frames are a prefix of it that decodes to those
// sub-frames' bytes, as each flush ended a zstd block. A sub-frame's
// columns are those of appendPayload, except that the time column holds
// the byte planes of the sub-frame's records only. A reader puts the
// block back into the layout of codec 0 and 1.

// subFrame is one parsed sub-frame of a codecColumns payload.
type subFrame struct {
	n      uint64
	raw    []uint64
	chunks [][]byte
}

// parseSubframe parses the sub-frame at the start of p for C columns,
// returning it and the bytes it took. It checks the lengths against p and
// limit and the sub-frame's CRC.
func parseSubframe(p []byte, ncols int, limit uint64) (subFrame, int, error) {
	f := subFrame{raw: make([]uint64, ncols), chunks: make([][]byte, ncols)}
	packed := make([]uint64, ncols)
	u := uvarints{q: p, limit: limit}
	next := u.next
	var ok bool
	if f.n, ok = next(); !ok {
		return f, 0, fmt.Errorf("sub-frame header: %w", ErrCorrupt)
	}
	for i := range f.raw {
		if f.raw[i], ok = next(); !ok {
			return f, 0, fmt.Errorf("sub-frame column %d length: %w", i, ErrCorrupt)
		}
	}
	var total uint64
	for i := range packed {
		if packed[i], ok = next(); !ok {
			return f, 0, fmt.Errorf("sub-frame column %d packed length: %w", i, ErrCorrupt)
		}
		total += packed[i]
	}
	if total+4 > uint64(len(u.q)) {
		return f, 0, fmt.Errorf("sub-frame of %d bytes runs past the block: %w", total, ErrTruncated)
	}
	for i, l := range packed {
		f.chunks[i], u.q = u.q[:l:l], u.q[l:]
	}
	used := len(p) - len(u.q)
	if crc32c(p[:used]) != binary.LittleEndian.Uint32(u.q) {
		return f, 0, fmt.Errorf("sub-frame: %w", ErrChecksum)
	}
	un := f.n
	if f.raw[colKind] != un || f.raw[colPort] != un || f.raw[colDir] != un || f.raw[colTime] != 4*un {
		return f, 0, fmt.Errorf("sub-frame of %d records has other fixed columns: %w", un, ErrCorrupt)
	}
	return f, used + 4, nil
}

// decodeColumns decodes the codecColumns payload p into r.raw, laid out as
// appendPayload lays out a block. With prefix false, any fault is an error.
// With prefix true it decodes the sub-frames before the first one that is
// cut short or damaged. It returns the records decoded and the payload
// bytes their sub-frames take.
func (r *Reader) decodeColumns(p []byte, prefix bool) (records, used int, err error) {
	limit := uint64(r.opts.MaxBlockSize)
	ncols, k := binary.Uvarint(p)
	if k <= 0 || ncols < numColumns || ncols > 64 {
		return 0, 0, fmt.Errorf("column count: %w", ErrCorrupt)
	}
	nsub, k2 := binary.Uvarint(p[k:])
	if k2 <= 0 || nsub > uint64(len(p)) {
		return 0, 0, fmt.Errorf("sub-frame count: %w", ErrCorrupt)
	}
	off := k + k2
	var frames []subFrame
	rawTot := make([]uint64, ncols)
	var n, total uint64
	for range nsub {
		f, m, err := parseSubframe(p[off:], int(ncols), limit)
		if err != nil {
			if prefix {
				break
			}
			return 0, 0, err
		}
		for i, l := range f.raw {
			rawTot[i] += l
			total += l
		}
		n += f.n
		if total > limit || n > limit {
			if prefix {
				break
			}
			return 0, 0, fmt.Errorf("sub-frames of %d bytes (limit %d): %w", total, limit, ErrTooLarge)
		}
		frames = append(frames, f)
		off += m
	}
	if !prefix && off != len(p) {
		return 0, 0, fmt.Errorf("%d bytes after the last sub-frame: %w", len(p)-off, ErrCorrupt)
	}
	if len(frames) == 0 {
		return 0, off, nil
	}
	whole := len(frames) == int(nsub)
	// The layout of appendPayload: the column table, then the columns.
	r.raw = binary.AppendUvarint(r.raw[:0], ncols)
	for _, l := range rawTot {
		r.raw = binary.AppendUvarint(r.raw, l)
	}
	pos := len(r.raw)
	r.raw = slices.Grow(r.raw, int(total))[:pos+int(total)]
	for i := range int(ncols) {
		r.join = r.join[:0]
		for _, f := range frames {
			r.join = append(r.join, f.chunks[i]...)
		}
		dst := r.raw[pos : pos+int(rawTot[i])]
		if i == colTime {
			r.scratch = slices.Grow(r.scratch[:0], len(dst))[:len(dst)]
			dst = r.scratch
		}
		if err := r.decodeStream(r.join, dst, whole); err != nil {
			if prefix {
				return 0, off, nil
			}
			return 0, 0, fmt.Errorf("decompress column %d: %v: %w", i, err, ErrCorrupt)
		}
		if i == colTime {
			unshuffle(r.raw[pos:pos+len(dst)], dst, frames)
		}
		pos += int(rawTot[i])
	}
	return int(n), off, nil
}

// decodeStream decodes the zstd stream src into exactly len(dst) bytes.
// A whole stream goes through DecodeAll; a prefix (whole false) through a
// streaming decoder, which stops where the data does.
func (r *Reader) decodeStream(src, dst []byte, whole bool) error {
	if whole {
		out, err := r.dec.DecodeAll(src, dst[:0:len(dst)])
		if err != nil {
			return err
		}
		if len(out) != len(dst) || (len(out) > 0 && &out[0] != &dst[0]) {
			return fmt.Errorf("column decodes to %d bytes, sub-frames say %d", len(out), len(dst))
		}
		return nil
	}
	d, err := zstd.NewReader(bytes.NewReader(src), zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true),
		zstd.WithDecoderMaxMemory(uint64(r.opts.MaxBlockSize)),
		zstd.WithDecoderMaxWindow(uint64(max(r.opts.MaxBlockSize, zstd.MinWindowSize))))
	if err != nil {
		return err
	}
	defer d.Close()
	_, err = io.ReadFull(d, dst)
	return err
}

// unshuffle moves the time planes of each sub-frame (src) into the byte
// planes of the whole block (dst): 4 planes of all the block's records.
func unshuffle(dst, src []byte, frames []subFrame) {
	total := len(dst) / 4
	o := 0
	for _, f := range frames {
		n := int(f.n)
		for q := range 4 {
			copy(dst[q*total+o:q*total+o+n], src[4*o+q*n:4*o+(q+1)*n])
		}
		o += n
	}
}
