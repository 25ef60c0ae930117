package ws

import (
	"bytes"
	"testing"
)

func TestWSHeaderRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		h    Header
		wire []byte
	}{
		{"text fin 4", Header{Fin: true, Opcode: OpText, Length: 4}, []byte{0x81, 0x04}},
		{"cont no fin", Header{Opcode: OpCont, Length: 0}, []byte{0x00, 0x00}},
		{"binary 126", Header{Fin: true, Opcode: OpBinary, Length: 126}, []byte{0x82, 126, 0x00, 126}},
		{"binary 65535", Header{Opcode: OpBinary, Length: 65535}, []byte{0x02, 126, 0xFF, 0xFF}},
		{"64-bit", Header{Fin: true, Opcode: OpBinary, Length: 65536}, []byte{0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0}},
		{"masked ping", Header{Fin: true, Opcode: OpPing, Masked: true, MaskKey: [4]byte{1, 2, 3, 4}}, []byte{0x89, 0x80, 1, 2, 3, 4}},
		{"rsv and raw opcode", Header{Fin: true, Rsv: 5, Opcode: 15, Length: 1}, []byte{0xDF, 0x01}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := AppendHeader(nil, tt.h)
			if !bytes.Equal(got, tt.wire) {
				t.Fatalf("AppendWSHeader = % x, want % x", got, tt.wire)
			}
			if HeaderLen(tt.h) != len(tt.wire) {
				t.Fatalf("WSHeaderLen = %d, want %d", HeaderLen(tt.h), len(tt.wire))
			}
			h, n, err := ParseHeader(append(tt.wire, 0xAA))
			if err != nil || n != len(tt.wire) || h != tt.h {
				t.Fatalf("ParseWSHeader = %+v, %d, %v; want %+v, %d", h, n, err, tt.h, len(tt.wire))
			}
			for i := 0; i < len(tt.wire); i++ {
				if _, _, err := ParseHeader(tt.wire[:i]); err != ErrShort {
					t.Fatalf("prefix %d: err = %v, want ErrWSShort", i, err)
				}
			}
		})
	}
}

func TestWSHeaderBadLength(t *testing.T) {
	_, _, err := ParseHeader([]byte{0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 0})
	if err != ErrLength {
		t.Fatalf("err = %v, want ErrWSLength", err)
	}
}

func TestMaskWS(t *testing.T) {
	key := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	msg := []byte("Hello") // RFC 6455 §5.7 example
	b := append([]byte(nil), msg...)
	Mask(key, 0, b)
	if want := []byte{0x7f, 0x9f, 0x4d, 0x51, 0x58}; !bytes.Equal(b, want) {
		t.Fatalf("masked = % x, want % x", b, want)
	}
	// Unmasking piecewise at offsets gives the same result as at once.
	Mask(key, 0, b[:2])
	Mask(key, 2, b[2:])
	if !bytes.Equal(b, msg) {
		t.Fatalf("unmasked = %q", b)
	}
}

func FuzzParseWSHeader(f *testing.F) {
	f.Add([]byte{0x81, 0x04})
	f.Add([]byte{0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0})
	f.Add([]byte{0x89, 0x80, 1, 2, 3, 4})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, n, err := ParseHeader(b)
		if err != nil {
			return
		}
		if n > len(b) || n < 2 {
			t.Fatalf("n = %d of %d", n, len(b))
		}
		// Re-encoding gives a header no longer than the input's and that
		// parses to the same value (the input may use a longer encoding).
		w := AppendHeader(nil, h)
		if len(w) > n {
			t.Fatalf("re-encoded %d bytes > %d", len(w), n)
		}
		h2, n2, err := ParseHeader(w)
		if err != nil || n2 != len(w) || h2 != h {
			t.Fatalf("round trip: %+v %d %v vs %+v", h2, n2, err, h)
		}
	})
}
