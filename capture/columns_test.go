package capture

import (
	"encoding/binary"
	"fmt"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"

	"github.com/atbridge/atbridge/formats"
	"github.com/atbridge/atbridge/internal/atcorpus"
)

// TestColumnSizes compresses each column of atcorpus traffic on its own,
// at the live setting (256 KiB blocks, fastest level) and the compaction
// setting (CompactBlockSize, compactLevel), next to the alternatives for
// the time column that the layout was chosen against, and logs the sizes
// as a percentage of the serial payload. It checks that the byte planes
// stay the smallest time encoding and that whole blocks are no bigger than
// the sum of their separately compressed columns (plus frame overheads).
func TestColumnSizes(t *testing.T) {
	size := 4 << 20
	if raceEnabled || testing.Short() {
		size = 1 << 20
	}
	cs, floor := atcorpus.GenerateWithFloor(1, size)
	raw := payloadBytes(cs)
	pct := func(n int64) string { return fmt.Sprintf("%6.2f%%", 100*float64(n)/float64(raw)) }
	for _, cfg := range []struct {
		name  string
		block int
		level zstd.EncoderLevel
	}{{"live", DefaultBlockSize, liveLevel}, {"compacted", CompactBlockSize, compactLevel}} {
		enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(cfg.level), zstd.WithEncoderConcurrency(1), zstd.WithEncoderCRC(false))
		if err != nil {
			t.Fatal(err)
		}
		names := []string{"kind", "port", "dir", "time planes", "time overflow", "meta length", "meta", "data length", "data",
			"alt: time u32 LE", "alt: time uvarint"}
		var rawLen, packed [11]int64
		var whole int64
		cols := newColumns(cfg.block)
		zs := func(b []byte) int64 {
			if len(b) == 0 {
				return 0
			}
			return int64(len(enc.EncodeAll(b, nil)))
		}
		flush := func() {
			n := len(cols.times)
			planes := make([]byte, 4*n)
			var plain, uv []byte
			for i, x := range cols.times {
				planes[i], planes[n+i], planes[2*n+i], planes[3*n+i] = byte(x), byte(x>>8), byte(x>>16), byte(x>>24)
				plain = binary.LittleEndian.AppendUint32(plain, x)
				uv = binary.AppendUvarint(uv, uint64(x))
			}
			for i, c := range [][]byte{cols.kinds, cols.ports, cols.dirs, planes, cols.overflow, cols.metaLens, cols.meta,
				cols.dataLens, cols.data, plain, uv} {
				rawLen[i] += int64(len(c))
				packed[i] += zs(c)
			}
			whole += zs(cols.appendPayload(nil))
			cols.reset()
		}
		var last int64
		for _, c := range cs {
			port := PortHost
			if c.Dir == formats.ToHost {
				port = PortDevice
			}
			cols.addChunk(port, uint8(c.Dir), uint64(c.Time-last), c.Data)
			last = c.Time
			if cols.size() >= cfg.block {
				flush()
			}
		}
		flush()
		var b strings.Builder
		fmt.Fprintf(&b, "%s (%d KiB blocks, %v): %d chunks, %d payload bytes; whole blocks %s of payload\n",
			cfg.name, cfg.block>>10, cfg.level, len(cs), raw, pct(whole))
		var sum int64
		for i, n := range names {
			fmt.Fprintf(&b, "  %-18s raw %s  compressed %s\n", n, pct(rawLen[i]), pct(packed[i]))
			if i < numColumns {
				sum += packed[i]
			}
		}
		fmt.Fprintf(&b, "  %-18s                     %s (the information the corpus model puts into read times, atcorpus.TimingFloor)\n",
			"time: floor", pct(int64(floor.Bytes())))
		t.Log(b.String())
		if float64(packed[colTime]+packed[colOverflow]) < floor.Bytes() {
			t.Errorf("%s: the time columns take %d bytes, below the floor of %.0f: the floor is wrong", cfg.name, packed[colTime]+packed[colOverflow], floor.Bytes())
		}
		if packed[colTime] > packed[9] || packed[colTime] > packed[10] {
			t.Errorf("%s: time planes %d bytes, u32 %d, uvarint %d: planes are no longer the best", cfg.name, packed[colTime], packed[9], packed[10])
		}
		if whole > sum+sum/20 {
			t.Errorf("%s: whole blocks %d bytes, columns apart %d", cfg.name, whole, sum)
		}
	}
}

// TestColumnsSizeTracked checks the running size against the column
// lengths it stands for, across long data, meta, time overflows and reset.
func TestColumnsSizeTracked(t *testing.T) {
	c := newColumns(1024)
	sum := func() int {
		return 3*c.n + 4*len(c.times) + len(c.overflow) + len(c.metaLens) + len(c.meta) + len(c.dataLens) + len(c.data)
	}
	for round := range 2 {
		for i, n := range []int{0, 1, 127, 128, 300, 20000, 16} {
			c.addChunk(0, 1, uint64(i)<<(8*i), make([]byte, n))
			c.add(KindEvent, 1, 0, uint64(1)<<40, make([]byte, n/2+200), make([]byte, n))
			if c.size() != sum() {
				t.Fatalf("round %d record %d: size %d, columns hold %d", round, i, c.size(), sum())
			}
		}
		c.reset()
		if c.size() != 0 {
			t.Fatalf("size %d after reset", c.size())
		}
	}
}
