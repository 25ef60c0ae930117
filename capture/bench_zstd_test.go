package capture

import (
	"testing"

	"github.com/klauspost/compress/zstd"

	"github.com/atbridge/atbridge/internal/atcorpus"
)

// corpusBlocks returns the raw payloads of the blocks the bulk writer
// makes of cs (DefaultBlockSize, columns as written).
func corpusBlocks(cs []atcorpus.Chunk) [][]byte {
	var blocks [][]byte
	cols := newColumns(DefaultBlockSize)
	last := int64(0)
	for _, c := range cs {
		if cols.n > 0 && cols.size()+len(c.Data)+maxRecordOverhead > DefaultBlockSize {
			blocks = append(blocks, cols.appendPayload(nil))
			cols.reset()
		}
		cols.addChunk(0, uint8(c.Dir), uint64(c.Time-last), c.Data)
		last = c.Time
	}
	return append(blocks, cols.appendPayload(nil))
}

// BenchmarkWriteZstdFloor is the floor under BenchmarkWrite: zstd alone
// compressing the same block payloads (EncodeAll, as the Writer calls
// it), MB/s of serial payload, for encoder settings measured one by one
// against the Writer's (fastest level, one goroutine, no CRC, lower
// memory).
func BenchmarkWriteZstdFloor(b *testing.B) {
	cs := benchCorpus()
	blocks := corpusBlocks(cs)
	raw := payloadBytes(cs)
	base := []zstd.EOption{zstd.WithEncoderLevel(liveLevel), zstd.WithEncoderConcurrency(1), zstd.WithEncoderCRC(false)}
	for _, v := range []struct {
		name string
		opts []zstd.EOption
	}{
		{"writer", append(base[:3:3], zstd.WithLowerEncoderMem(true))},
		{"highmem", base},
		{"window64K", append(base[:3:3], zstd.WithWindowSize(64<<10))},
		{"window256K", append(base[:3:3], zstd.WithWindowSize(256<<10))},
		{"noentropy", append(base[:3:3], zstd.WithNoEntropyCompression(true))},
		{"zeroframes", append(base[:3:3], zstd.WithZeroFrames(true))},
		{"noentropy+lowmem", append(base[:3:3], zstd.WithNoEntropyCompression(true), zstd.WithLowerEncoderMem(true))},
		{"noentropy+window256K", append(base[:3:3], zstd.WithNoEntropyCompression(true), zstd.WithWindowSize(256<<10))},
		{"noentropy+window256K+lowmem", append(base[:3:3], zstd.WithNoEntropyCompression(true), zstd.WithWindowSize(256<<10), zstd.WithLowerEncoderMem(true))},
		{"default", append(base[:1:1], zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithEncoderConcurrency(1), zstd.WithEncoderCRC(false))},
	} {
		b.Run(v.name, func(b *testing.B) {
			enc, err := zstd.NewWriter(nil, v.opts...)
			if err != nil {
				b.Fatal(err)
			}
			defer enc.Close()
			b.SetBytes(raw)
			b.ReportAllocs()
			var out []byte
			var size int64
			cpu0 := cpuTime()
			for b.Loop() {
				size = 0
				for _, blk := range blocks {
					out = enc.EncodeAll(blk, out[:0])
					size += int64(len(out))
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(raw)*float64(b.N)/(cpuTime()-cpu0).Seconds()/1e6, "cpu_MB/s")
			b.ReportMetric(100*float64(size)/float64(raw), "%raw")
		})
	}
}
