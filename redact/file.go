package redact

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/atbridge/atbridge/capture"
)

// Result says what a File or Check run found.
type Result struct {
	Counts  map[string]int // secrets found, by rule
	Records int64          // records read
	Damage  int            // damaged regions skipped (their records are lost)
}

// pass runs a Redactor over the capture at in, handing each redacted record
// to out (nil: discard).
func pass(ctx context.Context, in string, opts *Options, out func(*capture.Record) error) (*Redactor, capture.Header, Result, error) {
	var res Result
	rd, err := capture.Open(in, nil)
	if err != nil {
		return nil, capture.Header{}, res, err
	}
	defer rd.Close()
	h := rd.Header()
	o := Options{}
	if opts != nil {
		o = *opts
	}
	if o.Decoder == nil {
		o.Decoder = h.DecoderOptions()
	}
	r := New(&o)
	emit := func(recs []capture.Record) error {
		if out == nil {
			return nil
		}
		for i := range recs {
			if err := out(&recs[i]); err != nil {
				return err
			}
		}
		return nil
	}
	for {
		if err := ctx.Err(); err != nil {
			return nil, h, res, err
		}
		rec, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		var d *capture.DamageError
		if errors.As(err, &d) {
			res.Damage++
			if err := emit(r.Flush()); err != nil {
				return nil, h, res, err
			}
			continue
		}
		if err != nil {
			return nil, h, res, fmt.Errorf("%s: %w", in, err)
		}
		res.Records++
		if err := emit(r.Add(rec)); err != nil {
			return nil, h, res, err
		}
	}
	if err := emit(r.Flush()); err != nil {
		return nil, h, res, err
	}
	res.Counts = r.Counts()
	return r, h, res, nil
}

// Check reads the capture at in and reports, through opts.OnRedact, every
// range that File would redact, without writing anything.
func Check(ctx context.Context, in string, opts *Options) (Result, error) {
	r, h, res, err := pass(ctx, in, opts, nil)
	if err != nil {
		return res, err
	}
	r.Header(h)
	res.Counts = r.Counts()
	return res, nil
}

// File writes a redacted copy of the capture at in to out (mode 0600,
// written to a temporary name and renamed, so out is never half-written).
// It reads the input twice: first to learn every secret (so the header
// and early frames are searched for secrets that appear only later), then
// to write. The output header's "redacted" metadata lists each rule with
// its count (Summary), never a secret.
func File(ctx context.Context, in, out string, opts *Options) (Result, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	quiet := o
	quiet.OnRedact = nil
	first, h, _, err := pass(ctx, in, &quiet, nil)
	if err != nil {
		return Result{}, err
	}
	hdr := first.Header(h)
	tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".tmp*")
	if err != nil {
		return Result{}, err
	}
	tmpName := tmp.Name()
	tmp.Close()
	defer os.Remove(tmpName)
	var w *capture.Writer
	// The second pass also counts the header's findings; the header is
	// written first, so its counts come from the first pass.
	hdrCounts := first.Counts()
	if hdr.Meta == nil {
		hdr.Meta = map[string]string{}
	}
	hdr.Meta["redacted"] = Summary(hdrCounts)
	hdr.Version = 0
	if w, err = capture.Create(tmpName, hdr, &capture.WriterOptions{FlushInterval: -1}); err != nil {
		return Result{}, err
	}
	o.known = first.known
	_, _, res, err := pass(ctx, in, &o, w.Write)
	if cerr := w.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return res, err
	}
	res.Counts = hdrCounts
	if err := os.Chmod(tmpName, 0o600); err != nil {
		return res, err
	}
	if err := os.Rename(tmpName, out); err != nil {
		return res, err
	}
	return res, nil
}
