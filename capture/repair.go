package capture

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// VerifyOptions tune Verify. A nil *VerifyOptions means defaults.
type VerifyOptions struct {
	// Reader sets the limits used while reading (nil: defaults).
	Reader *ReaderOptions
	// Progress, when set, is called after each block with the bytes read so
	// far and the file size.
	Progress func(done, total int64)
	// Context, when set, stops Verify early once it is done: Verify then
	// returns its error (context.Canceled after Ctrl-C) and no report.
	// Nil means no cancellation.
	Context context.Context
}

// Problem is one defect found in a capture.
type Problem struct {
	Offset  int64  // byte offset where the problem starts
	Length  int64  // bytes affected (0 if none, e.g. a missing trailer)
	Message string // one line, e.g. "checksum mismatch (3 records lost)"
	Err     error  // the *DamageError or other error behind it
}

func (p Problem) String() string {
	return fmt.Sprintf("offset %d: %s", p.Offset, p.Message)
}

// VerifyReport is what Verify found.
type VerifyReport struct {
	Header      Header
	Size        int64 // file size in bytes
	Records     int64 // records read back
	DataBytes   int64 // sum of their len(Record.Data): the traffic recorded
	RecordsLost int64 // records in damaged blocks, where known
	Unknown     int64 // damaged regions whose record count is unknown
	Indexed     bool  // the file has a valid index and trailer
	Problems    []Problem
}

// OK reports whether the capture has no problems.
func (v *VerifyReport) OK() bool { return len(v.Problems) == 0 }

// Verify reads the whole capture at path and lists every problem with its
// offset. It returns an error only when the file cannot be read as a
// capture at all (missing, bad magic, newer version, damaged header); damage
// after the header is reported in VerifyReport.Problems.
func Verify(path string, opts *VerifyOptions) (*VerifyReport, error) {
	var o VerifyOptions
	if opts != nil {
		o = *opts
	}
	r, err := Open(path, o.Reader)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	rep := &VerifyReport{Header: r.Header()}
	if fi, err := r.file.Stat(); err == nil {
		rep.Size = fi.Size()
	}
	rep.Indexed = r.loadIndex() != nil
	if _, err := r.rs.Seek(r.dataStart, io.SeekStart); err != nil {
		return nil, fmt.Errorf("verify %s: %w", path, err)
	}
	r.br.Reset(r.rs)
	lastOff := int64(-1)
	err = readAll(o.Context, r, func(rec *Record) error {
		rep.Records++
		rep.DataBytes += int64(len(rec.Data))
		return nil
	}, func(d *DamageError) {
		rep.addDamage(d)
	}, func() {
		if o.Progress != nil && r.off != lastOff {
			lastOff = r.off
			o.Progress(r.off, rep.Size)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("verify %s: %w", path, err)
	}
	if !rep.Indexed && rep.OK() {
		rep.Problems = append(rep.Problems, Problem{Offset: rep.Size, Message: "no valid index/trailer"})
	}
	if o.Progress != nil {
		o.Progress(rep.Size, rep.Size)
	}
	return rep, nil
}

func (v *VerifyReport) addDamage(d *DamageError) {
	if d.RecordsLost >= 0 {
		v.RecordsLost += d.RecordsLost
	} else {
		v.Unknown++
	}
	msg := d.Err.Error()
	if d.Length > 0 {
		msg = fmt.Sprintf("%d bytes damaged: %s", d.Length, msg)
	}
	if d.RecordsLost > 0 {
		msg += fmt.Sprintf(" (%d records lost)", d.RecordsLost)
	}
	v.Problems = append(v.Problems, Problem{Offset: d.Offset, Length: d.Length, Message: msg, Err: d})
}

// readAll reads r to the end, calling rec for each record (valid until
// the next call), dmg for each damage, and tick after each read. It returns
// the first error that is neither damage nor io.EOF, or ctx's error once
// ctx (nil: never) is done, checked every 4096 reads and at each damage.
func readAll(ctx context.Context, r *Reader, rec func(*Record) error, dmg func(*DamageError), tick func()) error {
	if ctx == nil {
		ctx = context.Background()
	}
	var x Record
	for i := 1; ; i++ {
		err := r.NextInto(&x)
		tick()
		if i&4095 == 0 || (err != nil && err != io.EOF) {
			if cerr := ctx.Err(); cerr != nil {
				return cerr
			}
		}
		var d *DamageError
		switch {
		case err == nil:
			if err := rec(&x); err != nil {
				return err
			}
		case errors.Is(err, io.EOF):
			return nil
		case errors.As(err, &d):
			dmg(d)
		default:
			return err
		}
	}
}

// RepairOptions tune Repair. A nil *RepairOptions means defaults.
type RepairOptions struct {
	Reader *ReaderOptions // limits while reading src (nil: defaults)
	// Writer sets how dst is written. Nil means large blocks
	// (CompactBlockSize) compressed as hard as compaction does, no flush
	// timer; a non-nil value is used as given, with the live zstd level.
	Writer *WriterOptions
	// Progress, when set, is called as src is read with bytes done and
	// src's size.
	Progress func(done, total int64)
	// Context, when set, stops Repair early once it is done: Repair then
	// removes its temporary file, leaves dst as it was and returns the
	// context's error (context.Canceled after Ctrl-C). Nil means no
	// cancellation.
	Context context.Context
}

// RepairReport is what Repair did.
type RepairReport struct {
	Records     int64     // records copied to dst
	Events      int64     // EvDamage events written to dst, one per stretch of lost records
	RecordsLost int64     // records in damaged blocks, where known
	Problems    []Problem // the damage skipped in src
}

// Repair copies every recoverable record of the capture src into a new,
// clean capture dst (with the same header, fresh blocks, an index and a
// trailer), and an EvDamage event (see DamageRecord) where records were
// lost, so dst says what is missing. A damaged file header is taken from
// its copy; without one dst has an empty header. dst is written to a temporary file in its directory, synced and
// renamed, so it is either whole or absent. src and dst must differ.
func Repair(src, dst string, opts *RepairOptions) (*RepairReport, error) {
	var o RepairOptions
	if opts != nil {
		o = *opts
	}
	wo, level := WriterOptions{FlushInterval: -1, BlockSize: CompactBlockSize}, compactLevel
	if o.Writer != nil {
		wo, level = *o.Writer, liveLevel
	}
	if a, b := filepath.Clean(src), filepath.Clean(dst); a == b {
		return nil, fmt.Errorf("%s: destination is the source", src)
	}
	r, err := Open(src, o.Reader)
	if err != nil {
		return nil, err // Open says what and where
	}
	defer r.Close()
	var size int64
	if fi, err := r.file.Stat(); err == nil {
		size = fi.Size()
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".tmp*")
	if err != nil {
		return nil, fmt.Errorf("write %s: %w", dst, err)
	}
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(0o600); err != nil {
		return nil, fmt.Errorf("write %s: %w", dst, err)
	}
	w, err := newWriter(tmp, r.Header(), &wo, level)
	if err != nil {
		return nil, fmt.Errorf("write %s: %w", dst, err)
	}
	rep := &RepairReport{}
	var vr VerifyReport
	lastOff := int64(-1)
	// Damage that cost records becomes an EvDamage event in dst, written
	// when the next record tells where the hole ends.
	var pending []*DamageError
	var last int64
	hole := func(until int64) error {
		for _, d := range pending {
			from := max(last, d.From)
			end := until
			if d.To >= from && (until < 0 || d.To <= until) {
				end = d.To
			}
			ev := DamageRecord(d, from, end)
			if err := w.Write(&ev); err != nil {
				return err
			}
			rep.Events++
		}
		pending = pending[:0]
		return nil
	}
	err = readAll(o.Context, r, func(rec *Record) error {
		if err := hole(rec.Time); err != nil {
			return err
		}
		rep.Records++
		last = rec.Time
		return w.Write(rec) // copies rec.Data
	}, func(d *DamageError) {
		vr.addDamage(d)
		if d.Lost() {
			pending = append(pending, d)
		}
	}, func() {
		if o.Progress != nil && r.off != lastOff {
			lastOff = r.off
			o.Progress(r.off, size)
		}
	})
	if err == nil {
		err = hole(-1)
	}
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", src, err)
	}
	rep.RecordsLost, rep.Problems = vr.RecordsLost, vr.Problems
	if err := tmp.Sync(); err != nil {
		return nil, fmt.Errorf("write %s: %w", dst, err)
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("write %s: %w", dst, err)
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return nil, fmt.Errorf("write %s: %w", dst, err)
	}
	ok = true
	syncDir(filepath.Dir(dst))
	return rep, nil
}
