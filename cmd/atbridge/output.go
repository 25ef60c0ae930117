package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// The one rule for every command that writes a file (a capture, an export,
// a report, a JUnit file, a live pcapng stream): an existing file is never
// replaced unless the user passed --force, and even then the old file stays
// whole until the new one is complete. Commands check with refuseExisting
// before they start work (so a long run is not wasted on a refusal at the
// end) and write through createOutput, or through a writer of their own
// that already writes to a temporary name and renames (capture.Repair,
// capture.CreateExportFile, redact.File).

// forceUsage is the --force flag's help, the same for every command.
const forceUsage = "replace an output file that already exists (it stays whole until the new one is complete)"

// registerForce adds --force to fs.
func registerForce(fs *flag.FlagSet, force *bool) {
	fs.BoolVar(force, "force", false, forceUsage)
}

// refuseExisting returns the one-line refusal when a regular file exists at
// path and force is false. "", "-" (stdout) and what is not a regular file
// (a FIFO such as Wireshark's, a device) are never refused: writing to them
// replaces nothing.
func refuseExisting(path string, force bool) error {
	if path == "" || path == "-" || force {
		return nil
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() {
		return existsError(path)
	}
	return nil
}

func existsError(path string) error {
	return fmt.Errorf("%s exists; pass --force to replace it, or choose another name", path)
}

// output is a file being written under the rule. Write to Name; then Commit
// (the new file takes the user's name) or Abort (the old file, if any, is
// left as it was).
type output struct {
	path string // the name the user gave
	tmp  string // where the data goes: path itself when it did not exist
}

// createOutput applies the rule to path. A new path is reserved at once
// (created empty, exclusively) and written in place, so a recording that
// is killed is still found, and repairable, under its name. An existing
// path is refused without force; with force the data goes to a temporary
// name beside it (same directory, so the rename is atomic) until Commit.
func createOutput(path string, force bool) (*output, error) {
	if err := refuseExisting(path, force); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err == nil {
		f.Close()
		return &output{path: path, tmp: path}, nil
	}
	if !errors.Is(err, fs.ErrExist) {
		return nil, err
	}
	if !force { // created by someone else since refuseExisting looked
		return nil, existsError(path)
	}
	t, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return nil, err
	}
	t.Close()
	return &output{path: path, tmp: t.Name()}, nil
}

// Name is where to write.
func (o *output) Name() string { return o.tmp }

// Replacing reports whether Commit replaces an existing file.
func (o *output) Replacing() bool { return o.tmp != o.path }

// Commit gives the finished file the user's name.
func (o *output) Commit() error {
	if o.tmp == o.path {
		return nil
	}
	if err := os.Rename(o.tmp, o.path); err != nil {
		os.Remove(o.tmp)
		return fmt.Errorf("replacing %s: %w", o.path, err)
	}
	o.tmp = o.path
	return nil
}

// Abort removes what was written; an existing file at the user's name is
// left as it was.
func (o *output) Abort() {
	os.Remove(o.tmp)
}

// writeOutput writes o with write and commits it, or aborts it on error.
func writeOutput(o *output, write func(io.Writer) error) error {
	f, err := os.OpenFile(o.Name(), os.O_WRONLY|os.O_TRUNC, 0)
	if err == nil {
		err = write(f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err == nil {
		return o.Commit()
	}
	o.Abort()
	return err
}

// splitFirst is what --split names the first part of base
// (rec.atcap -> rec-001.atcap), for refuseExisting; parts are written in
// place, so --force with --split replaces old parts one by one as the new
// recording reaches them.
func splitFirst(base string) string {
	ext := filepath.Ext(base)
	return fmt.Sprintf("%s-%03d%s", base[:len(base)-len(ext)], 1, ext)
}
