package capture

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
)

// deflateEnds walks the raw deflate stream s (RFC 1951) without
// decompressing it and returns, for each of the ascending raw offsets in
// targets, the number of bytes of s that an inflater needs to produce at
// least that many bytes: the bytes up to the end of the symbol that
// carries the target's last byte. A prefix of s that long decodes to
// those bytes, whatever follows it, so a writer can cut s into segments
// that each complete a range of records (codecChunks, chunks.go) without
// ending a deflate block, which would cost a new set of Huffman tables
// each time.
//
// The walk follows RFC 1951 §3.2: block headers, stored blocks, the fixed
// and the dynamic codes; it counts each literal as one byte and each
// match as its length.
func deflateEnds(s []byte, targets []int) ([]int, error) {
	w := deflateWalker{s: s}
	ends := make([]int, 0, len(targets))
	out := 0
	next := func() { // records every target out now reaches
		for len(ends) < len(targets) && targets[len(ends)] <= out {
			ends = append(ends, (w.pos+7)/8)
		}
	}
	next()
	var lit, dist huffTable
	for final := false; !final; {
		hdr, err := w.bits(3)
		if err != nil {
			return nil, err
		}
		final = hdr&1 == 1
		switch hdr >> 1 {
		case 0: // stored: LEN, NLEN, then LEN bytes (§3.2.4)
			w.pos = (w.pos + 7) &^ 7
			v, err := w.bits(32)
			if err != nil {
				return nil, err
			}
			n := int(v & 0xffff)
			if n != int(^v>>16&0xffff) {
				return nil, errors.New("deflate: stored block length check")
			}
			if w.pos/8+n > len(s) {
				return nil, errDeflateShort
			}
			for n > 0 { // the targets inside the block end at their byte
				step := n
				if len(ends) < len(targets) {
					step = min(step, targets[len(ends)]-out)
				}
				out += step
				w.pos += 8 * step
				n -= step
				next()
			}
			continue
		case 1:
			lit, dist = fixedLit, fixedDist
		case 2:
			if lit, dist, err = w.dynamicTables(); err != nil {
				return nil, err
			}
		default:
			return nil, errors.New("deflate: reserved block type")
		}
		for {
			sym, err := w.decode(&lit)
			if err != nil {
				return nil, err
			}
			if sym < 256 {
				out++
				next()
				continue
			}
			if sym == 256 {
				break
			}
			sym -= 257
			if sym >= len(lengthBase) {
				return nil, errors.New("deflate: bad length symbol")
			}
			extra, err := w.bits(uint(lengthExtra[sym]))
			if err != nil {
				return nil, err
			}
			length := int(lengthBase[sym]) + int(extra)
			d, err := w.decode(&dist)
			if err != nil {
				return nil, err
			}
			if d >= len(distExtra) {
				return nil, errors.New("deflate: bad distance symbol")
			}
			if _, err := w.bits(uint(distExtra[d])); err != nil {
				return nil, err
			}
			out += length
			next()
		}
	}
	if len(ends) < len(targets) {
		return nil, fmt.Errorf("deflate: stream of %d bytes ends before offset %d", out, targets[len(ends)])
	}
	return ends, nil
}

var errDeflateShort = errors.New("deflate: stream ends early")

// deflateWalker reads s bit by bit, least significant bit first.
type deflateWalker struct {
	s   []byte
	pos int // in bits
}

func (w *deflateWalker) bits(n uint) (uint32, error) {
	if n == 0 {
		return 0, nil
	}
	if w.pos+int(n) > 8*len(w.s) {
		return 0, errDeflateShort
	}
	v := w.peek()
	w.pos += int(n)
	return uint32(v & (1<<n - 1)), nil
}

// peek returns the next bits (at least 32 of them when the stream has
// them; zero bits past its end).
func (w *deflateWalker) peek() uint64 {
	i, sh := w.pos/8, uint(w.pos%8)
	if i+8 <= len(w.s) {
		return binary.LittleEndian.Uint64(w.s[i:]) >> sh
	}
	var v uint64
	for k := 0; k < 8 && i+k < len(w.s); k++ {
		v |= uint64(w.s[i+k]) << (8 * k)
	}
	return v >> sh
}

// huffTable decodes one canonical Huffman code: entry[bits] holds the
// symbol and code length of the code the next max bits start with.
type huffTable struct {
	max   uint
	entry []uint32 // symbol<<4 | length; 0 for no code
}

func (w *deflateWalker) decode(h *huffTable) (int, error) {
	if h.max == 0 {
		return 0, errors.New("deflate: symbol from an empty code")
	}
	e := h.entry[w.peek()&(1<<h.max-1)]
	n := int(e & 15)
	if n == 0 {
		return 0, errors.New("deflate: invalid code")
	}
	if w.pos+n > 8*len(w.s) {
		return 0, errDeflateShort
	}
	w.pos += n
	return int(e >> 4), nil
}

// newHuffTable builds the decoding table for the code lengths (§3.2.2).
func newHuffTable(lengths []uint8) (huffTable, error) {
	var count [16]int
	var maxLen uint
	for _, l := range lengths {
		count[l]++
		if l > 0 {
			maxLen = max(maxLen, uint(l))
		}
	}
	h := huffTable{max: maxLen}
	if maxLen == 0 {
		return h, nil
	}
	var next [16]int
	code := 0
	count[0] = 0
	for l := 1; l < 16; l++ {
		code = (code + count[l-1]) << 1
		next[l] = code
		if code+count[l] > 1<<l {
			return h, errors.New("deflate: over-subscribed code")
		}
	}
	h.entry = make([]uint32, 1<<maxLen)
	for sym, l := range lengths {
		if l == 0 {
			continue
		}
		c := next[l]
		next[l]++
		rev := int(bits.Reverse16(uint16(c)) >> (16 - l))
		for x := rev; x < len(h.entry); x += 1 << l {
			h.entry[x] = uint32(sym)<<4 | uint32(l)
		}
	}
	return h, nil
}

// codeLengthOrder is the order of the code length code lengths (§3.2.7).
var codeLengthOrder = [19]int{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}

func (w *deflateWalker) dynamicTables() (lit, dist huffTable, err error) {
	v, err := w.bits(14)
	if err != nil {
		return lit, dist, err
	}
	nlit, ndist, nclen := int(v&31)+257, int(v>>5&31)+1, int(v>>10)+4
	if nlit > 286 || ndist > 30 {
		return lit, dist, errors.New("deflate: too many codes")
	}
	var clen [19]uint8
	for i := range nclen {
		l, err := w.bits(3)
		if err != nil {
			return lit, dist, err
		}
		clen[codeLengthOrder[i]] = uint8(l)
	}
	ct, err := newHuffTable(clen[:])
	if err != nil {
		return lit, dist, err
	}
	lengths := make([]uint8, nlit+ndist)
	for i := 0; i < len(lengths); {
		sym, err := w.decode(&ct)
		if err != nil {
			return lit, dist, err
		}
		var rep int
		var val uint8
		switch {
		case sym < 16:
			lengths[i] = uint8(sym)
			i++
			continue
		case sym == 16:
			if i == 0 {
				return lit, dist, errors.New("deflate: repeat with no length")
			}
			r, err := w.bits(2)
			if err != nil {
				return lit, dist, err
			}
			rep, val = 3+int(r), lengths[i-1]
		case sym == 17:
			r, err := w.bits(3)
			if err != nil {
				return lit, dist, err
			}
			rep = 3 + int(r)
		default:
			r, err := w.bits(7)
			if err != nil {
				return lit, dist, err
			}
			rep = 11 + int(r)
		}
		if i+rep > len(lengths) {
			return lit, dist, errors.New("deflate: code lengths overrun")
		}
		for range rep {
			lengths[i] = val
			i++
		}
	}
	if lit, err = newHuffTable(lengths[:nlit]); err != nil {
		return lit, dist, err
	}
	dist, err = newHuffTable(lengths[nlit:])
	return lit, dist, err
}

// The length and distance symbols' bases and extra bits (§3.2.5).
var (
	lengthBase = [29]uint16{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31,
		35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
	lengthExtra = [29]uint8{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
	distExtra   = [30]uint8{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13}
)

// The fixed codes (§3.2.6).
var fixedLit, fixedDist = func() (huffTable, huffTable) {
	var l [288]uint8
	for i := range l {
		switch {
		case i < 144:
			l[i] = 8
		case i < 256:
			l[i] = 9
		case i < 280:
			l[i] = 7
		default:
			l[i] = 8
		}
	}
	var d [30]uint8
	for i := range d {
		d[i] = 5
	}
	lit, _ := newHuffTable(l[:])
	dist, _ := newHuffTable(d[:])
	return lit, dist
}()
