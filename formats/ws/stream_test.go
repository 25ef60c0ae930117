package ws

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// wsWire builds one frame on the wire, masking the payload when h.Masked.
func wsWire(h Header, payload []byte) []byte {
	h.Length = uint64(len(payload))
	b := AppendHeader(nil, h)
	p := bytes.Clone(payload)
	if h.Masked {
		Mask(h.MaskKey, 0, p)
	}
	return append(b, p...)
}

const (
	testRequest  = "GET /chat?x=1 HTTP/1.1\r\nHost: example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	testResponse = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
)

func TestWSStream(t *testing.T) {
	key := [4]byte{1, 2, 3, 4}
	big := bytes.Repeat([]byte("0123456789"), 7000)
	frames := []struct {
		h Header
		p []byte
	}{
		{Header{Fin: true, Opcode: OpText, Masked: true, MaskKey: key}, []byte("test")},
		{Header{Fin: false, Opcode: OpBinary, Masked: true, MaskKey: key, Rsv: 4}, []byte("a\r\nb\x00")},
		{Header{Fin: true, Opcode: OpCont, Masked: true, MaskKey: key}, nil},
		{Header{Fin: true, Opcode: OpPing}, []byte("p")},
		{Header{Fin: true, Opcode: OpBinary, Masked: true, MaskKey: [4]byte{9, 8, 7, 6}}, big},
		{Header{Fin: true, Opcode: OpClose, Masked: true, MaskKey: key}, []byte{0x03, 0xE8, 'b', 'y', 'e'}},
	}
	wire := []byte(testRequest)
	for _, f := range frames {
		wire = append(wire, wsWire(f.h, f.p)...)
	}
	for _, step := range []int{1, 2, 3, 7, 100, 4096, len(wire)} {
		s := NewStream(true, 1000)
		var items []Item
		for off := 0; off < len(wire); off += step {
			it, err := s.Feed(wire[off:min(off+step, len(wire))])
			if err != nil {
				t.Fatalf("step %d: %v", step, err)
			}
			items = append(items, it...)
		}
		if len(items) != 1+len(frames) {
			t.Fatalf("step %d: %d items, want %d", step, len(items), 1+len(frames))
		}
		if items[0].Kind != ItemHTTP || items[0].Target != "/chat?x=1" || string(items[0].HTTP) != testRequest {
			t.Fatalf("step %d: head %+v", step, items[0])
		}
		for i, f := range frames {
			it := items[i+1]
			want := f.p
			if len(want) > 1000 {
				want = want[:1000]
			}
			h := f.h
			h.Length = uint64(len(f.p))
			if it.Kind != ItemFrame || it.Header != h || !bytes.Equal(it.Payload, want) {
				t.Fatalf("step %d: frame %d = %+v %q, want %+v %q", step, i, it.Header, it.Payload, h, want)
			}
		}
	}
	code, reason, ok := ParseClose(frames[5].p)
	if !ok || code != 1000 || reason != "bye" {
		t.Errorf("close = %d %q %v", code, reason, ok)
	}
}

func TestWSStreamResponse(t *testing.T) {
	s := NewStream(false, 0)
	items, err := s.Feed(append([]byte(testResponse), wsWire(Header{Fin: true, Opcode: OpText}, []byte("hi"))...))
	if err != nil || len(items) != 2 || items[0].Status != 101 || string(items[1].Payload) != "hi" {
		t.Fatalf("items %+v err %v", items, err)
	}
	s = NewStream(false, 0)
	items, err = s.Feed([]byte("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n\x81\x02hi"))
	if len(items) != 1 || items[0].Status != 403 || !errors.Is(err, ErrNotUpgraded) {
		t.Fatalf("refused: items %+v err %v", items, err)
	}
	for _, bad := range []string{"NOT HTTP\r\n\r\n", "HTTP/1.1 abc x\r\n\r\n"} {
		if _, err := NewStream(false, 0).Feed([]byte(bad)); !errors.Is(err, ErrHTTPHead) {
			t.Errorf("%q: err %v", bad, err)
		}
	}
	if _, err := NewStream(true, 0).Feed(bytes.Repeat([]byte("x"), MaxHTTPHead+10)); !errors.Is(err, ErrHTTPHead) {
		t.Errorf("endless head: err %v", err)
	}
	s = NewStream(true, 0)
	_, err = s.Feed([]byte(testRequest + "\x82\x7f\x80\x00\x00\x00\x00\x00\x00\x00"))
	if !errors.Is(err, ErrLength) {
		t.Errorf("64-bit length with top bit: %v", err)
	}
	if _, err2 := s.Feed([]byte("more")); err2 != err {
		t.Errorf("a failed stream stays failed: %v", err2)
	}
}

// FuzzWSStream: any input, cut anywhere, never panics, keeps memory
// bounded, and parses the same items whole or cut in two.
func FuzzWSStream(f *testing.F) {
	f.Add([]byte(testRequest+"\x81\x84\x01\x02\x03\x04uguw"), 5, true)
	f.Add([]byte(testResponse+"\x89\x01p\x88\x02\x03\xe8"), 3, false)
	seeds, _ := filepath.Glob("testdata/wsstream/*")
	for _, s := range seeds {
		if b, err := os.ReadFile(s); err == nil {
			f.Add(b, 1, true)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte, cut int, request bool) {
		whole, errWhole := NewStream(request, 64).Feed(b)
		if cut < 0 {
			cut = -cut
		}
		if len(b) > 0 {
			cut %= len(b) + 1
		} else {
			cut = 0
		}
		s := NewStream(request, 64)
		parts, err1 := s.Feed(b[:cut])
		if err1 == nil {
			more, err2 := s.Feed(b[cut:])
			parts = append(parts, more...)
			err1 = err2
		}
		if (errWhole == nil) != (err1 == nil) || len(whole) != len(parts) {
			t.Fatalf("whole: %d items, %v; cut at %d: %d items, %v", len(whole), errWhole, cut, len(parts), err1)
		}
		for i := range whole {
			if whole[i].Header != parts[i].Header || !bytes.Equal(whole[i].Payload, parts[i].Payload) || len(whole[i].Payload) > 64 {
				t.Fatalf("item %d differs", i)
			}
		}
	})
}

// BenchmarkWSStream parses masked 1 KiB binary frames, as the tap does for
// a client's traffic.
func BenchmarkWSStream(b *testing.B) {
	payload := bytes.Repeat([]byte("x"), 1024)
	frame := wsWire(Header{Fin: true, Opcode: OpBinary, Masked: true, MaskKey: [4]byte{1, 2, 3, 4}}, payload)
	wire := bytes.Repeat(frame, 64)
	b.SetBytes(int64(len(wire)))
	s := NewStream(true, 0)
	if _, err := s.Feed([]byte(testRequest)); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		for off := 0; off < len(wire); off += 4096 {
			if _, err := s.Feed(wire[off:min(off+4096, len(wire))]); err != nil {
				b.Fatal(err)
			}
		}
	}
}
