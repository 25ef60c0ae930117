package capture

import (
	"bytes"
	"strconv"
	"testing"

	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/zstd"

	"github.com/atbridge/atbridge/formats"
)

// BenchmarkChunkLevels compresses the benchmark corpus's 4 MiB blocks, each
// column whole, the way codec 3 does (deflate, the time column as four
// plane streams) at its level and one above, and the way codec 1 did
// (zstd at compaction's level, one frame per column): the size each leaves
// and how fast it compresses and inflates, on which chunkLevel rests.
//
//	GOMAXPROCS=1 go test -run '^$' -bench BenchmarkChunkLevels -benchtime 3x ./capture/
func BenchmarkChunkLevels(b *testing.B) {
	cs := benchCorpus()
	raw := payloadBytes(cs)
	var blocks [][][]byte // per block, its deflate streams
	var cols [][][]byte   // per block, its codec 1 columns
	c := newColumns(CompactBlockSize)
	var last int64
	done := func() {
		var ss, cc [][]byte
		var scratch []byte
		for i := range numStreams {
			var p []byte
			p, scratch = c.stream(i, scratch)
			ss = append(ss, bytes.Clone(p))
		}
		p := c.appendPayload(nil)
		cur, _ := parseColumns(p, c.n)
		cc = [][]byte{cur.kinds, cur.ports, cur.dirs, cur.time, cur.overflow, cur.metaLens, cur.meta, cur.dataLens, cur.data}
		blocks, cols = append(blocks, ss), append(cols, cc)
		c.reset()
	}
	for _, ch := range cs {
		port := PortHost
		if ch.Dir == formats.ToHost {
			port = PortDevice
		}
		var dt uint64
		if c.n > 0 {
			dt = uint64(ch.Time - last)
		}
		last = ch.Time
		c.addChunk(port, uint8(ch.Dir), dt, ch.Data)
		if c.size() >= CompactBlockSize {
			done()
		}
	}
	done()
	var in int64
	for _, bl := range blocks {
		for _, s := range bl {
			in += int64(len(s))
		}
	}
	for _, level := range []int{chunkLevel, chunkLevel + 2} {
		b.Run("deflate-"+strconv.Itoa(level), func(b *testing.B) {
			var buf bytes.Buffer
			fw, _ := flate.NewWriter(&buf, level)
			var packed [][]byte
			b.SetBytes(in)
			for b.Loop() {
				packed = packed[:0]
				for _, bl := range blocks {
					for _, s := range bl {
						buf.Reset()
						fw.Reset(&buf)
						fw.Write(s)
						fw.Close()
						packed = append(packed, bytes.Clone(buf.Bytes()))
					}
				}
			}
			b.StopTimer()
			var size int64
			for _, p := range packed {
				size += int64(len(p))
			}
			b.ReportMetric(100*float64(size)/float64(raw), "%raw")
			b.ReportMetric(inflateMBs(b, packed, in), "inflate_MB/s")
		})
	}
	b.Run("zstd-better", func(b *testing.B) {
		enc, _ := zstd.NewWriter(nil, zstd.WithWindowSize(CompactBlockSize), zstd.WithEncoderLevel(compactLevel),
			zstd.WithEncoderConcurrency(1), zstd.WithEncoderCRC(false), zstd.WithLowerEncoderMem(true))
		var packed [][]byte
		b.SetBytes(in)
		for b.Loop() {
			packed = packed[:0]
			for _, bl := range cols {
				for _, col := range bl {
					packed = append(packed, enc.EncodeAll(col, nil))
				}
			}
		}
		b.StopTimer()
		var size int64
		for _, p := range packed {
			size += int64(len(p))
		}
		b.ReportMetric(100*float64(size)/float64(raw), "%raw")
		dec, _ := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1))
		defer dec.Close()
		out := make([]byte, 0, 2*CompactBlockSize)
		start := cpuTime()
		for _, p := range packed {
			dec.DecodeAll(p, out[:0])
		}
		b.ReportMetric(float64(in)/(cpuTime()-start).Seconds()/1e6, "inflate_MB/s")
	})
}

// inflateMBs is how fast the deflate streams packed, in bytes of raw
// data, decode on this process's CPU time.
func inflateMBs(b *testing.B, packed [][]byte, in int64) float64 {
	fr := flate.NewReader(nil)
	out := make([]byte, 2*CompactBlockSize)
	start := cpuTime()
	for _, p := range packed {
		fr.(flate.Resetter).Reset(bytes.NewReader(p), nil)
		for {
			n, err := fr.Read(out)
			if n == 0 || err != nil {
				break
			}
		}
	}
	return float64(in) / (cpuTime() - start).Seconds() / 1e6
}
