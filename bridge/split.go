package bridge

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/atbridge/atbridge/capture"
)

// SplitOptions say when a SplitWriter starts its next file. Zero Size and
// zero Every mean never: one file, named as given.
type SplitOptions struct {
	// Size starts a new file once the current one holds this many bytes on
	// disk (blocks written; the file ends at the next record after that).
	Size int64
	// Every starts a new file once the current one spans this long.
	Every time.Duration
	// Writer is passed to capture.Create for every file.
	Writer *capture.WriterOptions
}

// ParseSplit reads --split: a size ("100MB", "512KiB", "1G", bytes when
// bare) or a duration ("10m", "1h").
func ParseSplit(s string) (SplitOptions, error) {
	if d, err := time.ParseDuration(s); err == nil {
		if d <= 0 {
			return SplitOptions{}, fmt.Errorf("--split %q: want a positive duration", s)
		}
		return SplitOptions{Every: d}, nil
	}
	u := strings.ToUpper(strings.TrimSpace(s))
	mult := int64(1)
	for _, x := range []struct {
		suf string
		m   int64
	}{{"KIB", 1 << 10}, {"MIB", 1 << 20}, {"GIB", 1 << 30}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"B", 1}} {
		if strings.HasSuffix(u, x.suf) {
			u, mult = strings.TrimSuffix(u, x.suf), x.m
			break
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(u), 10, 64)
	if err != nil || n <= 0 {
		return SplitOptions{}, fmt.Errorf("--split %q: want a size (100MB, 512KiB) or a duration (10m, 1h)", s)
	}
	return SplitOptions{Size: n * mult}, nil
}

// SplitWriter records into a series of capture files, name-001.atcap,
// name-002.atcap, ..., starting the next one by size or time. All files
// share the first one's Header.Start and MonoBase, so record times run on
// across files. At each seam the old file's last record is an EvSplit naming
// the next file and the new file's first is an EvSplit naming the previous
// one; the record that crossed the limit goes into the new file whole, so
// no record is lost or cut.
//
// Rotation never blocks the recording path on compaction: when splitting,
// every file is written with WriterOptions.NoCompaction, and the finished
// file is closed and, if its blocks are small (capture.Writer.SmallBlocks),
// compacted (capture.Compact) by a background goroutine, one file at a
// time. Close waits for them and returns their errors. A failed compaction
// keeps the original file whole, as capture.Compact promises. With
// NoCompaction set in SplitOptions.Writer, nothing is compacted.
//
// A SplitWriter is safe for concurrent use.
type SplitWriter struct {
	base string
	opts SplitOptions
	hdr  capture.Header
	// wopts is opts.Writer with NoCompaction set when splitting; compact
	// says whether finished files are compacted in the background.
	wopts   *capture.WriterOptions
	compact bool

	bg     sync.WaitGroup // background closes and compactions
	bgLast chan struct{}  // closed when the latest background job ends; s.mu
	bgMu   sync.Mutex
	bgErrs []error

	mu      sync.Mutex
	w       *capture.Writer
	n       int // number of the current file
	started time.Time
	files   []string
	err     error
	closed  bool
}

// CreateSplit creates the first file. With no limit in opts it writes path
// itself; otherwise path "rec.atcap" becomes rec-001.atcap, rec-002.atcap...
func CreateSplit(path string, h capture.Header, opts SplitOptions) (*SplitWriter, error) {
	s := &SplitWriter{base: path, opts: opts, hdr: h, wopts: opts.Writer}
	if s.splitting() {
		var wo capture.WriterOptions
		if opts.Writer != nil {
			wo = *opts.Writer
		}
		s.compact = !wo.NoCompaction
		wo.NoCompaction = true
		s.wopts = &wo
	}
	w, err := capture.Create(s.name(1), h, s.wopts)
	if err != nil {
		return nil, err
	}
	s.w, s.n, s.started = w, 1, time.Now()
	s.hdr = w.Header()
	s.files = []string{s.name(1)}
	return s, nil
}

func (s *SplitWriter) splitting() bool { return s.opts.Size > 0 || s.opts.Every > 0 }

// name returns the path of file number n.
func (s *SplitWriter) name(n int) string {
	if !s.splitting() {
		return s.base
	}
	ext := filepath.Ext(s.base)
	return fmt.Sprintf("%s-%03d%s", strings.TrimSuffix(s.base, ext), n, ext)
}

// Now returns the time since the first file's start.
func (s *SplitWriter) Now() int64 {
	s.mu.Lock()
	w := s.w
	s.mu.Unlock()
	return w.Now()
}

// Header returns the first file's header.
func (s *SplitWriter) Header() capture.Header { return s.hdr }

// Files returns the names of the files written so far.
func (s *SplitWriter) Files() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.files...)
}

// Write writes r to the current file, first starting the next file if the
// current one is full.
func (s *SplitWriter) Write(r *capture.Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("split writer: closed")
	}
	if s.splitting() && s.full() {
		if err := s.rotate(r.Time); err != nil {
			return err
		}
	}
	return s.w.Write(r)
}

func (s *SplitWriter) full() bool {
	if s.opts.Every > 0 && time.Since(s.started) >= s.opts.Every {
		return true
	}
	return s.opts.Size > 0 && s.w.Stats().CompressedBytes >= s.opts.Size
}

// compactSplit is capture.Compact; tests replace it to hold a compaction.
var compactSplit = capture.Compact

// finish closes w (the finished file at path: its last block, index,
// fsync) and then compacts it if its blocks are small, in a goroutine Close
// waits for; errors are kept for Close. Compactions run one at a time, in
// order of rotation (each waits for the one before), so they take one core
// at most; closes do not wait, so a file is whole on disk soon after its
// rotation even when compaction lags. s.mu held.
func (s *SplitWriter) finish(w *capture.Writer, path string) {
	prev, done := s.bgLast, make(chan struct{})
	s.bgLast = done
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		defer close(done)
		err := w.Close()
		if prev != nil {
			<-prev
		}
		if err != nil {
			err = fmt.Errorf("split: close %s: %w", path, err)
		} else if s.compact && w.SmallBlocks() {
			err = compactSplit(path)
		}
		if err != nil {
			s.bgMu.Lock()
			s.bgErrs = append(s.bgErrs, err)
			s.bgMu.Unlock()
		}
	}()
}

// rotate hands the current file to finish and opens the next; s.mu held.
// A Close error of the old file is reported by Close, not here: the
// recording goes on in the new file.
func (s *SplitWriter) rotate(t int64) error {
	prev, next := s.name(s.n), s.name(s.n+1)
	if err := s.w.WriteEvent(t, capture.Event{Type: capture.EvSplit, Text: "next: " + filepath.Base(next)}); err != nil {
		return err
	}
	h := s.hdr
	h.Meta = map[string]string{}
	for k, v := range s.hdr.Meta {
		h.Meta[k] = v
	}
	h.Meta["split_part"] = strconv.Itoa(s.n + 1)
	h.Meta["split_previous"] = filepath.Base(prev)
	w, err := capture.Create(next, h, s.wopts)
	if err != nil {
		return fmt.Errorf("split: %w", err)
	}
	s.finish(s.w, prev)
	s.w, s.started = w, time.Now()
	s.n++
	s.files = append(s.files, next)
	return s.w.WriteEvent(t, capture.Event{Type: capture.EvSplit, Text: "previous: " + filepath.Base(prev)})
}

// Flush writes the current file's pending block.
func (s *SplitWriter) Flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Flush()
}

// Close closes (and, when splitting, compacts) the current file, waits for
// the background work on earlier files and returns every error met, joined.
// It is idempotent: later calls return nil.
func (s *SplitWriter) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	var err error
	if s.splitting() {
		s.finish(s.w, s.name(s.n))
	} else {
		err = s.w.Close()
	}
	s.mu.Unlock()
	s.bg.Wait()
	s.bgMu.Lock()
	defer s.bgMu.Unlock()
	return errors.Join(append([]error{err}, s.bgErrs...)...)
}
