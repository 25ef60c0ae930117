package capture

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atbridge/atbridge/formats"
)

func TestRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts *WriterOptions
	}{
		{"zstd", nil},
		{"stored", &WriterOptions{Stored: true}},
		{"tiny blocks", &WriterOptions{BlockSize: 16, FlushInterval: -1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := sampleRecords()
			b := writeAll(t, want, tc.opts)
			res, err := readBytes(t, b, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.damages) != 0 {
				t.Fatalf("damage in a clean file: %v", res.damages[0])
			}
			sameRecords(t, res.recs, want)
			r, err := NewReader(bytes.NewReader(b), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			h, wh := r.Header(), testHeader()
			wh.Version = FormatVersion
			if !reflect.DeepEqual(h, wh) {
				t.Errorf("header:\n got %+v\nwant %+v", h, wh)
			}
		})
	}
}

func TestWriterDefaults(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewWriter(&buf, Header{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := w.Header()
	if h.Version != FormatVersion || h.Start.IsZero() || h.Start.Location() != time0.Location() || h.MonoBase == 0 {
		t.Errorf("header not filled: %+v", h)
	}
	if a, b := w.Now(), w.Now(); a < 0 || b < a {
		t.Errorf("Now went %d then %d", a, b)
	}
	if err := w.WriteChunk(-5, 0, formats.ToHost, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := w.WriteChunk(1, 0, formats.ToHost, nil); !errors.Is(err, ErrClosed) {
		t.Errorf("write after close: %v, want ErrClosed", err)
	}
	if err := w.Flush(); !errors.Is(err, ErrClosed) {
		t.Errorf("flush after close: %v, want ErrClosed", err)
	}
	res, err := readBytes(t, buf.Bytes(), nil)
	if err != nil || len(res.recs) != 1 || res.recs[0].Time != 0 {
		t.Errorf("negative time: got %+v, %v; want one record at 0", res.recs, err)
	}
	if s := w.Stats(); s.Records != 1 || s.Blocks != 1 || s.DataBytes != 1 || s.CompressedBytes != int64(buf.Len()) {
		t.Errorf("stats %+v (file %d bytes)", s, buf.Len())
	}
	if err := w.Write(&Record{Kind: 77}); err == nil {
		t.Error("writing an unknown kind succeeded")
	}
}

// TestConcurrentWriters has two pumps writing at once, each with its own
// clock readings: the file must hold every record, in non-decreasing time,
// each pump's records in its own order.
func TestConcurrentWriters(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewWriter(&buf, testHeader(), &WriterOptions{BlockSize: 512, FlushInterval: 1e6})
	if err != nil {
		t.Fatal(err)
	}
	const n = 2000
	var wg sync.WaitGroup
	for p := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range n {
				data := []byte{byte(p), byte(i >> 8), byte(i)}
				if err := w.WriteChunk(w.Now(), uint8(p), formats.ToHost, data); err != nil {
					t.Error(err)
					return
				}
				if i%500 == 0 {
					w.Flush()
				}
			}
		}()
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	res, err := readBytes(t, buf.Bytes(), nil)
	if err != nil || len(res.damages) > 0 {
		t.Fatal(err, res.damages)
	}
	next := [2]int{}
	for i, r := range res.recs {
		if i > 0 && r.Time < res.recs[i-1].Time {
			t.Fatalf("record %d goes back in time", i)
		}
		p := r.Port
		if got := int(r.Data[1])<<8 | int(r.Data[2]); got != next[p] {
			t.Fatalf("port %d: record %d out of order (want %d)", p, got, next[p])
		}
		next[p]++
	}
	if next != [2]int{n, n} {
		t.Fatalf("got %v records per port, want %d each", next, n)
	}
}

var time0 = testStart

// TestUnknownKindAndField plays a newer writer: a record of an unknown
// kind and an event with an unknown field must be skipped.
func TestUnknownKindAndField(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewWriter(&buf, testHeader(), nil)
	if err != nil {
		t.Fatal(err)
	}
	w.WriteChunk(1, 0, formats.ToDevice, []byte("AT\r\n"))
	w.writeRaw(200, 5, 3, formats.ToServer, []byte("future meta"), []byte("a record kind from the future"))
	ev := Record{Kind: KindEvent, Event: Event{Type: EvMarker, Text: "m"}}
	f := encodeFields(nil, &ev)
	f = appendStringField(f, 100, "a field from the future")
	f = appendUvarintField(f, 101, 12345)
	w.writeRaw(KindEvent, 7, 0, 0, f, []byte("data"))
	w.writeRaw(KindChunk, 8, 0, formats.ToHost, []byte{0xEE, 0xFF}, []byte("chunk meta from the future"))
	w.WriteChunk(9, 0, formats.ToHost, []byte("OK"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	res, err := readBytes(t, buf.Bytes(), nil)
	if err != nil || len(res.damages) > 0 {
		t.Fatal(err, res.damages)
	}
	want := []Record{
		{Kind: KindChunk, Time: 1, Dir: formats.ToDevice, Data: []byte("AT\r\n")},
		{Kind: KindEvent, Time: 7, Event: Event{Type: EvMarker, Text: "m"}, Data: []byte("data")},
		{Kind: KindChunk, Time: 8, Dir: formats.ToHost, Data: []byte("chunk meta from the future")},
		{Kind: KindChunk, Time: 9, Dir: formats.ToHost, Data: []byte("OK")},
	}
	sameRecords(t, res.recs, want)
}

func TestFileMode(t *testing.T) {
	dir := t.TempDir()
	for _, pre := range []bool{false, true} {
		p := filepath.Join(dir, "x.atcap")
		if pre {
			if err := os.WriteFile(p, bytes.Repeat([]byte("old"), 1000), 0o644); err != nil {
				t.Fatal(err)
			}
			os.Chmod(p, 0o644)
		}
		w, err := Create(p, testHeader(), nil)
		if err != nil {
			t.Fatal(err)
		}
		w.WriteChunk(0, 0, formats.ToHost, []byte("pwd"))
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("existing=%v: mode %v, want 0600", pre, fi.Mode().Perm())
		}
		r, err := Open(p, nil)
		if err != nil {
			t.Fatal(err)
		}
		if rec, err := r.Next(); err != nil || string(rec.Data) != "pwd" {
			t.Errorf("existing=%v: %v %v (old content not truncated?)", pre, rec, err)
		}
		if _, err := r.Next(); err != io.EOF {
			t.Errorf("existing=%v: want EOF, got %v", pre, err)
		}
		r.Close()
		if _, err := r.Next(); !errors.Is(err, ErrClosed) {
			t.Errorf("Next after Close: %v", err)
		}
	}
}

// TestGolden pins the byte layout: a small stored (uncompressed) capture
// must match testdata/example.hex, which docs/capture-format.md shows.
func TestGolden(t *testing.T) {
	var buf bytes.Buffer
	h := Header{Tool: "atbridge v0.1.0", Start: testStart, MonoBase: 1000,
		Ports: []PortInfo{{Name: "pty:/tmp/esp", Role: "host", Line: LineSettings{Baud: 115200, DataBits: 8, Parity: ParityNone, StopBits: Stop1}}}}
	w, err := NewWriter(&buf, h, &WriterOptions{Stored: true, FlushInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	w.WriteChunk(1500, 0, formats.ToDevice, []byte("AT\r\n"))
	w.WriteChunk(2000, 0, formats.ToHost, []byte("AT\r\n\r\nOK\r\n"))
	w.WriteEvent(3000, Event{Type: EvMarker, Text: "hi"})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got := hex.Dump(buf.Bytes())
	golden := filepath.Join("testdata", "example.hex")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("layout changed; got:\n%s\nwant:\n%s", got, want)
	}
	spec, err := os.ReadFile(filepath.Join("..", "docs", "capture-format.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(spec, []byte(strings.TrimRight(got, "\n"))) {
		t.Errorf("docs/capture-format.md section 7 does not show testdata/example.hex")
	}
}

// TestFlushTimer checks that a record written just before the traffic
// stops still reaches the destination, driven by the timer alone.
func TestFlushTimer(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewWriter(&buf, testHeader(), &WriterOptions{FlushInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for i := range 3 {
		if err := w.WriteChunk(w.Now(), 0, formats.ToHost, []byte("last words")); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second) // generous: this is not a speed check
		for w.Stats().Blocks != int64(i+1) {
			if time.Now().After(deadline) {
				t.Fatalf("block %d never written by the timer", i+1)
			}
			time.Sleep(time.Millisecond)
		}
	}
}
