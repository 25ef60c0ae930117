package capture

import (
	"io"
	"runtime"
	"sync"
	"testing"

	"github.com/atbridge/atbridge/formats"
	"github.com/atbridge/atbridge/internal/atcorpus"
)

const benchCorpusSize = 16 << 20

var benchCorpus = sync.OnceValue(func() []atcorpus.Chunk { return atcorpus.Generate(1, benchCorpusSize) })

func payloadBytes(cs []atcorpus.Chunk) (n int64) {
	for _, c := range cs {
		n += int64(len(c.Data))
	}
	return n
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

func writeCorpus(tb testing.TB, out io.Writer, cs []atcorpus.Chunk, base int64) *Writer {
	w, err := NewWriter(out, Header{Tool: "bench"}, &WriterOptions{FlushInterval: -1})
	if err != nil {
		tb.Fatal(err)
	}
	for _, c := range cs {
		port := PortHost
		if c.Dir == formats.ToHost {
			port = PortDevice
		}
		if err := w.WriteChunk(base+c.Time, port, c.Dir, c.Data); err != nil {
			tb.Fatal(err)
		}
	}
	return w
}

// BenchmarkWrite measures capture write throughput of serial payload on
// one goroutine, on atcorpus traffic (16 MiB, chunks of 1..64 bytes), and
// reports the compressed size next to a minimal pcapng of the same chunks.
func BenchmarkWrite(b *testing.B) {
	cs := benchCorpus()
	raw := payloadBytes(cs)
	b.SetBytes(raw)
	b.ReportAllocs()
	var size int64
	for b.Loop() {
		var cw countWriter
		w := writeCorpus(b, &cw, cs, 0)
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
		size = cw.n
	}
	b.ReportMetric(100*float64(size)/float64(raw), "atcap_%_of_raw")
	b.ReportMetric(100*float64(pcapngSize(cs))/float64(raw), "pcapng_%_of_raw")
	b.ReportMetric(float64(len(cs)), "chunks")
}

// pcapngSize is the exact size of the chunks as a minimal pcapng file with
// one Enhanced Packet Block per chunk and no options: a Section Header Block
// (28 bytes), one Interface Description Block (20 bytes), and per packet an
// EPB of 32 bytes plus the data padded to a multiple of 4 (pcapng spec,
// draft-ietf-opsawg-pcapng, sections 4.1, 4.2, 4.3).
func pcapngSize(cs []atcorpus.Chunk) int64 {
	n := int64(28 + 20)
	for _, c := range cs {
		n += 32 + int64((len(c.Data)+3)&^3)
	}
	return n
}

// BenchmarkRead measures read throughput (decompress, check, decode and
// copy every record) of the same traffic.
func BenchmarkRead(b *testing.B) {
	cs := benchCorpus()
	var buf memFile
	w := writeCorpus(b, &buf, cs, 0)
	w.Close()
	b.SetBytes(payloadBytes(cs))
	b.ReportAllocs()
	for b.Loop() {
		r, err := NewReader(&memReader{b: buf.b}, nil)
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for {
			_, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		r.Close()
		if n != len(cs) {
			b.Fatalf("read %d records, want %d", n, len(cs))
		}
	}
}

type memFile struct{ b []byte }

func (m *memFile) Write(p []byte) (int, error) { m.b = append(m.b, p...); return len(p), nil }

type memReader struct{ b []byte }

func (m *memReader) Read(p []byte) (int, error) {
	if len(m.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, m.b)
	m.b = m.b[n:]
	return n, nil
}

// TestConstantMemory streams a large capture (200 MiB of serial payload;
// 24 MiB under -race or -short) from a Writer through a pipe into a Reader
// and checks the live heap stays bounded: a memory bound, not a timing one.
func TestConstantMemory(t *testing.T) {
	total := int64(200 << 20)
	if raceEnabled || testing.Short() {
		total = 24 << 20
	}
	cs := atcorpus.Generate(9, 4<<20)
	per := payloadBytes(cs)
	rounds := int((total + per - 1) / per)
	pr, pw := io.Pipe()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		w, err := NewWriter(pw, Header{Tool: "mem"}, &WriterOptions{FlushInterval: -1})
		if err != nil {
			pw.CloseWithError(err)
			return
		}
		last := cs[len(cs)-1].Time
		for i := range rounds {
			for _, c := range cs {
				if err := w.WriteChunk(int64(i)*last+c.Time, 0, c.Dir, c.Data); err != nil {
					pw.CloseWithError(err)
					return
				}
			}
		}
		pw.CloseWithError(w.Close())
	}()
	r, err := NewReader(pr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var peak uint64
	var n, bytes int64
	var ms runtime.MemStats
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
		bytes += int64(len(rec.Data))
		if n%200_000 == 0 {
			runtime.GC()
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
		}
	}
	wg.Wait()
	if n != int64(rounds*len(cs)) {
		t.Fatalf("read %d records, want %d", n, rounds*len(cs))
	}
	t.Logf("streamed %d MiB in %d records; peak live heap %.1f MiB", bytes>>20, n, float64(peak)/(1<<20))
	// The 4 MiB corpus itself is live; writer and reader need ~2 blocks each.
	if peak > 48<<20 {
		t.Errorf("peak live heap %d MiB: memory grows with the file", peak>>20)
	}
}
