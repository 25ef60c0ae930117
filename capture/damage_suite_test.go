package capture

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// damageTrials is how many seeded positions TestDamageSuite tries per
// damage kind and file kind; -damage.trials 1000 for a longer run.
var damageTrials = flag.Int("damage.trials", 100, "seeded positions per damage kind and file kind in TestDamageSuite")

// suiteFile is one kind of file the tools write, with the records in it.
type suiteFile struct {
	name string
	b    []byte
}

// suiteFiles writes the same traffic (4 s of corpus traffic after the
// sample records) as each kind of file the tools leave: a crashed live
// recording (100 ms blocks, no index), the compacted file Close leaves,
// Repair's output, and a bulk-written one (import).
func suiteFiles(t *testing.T) ([]Record, []suiteFile) {
	t.Helper()
	recs := append(sampleRecords()[:19], corpusRecords(5, 400_000)...)
	for i := 19; i < len(recs); i++ {
		recs[i].Time += 1 << 20
	}
	dir := t.TempDir()
	live := filepath.Join(dir, "live.atcap")
	w, err := Create(live, testHeader(), nil) // a recorder's settings
	if err != nil {
		t.Fatal(err)
	}
	next := int64(0)
	for i := range recs {
		if recs[i].Time >= next { // what the recorder's 100 ms timer does
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			next = recs[i].Time + 100*int64(time.Millisecond)
		}
		if err := w.Write(&recs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	crashed, err := os.ReadFile(live) // what a crash leaves
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	compacted, _ := os.ReadFile(live)
	fixed := filepath.Join(dir, "fixed.atcap")
	if _, err := Repair(live, fixed, nil); err != nil {
		t.Fatal(err)
	}
	repaired, _ := os.ReadFile(fixed)
	imported := bulkFile(t, recs) // as import writes
	return recs, []suiteFile{{"live, crashed", crashed}, {"compacted", compacted}, {"repaired", repaired}, {"imported", imported}}
}

// suiteDamage is one kind of damage, applied at a seeded position.
type suiteDamage struct {
	name string
	// apply returns the damaged copy and, for a cut, the offset cut at
	// (else -1); ok false when the file has too few blocks for it.
	apply func(b []byte, rng *rand.Rand, spans []blockSpan) (out []byte, cut int, ok bool)
}

var suiteDamages = []suiteDamage{
	{"flip a bit", func(b []byte, rng *rand.Rand, _ []blockSpan) ([]byte, int, bool) {
		c := slices.Clone(b)
		c[rng.Intn(len(c))] ^= 1 << rng.Intn(8)
		return c, -1, true
	}},
	{"zero a 4 KiB page", func(b []byte, rng *rand.Rand, _ []blockSpan) ([]byte, int, bool) {
		c := slices.Clone(b)
		p := rng.Intn((len(c)+pageSize-1)/pageSize) * pageSize
		clear(c[p:min(p+pageSize, len(c))])
		return c, -1, true
	}},
	{"cut", func(b []byte, rng *rand.Rand, _ []blockSpan) ([]byte, int, bool) {
		n := rng.Intn(len(b))
		return slices.Clone(b[:n]), n, true
	}},
	{"duplicate a block", func(b []byte, rng *rand.Rand, spans []blockSpan) ([]byte, int, bool) {
		s := spans[rng.Intn(len(spans))]
		return cat(b[:s.end], b[s.start:s.end], b[s.end:]), -1, true
	}},
	{"swap two blocks", func(b []byte, rng *rand.Rand, spans []blockSpan) ([]byte, int, bool) {
		if len(spans) < 2 {
			return nil, -1, false
		}
		i := rng.Intn(len(spans) - 1)
		a, c := spans[i], spans[i+1]
		return cat(b[:a.start], b[c.start:c.end], b[a.end:c.start], b[a.start:a.end], b[c.end:]), -1, true
	}},
}

// recordKey identifies a record for matching what came back.
func recordKey(r *Record) string {
	return fmt.Sprintf("%d/%d/%d/%d/%s", r.Kind, r.Time, r.Port, r.Dir, r.Data)
}

// lossOf reads b like show does (on past every damage) and returns the
// records of want that did not come back, or an error when the reader
// failed in a way no damage excuses (a panic is a test failure anyway).
func lossOf(b []byte, want map[string]int, nwant int) (lost []string, err error) {
	r, err := NewReader(bytes.NewReader(b), nil)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	left := make(map[string]int, len(want))
	for k, v := range want {
		left[k] = v
	}
	matched := 0
	for steps := 0; ; steps++ {
		if steps > 4*nwant+1000 {
			return nil, errors.New("reader does not end")
		}
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		var d *DamageError
		if errors.As(err, &d) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if k := recordKey(rec); left[k] > 0 {
			left[k]--
			matched++
		}
	}
	for k, v := range left {
		for range v {
			lost = append(lost, k)
		}
	}
	return lost, nil
}

// TestDamageSuite damages each kind of file at seeded positions and checks
// the bound: one flipped bit, one zeroed 4 KiB page or one
// duplicated or swapped block loses at most one second of traffic and
// 64 KiB of it; a cut loses at most that much before the cut. It never
// panics or hangs. With -v it prints the table the README shows:
// damage kind x file kind -> records lost (worst, median).
//
//	go test ./capture -run TestDamageSuite -v -damage.trials 300
func TestDamageSuite(t *testing.T) {
	recs, files := suiteFiles(t)
	want := map[string]int{}
	idx := map[string]int{}
	for i := range recs {
		k := recordKey(&recs[i])
		want[k]++
		idx[k] = i
	}
	const second = int64(time.Second)
	var table strings.Builder
	fmt.Fprintf(&table, "| damage (%d seeded positions each) |", *damageTrials)
	for _, f := range files {
		fmt.Fprintf(&table, " %s (%d KiB) |", f.name, len(f.b)>>10)
	}
	table.WriteString("\n|---|" + strings.Repeat("---|", len(files)) + "\n")
	for _, dk := range suiteDamages {
		fmt.Fprintf(&table, "| %s |", dk.name)
		for _, f := range files {
			dataStart, spans := layout(t, f.b)
			rng := rand.New(rand.NewSource(16))
			var losses []int
			var worstBytes, worstTime int64
			over := 0
			for trial := 0; trial < *damageTrials; trial++ {
				c, cut, ok := dk.apply(f.b, rng, spans)
				if !ok {
					break
				}
				start := time.Now()
				lost, err := lossOf(c, want, len(recs))
				if time.Since(start) > 10*time.Second {
					t.Errorf("%s, %s, trial %d: reading took %v", f.name, dk.name, trial, time.Since(start))
				}
				if err != nil {
					// Only a cut inside the file header (its fixed part
					// or its body) may leave no reader: no record lay
					// before such a cut.
					if cut < 0 || int64(cut) >= dataStart {
						t.Errorf("%s, %s, trial %d: %v", f.name, dk.name, trial, err)
					}
					lost = nil
					for k, v := range want {
						for range v {
							lost = append(lost, k)
						}
					}
				}
				// The records the damage took: for a cut, leave out those
				// whose bytes lay after it (recordsBefore).
				var lostIdx []int
				var bytesLost int64
				limit := len(recs)
				if cut >= 0 {
					limit = recordsBefore(f.b, spans, int64(cut))
				}
				n := 0
				for _, k := range lost {
					i := idx[k]
					if i >= limit {
						continue
					}
					n++
					lostIdx = append(lostIdx, i)
					bytesLost += int64(len(recs[i].Data))
				}
				losses = append(losses, n)
				if n > 0 {
					span := trafficTime(recs, lostIdx)
					worstBytes, worstTime = max(worstBytes, bytesLost), max(worstTime, span)
					if bytesLost > 64<<10 || span > second+second/4 {
						over++
						if over <= 2 {
							t.Logf("%s, %s, trial %d: %d records lost (%d bytes over %v)", f.name, dk.name, trial, n, bytesLost, time.Duration(span))
						}
					}
				}
			}
			if len(losses) == 0 {
				table.WriteString(" n/a (one block) |")
				continue
			}
			slices.Sort(losses)
			fmt.Fprintf(&table, " %d, %d (%s, %.1f s) |", losses[len(losses)-1], losses[len(losses)/2], kib(worstBytes), float64(worstTime)/1e9)
			if over > 0 {
				t.Errorf("%s, %s: %d of %d trials lost more than 1 s or 64 KiB", f.name, dk.name, over, len(losses))
			}
			if worstBytes > 64<<10 {
				t.Errorf("%s, %s: a trial lost %d bytes of traffic, more than 64 KiB", f.name, dk.name, worstBytes)
			}
		}
		table.WriteString("\n")
	}
	t.Logf("records lost of %d (worst, median; worst traffic bytes and time lost):\n%s", len(recs), table.String())
}

// trafficTime is the time the records at idx (ascending) span, counting
// the gaps between consecutive records up to 100 ms each: an idle minute
// between two lost reads is no traffic lost.
func trafficTime(recs []Record, idx []int) int64 {
	slices.Sort(idx)
	var d int64
	for j := 1; j < len(idx); j++ {
		for i := idx[j-1] + 1; i <= idx[j]; i++ {
			d += min(recs[i].Time-recs[i-1].Time, 100*int64(time.Millisecond))
		}
	}
	return d
}

func kib(n int64) string {
	if n < 1<<10 {
		return fmt.Sprintf("%d B", n)
	}
	return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
}
