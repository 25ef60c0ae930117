package port

import (
	"bytes"
	"errors"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/atbridge/atbridge/capture"
)

func TestCharTime(t *testing.T) {
	tests := []struct {
		line capture.LineSettings
		want time.Duration
	}{
		{capture.LineSettings{Baud: 9600, DataBits: 8, Parity: capture.ParityNone, StopBits: capture.Stop1}, time.Second / 960},
		{capture.LineSettings{Baud: 9600}, time.Second / 960}, // zero fields are 8N1
		{capture.LineSettings{Baud: 115200, DataBits: 8, Parity: capture.ParityEven, StopBits: capture.Stop2}, 12 * time.Second / 115200},
		{capture.LineSettings{Baud: 1000, DataBits: 5, Parity: capture.ParityNone, StopBits: capture.Stop1_5}, 7500 * time.Microsecond},
		{capture.LineSettings{Baud: 300, DataBits: 7, Parity: capture.ParityOdd, StopBits: capture.Stop1}, 10 * time.Second / 300},
		{capture.LineSettings{}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.line.String(), func(t *testing.T) {
			if got := CharTime(tt.line); got != tt.want {
				t.Errorf("CharTime = %v, want %v", got, tt.want)
			}
		})
	}
}

// arrivals records each write to it with the time it came.
type arrivals struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	writes int
}

func (a *arrivals) Write(p []byte) (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.writes++
	return a.buf.Write(p)
}

func TestPacedWriterRate(t *testing.T) {
	line := capture.LineSettings{Baud: 9600, DataBits: 8, Parity: capture.ParityNone, StopBits: capture.Stop1}
	var sink arrivals
	pw := NewPacedWriter(&sink, func() capture.LineSettings { return line })
	data := make([]byte, 960)
	for i := range data {
		data[i] = byte(i * 13)
	}
	start := time.Now()
	// Several writes, as a pump would make them, share one schedule.
	for off := 0; off < len(data); off += 320 {
		if n, err := pw.Write(data[off : off+320]); n != 320 || err != nil {
			t.Fatalf("write: %d, %v", n, err)
		}
	}
	took := time.Since(start)
	// 960 characters at 960 per second: the line cannot carry them sooner.
	// (A lower bound only; how much later is up to the machine.)
	if took < 995*time.Millisecond {
		t.Errorf("960 bytes at 9600 8N1 took %v, want at least ~1 s", took)
	}
	if !bytes.Equal(sink.buf.Bytes(), data) {
		t.Error("data changed on the way")
	}
	if sink.writes < 100 {
		t.Errorf("delivered in %d writes, want small slices (one per character at 9600)", sink.writes)
	}
	t.Logf("960 bytes took %v in %d writes", took, sink.writes)
}

func TestPacedWriterUnpaced(t *testing.T) {
	var sink arrivals
	pw := NewPacedWriter(&sink, func() capture.LineSettings { return capture.LineSettings{} })
	data := bytes.Repeat([]byte("x"), 100000)
	if n, err := pw.Write(data); n != len(data) || err != nil {
		t.Fatalf("write: %d, %v", n, err)
	}
	if sink.writes != 1 {
		t.Errorf("unknown line: %d writes, want 1 (straight through)", sink.writes)
	}
}

func TestPacedWriterCloseInterruptsWrite(t *testing.T) {
	pw := NewPacedWriter(io.Discard, func() capture.LineSettings { return capture.LineSettings{Baud: 300} })
	done := make(chan error, 1)
	go func() {
		_, err := pw.Write(make([]byte, 3000)) // 100 s at 300 baud
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	pw.Close()
	pw.Close()
	select {
	case err := <-done:
		if !errors.Is(err, ErrClosed) {
			t.Fatalf("write: %v, want ErrClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not interrupt Write")
	}
	if _, err := pw.Write([]byte("x")); !errors.Is(err, ErrClosed) {
		t.Fatalf("write after close: %v", err)
	}
}
