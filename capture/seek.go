package capture

import (
	"fmt"
	"io"
	"sort"
)

// SeekTime positions the reader so that the next call to Next returns the
// first record with Time >= t (records before t in the block it lands on are
// skipped). It needs the Reader's source to be an io.ReadSeeker
// (ErrNotSeekable otherwise).
//
// With an index (a capture closed cleanly) it jumps to the last indexed block
// starting before t; without one (a crashed recorder) it starts at the first
// block. From there it walks block headers forward, reading 48 bytes per
// block and decompressing nothing, to the first block whose last record is
// at or after t. A damaged header stops the walk; reading then goes on from
// there as usual (resynchronising and reporting the damage).
func (r *Reader) SeekTime(t int64) error {
	if r.closed {
		return ErrClosed
	}
	if r.rs == nil {
		return ErrNotSeekable
	}
	if !r.indexLoaded {
		r.index = r.loadIndex()
		r.indexLoaded = true
	}
	off := r.dataStart
	if i := sort.Search(len(r.index), func(i int) bool { return r.index[i].firstTime >= t }); i > 0 {
		off = r.index[i-1].off
	}
	var hb [blockHeaderSize]byte
	for {
		if _, err := r.rs.Seek(off, io.SeekStart); err != nil {
			return fmt.Errorf("seek capture to %d: %w", off, err)
		}
		if _, err := io.ReadFull(r.rs, hb[:]); err != nil {
			break // the end, or a torn tail: Next reports it
		}
		h, ok := parseBlockHeader(hb[:])
		if ok && recordless(h.typ) {
			off += blockHeaderSize + int64(h.storedLen)
			continue
		}
		if !ok || h.typ != blockData || h.lastTime >= t {
			break
		}
		off += blockHeaderSize + int64(h.storedLen)
	}
	if _, err := r.rs.Seek(off, io.SeekStart); err != nil {
		return fmt.Errorf("seek capture to %d: %w", off, err)
	}
	r.br.Reset(r.rs)
	r.off = off
	r.cur = cursor{}
	r.tail = nil
	r.done = false
	r.minTime = t
	return nil
}

// loadIndex reads the trailer and the index block it points at. It returns
// nil when the capture has none or it does not check out; SeekTime then
// walks from the first block.
func (r *Reader) loadIndex() []indexEntry {
	end, err := r.rs.Seek(0, io.SeekEnd)
	if err != nil || end < r.dataStart+blockHeaderSize+trailerSize {
		return nil
	}
	var tb [trailerSize]byte
	if _, err := r.rs.Seek(end-trailerSize, io.SeekStart); err != nil {
		return nil
	}
	if _, err := io.ReadFull(r.rs, tb[:]); err != nil {
		return nil
	}
	off, n, ok := parseTrailer(tb[:])
	if !ok || off < r.dataStart || off+int64(n) != end-trailerSize || int64(n) > int64(r.opts.MaxBlockSize) {
		return nil
	}
	if _, err := r.rs.Seek(off, io.SeekStart); err != nil {
		return nil
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r.rs, b); err != nil {
		return nil
	}
	h, ok := parseBlockHeader(b)
	if !ok || h.typ != blockIndex || h.codec != codecStored || int64(h.storedLen) != int64(n)-blockHeaderSize {
		return nil
	}
	p := b[blockHeaderSize:]
	if crc32c(p) != h.crc {
		return nil
	}
	idx, err := decodeIndex(p)
	if err != nil {
		return nil
	}
	for i, e := range idx {
		if e.off < r.dataStart || e.off >= off || (i > 0 && e.off <= idx[i-1].off) {
			return nil
		}
	}
	return idx
}

// LastTime returns the time of the capture's last record as the block
// headers say, reading no payload: with an index it reads the last indexed
// block's header and walks the few after it; without one (a crashed
// recorder) it walks every block header, 48 bytes each. It leaves the
// reader where it was. A damaged header ends the walk: the time is then
// the last one before it.
func (r *Reader) LastTime() (int64, error) {
	if r.closed {
		return 0, ErrClosed
	}
	if r.rs == nil {
		return 0, ErrNotSeekable
	}
	if !r.indexLoaded {
		r.index = r.loadIndex()
		r.indexLoaded = true
	}
	here, err := r.rs.Seek(0, io.SeekCurrent)
	if err != nil {
		return 0, fmt.Errorf("capture: %w", err)
	}
	defer r.rs.Seek(here, io.SeekStart)
	off := r.dataStart
	if n := len(r.index); n > 0 {
		off = r.index[n-1].off
	}
	var last int64
	var hb [blockHeaderSize]byte
	for {
		if _, err := r.rs.Seek(off, io.SeekStart); err != nil {
			return last, fmt.Errorf("capture: %w", err)
		}
		if _, err := io.ReadFull(r.rs, hb[:]); err != nil {
			return last, nil
		}
		h, ok := parseBlockHeader(hb[:])
		if !ok || h.typ != blockData && !recordless(h.typ) {
			return last, nil
		}
		if h.typ == blockData && h.records > 0 {
			last = max(last, h.lastTime)
		}
		off += blockHeaderSize + int64(h.storedLen)
	}
}
