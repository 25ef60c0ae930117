package capture_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/formats"
	"github.com/atbridge/atbridge/internal/session"
)

// checkPcapngFraming walks the blocks of a pcapng stream: each block's
// two lengths agree and the blocks fill the stream exactly.
func checkPcapngFraming(b []byte) error {
	if !bytes.HasPrefix(b, []byte{0x0A, 0x0D, 0x0D, 0x0A}) {
		return errors.New("no section header")
	}
	for len(b) > 0 {
		if len(b) < 12 {
			return errors.New("block cut")
		}
		n := int(binary.LittleEndian.Uint32(b[4:]))
		if n < 12 || n%4 != 0 || n > len(b) || binary.LittleEndian.Uint32(b[n-4:]) != uint32(n) {
			return errors.New("bad block length")
		}
		b = b[n:]
	}
	return nil
}

// FuzzExport: any capture the reader accepts exports without error (damage
// is counted, not fatal), to well-formed pcapng.
func FuzzExport(f *testing.F) {
	m, _ := filepath.Glob(filepath.Join("..", "testdata", "sessions", "*.session"))
	for _, p := range m {
		s, err := session.ParseFile(p)
		if err != nil {
			f.Fatal(err)
		}
		var buf bytes.Buffer
		w, err := capture.NewWriter(&buf, capture.Header{Tool: "fuzz", Meta: s.Meta}, &capture.WriterOptions{FlushInterval: -1, BlockSize: 512})
		if err != nil {
			f.Fatal(err)
		}
		for _, st := range s.Steps {
			w.WriteChunk(st.Time, 0, st.Dir, st.Data)
		}
		w.Write(&capture.Record{Kind: capture.KindFrame, Time: 1 << 40, Dir: formats.ToClient, Data: []byte("x"), Frame: capture.Frame{Opcode: 1, Fin: true, Length: 9}})
		w.WriteEvent(1<<40, capture.Event{Type: capture.EvWSClosed, Link: 0, Code: 1006, Text: "connection lost: eof"})
		w.WriteEvent(1<<40, capture.Event{Type: capture.EvControlLines, Control: capture.LineCTS})
		if err := w.Close(); err != nil {
			f.Fatal(err)
		}
		f.Add(buf.Bytes())
		if strings.Contains(p, "seed-tcp") {
			b := buf.Bytes()
			f.Add(b[:len(b)*2/3])
		}
	}
	// A capture with the ESP32's log UART on port 2 and line events.
	var buf bytes.Buffer
	w, err := capture.NewWriter(&buf, logHeader(), &capture.WriterOptions{FlushInterval: -1, BlockSize: 512})
	if err != nil {
		f.Fatal(err)
	}
	writeLogSession(f, w)
	if err := w.Close(); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Fuzz(func(t *testing.T, in []byte) {
		r, err := capture.NewReader(bytes.NewReader(in), &capture.ReaderOptions{MaxBlockSize: 1 << 20, MaxRecordSize: 1 << 20})
		if err != nil {
			return // not accepted
		}
		defer r.Close()
		var out bytes.Buffer
		if _, err := capture.Export(context.Background(), r, &out, nil); err != nil {
			t.Fatalf("export of an accepted capture failed: %v", err)
		}
		if err := checkPcapngFraming(out.Bytes()); err != nil {
			t.Fatal(err)
		}
	})
}
