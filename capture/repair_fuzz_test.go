package capture

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzRepair repairs arbitrary bytes: it must never panic or hang, and
// whatever it writes must verify clean, hold every record it reports
// copied plus its damage events, and repair again to the same records.
// Seeded with a compacted file (parity, header copy), a bulk multi-block
// file and the golden captures.
func FuzzRepair(f *testing.F) {
	_, small := smallMultiBlock(f)
	f.Add(small)
	f.Add(small[:len(small)*2/3])
	sub := bulkFile(f, corpusRecords(6, 70_000)) // a codec 3 block of many chunks
	f.Add(sub)
	f.Add(sub[:len(sub)*2/3])
	if v12, err := os.ReadFile("testdata/v1.2-subframes.atcap"); err == nil { // codec 2
		f.Add(v12)
		f.Add(v12[:len(v12)*2/3])
	}
	dir := f.TempDir()
	live := filepath.Join(dir, "live.atcap")
	w, err := Create(live, testHeader(), nil)
	if err != nil {
		f.Fatal(err)
	}
	for i, r := range sampleRecords() {
		w.Write(&r)
		if i%3 == 2 {
			w.Flush()
		}
	}
	if err := w.Close(); err != nil {
		f.Fatal(err)
	}
	if b, err := os.ReadFile(live); err == nil {
		f.Add(b)
	}
	goldens, _ := filepath.Glob(filepath.Join("..", "testdata", "*.atcap"))
	for _, g := range goldens[:min(len(goldens), 4)] {
		if b, err := os.ReadFile(g); err == nil {
			f.Add(b)
		}
	}
	ropts := &ReaderOptions{MaxBlockSize: 1 << 20, MaxRecordSize: 1 << 16, MaxHeaderSize: 1 << 16}
	f.Fuzz(func(t *testing.T, b []byte) {
		dir := t.TempDir()
		src, dst := filepath.Join(dir, "in.atcap"), filepath.Join(dir, "out.atcap")
		if err := os.WriteFile(src, b, 0o600); err != nil {
			t.Fatal(err)
		}
		rep, err := Repair(src, dst, &RepairOptions{Reader: ropts})
		if err != nil {
			if _, serr := os.Stat(dst); serr == nil {
				t.Fatalf("Repair failed (%v) but left %s", err, dst)
			}
			return
		}
		v, err := Verify(dst, nil)
		if err != nil || !v.OK() || !v.Indexed {
			t.Fatalf("repaired file does not verify clean: %+v %v", v, err)
		}
		if v.Records != rep.Records+rep.Events {
			t.Fatalf("repaired file holds %d records, Repair copied %d and wrote %d damage events", v.Records, rep.Records, rep.Events)
		}
		again, err := Repair(dst, filepath.Join(dir, "again.atcap"), nil)
		if err != nil || again.Records != v.Records || again.Events != 0 {
			t.Fatalf("repairing the repaired file: %+v %v, want %d records and no new damage", again, err, v.Records)
		}
	})
}
