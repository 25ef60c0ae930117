package rig

import (
	"io"
	"testing"
	"time"
)

// ReadN reads n bytes from r, failing the test after 10 s so a bug hangs no
// test run. Call it from the test's goroutine only.
func ReadN(t testing.TB, r io.Reader, n int) []byte {
	t.Helper()
	got := make([]byte, n)
	done := make(chan error, 1)
	go func() {
		_, err := io.ReadFull(r, got)
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("read: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("read: no data after 10 s")
	}
	return got
}

// AllBytes returns the 256 byte values in order, for tests that a path is
// 8-bit clean.
func AllBytes() []byte {
	b := make([]byte, 256)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}
