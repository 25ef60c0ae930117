package capture

import (
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/atbridge/atbridge/formats"
	"github.com/atbridge/atbridge/formats/at"
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

// packedCorpus is a corpus with its bytes back to back in one buffer and
// no pointers per chunk: a pump hands the Writer bytes from one reused
// read buffer, hot in cache, not from a million separate allocations that
// the benchmark would then measure cache misses and GC scans of.
type packedCorpus struct {
	data   []byte
	chunks []packedChunk
}

type packedChunk struct {
	time   int64
	off, n int32
	dir    formats.Dir
	port   uint8
}

var benchPacked = sync.OnceValue(func() packedCorpus { return packCorpus(benchCorpus()) })

func packCorpus(cs []atcorpus.Chunk) packedCorpus {
	p := packedCorpus{data: make([]byte, 0, payloadBytes(cs)), chunks: make([]packedChunk, 0, len(cs))}
	for _, c := range cs {
		port := PortHost
		if c.Dir == formats.ToHost {
			port = PortDevice
		}
		p.chunks = append(p.chunks, packedChunk{time: c.Time, off: int32(len(p.data)), n: int32(len(c.Data)), dir: c.Dir, port: port})
		p.data = append(p.data, c.Data...)
	}
	return p
}

func writeCorpus(tb testing.TB, out io.Writer, pc packedCorpus, base int64) *Writer {
	w, err := NewWriter(out, Header{Tool: "bench"}, &WriterOptions{FlushInterval: -1})
	if err != nil {
		tb.Fatal(err)
	}
	for _, c := range pc.chunks {
		if err := w.WriteChunk(base+c.time, c.port, c.dir, pc.data[c.off:c.off+c.n]); err != nil {
			tb.Fatal(err)
		}
	}
	return w
}

// BenchmarkWrite measures the live write path on one goroutine: atcorpus
// traffic (16 MiB of serial payload, realistic USB-serial reads of ~16
// bytes) written as fast as it goes with the live block policy (256 KiB
// blocks, fastest zstd level), the flush timer off. Next to MB/s of serial
// payload it reports sizes as a percentage of the raw payload: this bulk
// file, the same traffic recorded live (a block closed every 100 ms of
// corpus time, as the flush timer would) before and after compaction at
// Close, and a minimal pcapng with one packet per chunk. The chunks come
// from one buffer (packedCorpus), as a pump's would; cpu_MB/s is by the
// process's CPU time, fair on a machine busy with other work.
func BenchmarkWrite(b *testing.B) {
	cs := benchCorpus()
	pc := benchPacked()
	raw := payloadBytes(cs)
	b.SetBytes(raw)
	b.ReportAllocs()
	var size int64
	cpu0 := cpuTime()
	for b.Loop() {
		var cw countWriter
		w := writeCorpus(b, &cw, pc, 0)
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
		size = cw.n
	}
	b.StopTimer()
	// CPU time of the process, so a machine shared with other work still
	// gives a fair figure for one core.
	b.ReportMetric(float64(raw)*float64(b.N)/(cpuTime()-cpu0).Seconds()/1e6, "cpu_MB/s")
	live := liveSizes(b, cs, DefaultFlushInterval)
	b.ReportMetric(100*float64(size)/float64(raw), "bulk_%raw")
	b.ReportMetric(100*float64(live.before)/float64(raw), "live_%raw")
	b.ReportMetric(100*float64(live.after)/float64(raw), "compacted_%raw")
	b.ReportMetric(100*float64(pcapngSize(cs))/float64(raw), "pcapng_%raw")
}

// BenchmarkWriteScattered is BenchmarkWrite with the chunks where
// atcorpus left them, a million separate allocations: what the Writer
// costs when its input is cold in cache (the harness before packedCorpus).
func BenchmarkWriteScattered(b *testing.B) {
	cs := benchCorpus()
	b.SetBytes(payloadBytes(cs))
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		w, err := NewWriter(&countWriter{}, Header{Tool: "bench"}, &WriterOptions{FlushInterval: -1})
		if err != nil {
			b.Fatal(err)
		}
		for _, c := range cs {
			port := PortHost
			if c.Dir == formats.ToHost {
				port = PortDevice
			}
			if err := w.WriteChunk(c.Time, port, c.Dir, c.Data); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(payloadBytes(cs))*float64(b.N)/(cpuTime()-cpu0).Seconds()/1e6, "cpu_MB/s")
}

type liveResult struct{ before, after, blocks int64 }

// liveSizes records cs into a file the way a live recorder would, with a
// flush every interval of corpus time (the timer's job, simulated so the
// result does not depend on the machine's speed), and returns the file
// size without compaction (WriterOptions.NoCompaction) and with it.
func liveSizes(tb testing.TB, cs []atcorpus.Chunk, interval time.Duration) liveResult {
	var res liveResult
	for _, compact := range []bool{false, true} {
		path := filepath.Join(tb.TempDir(), "live.atcap")
		w := recordLive(tb, path, cs, interval, &WriterOptions{FlushInterval: -1, NoCompaction: !compact})
		fi, err := os.Stat(path)
		if err != nil {
			tb.Fatal(err)
		}
		if compact {
			res.after = fi.Size()
			if w.Stats().CompactedBytes != res.after {
				tb.Fatalf("compacted to %d bytes, file has %d", w.Stats().CompactedBytes, res.after)
			}
		} else {
			res.before, res.blocks = fi.Size(), w.Stats().Blocks
		}
	}
	return res
}

// recordLive writes cs to a file at path made by Create, flushing whenever
// interval of corpus time has passed since the block's first record, and
// closes it.
func recordLive(tb testing.TB, path string, cs []atcorpus.Chunk, interval time.Duration, opts *WriterOptions) *Writer {
	w, err := Create(path, Header{Tool: "bench"}, opts)
	if err != nil {
		tb.Fatal(err)
	}
	// Create gives a writer without a flush timer parity blocks, as it
	// takes it for a bulk writer; this one stands for a recorder, whose
	// timer-driven writer has none, and only flushes by hand to follow
	// the corpus clock instead of the wall clock; it pads its pages as a
	// recorder's does.
	w.parity, w.chunked, w.pagePad = false, false, true
	first := int64(-1)
	for _, c := range cs {
		if first >= 0 && c.Time-first >= int64(interval) {
			if err := w.Flush(); err != nil {
				tb.Fatal(err)
			}
			first = -1
		}
		if first < 0 {
			first = c.Time
		}
		port := PortHost
		if c.Dir == formats.ToHost {
			port = PortDevice
		}
		if err := w.WriteChunk(c.Time, port, c.Dir, c.Data); err != nil {
			tb.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	return w
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
// copy every record) of the same traffic, through Next (a fresh Record
// and Data per record) and NextInto (Data aliasing the block), of a file
// written in bulk (256 KiB blocks, codec 1), and through NextInto of the
// file a recorder leaves after compaction (4 MiB blocks; since format 1.3
// codec 3, deflate columns in chunks, with parity).
func BenchmarkRead(b *testing.B) {
	cs := benchCorpus()
	bulk := corpusFile(b, cs)
	path := filepath.Join(b.TempDir(), "compacted.atcap")
	recordLive(b, path, cs, DefaultFlushInterval, &WriterOptions{FlushInterval: -1})
	compacted, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	for _, path := range []string{"Next", "NextInto", "NextInto/compacted"} {
		file := bulk
		if path == "NextInto/compacted" {
			file = compacted
		}
		b.Run(path, func(b *testing.B) {
			b.SetBytes(payloadBytes(cs))
			b.ReportAllocs()
			cpu0 := cpuTime()
			for b.Loop() {
				r, err := NewReader(&memReader{b: file}, nil)
				if err != nil {
					b.Fatal(err)
				}
				n := 0
				var rec Record
				for {
					if path == "Next" {
						_, err = r.Next()
					} else {
						err = r.NextInto(&rec)
					}
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
			b.StopTimer()
			b.ReportMetric(float64(payloadBytes(cs))*float64(b.N)/(cpuTime()-cpu0).Seconds()/1e6, "cpu_MB/s")
		})
	}
}

// BenchmarkReadDecode measures what "atbridge stats" does per byte: read
// the capture with NextInto and run every chunk through the AT decoder's
// Decode, counting events. MB/s are of serial payload.
func BenchmarkReadDecode(b *testing.B) {
	cs := benchCorpus()
	file := corpusFile(b, cs)
	b.SetBytes(payloadBytes(cs))
	b.ReportAllocs()
	var events int
	cpu0 := cpuTime()
	for b.Loop() {
		r, err := NewReader(&memReader{b: file}, nil)
		if err != nil {
			b.Fatal(err)
		}
		dec := at.NewDecoder(nil)
		events = 0
		var rec Record
		for {
			err := r.NextInto(&rec)
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			if rec.Kind == KindChunk {
				events += len(dec.Decode(rec.Time, rec.Dir, rec.Data))
			}
		}
		events += len(dec.Flush())
		r.Close()
	}
	b.StopTimer()
	b.ReportMetric(float64(payloadBytes(cs))*float64(b.N)/(cpuTime()-cpu0).Seconds()/1e6, "cpu_MB/s")
	b.ReportMetric(float64(events), "events")
}

// corpusFile returns cs written as a capture in memory (the bulk writer's
// 256 KiB blocks at the live zstd level).
func corpusFile(tb testing.TB, cs []atcorpus.Chunk) []byte {
	var buf memFile
	w := writeCorpus(tb, &buf, packCorpus(cs), 0)
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.b
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

// BenchmarkCloseCompact measures Close on a live recording of one hour of
// a 115200 baud line running flat out in both directions' total (11520
// bytes/s, about 40 MiB): a block flushed every 100 ms (1152 bytes of
// traffic), then Close, which compacts the file. Only Close is timed.
func BenchmarkCloseCompact(b *testing.B) {
	const perSecond = 115200 / 10
	cs := atcorpus.Generate(11, 3600*perSecond)
	raw := payloadBytes(cs)
	dir := b.TempDir()
	var before, after int64
	var cpu time.Duration
	for b.Loop() {
		b.StopTimer()
		path := filepath.Join(dir, "hour.atcap")
		w, err := Create(path, Header{Tool: "bench"}, &WriterOptions{FlushInterval: -1})
		if err != nil {
			b.Fatal(err)
		}
		w.parity, w.chunked = false, false // a recorder's writer, flushed by hand (see recordLive)
		pending := 0
		for _, c := range cs {
			if err := w.WriteChunk(c.Time, PortHost, c.Dir, c.Data); err != nil {
				b.Fatal(err)
			}
			if pending += len(c.Data); pending >= perSecond/10 {
				w.Flush()
				pending = 0
			}
		}
		before = w.Stats().CompressedBytes
		b.StartTimer()
		c0 := cpuTime()
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
		cpu += cpuTime() - c0
		after = w.Stats().CompactedBytes
	}
	b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu_s/op")
	b.ReportMetric(float64(raw)/(1<<20), "payload_MiB")
	b.ReportMetric(float64(before)/(1<<20), "live_MiB")
	b.ReportMetric(float64(after)/(1<<20), "compacted_MiB")
}

// cpuTime is the CPU time (user and system) this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
