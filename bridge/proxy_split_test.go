package bridge

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/formats"
	"github.com/atbridge/atbridge/internal/rig"
)

// TestSplitCompactsInBackground holds every compaction of a split
// recording until all records are written, so Write cannot have waited for
// one; then checks Close waits for them all, compacts each finished file
// (smaller, same records) and reports a failed one, whose file stays whole.
func TestSplitCompactsInBackground(t *testing.T) {
	base := filepath.Join(t.TempDir(), "rec.atcap")
	release := make(chan struct{})
	var mu sync.Mutex
	before := map[string]int64{}
	var order []string
	compactSplit = func(path string) error {
		<-release
		fi, err := os.Stat(path)
		if err != nil {
			return err
		}
		mu.Lock()
		before[path] = fi.Size()
		order = append(order, path)
		n := len(order)
		mu.Unlock()
		if n == 2 {
			return errors.New("disk full")
		}
		return capture.Compact(path)
	}
	t.Cleanup(func() { compactSplit = capture.Compact })
	// A block per record, as a live recorder's flush timer makes them.
	sw, err := CreateSplit(base, capture.Header{Tool: "test"}, SplitOptions{Size: 2048, Writer: &capture.WriterOptions{FlushInterval: -1}})
	rig.Must(t, err)
	var want [][]byte
	wrote := make(chan error, 1)
	go func() {
		for i := 0; i < 120; i++ {
			b := []byte(fmt.Sprintf("AT+WSSEND=0,%d\r\n>payload %d", i, i))
			want = append(want, b)
			if err := sw.Write(&capture.Record{Kind: capture.KindChunk, Time: int64(i) * 1e6, Dir: formats.ToDevice, Data: b}); err != nil {
				wrote <- err
				return
			}
			if err := sw.Flush(); err != nil {
				wrote <- err
				return
			}
		}
		wrote <- nil
	}()
	select {
	case err := <-wrote:
		rig.Must(t, err)
	case <-time.After(30 * time.Second):
		close(release)
		t.Fatal("Write waits for a compaction held in the background")
	}
	files := sw.Files()
	if len(files) < 4 {
		t.Fatalf("only %d files", len(files))
	}
	close(release)
	err = sw.Close()
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("Close: %v, want the failed compaction reported", err)
	}
	if len(order) != len(files) {
		t.Fatalf("compacted %d files of %d", len(order), len(files))
	}
	var got [][]byte
	for i, f := range files {
		if order[i] != f {
			t.Errorf("compaction %d was of %s, want %s (in order of rotation)", i, order[i], f)
		}
		fi, err := os.Stat(f)
		rig.Must(t, err)
		if i == 1 && fi.Size() != before[f] {
			t.Errorf("%s: failed compaction changed its size from %d to %d", f, before[f], fi.Size())
		} else if i != 1 && fi.Size() >= before[f] {
			t.Errorf("%s: %d bytes after compaction, %d before", f, fi.Size(), before[f])
		}
		for _, r := range readCapture(t, f) {
			if r.Kind == capture.KindChunk {
				got = append(got, r.Data)
			}
		}
	}
	if len(got) != len(want) {
		t.Fatalf("%d chunks across files, want %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("chunk %d differs", i)
		}
	}
}
