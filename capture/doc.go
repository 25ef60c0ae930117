// Package capture reads and writes .atcap capture files: everything atbridge
// records (serial chunks exactly as each read returned them, WebSocket
// frames, events) with nanosecond timestamps. The format is specified in
// docs/capture-format.md; this is a summary by example.
//
// Writing: Create (or NewWriter on any io.Writer) writes the file header;
// Write, WriteChunk and WriteEvent add records and are safe for concurrent
// use by the two pumps of a proxy; Close writes the last block, an index and
// a trailer:
//
//	w, err := capture.Create("session.atcap", capture.Header{Tool: "atbridge v0.1.0"}, nil)
//	...
//	w.WriteChunk(w.Now(), capture.PortHost, formats.ToDevice, []byte("AT+GMR\r\n"))
//	w.WriteEvent(w.Now(), capture.Event{Type: capture.EvMarker, Text: "before reset"})
//	err = w.Close()
//
// A file is a header followed by independent blocks. Each block has a 48-byte
// header (sync marker, sizes, record count, first and last time, CRC-32C of
// the payload and of the header itself) and a zstd-compressed payload of
// records stored column by column (kinds, ports, directions, time deltas as
// byte planes, lengths, meta, data), each column compressing on its own
// terms. Blocks close at 256 KiB, on Flush, and by a timer 100 ms after
// their first record, so a recorder killed with SIGKILL loses at most the
// last 100 ms. Record times never decrease: a late record is stored with the
// previous record's time.
//
// Such small live blocks compress badly, so Close compacts a file made by
// Create whose blocks are small: it rewrites the file into 4 MiB blocks
// through a temporary file renamed over the original (see Writer.Close and
// WriterOptions.NoCompaction). Repair writes the same large blocks.
//
// Reading: Open (or NewReader on any io.Reader) checks magic and version;
// Next returns records until io.EOF. Damage is not fatal: Next returns a
// *DamageError (offset, length, records lost) and goes on with the next good
// block, found by its sync marker; a file cut short ends with a DamageError
// wrapping ErrTruncated, then io.EOF:
//
//	r, err := capture.Open("session.atcap", nil)
//	...
//	defer r.Close()
//	for {
//		rec, err := r.Next()
//		var d *capture.DamageError
//		switch {
//		case err == io.EOF:
//			return nil
//		case errors.As(err, &d):
//			log.Printf("skipped: %v", d)
//			continue
//		case err != nil:
//			return err
//		}
//		use(rec)
//	}
//
// NextInto is Next without allocation for loops that use each record and
// let it go (stats, export, verify): it fills a Record the caller keeps,
// whose Data aliases the reader's block until the next call. It reads
// several times faster than Next (BenchmarkRead).
//
// SeekTime jumps to a time through the index, or, in a file without one,
// by walking block headers without decompressing. Verify lists every
// problem of a file; Repair copies every recoverable record into a new,
// clean file.
//
// Both sides work in constant memory whatever the file size, and the reader
// enforces limits (ReaderOptions) on every declared size, since a capture
// attached to a bug report is untrusted. Files are created with mode 0600:
// they can hold Wi-Fi passwords.
//
// It imports only the codecs under formats (for the export driver and the
// decoder settings a header implies), never bridge, replay, redact or
// analysis.
package capture
