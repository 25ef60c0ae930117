package capture

import (
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/klauspost/compress/zstd"
)

// ExportFile is an export being written to a file: compressed by the
// name's extension (".gz" gzip, ".zst" zstd, which Wireshark and tshark
// open directly), written to a temporary name in the same folder and
// renamed into place by Close, so a failed export leaves no half file.
// It lives here because the zstd module lives only in this package.
type ExportFile struct {
	path string
	tmp  *os.File
	comp io.WriteCloser // nil when not compressed
	w    io.Writer
	done bool
}

// CreateExportFile starts an export to path (mode 0600: exports hold what
// captures hold, Wi-Fi passwords included).
func CreateExportFile(path string) (*ExportFile, error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp*")
	if err != nil {
		return nil, fmt.Errorf("create export: %w", err)
	}
	f := &ExportFile{path: path, tmp: tmp, w: tmp}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".gz":
		f.comp = gzip.NewWriter(tmp)
	case ".zst", ".zstd":
		enc, err := zstd.NewWriter(tmp, zstd.WithEncoderConcurrency(1))
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
			return nil, fmt.Errorf("create export: %w", err)
		}
		f.comp = enc
	}
	if f.comp != nil {
		f.w = f.comp
	}
	return f, nil
}

// Write writes (compressed) bytes of the export.
func (f *ExportFile) Write(p []byte) (int, error) { return f.w.Write(p) }

// Close finishes the compression, syncs the file and renames it to its
// name. It is idempotent; after Abort it does nothing.
func (f *ExportFile) Close() error {
	if f.done {
		return nil
	}
	f.done = true
	var err error
	if f.comp != nil {
		err = f.comp.Close()
	}
	if err == nil {
		err = f.tmp.Sync()
	}
	if cerr := f.tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.tmp.Name(), f.path)
	}
	if err != nil {
		os.Remove(f.tmp.Name())
		return fmt.Errorf("write export %s: %w", f.path, err)
	}
	return nil
}

// Abort drops the export: the temporary file is removed and nothing is
// renamed. It is idempotent.
func (f *ExportFile) Abort() {
	if f.done {
		return
	}
	f.done = true
	if f.comp != nil {
		f.comp.Close()
	}
	f.tmp.Close()
	os.Remove(f.tmp.Name())
}
