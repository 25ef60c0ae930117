package capture

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/klauspost/compress/zstd"

	"github.com/atbridge/atbridge/formats"
)

// Reader defaults.
const (
	// DefaultMaxBlockSize is ReaderOptions.MaxBlockSize when zero.
	DefaultMaxBlockSize = 32 << 20
	// DefaultMaxHeaderSize is ReaderOptions.MaxHeaderSize when zero.
	DefaultMaxHeaderSize = 1 << 20
)

// ReaderOptions set a Reader's limits for untrusted input. A nil
// *ReaderOptions means all defaults.
type ReaderOptions struct {
	// MaxRecordSize caps a record's declared body length; larger records
	// make their block damaged (ErrTooLarge). Zero means MaxRecordSize (16 MiB).
	MaxRecordSize int
	// MaxBlockSize caps a block's stored and uncompressed sizes, and the
	// zstd decoder's memory and window. Zero means DefaultMaxBlockSize (32 MiB).
	MaxBlockSize int
	// MaxHeaderSize caps the file header body. Zero means
	// DefaultMaxHeaderSize (1 MiB).
	MaxHeaderSize int
	// Progress, when set, is called with the file offset reached after
	// each block is read, from the goroutine reading (for a progress bar).
	Progress func(off int64)
}

func (o *ReaderOptions) withDefaults() ReaderOptions {
	var r ReaderOptions
	if o != nil {
		r = *o
	}
	if r.MaxRecordSize <= 0 {
		r.MaxRecordSize = MaxRecordSize
	}
	if r.MaxBlockSize <= 0 {
		r.MaxBlockSize = DefaultMaxBlockSize
	}
	if r.MaxHeaderSize <= 0 {
		r.MaxHeaderSize = DefaultMaxHeaderSize
	}
	return r
}

// Reader reads records from a capture in constant memory (one block at a
// time). It is not safe for concurrent use.
type Reader struct {
	opts      ReaderOptions
	src       io.Reader
	rs        io.ReadSeeker // nil when src cannot seek
	file      *os.File      // set by Open; closed by Close
	br        *bufio.Reader
	off       int64 // file offset of br's next byte
	hdr       Header
	dataStart int64
	dec       *zstd.Decoder

	comp []byte // stored payload of the current block
	raw  []byte // decoded payload of the current block
	cur  cursor // the current block's unread records

	blockOff     int64
	blockLen     int64
	blockRecords int64
	recsRead     int64
	t            int64 // time of the previous record

	minTime int64 // records before it are skipped (SeekTime)
	done    bool  // nothing more to read: Next returns io.EOF
	closed  bool

	index       []indexEntry // loaded by SeekTime
	indexLoaded bool
	blocksRead  int64 // data blocks decoded (tests check seeks skip work)

	// Damaged bytes kept while resynchronising, for a rebuild from parity.
	skipped         []byte
	collecting      bool
	overflow        bool
	recoveredBlocks int64
	headerLost      bool         // the file header and its copy are gone; data starts at 0
	pending         *DamageError // returned by the next call to Next (a damaged file header)
	// tail is returned once the current block's records are read: the
	// damage that cut it short (salvageColumns).
	tail *DamageError

	join, scratch []byte // codecColumns and codecChunks decoding buffers (subframes.go, chunks.go)
	segs          [][]byte
	segReader     bytes.Reader
	inflater      io.ReadCloser
}

// Open opens the capture at path. Reader.Close closes the file.
func Open(path string, opts *ReaderOptions) (*Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open capture: %w", err)
	}
	r, err := NewReader(f, opts)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open capture %s: %w", path, err)
	}
	r.file = f
	return r, nil
}

// NewReader reads and checks the file header from src: it fails with
// ErrNotCapture on a bad magic, ErrVersion on a newer major version,
// ErrTruncated when src ends inside the header, ErrTooLarge when the
// header exceeds MaxHeaderSize and ErrChecksum or ErrCorrupt on a damaged
// header that cannot be recovered. A damaged header (a bad CRC, a magic
// with a byte or two wrong) is recovered from the copy that writers put
// in the block after it (format 1.1), or, failing that, left empty with
// reading going on at the first valid block: NewReader then succeeds and
// the first call to Next returns a *DamageError describing it (wrapping
// ErrRecovered when the copy was used). SeekTime works when src is an
// io.ReadSeeker positioned at the start of the capture.
func NewReader(src io.Reader, opts *ReaderOptions) (*Reader, error) {
	r := &Reader{opts: opts.withDefaults(), src: src, minTime: -1 << 63}
	if rs, ok := src.(io.ReadSeeker); ok {
		r.rs = rs
	}
	r.br = bufio.NewReaderSize(src, 64<<10)
	var seen []byte
	hdr, n, err := readFileHeader(r.br, r.opts.MaxHeaderSize, &seen)
	if err != nil {
		if errors.Is(err, ErrVersion) || !r.recoverHeader(seen, err) {
			if errors.Is(err, ErrNotCapture) && len(seen) >= 8 && damagedMagic(seen[:8]) {
				return nil, fmt.Errorf("file header damaged (magic % x) and no valid block in its first MiB: %w", seen[:8], ErrCorrupt)
			}
			return nil, err
		}
	} else {
		r.hdr = hdr
		r.off = int64(n)
		r.dataStart = r.off
	}
	dec, err := zstd.NewReader(nil,
		zstd.WithDecoderConcurrency(1),
		zstd.WithDecoderLowmem(true),
		zstd.WithDecoderMaxMemory(uint64(r.opts.MaxBlockSize)),
		zstd.WithDecoderMaxWindow(uint64(max(r.opts.MaxBlockSize, zstd.MinWindowSize))),
		zstd.WithDecodeAllCapLimit(true))
	if err != nil {
		return nil, fmt.Errorf("capture: zstd decoder: %w", err)
	}
	r.dec = dec
	return r, nil
}

// readFileHeader reads and checks a file header from br, keeping the bytes
// it consumed in *seen. It returns the header and its size in bytes.
func readFileHeader(br io.Reader, maxBody int, seen *[]byte) (Header, int, error) {
	var h Header
	var fh [fileHeaderSize]byte
	n, err := io.ReadFull(br, fh[:])
	*seen = append((*seen)[:0], fh[:n]...)
	if err != nil {
		if n >= 8 && [8]byte(fh[:8]) != fileMagic {
			return h, 0, ErrNotCapture
		}
		if n == 0 && err == io.EOF {
			return h, 0, fmt.Errorf("empty file: %w", ErrTruncated)
		}
		return h, 0, fmt.Errorf("file header: %w", ErrTruncated)
	}
	if [8]byte(fh[:8]) != fileMagic {
		return h, 0, ErrNotCapture
	}
	major := binary.LittleEndian.Uint16(fh[8:])
	bodyLen := binary.LittleEndian.Uint32(fh[12:])
	sum := binary.LittleEndian.Uint32(fh[16:])
	if uint64(bodyLen) > uint64(maxBody) {
		return h, 0, fmt.Errorf("file header of %d bytes (limit %d): %w", bodyLen, maxBody, ErrTooLarge)
	}
	body := make([]byte, bodyLen)
	k, err := io.ReadFull(br, body)
	*seen = append(*seen, body[:k]...)
	if err != nil {
		return h, 0, fmt.Errorf("file header body: %w", ErrTruncated)
	}
	if crc32c(append(fh[:16:16], body...)) != sum {
		return h, 0, fmt.Errorf("file header: %w", ErrChecksum)
	}
	// Checked after the CRC, so that a damaged version field is damage,
	// not a newer format.
	if major > FormatVersion || major == 0 {
		return h, 0, fmt.Errorf("format version %d.%d, this reader knows %d: %w",
			major, binary.LittleEndian.Uint16(fh[10:]), FormatVersion, ErrVersion)
	}
	if err := decodeHeaderBody(body, &h); err != nil {
		return h, 0, fmt.Errorf("file header: %w", err)
	}
	h.Version = int(major)
	return h, fileHeaderSize + int(bodyLen), nil
}

// recoverHeader handles a file header that failed with cause after seen
// was read from r.br: when the magic is at most two bytes off, it looks for
// the first valid block within MaxHeaderSize (plus slack) of the start and
// reads from there, taking the header from the copy block if that is what
// it finds. It reports whether reading can go on; the damage is kept for
// the first Next.
func (r *Reader) recoverHeader(seen []byte, cause error) bool {
	if len(seen) < 8 || !damagedMagic(seen[:8]) {
		return false
	}
	// tee keeps what the scan reads, to go back to the start when the
	// first block found is a parity block: the damage took the data
	// block's header too, and the data is before it.
	var tee bytes.Buffer
	src := r.br
	br := bufio.NewReaderSize(io.TeeReader(io.MultiReader(bytes.NewReader(seen[1:]), src), &tee), 64<<10)
	// Far enough for the parity block after the largest data block.
	limit := int64(r.opts.MaxHeaderSize) + 64<<10 + int64(r.maxSkipped())
	off := int64(1)
	for off < limit {
		buf, err := br.Peek(br.Size())
		i := bytes.Index(buf, syncMarker[:])
		if i < 0 {
			if err != nil {
				return false
			}
			d, _ := br.Discard(len(buf) - len(syncMarker) + 1)
			off += int64(d)
			continue
		}
		br.Discard(i)
		off += int64(i)
		hb, _ := br.Peek(blockHeaderSize)
		h, ok := parseBlockHeader(hb)
		if !ok {
			br.Discard(1)
			off++
			continue
		}
		if h.typ == blockParity && off < int64(r.maxSkipped()) {
			// Read from the start: the damaged region up to this parity
			// block is what salvageHeader rebuilds the data block from.
			r.br = bufio.NewReaderSize(io.MultiReader(bytes.NewReader(seen[:1]), bytes.NewReader(tee.Bytes()), src), 64<<10)
			r.off, r.dataStart, r.headerLost = 0, 0, true
			r.pending = &DamageError{Offset: 0, Length: int64(len(seen)), RecordsLost: 0, To: -1,
				Err: fmt.Errorf("file header (%w) and its copy: start time and ports unknown", cause)}
			return true
		}
		r.br, r.off, r.dataStart = br, off, off
		d := &DamageError{Offset: 0, Length: off, RecordsLost: 0, To: -1}
		if h.typ == blockHeaderCopy && int(h.storedLen) <= r.opts.MaxHeaderSize+fileHeaderSize {
			if b, err := br.Peek(blockHeaderSize + int(h.storedLen)); err == nil && crc32c(b[blockHeaderSize:]) == h.crc {
				var tmp []byte
				if hdr, _, err := readFileHeader(bytes.NewReader(b[blockHeaderSize:]), r.opts.MaxHeaderSize, &tmp); err == nil {
					r.hdr = hdr
					d.Err = fmt.Errorf("file header (%w), read from its copy: %w", cause, ErrRecovered)
					r.pending = d
					return true
				}
			}
		}
		d.Err = fmt.Errorf("file header (%w) and no copy of it: start time and ports unknown", cause)
		r.pending = d
		return true
	}
	return false
}

// damagedMagic reports whether b, the first 8 bytes of a file, look like a
// damaged capture magic: at most two bytes off, or zeroed (a lost page,
// which takes the header copy too; the blocks after it are still there).
func damagedMagic(b []byte) bool {
	return magicDistance(b) <= 2 || [8]byte(b[:8]) == [8]byte{}
}

// magicDistance is how many bytes of b differ from the file magic.
func magicDistance(b []byte) int {
	n := 0
	for i := range fileMagic {
		if b[i] != fileMagic[i] {
			n++
		}
	}
	return n
}

// Header returns the file header.
func (r *Reader) Header() Header { return r.hdr }

// Offset returns the file offset of the next block the reader will read,
// for progress reports.
func (r *Reader) Offset() int64 { return r.off }

// Close releases the decoder and closes the file if Open opened it. It is
// idempotent.
func (r *Reader) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	r.dec.Close()
	if r.file != nil {
		return r.file.Close()
	}
	return nil
}

// Next returns the next record. It returns io.EOF at the end of a cleanly
// closed capture. On damage it returns a *DamageError describing the skipped
// bytes; that is not fatal, and the next call goes on after the damage. A
// file that ends early (a torn tail, a writer that was killed) yields a
// *DamageError wrapping ErrTruncated, then io.EOF. Records of kinds this
// package does not know are skipped; events of unknown types are returned
// with their Type set and the fields this package knows.
func (r *Reader) Next() (*Record, error) {
	rec := new(Record)
	if err := r.next(rec); err != nil {
		return nil, err
	}
	rec.Data = clone(rec.Data)
	return rec, nil
}

// NextInto is Next without allocation, for loops that look at each record
// and let it go (counting, decoding, exporting): it overwrites every field
// of *rec with the next record and returns what Next would return, leaving
// *rec unspecified on error. rec.Data aliases the reader's block buffer: it
// is valid only until the next call of Next, NextInto, SeekTime or Close on
// r, and must not be modified; copy it to keep it. Event.Text is a fresh
// string and may be kept. Chunk and frame records cost no allocation; a
// whole capture is read in a handful (one buffer per block size seen).
func (r *Reader) NextInto(rec *Record) error {
	return r.next(rec)
}

// next fills rec with the next record, Data aliasing r.raw.
func (r *Reader) next(rec *Record) error {
	if r.closed {
		return ErrClosed
	}
	if d := r.pending; d != nil {
		r.pending = nil
		return d
	}
	for {
		if r.cur.more() {
			ok, err := r.nextInBlock(rec)
			if err != nil {
				lost := r.blockRecords - r.recsRead
				r.cur = cursor{}
				return &DamageError{Offset: r.blockOff, Length: r.blockLen, RecordsLost: lost,
					Err: fmt.Errorf("record %d of block: %w", r.recsRead, err)}
			}
			if !ok || rec.Time < r.minTime {
				continue
			}
			return nil
		}
		if d := r.tail; d != nil {
			r.tail = nil
			if d.From < 0 {
				d.From = r.t
			}
			return d
		}
		if r.done {
			return io.EOF
		}
		if err := r.readBlock(); err != nil {
			return err
		}
	}
}

// nextInBlock decodes the next record of the block into rec, its Data
// aliasing the block. It returns false for a record of an unknown kind.
func (r *Reader) nextInBlock(rec *Record) (bool, error) {
	kind, port, dir, dt, meta, data, err := r.cur.next(r.opts.MaxRecordSize)
	if err != nil {
		return false, err
	}
	r.recsRead++
	r.t += int64(dt)
	switch kind {
	case KindChunk, KindFrame, KindEvent:
	default:
		return false, nil
	}
	*rec = Record{Kind: kind, Time: r.t, Port: port, Dir: formats.Dir(dir)}
	if err := decodeRecord(rec, meta, data); err != nil {
		return false, err
	}
	return true, nil
}

// Buffered-input helpers that keep r.off exact.

// discard skips n bytes; while r.collecting it keeps them in r.skipped (up
// to maxSkipped, past which r.overflow is set).
func (r *Reader) discard(n int) int {
	if !r.collecting {
		d, _ := r.br.Discard(n)
		r.off += int64(d)
		return d
	}
	done := 0
	for done < n {
		b, _ := r.br.Peek(min(n-done, r.br.Size()))
		if len(b) == 0 {
			break
		}
		if len(r.skipped)+len(b) <= r.maxSkipped() {
			r.skipped = append(r.skipped, b...)
		} else {
			r.overflow = true
		}
		d, _ := r.br.Discard(len(b))
		done += d
		r.off += int64(d)
	}
	return done
}

// maxSkipped bounds the damaged bytes kept for a rebuild from parity: a
// block, its parity and some slack.
func (r *Reader) maxSkipped() int { return 2*r.opts.MaxBlockSize + 1<<16 }

// readBlock reads the next block at r.off into r.raw. It returns nil when a
// data block was loaded (or a block was skipped silently), a *DamageError,
// or io.EOF. A *DamageError wrapping ErrRecovered comes with the rebuilt
// block loaded.
func (r *Reader) readBlock() error {
	start := r.off
	hb, err := r.br.Peek(blockHeaderSize)
	if len(hb) == 0 && err != nil {
		r.done = true
		if errors.Is(err, io.EOF) {
			return &DamageError{Offset: start, RecordsLost: -1, From: r.t, To: -1,
				Err: fmt.Errorf("file ends without index and trailer (writer did not close): %w", ErrTruncated)}
		}
		return fmt.Errorf("read capture at offset %d: %w", start, err)
	}
	h, ok := parseBlockHeader(hb)
	if !ok {
		if len(hb) < blockHeaderSize && bytes.HasPrefix(syncMarker[:], hb[:min(len(hb), 8)]) {
			n := r.discard(len(hb))
			r.done = true
			return &DamageError{Offset: start, Length: int64(n), RecordsLost: -1, From: r.t, To: -1,
				Err: fmt.Errorf("block header cut short: %w", ErrTruncated)}
		}
		r.skipped, r.overflow, r.collecting = r.skipped[:0], false, true
		err := r.resync(start, -1, ErrChecksum)
		r.collecting = false
		return r.salvageHeader(start, err)
	}
	total := int64(blockHeaderSize) + int64(h.storedLen)
	if int64(h.storedLen) > int64(r.opts.MaxBlockSize) || int64(h.rawLen) > int64(r.opts.MaxBlockSize) {
		return r.resync(start, int64(h.records), fmt.Errorf("block of %d/%d bytes (limit %d): %w",
			h.storedLen, h.rawLen, r.opts.MaxBlockSize, ErrTooLarge))
	}
	r.discard(blockHeaderSize)
	if cap(r.comp) < int(h.storedLen) {
		r.comp = make([]byte, h.storedLen)
	}
	r.comp = r.comp[:h.storedLen]
	n, err := io.ReadFull(r.br, r.comp)
	r.off += int64(n)
	if r.opts.Progress != nil {
		r.opts.Progress(r.off)
	}
	if err != nil {
		r.done = true
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			err = ErrTruncated
		}
		dmg := &DamageError{Offset: start, Length: int64(blockHeaderSize + n), RecordsLost: lostIn(&h),
			From: h.firstTime, To: h.lastTime,
			Err: fmt.Errorf("block of %d bytes cut after %d: %w", total, blockHeaderSize+n, err)}
		return r.salvageColumns(start, &h, r.comp[:n], dmg)
	}
	if crc32c(r.comp) != h.crc {
		dmg := &DamageError{Offset: start, Length: total, RecordsLost: lostIn(&h), From: h.firstTime, To: h.lastTime, Err: ErrChecksum}
		switch h.typ {
		case blockData:
			if err := r.salvagePayload(start, &h, dmg); err != error(dmg) {
				return err
			}
			return r.salvageColumns(start, &h, r.comp, dmg)
		case blockParity:
			dmg.Err = fmt.Errorf("parity block (nothing lost): %w", ErrChecksum)
		}
		return dmg
	}
	switch h.typ {
	case blockData:
	case blockIndex:
		return r.readTrailer(start, total)
	default:
		return nil // parity for a block that was whole, or a block type from a newer writer: skip it
	}
	return r.loadBlock(start, total, &h)
}

// lostIn is the records a damaged block of header h takes with it.
func lostIn(h *blockHeader) int64 {
	if h.typ != blockData {
		return 0
	}
	return int64(h.records)
}

// loadBlock decodes the data block of header h at start, whose stored
// payload is in r.comp, and makes it current.
func (r *Reader) loadBlock(start, total int64, h *blockHeader) error {
	damage := func(err error) error {
		return &DamageError{Offset: start, Length: total, RecordsLost: int64(h.records), From: h.firstTime, To: h.lastTime, Err: err}
	}
	switch h.codec {
	case codecStored:
		r.raw, r.comp = r.comp, r.raw
	case codecColumns, codecChunks:
		n, _, err := r.decodePieces(h.codec, r.comp, false)
		if err != nil {
			return damage(err)
		}
		if n != int(h.records) {
			return damage(fmt.Errorf("block's pieces hold %d records, header says %d: %w", n, h.records, ErrCorrupt))
		}
	case codecZstd:
		if cap(r.raw) < int(h.rawLen) {
			r.raw = make([]byte, 0, h.rawLen)
		}
		out, err := r.dec.DecodeAll(r.comp, r.raw[:0:h.rawLen])
		if err != nil {
			return damage(fmt.Errorf("decompress: %v: %w", err, ErrCorrupt))
		}
		r.raw = out
	default:
		return damage(fmt.Errorf("unknown codec %d: %w", h.codec, ErrCorrupt))
	}
	if len(r.raw) != int(h.rawLen) {
		return damage(fmt.Errorf("block decodes to %d bytes, header says %d: %w", len(r.raw), h.rawLen, ErrCorrupt))
	}
	// Every record takes at least 7 column bytes (kind, port, dir, time).
	if uint64(h.records)*7 > uint64(len(r.raw)) {
		return damage(fmt.Errorf("%d records in a payload of %d bytes: %w", h.records, len(r.raw), ErrCorrupt))
	}
	cur, err := parseColumns(r.raw, int(h.records))
	if err != nil {
		return damage(err)
	}
	r.cur = cur
	r.blocksRead++
	r.blockOff, r.blockLen = start, total
	r.blockRecords, r.recsRead = int64(h.records), 0
	r.t = h.firstTime
	return nil
}

// readTrailer checks what follows the index block: the trailer, then the end.
func (r *Reader) readTrailer(indexOff, indexLen int64) error {
	start := r.off
	tb, _ := r.br.Peek(trailerSize)
	off, n, ok := parseTrailer(tb)
	if !ok || off != indexOff || int64(n) != indexLen {
		if more, _ := r.br.Peek(trailerSize + 1); len(more) == trailerSize {
			// The last 24 bytes, after an index that checked out.
			r.discard(trailerSize)
			r.done = true
			return &DamageError{Offset: start, Length: trailerSize, RecordsLost: 0, From: r.t, To: r.t,
				Err: fmt.Errorf("trailer damaged after an intact index (nothing lost): %w", ErrChecksum)}
		}
		if len(tb) < trailerSize {
			got := r.discard(len(tb))
			r.done = true
			return &DamageError{Offset: start, Length: int64(got), RecordsLost: 0,
				Err: fmt.Errorf("trailer cut short: %w", ErrTruncated)}
		}
		return r.resync(start, 0, ErrChecksum)
	}
	r.discard(trailerSize)
	r.done = true
	if extra, _ := r.br.Peek(1); len(extra) > 0 {
		from := r.off
		for r.discard(64<<10) > 0 {
		}
		return &DamageError{Offset: from, Length: r.off - from, RecordsLost: 0,
			Err: fmt.Errorf("data after the trailer: %w", ErrCorrupt)}
	}
	return nil
}
