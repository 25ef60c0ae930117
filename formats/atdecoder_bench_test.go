package formats_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/atbridge/atbridge/formats"
	"github.com/atbridge/atbridge/internal/atcorpus"
)

// corpora caches generated traffic by size: generating 16 MiB takes longer
// than decoding it.
var corpora sync.Map // int -> []atcorpus.Chunk

// corpus returns about size bytes of traffic, its chunks' bytes laid out
// one after the other in one buffer, as a capture reader hands them out of
// a block (the generator leaves them scattered over the heap, which would
// make the benchmark measure cache misses on reading its input).
func corpus(size int) ([]atcorpus.Chunk, int64) {
	v, ok := corpora.Load(size)
	if !ok {
		cs := atcorpus.Generate(1, size)
		var n int
		for _, c := range cs {
			n += len(c.Data)
		}
		buf := make([]byte, 0, n)
		for i := range cs {
			k := len(buf)
			buf = append(buf, cs[i].Data...)
			cs[i].Data = buf[k:len(buf):len(buf)]
		}
		v, _ = corpora.LoadOrStore(size, cs)
	}
	cs := v.([]atcorpus.Chunk)
	var n int64
	for _, c := range cs {
		n += int64(len(c.Data))
	}
	return cs, n
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
				cs, n := corpus(size)
				b.SetBytes(n)
				b.ReportAllocs()
				b.ResetTimer()
				cpu0 := cpuTime()
				for b.Loop() {
					mode.run(cs)
				}
				if cpu := cpuTime() - cpu0; cpu > 0 {
					b.ReportMetric(float64(n)*float64(b.N)/cpu.Seconds()/1e6, "cpu-MB/s")
				}
			})
		}
	}
}

var decodeModes = []struct {
	name string
	run  func([]atcorpus.Chunk)
}{
	{"Feed", func(cs []atcorpus.Chunk) {
		d := formats.NewDecoder(nil)
		for _, c := range cs {
			d.Feed(c.Time, c.Dir, c.Data)
		}
		d.Flush()
	}},
	{"Decode", func(cs []atcorpus.Chunk) {
		d := formats.NewDecoder(nil)
		for _, c := range cs {
			d.Decode(c.Time, c.Dir, c.Data)
		}
		d.Flush()
	}},
}
