package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/atbridge/atbridge/bridge"
	"github.com/atbridge/atbridge/capture"
)

// ringFlags are --ring and the flags that go with it (proxy and sniff).
type ringFlags struct {
	ring       string
	triggers   []bridge.Trigger
	after      time.Duration
	maxWindows int
}

func (f *ringFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.ring, "ring", "", "keep only the last DURATION (10m) or SIZE (50MB) in memory; write FILE-0001.atcap, ... only when a --trigger fires")
	fs.Func("trigger", "with --ring: write a window when this happens (repeatable): "+bridge.TriggerHelp, func(s string) error {
		t, err := bridge.ParseTrigger(s)
		if err != nil {
			return errors.New(strings.TrimPrefix(err.Error(), fmt.Sprintf("--trigger %q: ", s)))
		}
		f.triggers = append(f.triggers, t)
		return nil
	})
	fs.DurationVar(&f.after, "after", 10*time.Second, "with --ring: how long a window goes on after its trigger (a trigger within it extends it)")
	fs.IntVar(&f.maxWindows, "max-windows", bridge.DefaultMaxWindows, "with --ring: write at most this many windows; later triggers are counted")
}

// options checks the flags and returns the ring's options, or ok false
// when --ring is not given.
func (f *ringFlags) options(rf *recordFlags) (opts bridge.RingOptions, ok bool, err error) {
	if f.ring == "" {
		switch {
		case len(f.triggers) > 0:
			return opts, false, errors.New("--trigger needs --ring DURATION|SIZE: without a ring everything is recorded anyway")
		}
		return opts, false, nil
	}
	if rf.split != "" {
		return opts, false, errors.New("--ring and --split do not go together: a ring writes one file a trigger")
	}
	if len(f.triggers) == 0 {
		return opts, false, fmt.Errorf("--ring needs at least one --trigger (%s)", bridge.TriggerHelp)
	}
	if f.after < 0 {
		return opts, false, fmt.Errorf("--after must not be negative, not %s", f.after)
	}
	if f.maxWindows <= 0 {
		return opts, false, fmt.Errorf("--max-windows must be positive, not %d", f.maxWindows)
	}
	opts, err = bridge.ParseRing(f.ring)
	if err != nil {
		return opts, false, err
	}
	opts.Triggers, opts.After, opts.MaxWindows = f.triggers, f.after, f.maxWindows
	return opts, true, nil
}

// refuseRingFiles refuses to start over the windows of an earlier ring
// recording to the same name unless --force.
func refuseRingFiles(path string, force bool) error {
	ext := filepath.Ext(path)
	old, _ := filepath.Glob(strings.TrimSuffix(path, ext) + "-[0-9][0-9][0-9][0-9]" + ext)
	if len(old) == 0 || force {
		for _, f := range old {
			os.Remove(f)
		}
		return nil
	}
	more := ""
	if len(old) > 1 {
		more = fmt.Sprintf(" and %d more", len(old)-1)
	}
	return fmt.Errorf("%s%s exist from an earlier ring recording: move them away, choose another -w, or --force to replace them", old[0], more)
}

// ringReporter prints one line on stderr for each window written.
func ringReporter(e *env, name string, opts *bridge.RingOptions) {
	opts.OnWindow = func(w bridge.Window) {
		if w.Err != nil {
			fmt.Fprintf(e.stderr, "atbridge %s: trigger %s at %s: %v\n", name, w.Trigger, fmtOffset(w.At), w.Err)
			return
		}
		extra := ""
		if w.Triggers > 1 {
			extra = fmt.Sprintf(", %d triggers", w.Triggers)
		}
		if w.Short != "" {
			extra += "; " + w.Short
		}
		if w.Lost > 0 {
			extra += fmt.Sprintf("; %d records of the after part lost (the disk fell behind)", w.Lost)
		}
		fmt.Fprintf(e.stderr, "atbridge %s: trigger %s at %s: wrote %s (%s before, %s after, %d records%s)\n",
			name, w.Trigger, fmtOffset(w.At), w.Path, fmtOffset(w.At-w.From), fmtOffset(w.End-w.At), w.Records, extra)
	}
}

// fmtOffset formats a record time or span for a status line.
func fmtOffset(ns int64) string {
	d := time.Duration(max(ns, 0))
	switch {
	case d >= time.Minute:
		return d.Round(time.Second).String()
	case d >= time.Second:
		return d.Round(time.Millisecond).String()
	}
	return d.Round(time.Microsecond).String()
}

// recording is what runRecording writes to: a SplitWriter (one file, or a
// series) or a RingWriter (a file per trigger).
type recording interface {
	bridge.Recorder
	Header() capture.Header
	Files() []string
	Close() error
}

var (
	_ recording = (*bridge.SplitWriter)(nil)
	_ recording = (*bridge.RingWriter)(nil)
)

func triggerList(ts []bridge.Trigger) string {
	s := make([]string, len(ts))
	for i, t := range ts {
		s[i] = t.Spec
	}
	return strings.Join(s, ", ")
}

// ringSummary ends the closing line of a ring recording.
func ringSummary(r *bridge.RingWriter, files []string) string {
	s := "seen; no trigger fired, nothing written"
	if len(files) > 0 {
		s = fmt.Sprintf("seen; %d window(s): %s", len(files), strings.Join(files, ", "))
	}
	if n := r.Skipped(); n > 0 {
		s += fmt.Sprintf("; %d later trigger(s) not written (--max-windows)", n)
	}
	return s
}
