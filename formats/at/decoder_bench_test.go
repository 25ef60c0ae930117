package at_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/atbridge/atbridge/formats"
	"github.com/atbridge/atbridge/formats/at"
	"github.com/atbridge/atbridge/internal/atcorpus"
)

// benchChunk is a chunk of benchCorpus.data, without pointers: a heap of
// 10^6 chunk slices would make every garbage collection during the
// benchmark scan them, which measures the harness rather than the decoder.
type benchChunk struct {
	time     int64
	dir      formats.Dir
	off, end int32
}

// benchCorpus is generated traffic with its chunks' bytes laid out one
// after the other in one buffer, as a capture reader hands them out of a
// block (the generator leaves them scattered over the heap, which would
// measure cache misses on reading the input).
type benchCorpus struct {
	data   []byte
	chunks []benchChunk
}

// corpora caches generated traffic by size: generating 16 MiB takes longer
// than decoding it.
var corpora sync.Map // int -> *benchCorpus

func corpus(size int) *benchCorpus {
	if v, ok := corpora.Load(size); ok {
		return v.(*benchCorpus)
	}
	c := &benchCorpus{}
	for _, ch := range atcorpus.Generate(1, size) {
		k := len(c.data)
		c.data = append(c.data, ch.Data...)
		c.chunks = append(c.chunks, benchChunk{ch.Time, ch.Dir, int32(k), int32(len(c.data))})
	}
	v, _ := corpora.LoadOrStore(size, c)
	return v.(*benchCorpus)
}

// BenchmarkDecode measures decoding of realistic traffic (internal/atcorpus,
// cut as a UART driver returns reads), 4 MiB and 16 MiB of it, with Feed
// (events the caller keeps) and with Decode (events reused by the next call).
// Besides the wall-clock MB/s it reports cpu-MB/s: bytes per second of the
// process's CPU time (user+system) while decoding, which stays meaningful on
// a loaded machine; run it with GOMAXPROCS=1 for one core:
//
//	GOMAXPROCS=1 go test ./formats/ -run '^$' -bench BenchmarkDecode -benchtime 20x
func BenchmarkDecode(b *testing.B) {
	for _, size := range []int{4 << 20, 16 << 20} {
		for _, mode := range decodeModes {
			b.Run(fmt.Sprintf("%s/%dMiB", mode.name, size>>20), func(b *testing.B) {
				c := corpus(size)
				b.SetBytes(int64(len(c.data)))
				b.ReportAllocs()
				b.ResetTimer()
				cpu0 := cpuTime()
				for b.Loop() {
					d := at.NewDecoder(nil)
					for _, ch := range c.chunks {
						mode.call(d, ch.time, ch.dir, c.data[ch.off:ch.end:ch.end])
					}
					d.Flush()
				}
				if cpu := cpuTime() - cpu0; cpu > 0 {
					b.ReportMetric(float64(len(c.data))*float64(b.N)/cpu.Seconds()/1e6, "cpu-MB/s")
				}
			})
		}
	}
}

var decodeModes = []struct {
	name string
	call func(d *at.Decoder, t int64, dir formats.Dir, p []byte) []at.Event
}{
	{"Feed", (*at.Decoder).Feed},
	{"Decode", (*at.Decoder).Decode},
}
