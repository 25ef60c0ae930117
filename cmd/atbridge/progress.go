package main

import (
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
)

// progress shows how far a long job (import, export, repair, replay) has
// got, as a bar on stderr. It shows nothing when stderr is not a terminal, so logs and tests
// stay clean; a nil *progress is valid and does nothing.
type progress struct {
	bar *progressbar.ProgressBar
}

// newProgress returns a bar for a job of total bytes described by what, or
// nil when stderr is not a terminal or total is unknown (<= 0).
func newProgress(e *env, total int64, what string) *progress {
	return newBar(e, total, what, progressbar.OptionShowBytes(true), progressbar.OptionShowTotalBytes(true))
}

// newCountProgress is newProgress for a job of total steps (the host
// inputs of a replay) rather than bytes.
func newCountProgress(e *env, total int64, what string) *progress {
	return newBar(e, total, what, progressbar.OptionShowCount())
}

// newBar is the bar both share, with the options that say its unit.
func newBar(e *env, total int64, what string, unit ...progressbar.Option) *progress {
	if total <= 0 || e.isTerminal == nil || !e.isTerminal(e.stderr) {
		return nil
	}
	opts := append([]progressbar.Option{
		progressbar.OptionSetWriter(e.stderr),
		progressbar.OptionSetDescription(what),
	}, unit...)
	return &progress{bar: progressbar.NewOptions64(total, append(opts,
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionEnableColorCodes(false),
		progressbar.OptionUseANSICodes(false),
	)...)}
}

// fileProgress returns a bar for reading the file at path, as
// capture.ReaderOptions.Progress wants it, and the bar to finish (nil when
// there is none to show).
func fileProgress(e *env, path, what string) (func(off int64), *progress) {
	fi, err := os.Stat(path)
	if err != nil || !fi.Mode().IsRegular() {
		return nil, nil
	}
	bar := newProgress(e, fi.Size(), what)
	if bar == nil {
		return nil, nil
	}
	return bar.set, bar
}

// set reports that done bytes of the job are finished.
func (p *progress) set(done int64) {
	if p != nil {
		p.bar.Set64(done)
	}
}

// finish removes the bar, so a summary printed after it starts on a clean
// line.
func (p *progress) finish() {
	if p != nil {
		p.bar.Finish()
		p.bar.Clear()
	}
}

// countingReader counts the bytes read through it, for progress on a stream
// whose position the parser does not expose.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
