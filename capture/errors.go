package capture

import (
	"errors"
	"fmt"
)

// Sentinel errors. Callers compare with errors.Is; the returned errors wrap
// these with the byte offset and what was found.
var (
	// ErrNotCapture is returned by NewReader and Open when the file does not
	// start with the .atcap magic bytes.
	ErrNotCapture = errors.New("not an atcap capture")
	// ErrVersion is returned by NewReader and Open when the file's major
	// format version is newer than FormatVersion.
	ErrVersion = errors.New("unsupported capture format version")
	// ErrTruncated is returned when the file ends inside its header, inside a
	// block, or without the index and trailer a clean Close writes. Reader.Next
	// wraps it in a *DamageError (the torn tail) before returning io.EOF.
	ErrTruncated = errors.New("capture is truncated")
	// ErrChecksum is wrapped by a *DamageError when a block's CRC-32C does not
	// match its bytes, or when bytes that are not a valid block header were
	// skipped to find the next sync marker.
	ErrChecksum = errors.New("checksum mismatch")
	// ErrCorrupt is wrapped by a *DamageError (or returned by NewReader for the
	// file header) when bytes whose checksum matched still do not decode:
	// a bad zstd frame, a record running past its block, a malformed field.
	// Only a buggy or hostile writer produces it.
	ErrCorrupt = errors.New("corrupt capture data")
	// ErrTooLarge is returned when a length exceeds a limit: by Writer.Write
	// for a record over MaxRecordSize, by readers for a header, block or
	// record whose declared size exceeds ReaderOptions (before allocating).
	ErrTooLarge = errors.New("size exceeds limit")
	// ErrRecovered is wrapped by a *DamageError (RecordsLost 0) when
	// damaged bytes were rebuilt from the parity block that follows a data
	// block (the block's records come next), or a damaged file header was
	// read from its copy: the file is damaged, nothing is lost.
	ErrRecovered = errors.New("nothing lost")
	// ErrClosed is returned by Writer methods called after Close, and by
	// Reader methods called after Reader.Close.
	ErrClosed = errors.New("capture closed")
	// ErrNotSeekable is returned by Reader.SeekTime when the reader was made
	// from an io.Reader that is not an io.ReadSeeker.
	ErrNotSeekable = errors.New("capture reader is not seekable")
)

// DamageError reports a damaged region of a capture that a Reader skipped.
// It is not fatal: the next call to Reader.Next goes on after the damage.
// A torn tail (a file cut short, or a writer that never closed) is a
// DamageError wrapping ErrTruncated, after which Next returns io.EOF.
type DamageError struct {
	Offset      int64 // byte offset of the first damaged byte in the file
	Length      int64 // bytes skipped (0 when the file just ends)
	RecordsLost int64 // records in the skipped blocks, -1 when unknown
	// From and To are the time range the lost records span: the damaged
	// block's first and last time where its header survived, otherwise
	// the last good record's time and -1 for "up to the next record".
	From, To int64
	Err      error // ErrChecksum, ErrTruncated, ErrCorrupt or ErrTooLarge, possibly wrapped
}

func (e *DamageError) Error() string {
	lost := "unknown records lost"
	if e.RecordsLost >= 0 {
		lost = fmt.Sprintf("%d records lost", e.RecordsLost)
	}
	return fmt.Sprintf("capture damaged at offset %d (%d bytes skipped, %s): %v", e.Offset, e.Length, lost, e.Err)
}

// Unwrap returns the cause, so errors.Is(err, ErrTruncated) works.
func (e *DamageError) Unwrap() error { return e.Err }
