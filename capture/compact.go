package capture

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/klauspost/compress/zstd"

	"github.com/atbridge/atbridge/formats"
)

// CompactBlockSize is the raw block size of files written by compaction at
// Writer.Close and by Repair: large enough that zstd sees many exchanges
// at once (echoed commands, repeated JSON keys), small enough that a
// reader holds only a few MiB and a damaged block loses little.
const CompactBlockSize = 4 << 20

// zstd levels: a live writer must keep up with the traffic on one core;
// compaction and Repair run once per file and buy ratio with time.
const (
	liveLevel    = zstd.SpeedFastest
	compactLevel = zstd.SpeedBetterCompression
)

// testHookBeforeRename, when set by a test, runs after the compacted file
// is complete and synced and before it replaces the original.
var testHookBeforeRename func(tmp string) error

// shouldCompact reports whether Close should rewrite the file: made by
// Create, compaction not turned off, and small blocks (see SmallBlocks).
// Called after the file is closed.
func (w *Writer) shouldCompact() bool {
	return w.path != "" && !w.opts.NoCompaction && w.SmallBlocks()
}

// SmallBlocks reports whether the file has at least two data blocks and
// they average less than a quarter of BlockSize (and of CompactBlockSize):
// blocks closed by the flush timer or by Flush, not by size. Those are the
// files compaction at Close rewrites; a caller that sets
// WriterOptions.NoCompaction and calls Compact elsewhere asks this after
// Close to compact only where Close would have.
func (w *Writer) SmallBlocks() bool {
	w.mu.Lock()
	s := w.stats
	w.mu.Unlock()
	return s.Blocks >= 2 && s.RawBytes/s.Blocks < int64(w.opts.BlockSize/4) && s.RawBytes/s.Blocks < CompactBlockSize/4
}

// Compact rewrites the cleanly closed capture at path as compaction at
// Writer.Close does: same header and records, blocks of CompactBlockSize,
// a fresh index and trailer, through a temporary file in the same
// directory that is synced and renamed over path, so the original stays
// whole until the rename. It is for callers that close a Writer on a
// latency-sensitive path with WriterOptions.NoCompaction set (a recorder
// starting its next split file) and compact the finished file elsewhere.
// A damaged capture is refused (a *DamageError): use Repair for those.
func Compact(path string) error {
	if _, err := compactFile(path, false); err != nil {
		return fmt.Errorf("compact %s: %w", path, err)
	}
	return nil
}

// compactFile rewrites the clean capture at path into large blocks through
// a temporary file renamed over it, and returns the new size. On any error
// the temporary file is removed and path is untouched.
func compactFile(path string, stored bool) (size int64, err error) {
	r, err := Open(path, nil)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".compact*")
	if err != nil {
		return 0, err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(0o600); err != nil {
		return 0, err
	}
	w, err := newWriter(tmp, r.Header(), &WriterOptions{FlushInterval: -1, BlockSize: CompactBlockSize, Stored: stored}, compactLevel)
	if err != nil {
		return 0, err
	}
	if err := w.copyRecords(r); err != nil {
		w.Close()
		return 0, err
	}
	if err := w.Close(); err != nil {
		return 0, err
	}
	if err := tmp.Sync(); err != nil {
		return 0, err
	}
	if err := tmp.Close(); err != nil {
		return 0, err
	}
	if testHookBeforeRename != nil {
		if err := testHookBeforeRename(tmp.Name()); err != nil {
			return 0, err
		}
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return 0, err
	}
	syncDir(filepath.Dir(path))
	return w.Stats().CompressedBytes, nil
}

// syncDir makes a rename in dir durable; best effort (some file systems
// refuse to sync a directory).
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// copyRecords appends every record of r to w as stored, column to column,
// without decoding records into Record values: records of kinds this
// package does not know are kept too. Damage in r is an error: compaction
// reads a file its own writer has just closed.
func (w *Writer) copyRecords(r *Reader) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	for {
		for r.cur.more() {
			kind, port, dir, dt, meta, data, err := r.cur.next(r.opts.MaxRecordSize)
			if err != nil {
				return fmt.Errorf("block at offset %d: %w", r.blockOff, err)
			}
			r.t += int64(dt)
			if err := w.appendLocked(kind, r.t, port, formats.Dir(dir), meta, data); err != nil {
				return err
			}
		}
		if r.done {
			return nil
		}
		if err := r.readBlock(); err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
	}
}
