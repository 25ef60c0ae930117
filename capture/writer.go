package capture

import (
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/atbridge/atbridge/formats"
)

// Writer defaults and hard limits.
const (
	// DefaultFlushInterval is WriterOptions.FlushInterval when zero.
	DefaultFlushInterval = 100 * time.Millisecond
	// DefaultBlockSize is WriterOptions.BlockSize when zero.
	DefaultBlockSize = 256 << 10
	// MaxRecordSize is the largest record body a Writer accepts (ErrTooLarge
	// beyond it) and the default ReaderOptions.MaxRecordSize.
	MaxRecordSize = 16 << 20
	// maxRecordOverhead bounds the column bytes a record adds besides its
	// meta and data: kind, port, dir, time, overflow, two uvarint lengths.
	maxRecordOverhead = 3 + 4 + 8 + 2*binary.MaxVarintLen64
	// maxIndexEntries bounds the writer's in-memory index; past it, every
	// other entry is dropped and the stride doubles (see Writer).
	maxIndexEntries = 1 << 16
)

// WriterOptions tune a Writer. A nil *WriterOptions means all defaults.
type WriterOptions struct {
	// FlushInterval bounds how long a record waits in memory: a timer closes
	// and writes the current block at most this long after its first record,
	// even if no more traffic comes. Zero means DefaultFlushInterval (100ms);
	// a negative value disables the timer (blocks close on size, Flush and
	// Close only).
	FlushInterval time.Duration
	// BlockSize is the uncompressed size at which a block is closed. Zero
	// means DefaultBlockSize (256 KiB). A single record larger than this gets
	// a block of its own.
	BlockSize int
	// Sync makes the Writer fsync after every block when the destination has
	// a Sync() error method (an *os.File does). Default false: the OS page
	// cache survives a killed process; Sync also survives power loss.
	Sync bool
	// Stored writes blocks without compression (codec 0). Default false
	// (zstd at its fastest level; a block zstd does not shrink is stored
	// anyway). Meant for tests and the examples in the format spec.
	Stored bool
	// NoCompaction turns off compaction at Close. By default (false) a Writer
	// made by Create whose data blocks are small on average (a live recorder
	// whose flush timer closes a block every FlushInterval, often holding a
	// single exchange) rewrites its file at Close into blocks of
	// CompactBlockSize compressed harder, through a temporary file in the
	// same directory that is synced and renamed over the original; see
	// Writer.Close. Writers made by NewWriter never compact. Compaction
	// makes Close slower (about a second for an hour of a 115200 baud line
	// running flat out); a caller that must not block there (a recorder
	// starting its next split file) sets NoCompaction and calls Compact on
	// the finished file elsewhere.
	NoCompaction bool
}

// WriterStats counts what a Writer has written so far.
type WriterStats struct {
	Records         int64 // records written (in closed blocks or pending)
	Blocks          int64 // data blocks written
	DataBytes       int64 // sum of len(Record.Data)
	RawBytes        int64 // encoded record bytes before compression
	CompressedBytes int64 // bytes written to the destination, headers included
	// CompactedBytes is the file size after compaction at Close, or 0 when
	// Close did not compact.
	CompactedBytes int64
	// PadBytes is the padding a live writer put in so that no 4 KiB page
	// of its file holds much more than a second of traffic (counted in
	// CompressedBytes; compaction drops it).
	PadBytes int64
}

// Writer writes a capture as a sequence of independently compressed,
// checksummed blocks, then an index and a trailer at Close.
//
// A Writer is safe for concurrent use. Records are stored in the order of
// the Write calls; Record.Time never decreases in the file: a record whose
// Time is less than the previous record's (a pump that was descheduled
// between reading the clock and calling Write) is stored with the previous
// record's Time. Negative times are stored as 0 on the same rule.
type Writer struct {
	mu     sync.Mutex
	out    io.Writer
	file   *os.File // set by Create; closed by Close
	path   string   // set by Create, for compaction
	hdr    Header
	base   time.Time // monotonic reading matching hdr.Start
	opts   WriterOptions
	enc    *zstd.Encoder
	cols   columns // the current block's records
	raw    []byte  // the block's raw payload, assembled at flush
	buf    []byte  // header + compressed payload of the block being written
	fields []byte  // scratch for frame/event fields
	off    int64   // bytes written so far

	blockRecords uint32
	blockFirst   int64
	lastTime     int64
	parity       bool   // write a parity block after each data block
	pbuf         []byte // the parity block being written
	// chunked makes blocks past chunkSize codecChunks blocks
	// (chunks.go), decodable up to a cut; chunks holds their buffers.
	chunked bool
	chunks  *chunkEncoder
	// A live recorder's file has no parity, so a zeroed page loses the
	// blocks in it: pagePad keeps a page to about a second of traffic
	// (padPage). pageTime is the traffic time in the current page and
	// pageLast the time of its last record.
	pagePad  bool
	pageTime int64
	pageLast int64

	index  []indexEntry
	stride int64
	blocks int64

	stats  WriterStats
	err    error // sticky write error
	closed bool

	timer *time.Timer
	armed bool
	wg    sync.WaitGroup // held while the flush timer is armed or running
}

// Create creates (or truncates) the file at path with mode 0600, since
// captures can hold Wi-Fi passwords, and returns a Writer on it. The file is
// closed by Writer.Close.
func Create(path string, h Header, opts *WriterOptions) (*Writer, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create capture: %w", err)
	}
	// An existing file keeps its old mode through O_TRUNC.
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return nil, fmt.Errorf("create capture %s: %w", path, err)
	}
	w, err := NewWriter(f, h, opts)
	if err == nil && w.opts.FlushInterval < 0 {
		// A file written in bulk (import, a golden) keeps its large blocks,
		// as compaction only rewrites small ones, and no timer bounds its
		// latency: without parity one bad byte would lose a whole block.
		w.parity = true
		w.chunked = !w.opts.Stored && w.opts.BlockSize > chunkSize
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	w.file = f
	w.path = path
	return w, nil
}

// NewWriter writes the file header for h to out and returns a Writer. It
// sets h.Version to FormatVersion and, when zero, h.Start to time.Now().UTC()
// and h.MonoBase to the monotonic clock. Writer.Close does not close out.
func NewWriter(out io.Writer, h Header, opts *WriterOptions) (*Writer, error) {
	return newWriter(out, h, opts, liveLevel)
}

// newWriter is NewWriter with a zstd level: live writers favour speed,
// compaction and Repair ratio.
func newWriter(out io.Writer, h Header, opts *WriterOptions, level zstd.EncoderLevel) (*Writer, error) {
	w := &Writer{out: out, stride: 1, parity: level != liveLevel, pbuf: make([]byte, blockHeaderSize)}
	if opts != nil {
		w.opts = *opts
	}
	if w.opts.FlushInterval == 0 {
		w.opts.FlushInterval = DefaultFlushInterval
	}
	if w.opts.BlockSize <= 0 {
		w.opts.BlockSize = DefaultBlockSize
	}
	w.pagePad = level == liveLevel && w.opts.FlushInterval > 0
	now := time.Now()
	h.Version = FormatVersion
	if h.Start.IsZero() {
		h.Start = now.UTC()
		w.base = now
	} else {
		h.Start = h.Start.UTC()
		// Keep Now() relative to the given Start on this process's monotonic clock.
		w.base = now.Add(-now.Sub(h.Start))
	}
	if h.MonoBase == 0 {
		h.MonoBase = monotonicNow()
	}
	h.Ports = append([]PortInfo(nil), h.Ports...)
	if h.Meta != nil {
		m := make(map[string]string, len(h.Meta))
		for k, v := range h.Meta {
			m[k] = v
		}
		h.Meta = m
	}
	w.hdr = h
	if !w.opts.Stored {
		// Each block is a frame of its own (EncodeAll), so a window past
		// the block size buys nothing and costs a history buffer per
		// Writer (4 MiB at the default window, allocated at first use).
		window := zstd.MinWindowSize
		for window < w.opts.BlockSize && window < zstd.MaxWindowSize {
			window <<= 1
		}
		enc, err := zstd.NewWriter(nil,
			zstd.WithWindowSize(window),
			zstd.WithEncoderLevel(level),
			zstd.WithEncoderConcurrency(1),
			zstd.WithEncoderCRC(false), // the block CRC-32C covers it
			zstd.WithLowerEncoderMem(true),
			// Live blocks skip Huffman coding of literals: a quarter less
			// CPU for a tenth more bytes (BenchmarkWriteZstdFloor), and
			// compaction recompresses small-block files in full anyway.
			zstd.WithNoEntropyCompression(level == liveLevel))
		if err != nil {
			return nil, fmt.Errorf("capture: zstd encoder: %w", err)
		}
		w.enc = enc
		// The writers that make big blocks to keep (compaction, Repair,
		// import) cut them into chunks; a live recorder's blocks are
		// small and recompacted anyway.
		w.chunked = level != liveLevel && w.opts.BlockSize > chunkSize
	}
	body := encodeHeaderBody(&h)
	b := make([]byte, fileHeaderSize, fileHeaderSize+len(body))
	copy(b, fileMagic[:])
	binary.LittleEndian.PutUint16(b[8:], FormatVersion)
	binary.LittleEndian.PutUint16(b[10:], FormatMinor)
	binary.LittleEndian.PutUint32(b[12:], uint32(len(body)))
	b = append(b, body...)
	binary.LittleEndian.PutUint32(b[16:], crc32c(append(b[:16:16], body...)))
	// A copy of the header in a block of its own right after it: one
	// damaged byte cannot take both, and readers skip the block.
	n := len(b)
	b = append(b, make([]byte, blockHeaderSize)...)
	b = append(b, b[:n]...)
	ch := blockHeader{typ: blockHeaderCopy, codec: codecStored, storedLen: uint32(n), rawLen: uint32(n), crc: crc32c(b[:n])}
	ch.put(b[n:])
	if _, err := out.Write(b); err != nil {
		return nil, fmt.Errorf("write capture header: %w", err)
	}
	w.off = int64(len(b))
	w.stats.CompressedBytes = w.off
	w.cols = newColumns(w.opts.BlockSize)
	w.buf = make([]byte, blockHeaderSize, blockHeaderSize+w.opts.BlockSize/2)
	return w, nil
}

// Header returns the header as written (Version, Start and MonoBase filled).
func (w *Writer) Header() Header { return w.hdr }

// Now returns the nanoseconds since Header().Start, on the monotonic clock:
// the value to put in Record.Time.
func (w *Writer) Now() int64 { return int64(time.Since(w.base)) }

// WriteChunk writes a serial chunk: the bytes of one read from port in
// direction dir at time t. It copies data.
func (w *Writer) WriteChunk(t int64, port uint8, dir formats.Dir, data []byte) error {
	// The hot path of a recording: no defer, one branch for the unusual.
	w.mu.Lock()
	if w.closed || w.err != nil || len(data)+2 > MaxRecordSize {
		err := w.usable()
		if err == nil {
			err = fmt.Errorf("capture chunk of %d bytes: %w", len(data), ErrTooLarge)
		}
		w.mu.Unlock()
		return err
	}
	t = w.prepare(t, len(data))
	w.cols.addChunk(port, uint8(dir), uint64(t-w.lastTime), data)
	w.stats.DataBytes += int64(len(data))
	err := w.finishRecord(t)
	w.mu.Unlock()
	return err
}

// WriteEvent writes an event record at time t with no port, direction or data.
func (w *Writer) WriteEvent(t int64, ev Event) error {
	return w.Write(&Record{Kind: KindEvent, Time: t, Event: ev})
}

// Write writes r. It copies r.Data and does not keep r. r.Kind must be
// KindChunk, KindFrame or KindEvent.
func (w *Writer) Write(r *Record) error {
	if r.Kind == KindChunk {
		return w.WriteChunk(r.Time, r.Port, r.Dir, r.Data)
	}
	if r.Kind != KindFrame && r.Kind != KindEvent {
		return fmt.Errorf("capture: cannot write record of %v", r.Kind)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.usable(); err != nil {
		return err
	}
	w.fields = encodeFields(w.fields, r)
	return w.appendLocked(r.Kind, r.Time, r.Port, r.Dir, w.fields, r.Data)
}

// writeRaw writes a record with an arbitrary kind, meta and data (tests use
// it to play a newer writer).
func (w *Writer) writeRaw(kind Kind, t int64, port uint8, dir formats.Dir, meta, data []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.appendLocked(kind, t, port, dir, meta, data)
}

func (w *Writer) appendLocked(kind Kind, t int64, port uint8, dir formats.Dir, meta, data []byte) error {
	if size := len(meta) + len(data); size > MaxRecordSize {
		return fmt.Errorf("capture %v of %d bytes: %w", kind, size, ErrTooLarge)
	}
	t = w.prepare(t, len(meta)+len(data))
	w.cols.add(kind, port, uint8(dir), uint64(t-w.lastTime), meta, data)
	w.stats.DataBytes += int64(len(data))
	return w.finishRecord(t)
}

func (w *Writer) usable() error {
	if w.closed {
		return ErrClosed
	}
	return w.err
}

// prepare clamps t, closes the current block first if a record of size
// bytes would push it past BlockSize, and starts a block if none is open.
// It returns the clamped time.
func (w *Writer) prepare(t int64, size int) int64 {
	if t < w.lastTime {
		t = w.lastTime
	}
	if w.blockRecords > 0 && w.cols.size()+size+maxRecordOverhead > w.opts.BlockSize {
		w.flushLocked()
	}
	if w.blockRecords == 0 {
		w.blockFirst = t
		w.lastTime = t
		w.arm()
	}
	return t
}

func (w *Writer) finishRecord(t int64) error {
	w.lastTime = t
	w.blockRecords++
	w.stats.Records++
	if w.chunked && (w.cols.sz-w.cols.markSize >= chunkSize || w.cols.tick >= chunkTime) {
		w.cols.mark()
	}
	if w.cols.size() >= w.opts.BlockSize {
		w.flushLocked()
	}
	return w.err
}

// arm starts the flush timer for a block that just got its first record.
func (w *Writer) arm() {
	if w.opts.FlushInterval < 0 || w.armed {
		return
	}
	w.armed = true
	w.wg.Add(1)
	if w.timer == nil {
		w.timer = time.AfterFunc(w.opts.FlushInterval, w.onTimer)
	} else {
		w.timer.Reset(w.opts.FlushInterval)
	}
}

func (w *Writer) onTimer() {
	defer w.wg.Done()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.armed = false
	if !w.closed && w.blockRecords > 0 {
		w.flushLocked()
	}
}

// flushLocked closes the current block and writes it. Errors stick in w.err.
func (w *Writer) flushLocked() {
	if w.blockRecords == 0 || w.err != nil {
		return
	}
	h := blockHeader{
		typ:       blockData,
		rawLen:    uint32(w.cols.rawLen()),
		records:   w.blockRecords,
		firstTime: w.blockFirst,
		lastTime:  w.lastTime,
	}
	w.buf = w.buf[:blockHeaderSize]
	switch {
	case w.enc != nil && w.chunked && len(w.cols.marks) > 0:
		if w.chunks == nil {
			w.chunks = new(chunkEncoder)
		}
		h.codec = codecChunks
		var err error
		if w.buf, err = w.chunks.appendChunks(w.buf, &w.cols); err != nil {
			w.err = err
			return
		}
	case w.enc != nil:
		w.raw = w.cols.appendPayload(w.raw[:0])
		h.codec = codecZstd
		w.buf = w.enc.EncodeAll(w.raw, w.buf)
	}
	if h.codec == codecStored || len(w.buf)-blockHeaderSize >= int(h.rawLen) {
		// Tiny blocks (a few records, as a live recorder's timer makes
		// them) do not pay for a zstd frame header: store them.
		h.codec = codecStored
		w.raw = w.cols.appendPayload(w.raw[:0])
		w.buf = append(w.buf[:blockHeaderSize], w.raw...)
	}
	payload := w.buf[blockHeaderSize:]
	h.storedLen = uint32(len(payload))
	h.crc = crc32c(payload)
	h.put(w.buf)
	var t int64
	if w.pagePad {
		t = w.padPage(&h)
	}
	off := w.off
	if err := w.writeOut(w.buf); err != nil {
		return
	}
	if w.pagePad {
		if off/pageSize != (w.off-1)/pageSize {
			w.pageTime = t // the block's time counts for the page it ends in too
		}
		w.pageLast = h.lastTime
	}
	if w.parity {
		w.writeParity(&h)
	}
	w.addIndex(indexEntry{off: off, firstTime: h.firstTime, records: h.records})
	w.stats.Blocks++
	w.stats.RawBytes += int64(h.rawLen)
	w.cols.reset()
	w.blockRecords = 0
	if w.opts.Sync {
		w.syncOut()
	}
}

// pageTraffic is the traffic time (gaps between records counted up to
// chunkGap) after which a live writer starts a new 4 KiB page: a zeroed
// page then loses at most this plus the block reaching into it, about a
// second. Dense traffic fills a page sooner and is never padded.
const pageTraffic = 800 * int64(time.Millisecond)

// padPage, before the data block of header h is written, fills the rest of
// the page with a padding block when the block would take the page's
// traffic past pageTraffic. It returns the block's traffic time.
func (w *Writer) padPage(h *blockHeader) int64 {
	t := w.cols.tick
	if w.stats.Blocks == 0 || w.off%pageSize == 0 { // the page's first block
		w.pageTime = t
		return t
	}
	t += min(h.firstTime-w.pageLast, chunkGap)
	if w.pageTime+t <= pageTraffic {
		w.pageTime += t
		return t
	}
	n := pageSize - int(w.off%pageSize)
	if n < blockHeaderSize {
		n += pageSize
	}
	w.pbuf = append(w.pbuf[:blockHeaderSize], make([]byte, n-blockHeaderSize)...)
	p := w.pbuf[blockHeaderSize:]
	ph := blockHeader{typ: blockPad, codec: codecStored, storedLen: uint32(len(p)), rawLen: uint32(len(p)),
		firstTime: h.firstTime, lastTime: h.firstTime, crc: crc32c(p)}
	ph.put(w.pbuf)
	_ = w.writeOut(w.pbuf)
	w.stats.PadBytes += int64(n)
	w.pageTime = w.cols.tick
	return w.cols.tick
}

// writeParity writes the parity block for the data block in w.buf.
func (w *Writer) writeParity(dh *blockHeader) {
	var err error
	w.pbuf, err = appendParity(w.pbuf[:blockHeaderSize], w.buf)
	if err != nil {
		w.err = err
		return
	}
	p := w.pbuf[blockHeaderSize:]
	h := blockHeader{typ: blockParity, codec: codecStored, storedLen: uint32(len(p)), rawLen: uint32(len(p)),
		firstTime: dh.firstTime, lastTime: dh.lastTime, crc: crc32c(p)}
	h.put(w.pbuf)
	_ = w.writeOut(w.pbuf)
}

func (w *Writer) writeOut(b []byte) error {
	n, err := w.out.Write(b)
	w.off += int64(n)
	w.stats.CompressedBytes += int64(n)
	if err == nil && n < len(b) {
		err = io.ErrShortWrite
	}
	if err != nil {
		w.err = fmt.Errorf("write capture block at offset %d: %w", w.off-int64(n), err)
	}
	return w.err
}

func (w *Writer) syncOut() {
	if s, ok := w.out.(interface{ Sync() error }); ok && w.err == nil {
		if err := s.Sync(); err != nil {
			w.err = fmt.Errorf("sync capture: %w", err)
		}
	}
}

// addIndex records a block in the in-memory index. To keep memory bounded on
// endless recordings, the index holds at most maxIndexEntries entries: when
// full, every other entry is dropped and only every stride-th block is kept
// from then on. A seek then lands up to stride blocks early and walks block
// headers forward.
func (w *Writer) addIndex(e indexEntry) {
	n := w.blocks
	w.blocks++
	if n%w.stride != 0 {
		return
	}
	if len(w.index) == maxIndexEntries {
		kept := w.index[:0]
		for i := 0; i < len(w.index); i += 2 {
			kept = append(kept, w.index[i])
		}
		w.index = kept
		w.stride *= 2
		if n%w.stride != 0 {
			return
		}
	}
	w.index = append(w.index, e)
}

// Flush closes the current block and writes it now (fsyncing when
// WriterOptions.Sync is set). Flush with no pending records does nothing.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.usable(); err != nil {
		return err
	}
	w.flushLocked()
	return w.err
}

// Stats returns counters of what was written so far.
func (w *Writer) Stats() WriterStats {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.stats
}

// Close writes the last block, the index block and the trailer, fsyncs and
// closes the file if Create opened it, and stops the flush timer. Close is
// idempotent: later calls return nil. It returns the first write error the
// Writer met, if any.
//
// For a file made by Create, unless WriterOptions.NoCompaction is set, Close
// then compacts the file when its data blocks hold less than a quarter of
// BlockSize on average: it copies every record, with the same header, into
// blocks of CompactBlockSize in a temporary file in the same directory
// (mode 0600), writes a fresh index and trailer, fsyncs it and renames it
// over the original, then syncs the directory. The original is whole and
// synced before compaction starts and stays in place until the rename, so a
// crash during compaction loses nothing; if compaction fails, Close removes
// the temporary file and returns the error, and the original stays as it
// was. Compaction streams one block at a time (constant memory).
func (w *Writer) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.flushLocked()
	w.writeIndex()
	w.closed = true
	if w.armed && w.timer.Stop() {
		w.armed = false
		w.wg.Done()
	}
	err := w.err
	w.mu.Unlock()
	w.wg.Wait() // a timer callback that already started sees closed and returns
	if w.enc != nil {
		w.enc.Close()
	}
	if w.file != nil {
		if serr := w.file.Sync(); serr != nil && err == nil {
			err = fmt.Errorf("sync capture: %w", serr)
		}
		if cerr := w.file.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("close capture: %w", cerr)
		}
	} else if w.opts.Sync && err == nil {
		w.syncOut()
		err = w.err
	}
	if err == nil && w.shouldCompact() {
		n, cerr := compactFile(w.path, w.opts.Stored)
		if cerr != nil {
			return fmt.Errorf("compact capture %s (the original is kept): %w", w.path, cerr)
		}
		w.mu.Lock()
		w.stats.CompactedBytes = n
		w.mu.Unlock()
	}
	return err
}

// writeIndex writes the index block and the trailer.
func (w *Writer) writeIndex() {
	if w.err != nil {
		return
	}
	p := encodeIndex(w.stride, w.index)
	h := blockHeader{typ: blockIndex, codec: codecStored, storedLen: uint32(len(p)), rawLen: uint32(len(p)), crc: crc32c(p)}
	if n := len(w.index); n > 0 {
		h.firstTime = w.index[0].firstTime
		h.lastTime = w.lastTime
	}
	b := make([]byte, blockHeaderSize, blockHeaderSize+len(p)+trailerSize)
	h.put(b)
	b = append(b, p...)
	off := w.off
	b = b[:len(b)+trailerSize]
	putTrailer(b[len(b)-trailerSize:], off, uint32(blockHeaderSize+len(p)))
	_ = w.writeOut(b)
}
