//go:build linux || darwin

package port

import (
	"bytes"
	"io"
	"sync"
	"testing"
)

// BenchmarkPtyRoundTrip sends 64-byte messages from a pty: port to a host
// app on its link (our serial code), which echoes them back: one op is one
// message out and back, the floor for any proxy latency over ptys.
func BenchmarkPtyRoundTrip(b *testing.B) {
	host, client, _ := openPtyPair(b, nil)
	var wg sync.WaitGroup
	wg.Go(func() {
		buf := make([]byte, 4096)
		for {
			n, err := client.Read(buf)
			if err != nil {
				return
			}
			if _, err := client.Write(buf[:n]); err != nil {
				return
			}
		}
	})
	msg := bytes.Repeat([]byte("AT+WSSEND=0,64\r\n"), 4)
	got := make([]byte, len(msg))
	b.SetBytes(int64(len(msg)))
	b.ResetTimer()
	for b.Loop() {
		if _, err := host.Write(msg); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(host, got); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if !bytes.Equal(got, msg) {
		b.Fatalf("echo %q, want %q", got, msg)
	}
	client.Close()
	wg.Wait()
}
