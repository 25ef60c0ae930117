package main

import (
	"context"
	"io"
	"testing"

	"github.com/atbridge/atbridge/internal/report"
	"github.com/atbridge/atbridge/redact"
)

// BenchmarkReport measures building and rendering a report of the 8 MiB
// generated capture (about 40,000 transactions), in serial bytes per second.
func BenchmarkReport(b *testing.B) {
	path, n := benchCapture(b)
	b.SetBytes(n)
	for b.Loop() {
		p, err := buildReport(context.Background(), path)
		if err != nil {
			b.Fatal(err)
		}
		if err := report.Render(io.Discard, p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRedactFile measures atbridge redact on the same capture (two
// passes over the file, written compressed).
func BenchmarkRedactFile(b *testing.B) {
	path, n := benchCapture(b)
	out := b.TempDir() + "/out.atcap"
	b.SetBytes(n)
	for b.Loop() {
		if _, err := redact.File(context.Background(), path, out, nil); err != nil {
			b.Fatal(err)
		}
	}
}
