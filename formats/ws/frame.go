package ws

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// WebSocket opcodes (RFC 6455 §5.2). Values 3..7 and 11..15 are reserved but
// can be put on the wire, and ESP-AT's AT+WSSEND lets the host do so.
const (
	OpCont   uint8 = 0
	OpText   uint8 = 1
	OpBinary uint8 = 2
	OpClose  uint8 = 8
	OpPing   uint8 = 9
	OpPong   uint8 = 10
)

// Errors returned by ParseHeader.
var (
	// ErrShort: b holds only part of a header; call again with more bytes.
	// It is not wrapped, so callers may compare with ==.
	ErrShort = errors.New("websocket frame header: need more bytes")
	// ErrLength: the 64-bit extended length has its most significant bit
	// set, which RFC 6455 forbids.
	ErrLength = errors.New("websocket frame header: payload length too large")
)

// Header is the header of one WebSocket frame as it is on the wire.
type Header struct {
	Fin     bool
	Rsv     uint8 // RSV1..RSV3 as bits 2..0
	Opcode  uint8 // 0..15
	Masked  bool
	MaskKey [4]byte // meaningful when Masked
	Length  uint64  // payload length
}

// Control reports whether the opcode is a control opcode (8..15).
func (h Header) Control() bool { return h.Opcode >= 8 }

// String is a short description such as "text fin len=4".
func (h Header) String() string {
	s := fmt.Sprintf("op=%d", h.Opcode)
	if h.Fin {
		s += " fin"
	}
	if h.Masked {
		s += " masked"
	}
	return fmt.Sprintf("%s len=%d", s, h.Length)
}

// HeaderLen returns the size of the header that AppendHeader writes for h:
// 2 to 14 bytes.
func HeaderLen(h Header) int {
	n := 2
	switch {
	case h.Length > 0xFFFF:
		n += 8
	case h.Length > 125:
		n += 2
	}
	if h.Masked {
		n += 4
	}
	return n
}

// AppendHeader appends h in wire form to dst, choosing the shortest length
// encoding. Opcode and Rsv are truncated to their 4 and 3 bits.
func AppendHeader(dst []byte, h Header) []byte {
	b0 := h.Opcode&0x0F | (h.Rsv&0x07)<<4
	if h.Fin {
		b0 |= 0x80
	}
	var b1 byte
	if h.Masked {
		b1 = 0x80
	}
	switch {
	case h.Length > 0xFFFF:
		dst = append(dst, b0, b1|127)
		dst = binary.BigEndian.AppendUint64(dst, h.Length)
	case h.Length > 125:
		dst = append(dst, b0, b1|126)
		dst = binary.BigEndian.AppendUint16(dst, uint16(h.Length))
	default:
		dst = append(dst, b0, b1|byte(h.Length))
	}
	if h.Masked {
		dst = append(dst, h.MaskKey[:]...)
	}
	return dst
}

// ParseHeader decodes the frame header at the start of b and returns it
// with its size in bytes. It returns ErrShort when b ends inside the
// header, and ErrLength for a 64-bit length with the top bit set.
// Non-minimal length encodings are accepted, as most peers do.
func ParseHeader(b []byte) (Header, int, error) {
	var h Header
	if len(b) < 2 {
		return h, 0, ErrShort
	}
	h.Fin = b[0]&0x80 != 0
	h.Rsv = (b[0] >> 4) & 0x07
	h.Opcode = b[0] & 0x0F
	h.Masked = b[1]&0x80 != 0
	n := 2
	switch l := b[1] & 0x7F; l {
	case 126:
		if len(b) < 4 {
			return h, 0, ErrShort
		}
		h.Length = uint64(binary.BigEndian.Uint16(b[2:4]))
		n = 4
	case 127:
		if len(b) < 10 {
			return h, 0, ErrShort
		}
		h.Length = binary.BigEndian.Uint64(b[2:10])
		if h.Length>>63 != 0 {
			return h, 0, ErrLength
		}
		n = 10
	default:
		h.Length = uint64(l)
	}
	if h.Masked {
		if len(b) < n+4 {
			return h, 0, ErrShort
		}
		copy(h.MaskKey[:], b[n:n+4])
		n += 4
	}
	return h, n, nil
}

// Mask XORs b in place with key, b being the payload bytes that start at
// offset pos of the frame's payload. Masking twice restores the bytes.
func Mask(key [4]byte, pos uint64, b []byte) {
	k := int(pos & 3)
	for i := range b {
		b[i] ^= key[k]
		k = (k + 1) & 3
	}
}
