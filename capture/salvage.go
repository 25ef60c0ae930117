package capture

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// What the reader does with a damaged block: salvage the intact
// chunks or sub-frames of a columns block, rebuild a block from its parity, recover
// a damaged block header, and resynchronise on the next valid header
// (docs/capture-format.md §3).

// salvageColumns loads what the chunks of a damaged codecChunks block (or
// the sub-frames of a codecColumns one; header h at start, payload p as
// far as it was read) still hold: the records before the first chunk that
// is cut short or damaged.
// The block is then current and dmg, with the records it still loses,
// follows its records (r.tail); it returns nil. A block with nothing to
// salvage returns dmg.
func (r *Reader) salvageColumns(start int64, h *blockHeader, p []byte, dmg *DamageError) error {
	if h.typ != blockData || h.codec != codecColumns && h.codec != codecChunks {
		return dmg
	}
	n, used, err := r.decodePieces(h.codec, p, true)
	if err != nil || n == 0 || n > int(h.records) {
		return dmg
	}
	cur, err := parseColumns(r.raw, n)
	if err != nil {
		return dmg
	}
	r.cur = cur
	r.blocksRead++
	r.blockOff, r.blockLen = start, int64(blockHeaderSize+used)
	r.blockRecords, r.recsRead = int64(n), 0
	r.t = h.firstTime
	d := *dmg
	skipped := int64(blockHeaderSize + used)
	d.Offset, d.Length = start+skipped, max(0, dmg.Length-skipped)
	d.RecordsLost = int64(h.records) - int64(n)
	d.From = -1 // the last record salvaged, filled in by next
	r.tail = &d
	return nil
}

// salvagePayload handles a data block whose payload failed its CRC: it
// rebuilds the block from the parity block after it when there is one
// (found by its header, or by its footer when a zeroed page took the
// header too), and returns dmg otherwise.
func (r *Reader) salvagePayload(start int64, h *blockHeader, dmg *DamageError) error {
	r.skipped = r.skipped[:0]
	var hb [blockHeaderSize]byte
	h.put(hb[:])
	r.skipped = append(append(r.skipped, hb[:]...), r.comp...)
	region := len(r.skipped)
	next, _ := r.br.Peek(blockHeaderSize)
	if ph, ok := parseBlockHeader(next); ok {
		if ph.typ != blockParity || int64(ph.storedLen) > int64(r.opts.MaxBlockSize) {
			return dmg
		}
		r.collecting = true
		r.discard(blockHeaderSize + int(ph.storedLen))
		r.collecting = false
		if r.rebuild(start, 0, region, r.skipped[region+blockHeaderSize:]) {
			return r.recovered(start)
		}
		return dmg
	}
	// The parity block's header is damaged too: look for its footer in
	// front of the next valid header.
	r.collecting = true
	d2 := r.resync(r.off, 0, ErrChecksum)
	r.collecting = false
	if !r.overflow {
		if pi, n, ok := parseParity(r.skipped[region:], r.maxSkipped()); ok && pi.L == region && len(r.skipped)-n-blockHeaderSize == region {
			if r.rebuild(start, 0, region, r.skipped[len(r.skipped)-n:]) {
				return r.recovered(start)
			}
		}
	}
	var d *DamageError
	if errors.As(d2, &d) {
		dmg.Length = r.off - start
		if errors.Is(d2, ErrTruncated) {
			dmg.Err = fmt.Errorf("%w, then the file ends: %w", ErrChecksum, ErrTruncated)
		}
		return dmg
	}
	return d2
}

// salvageHeader handles bytes from start that were not a valid block
// header, skipped by resync (err is its report, r.skipped the bytes): when
// the next valid header is a parity block whose protected region ends
// there, it rebuilds that data block.
func (r *Reader) salvageHeader(start int64, err error) error {
	var d *DamageError
	if r.overflow || r.done || !errors.As(err, &d) {
		return err
	}
	next, _ := r.br.Peek(blockHeaderSize)
	ph, ok := parseBlockHeader(next)
	if !ok || ph.typ != blockParity || int64(ph.storedLen) > int64(r.opts.MaxBlockSize) {
		return err
	}
	region := len(r.skipped)
	r.collecting = true
	r.discard(blockHeaderSize + int(ph.storedLen))
	r.collecting = false
	payload := r.skipped[region+blockHeaderSize:]
	pi, _, ok := parseParity(payload, r.maxSkipped())
	if !ok || pi.L > region {
		return err
	}
	if dh, ok := parseBlockHeader(pi.hdr); ok {
		d.RecordsLost, d.From, d.To = int64(dh.records), dh.firstTime, dh.lastTime
	}
	d.Length = r.off - start
	lead, prev := region-pi.L, r.t
	if !r.rebuild(start, lead, region, payload) {
		return d
	}
	if lead > 0 && !(r.headerLost && start == 0) {
		// Damage before the rebuilt block: its records are not known
		// (unless it is the file header, reported already).
		return &DamageError{Offset: start, Length: int64(lead), RecordsLost: -1, From: prev, To: r.t, Err: ErrChecksum}
	}
	return r.recovered(start)
}

// rebuild repairs r.skipped[lo:hi] (a data block, header included, found
// at file offset start+lo) from the parity payload p and loads it. It
// reports whether the block came back whole.
func (r *Reader) rebuild(start int64, lo, hi int, p []byte) bool {
	pi, n, ok := parseParity(p, r.maxSkipped())
	if !ok || n != len(p) || pi.L != hi-lo {
		return false
	}
	region := r.skipped[lo:hi]
	if !pi.rebuild(region) {
		return false
	}
	h, ok := parseBlockHeader(region)
	if !ok || h.typ != blockData || int(h.storedLen) != len(region)-blockHeaderSize ||
		int64(h.rawLen) > int64(r.opts.MaxBlockSize) || crc32c(region[blockHeaderSize:]) != h.crc {
		return false
	}
	r.comp = append(r.comp[:0], region[blockHeaderSize:]...)
	return r.loadBlock(start+int64(lo), int64(len(region)), &h) == nil
}

// recovered reports damage that parity undid: the block is loaded.
func (r *Reader) recovered(start int64) error {
	r.recoveredBlocks++
	return &DamageError{Offset: start, Length: r.off - start, RecordsLost: 0, From: r.t, To: r.t,
		Err: fmt.Errorf("damaged bytes rebuilt from parity: %w", ErrRecovered)}
}

// resync skips from start to the next valid block header (sync marker and
// header CRC) and returns a *DamageError for the skipped bytes. When no
// header follows, the damage runs to the end of the file and wraps
// ErrTruncated.
func (r *Reader) resync(start, lost int64, cause error) error {
	r.discard(1)
	for {
		buf, err := r.br.Peek(r.br.Size())
		i := bytes.Index(buf, syncMarker[:])
		if i >= 0 {
			r.discard(i)
			hb, _ := r.br.Peek(blockHeaderSize)
			if _, ok := parseBlockHeader(hb); ok {
				return &DamageError{Offset: start, Length: r.off - start, RecordsLost: lost, Err: cause}
			}
			if len(hb) < blockHeaderSize {
				// A header cut short at the end of the file.
				r.discard(len(hb))
				r.done = true
				return &DamageError{Offset: start, Length: r.off - start, RecordsLost: lost,
					Err: fmt.Errorf("%w, then the file ends: %w", cause, ErrTruncated)}
			}
			r.discard(1)
			continue
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			r.discard(len(buf))
			r.done = true
			if !errors.Is(err, io.EOF) {
				return fmt.Errorf("read capture at offset %d: %w", r.off, err)
			}
			return &DamageError{Offset: start, Length: r.off - start, RecordsLost: lost,
				Err: fmt.Errorf("%w, then the file ends without index and trailer: %w", cause, ErrTruncated)}
		}
		r.discard(max(len(buf)-len(syncMarker)+1, 1))
	}
}
