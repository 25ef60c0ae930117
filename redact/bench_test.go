package redact

import (
	"testing"

	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/formats/at"
	"github.com/atbridge/atbridge/internal/atcorpus"
)

// BenchmarkRedact measures the Redactor on generated ESP-AT traffic (both
// directions, ATE1 echo, WebSocket payloads), in serial bytes per second.
func BenchmarkRedact(b *testing.B) {
	var recs []capture.Record
	n := 0
	for _, c := range atcorpus.Generate(1, 4<<20) {
		recs = append(recs, capture.Record{Kind: capture.KindChunk, Time: c.Time, Dir: c.Dir, Data: c.Data})
		n += len(c.Data)
	}
	b.SetBytes(int64(n))
	b.ReportAllocs()
	for b.Loop() {
		r := New(&Options{Decoder: &at.DecoderOptions{}})
		for i := range recs {
			r.Add(&recs[i])
		}
		r.Flush()
	}
}
