package capture

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/atbridge/atbridge/formats"
)

// liveRecords is corpus traffic with frames and events mixed in.
func liveRecords() []Record {
	recs := append(sampleRecords()[:19], corpusRecords(4, 300_000)...)
	for i := 19; i < len(recs); i++ {
		recs[i].Time += 1 << 20
	}
	return recs
}

// writeLive writes recs through Create, flushing every 5 records as a
// live recorder's timer would, and closes the writer.
func writeLive(t *testing.T, path string, recs []Record, opts *WriterOptions) *Writer {
	t.Helper()
	w, err := Create(path, testHeader(), opts)
	if err != nil {
		t.Fatal(err)
	}
	for i := range recs {
		if err := w.Write(&recs[i]); err != nil {
			t.Fatal(err)
		}
		if i%5 == 4 {
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return w
}

func readFile(t *testing.T, path string) ([]Record, Header, []byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	res, err := readBytes(t, b, nil)
	if err != nil || len(res.damages) > 0 {
		t.Fatalf("%s: %v %v", path, err, res.damages)
	}
	r, err := NewReader(bytes.NewReader(b), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	return res.recs, r.Header(), b
}

func TestCompaction(t *testing.T) {
	recs := liveRecords()
	wantHdr := testHeader()
	wantHdr.Version = FormatVersion
	for _, tc := range []struct {
		name    string
		opts    *WriterOptions
		compact bool
	}{
		{"default", &WriterOptions{FlushInterval: -1}, true},
		{"stored", &WriterOptions{FlushInterval: -1, Stored: true}, true},
		{"off", &WriterOptions{FlushInterval: -1, NoCompaction: true}, false},
		{"blocks closed by size", &WriterOptions{FlushInterval: -1, BlockSize: 64}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "live.atcap")
			w := writeLive(t, path, recs, tc.opts)
			got, hdr, b := readFile(t, path)
			sameRecords(t, got, recs)
			if !equalHeader(hdr, wantHdr) {
				t.Errorf("header:\n got %+v\nwant %+v", hdr, wantHdr)
			}
			st := w.Stats()
			_, spans := layout(t, b)
			if !tc.compact {
				if st.CompactedBytes != 0 || int64(len(b)) != st.CompressedBytes {
					t.Fatalf("compacted although it should not: stats %+v, file %d bytes", st, len(b))
				}
				return
			}
			if st.CompactedBytes != int64(len(b)) || st.CompactedBytes >= st.CompressedBytes {
				t.Fatalf("stats %+v, file %d bytes", st, len(b))
			}
			if len(spans) != 2 || spans[1].typ != blockIndex {
				t.Errorf("compacted file has %d blocks, want one data block and the index", len(spans))
			}
			rep, err := Verify(path, nil)
			if err != nil || !rep.OK() || !rep.Indexed {
				t.Fatalf("compacted file does not verify: %+v %v", rep, err)
			}
			if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
				t.Errorf("mode %v, want 0600", fi.Mode().Perm())
			}
			if ents, _ := os.ReadDir(dir); len(ents) != 1 {
				t.Errorf("files left behind: %v", ents)
			}
			t.Logf("%d records: %d bytes live, %d compacted", len(recs), st.CompressedBytes, st.CompactedBytes)
		})
	}
}

func equalHeader(a, b Header) bool {
	return fmt.Sprint(a) == fmt.Sprint(b)
}

// TestCompactionFailureKeepsOriginal makes compaction fail just before
// the rename: Close reports it, the original is untouched and the
// temporary file is gone.
func TestCompactionFailureKeepsOriginal(t *testing.T) {
	recs := liveRecords()
	dir := t.TempDir()
	path := filepath.Join(dir, "live.atcap")
	boom := errors.New("disk on fire")
	testHookBeforeRename = func(string) error { return boom }
	defer func() { testHookBeforeRename = nil }()
	w, err := Create(path, testHeader(), &WriterOptions{FlushInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	for i := range recs {
		w.Write(&recs[i])
		w.Flush()
	}
	if err := w.Close(); !errors.Is(err, boom) || !strings.Contains(err.Error(), "original is kept") {
		t.Fatalf("Close: %v, want the hook's error", err)
	}
	got, _, b := readFile(t, path)
	sameRecords(t, got, recs)
	if int64(len(b)) != w.Stats().CompressedBytes {
		t.Errorf("original changed: %d bytes, writer wrote %d", len(b), w.Stats().CompressedBytes)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("files left behind: %v", ents)
	}
}

const compactKillEnv = "ATCAP_TEST_COMPACT_KILL"

// runCompactKill is the child of TestCompactionKilled: it records a live
// file and SIGKILLs itself during compaction, with the compacted copy
// complete but not yet renamed.
func runCompactKill() {
	path := os.Getenv(compactKillEnv)
	w, err := Create(path, testHeader(), &WriterOptions{FlushInterval: -1})
	if err != nil {
		os.Exit(2)
	}
	for i := range 3000 {
		w.WriteChunk(int64(i)*1000, 0, formats.ToHost, fmt.Appendf(nil, "+WS_DATA:0,5,hello %d\r\n", i))
		w.Flush()
	}
	testHookBeforeRename = func(string) error {
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {}
	}
	w.Close()
	os.Exit(3)
}

// TestCompactionKilled kills the process inside Close's compaction: the
// original file must be whole (index and trailer, every record), and the
// only other file a temporary one.
func TestCompactionKilled(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "live.atcap")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), compactKillEnv+"="+path)
	cmd.Stderr = os.Stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child: %v, want killed by SIGKILL", err)
	}
	rep, err := Verify(path, nil)
	if err != nil || !rep.OK() || !rep.Indexed || rep.Records != 3000 {
		t.Fatalf("original after a crash in compaction: %+v %v", rep, err)
	}
	r, _ := Open(path, nil)
	defer r.Close()
	for i := range 3000 {
		rec, err := r.Next()
		if err != nil || string(rec.Data) != fmt.Sprintf("+WS_DATA:0,5,hello %d\r\n", i) {
			t.Fatalf("record %d: %v %v", i, rec, err)
		}
	}
	if _, err := r.Next(); err != io.EOF {
		t.Fatalf("after the last record: %v", err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 2 || !strings.HasPrefix(ents[0].Name(), ".live.atcap.compact") {
		t.Errorf("directory holds %v, want the original and one temporary file", ents)
	}
}

// TestCompactFunc compacts a live file written with NoCompaction after the
// fact, and refuses a damaged one without touching it.
func TestCompactFunc(t *testing.T) {
	recs := liveRecords()
	dir := t.TempDir()
	path := filepath.Join(dir, "live.atcap")
	w := writeLive(t, path, recs, &WriterOptions{FlushInterval: -1, NoCompaction: true})
	if err := Compact(path); err != nil {
		t.Fatal(err)
	}
	got, _, b := readFile(t, path)
	sameRecords(t, got, recs)
	if _, spans := layout(t, b); len(spans) != 2 || int64(len(b)) >= w.Stats().CompressedBytes {
		t.Errorf("%d blocks, %d bytes (live %d)", len(spans), len(b), w.Stats().CompressedBytes)
	}
	bad := bytes.Clone(b)
	bad[len(bad)/2] ^= 1
	if err := os.WriteFile(path, bad, 0o600); err != nil {
		t.Fatal(err)
	}
	var d *DamageError
	if err := Compact(path); !errors.As(err, &d) {
		t.Fatalf("Compact of a damaged file: %v, want a *DamageError", err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(after, bad) {
		t.Error("a refused compaction changed the file")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("files left behind: %v", ents)
	}
}

// TestCompactionKeepsUnknownKinds: records of a kind this package does not
// know (from a newer writer) survive compaction byte for byte.
func TestCompactionKeepsUnknownKinds(t *testing.T) {
	path := filepath.Join(t.TempDir(), "live.atcap")
	w, err := Create(path, testHeader(), &WriterOptions{FlushInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		w.WriteChunk(int64(i), 0, formats.ToHost, []byte("OK\r\n"))
		w.writeRaw(200, int64(i), 9, 9, []byte("future meta"), []byte("future data"))
		w.Flush()
	}
	if err := w.Close(); err != nil || w.Stats().CompactedBytes == 0 {
		t.Fatalf("close: %v, stats %+v", err, w.Stats())
	}
	b, _ := os.ReadFile(path)
	_, spans := layout(t, b)
	if len(spans) != 2 || spans[0].count != 100 {
		t.Fatalf("compacted blocks %+v, want one of 100 records", spans)
	}
	r, _ := Open(path, nil)
	defer r.Close()
	n := 0
	for {
		_, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 50 {
		t.Errorf("read %d known records, want 50", n)
	}
}
