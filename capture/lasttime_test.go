package capture

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/atbridge/atbridge/formats"
)

// TestLastTime: the last record's time from the block headers, with the
// index and without it (a crashed recorder's file: the trailer cut off),
// and the reader still reads from where it was.
func TestLastTime(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.atcap")
	w, err := Create(path, Header{}, &WriterOptions{BlockSize: 4096, NoCompaction: true})
	if err != nil {
		t.Fatal(err)
	}
	for i := int64(0); i < 5000; i++ {
		w.WriteChunk(i*1e6, PortHost, formats.ToDevice, []byte("AT+GMR\r\n"))
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	check := func(p string, want int64) {
		t.Helper()
		r, err := Open(p, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		first, err := r.Next()
		if err != nil {
			t.Fatal(err)
		}
		got, err := r.LastTime()
		if err != nil || got != want {
			t.Fatalf("%s: LastTime %d, %v; want %d", p, got, err, want)
		}
		second, err := r.Next()
		if err != nil || second.Time != first.Time+1e6 {
			t.Fatalf("after LastTime the reader went on at %v, %v", second, err)
		}
	}
	check(path, 4999e6)
	b, _ := os.ReadFile(path)
	cut := filepath.Join(t.TempDir(), "cut.atcap")
	os.WriteFile(cut, b[:len(b)-200], 0o600)
	r, _ := Open(cut, nil)
	last, _ := r.LastTime()
	r.Close()
	if last <= 4900e6 || last > 4999e6 {
		t.Errorf("cut file: LastTime %d", last)
	}
}
