package capture_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"runtime"
	"testing"

	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/formats"
	"github.com/atbridge/atbridge/internal/atcorpus"
)

// heapWatch is an io.Writer that discards the export and samples the live
// heap every 16 MiB of output, keeping the peak.
type heapWatch struct {
	n, next int64
	peak    uint64
}

func (h *heapWatch) Write(p []byte) (int, error) {
	h.n += int64(len(p))
	if h.n >= h.next {
		h.next = h.n + 16<<20
		var m runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m)
		h.peak = max(h.peak, m.HeapAlloc)
	}
	return len(p), nil
}

// BenchmarkExport measures `atbridge export` on generated traffic
// (internal/atcorpus: telemetry over AT+WSSEND and +WS_DATA, realistic
// USB-serial reads) of two sizes: throughput in MB/s of serial payload,
// the pcapng written per byte of payload, and the heap held while
// exporting beyond the capture file itself (sampled after a GC every
// 16 MiB of output), which stays the same whatever the size.
func BenchmarkExport(b *testing.B) {
	for _, size := range []int{4 << 20, 32 << 20} {
		b.Run(fmt.Sprintf("MiB=%d", size>>20), func(b *testing.B) {
			cs := atcorpus.Generate(1, size)
			var file bytes.Buffer
			w, err := capture.NewWriter(&file, capture.Header{Tool: "bench"}, &capture.WriterOptions{FlushInterval: -1})
			if err != nil {
				b.Fatal(err)
			}
			var payload int64
			for _, c := range cs {
				port := capture.PortHost
				if c.Dir == formats.ToHost {
					port = capture.PortDevice
				}
				if err := w.WriteChunk(c.Time, port, c.Dir, c.Data); err != nil {
					b.Fatal(err)
				}
				payload += int64(len(c.Data))
			}
			if err := w.Close(); err != nil {
				b.Fatal(err)
			}
			cs = nil
			b.SetBytes(payload)
			b.ReportAllocs()
			var base runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&base)
			var hw heapWatch
			var st capture.ExportStats
			for b.Loop() {
				hw = heapWatch{}
				r, err := capture.NewReader(bytes.NewReader(file.Bytes()), nil)
				if err != nil {
					b.Fatal(err)
				}
				if st, err = capture.Export(context.Background(), r, &hw, nil); err != nil {
					b.Fatal(err)
				}
				r.Close()
			}
			held := int64(hw.peak) - int64(base.HeapAlloc)
			b.ReportMetric(float64(max(held, 0))/(1<<20), "heap-MiB")
			b.ReportMetric(float64(hw.n)/float64(payload), "out/in")
			b.ReportMetric(float64(st.Pcap.Packets), "packets")
		})
	}
}

var _ io.Writer = (*heapWatch)(nil)
