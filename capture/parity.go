package capture

import (
	"encoding/binary"
	"fmt"
	"sync"

	"github.com/klauspost/reedsolomon"
)

// Parity blocks (type 3) hold Reed-Solomon parity for the data block right
// before them, so that a flipped bit or a zeroed 4 KiB page in a large
// compressed block costs nothing: the reader rebuilds the block. The
// protected region is the whole data block, header included (48 + S
// bytes), cut into k shards of sh bytes counted from its end (the first
// one zero-padded in front, so that the region's end is a shard boundary
// and a page across it takes no more shards than one inside it); the
// parity block's payload is
//
//	m parity shards | (k+m) × u32 CRC-32C of each shard | footer
//
// and the footer (parityFooterSize bytes) is a copy of the data block's
// header without its sync marker (so that resynchronisation never takes
// it for a block), then u32 L (the region's length), u32 sh, u16 k, u16 m and the
// u32 CRC-32C of the CRC table and the footer before it. The footer sits at
// the end so that a reader whose parity block header was destroyed (a
// zeroed page across the two blocks' boundary) still finds it, from the
// next valid block header backwards. The shard CRCs tell the reader which
// shards are bad (Reed-Solomon needs to know where the erasures are).
// Older readers skip the block as an unknown type.
const (
	parityFooterSize = blockHeaderSize - 8 + 4 + 4 + 2 + 2 + 4
	pageSize         = 4096 // what storage loses at once
	maxShards        = 256  // GF(2^8)
)

// parityLayout is how a region of L bytes is cut.
type parityLayout struct {
	L, sh, k, m int
}

func (p parityLayout) size() int { return p.m*p.sh + 4*(p.k+p.m) + parityFooterSize }

// chooseParity picks the cheapest layout that rebuilds a region of L bytes
// after a zeroed 4 KiB page anywhere in it (any ceil(4096/sh)+1 shards
// lost), when that costs at most an eighth of L; otherwise the cheapest
// that survives a flipped bit or two (two shards).
func chooseParity(L int) parityLayout {
	// For m parity shards, a page takes at most m-1 full shards plus one
	// partial one when sh >= 4096/(m-1); k+m <= 256 bounds sh from below.
	var page, flip parityLayout
	for m := 2; m <= 64; m++ {
		// Building an encoder inverts a k×k matrix (20-70 ms at k≈250,
		// once per distinct k, cached), so k is rounded down to a
		// multiple of 16 past 32 shards: the 0.3-1 MB blocks of a
		// compacted file share one or two encoders instead of one per
		// size, for shards at most 7% longer (parity is about 0.8% of
		// such a block). Past about 1 MB the second term wins and k is
		// maxShards-m whatever the size.
		sh := max((pageSize+m-2)/(m-1), (L+maxShards-m-1)/(maxShards-m), 1)
		if k := (L + sh - 1) / sh; k >= 32 && k%16 != 0 && k+m <= maxShards {
			sh = (L + k&^15 - 1) / (k &^ 15)
		}
		p := parityLayout{L: L, sh: sh, k: (L + sh - 1) / sh, m: m}
		if p.k+p.m > maxShards {
			continue
		}
		if page.sh == 0 || p.size() < page.size() {
			page = p
		}
	}
	if page.sh != 0 && page.size()-parityFooterSize <= L/8 {
		return page
	}
	// Too small for that to pay: survive a flipped bit or two. Fewer,
	// larger shards cost parity bytes, more cost CRCs.
	for sh := 8; ; sh += 8 {
		p := parityLayout{L: L, sh: sh, k: (L + sh - 1) / sh, m: 2}
		if p.k+p.m > maxShards {
			continue
		}
		if flip.sh != 0 && p.size() > flip.size() {
			return flip
		}
		flip = p
		if p.k == 1 {
			return flip
		}
	}
}

var rsCache sync.Map // [2]int{k, m} -> reedsolomon.Encoder

func rsCodec(k, m int) (reedsolomon.Encoder, error) {
	key := [2]int{k, m}
	if e, ok := rsCache.Load(key); ok {
		return e.(reedsolomon.Encoder), nil
	}
	e, err := reedsolomon.New(k, m)
	if err != nil {
		return nil, err
	}
	rsCache.Store(key, e)
	return e, nil
}

// shardsOf cuts region into k shards of sh bytes counted from its end,
// padding the first in front into pad (which it returns, for reuse).
func shardsOf(region []byte, p parityLayout, pad []byte) ([][]byte, []byte) {
	shards := make([][]byte, p.k+p.m)
	for i := range p.k {
		lo, hi := shardRange(p, len(region), i)
		if hi-lo == p.sh {
			shards[i] = region[lo:hi:hi]
			continue
		}
		pad = append(pad[:0], make([]byte, p.sh-(hi-lo))...)
		pad = append(pad, region[lo:hi]...)
		shards[i] = pad
	}
	return shards, pad
}

// shardRange is where data shard i sits in a region of n bytes.
func shardRange(p parityLayout, n, i int) (lo, hi int) {
	hi = n - (p.k-1-i)*p.sh
	return max(hi-p.sh, 0), hi
}

// appendParity appends the payload of the parity block for region (a
// whole data block, header included) to dst.
func appendParity(dst, region []byte) ([]byte, error) {
	p := chooseParity(len(region))
	enc, err := rsCodec(p.k, p.m)
	if err != nil {
		return dst, fmt.Errorf("parity for %d bytes: %w", len(region), err)
	}
	shards, _ := shardsOf(region, p, nil)
	start := len(dst)
	dst = append(dst, make([]byte, p.m*p.sh)...)
	for i := range p.m {
		shards[p.k+i] = dst[start+i*p.sh : start+(i+1)*p.sh]
	}
	if err := enc.Encode(shards); err != nil {
		return dst[:start], fmt.Errorf("parity for %d bytes: %w", len(region), err)
	}
	tab := len(dst)
	for _, s := range shards {
		dst = binary.LittleEndian.AppendUint32(dst, crc32c(s))
	}
	dst = append(dst, region[8:blockHeaderSize]...)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(p.L))
	dst = binary.LittleEndian.AppendUint32(dst, uint32(p.sh))
	dst = binary.LittleEndian.AppendUint16(dst, uint16(p.k))
	dst = binary.LittleEndian.AppendUint16(dst, uint16(p.m))
	return binary.LittleEndian.AppendUint32(dst, crc32c(dst[tab:])), nil
}

// parityInfo is a parsed parity payload.
type parityInfo struct {
	parityLayout
	hdr    []byte // copy of the protected block's header, sync marker included
	crcs   []byte // (k+m) × u32
	shards []byte // m × sh parity bytes
}

// parseParity reads the parity payload that ends exactly at the end of b
// (b may hold more before it). It returns the payload's length too.
func parseParity(b []byte, maxRegion int) (parityInfo, int, bool) {
	var pi parityInfo
	if len(b) < parityFooterSize {
		return pi, 0, false
	}
	f := b[len(b)-parityFooterSize:]
	pi.hdr = append(syncMarker[:len(syncMarker):len(syncMarker)], f[:blockHeaderSize-8]...)
	q := f[blockHeaderSize-8:]
	pi.L = int(binary.LittleEndian.Uint32(q))
	pi.sh = int(binary.LittleEndian.Uint32(q[4:]))
	pi.k = int(binary.LittleEndian.Uint16(q[8:]))
	pi.m = int(binary.LittleEndian.Uint16(q[10:]))
	if pi.k < 1 || pi.m < 1 || pi.k+pi.m > maxShards || pi.sh < 1 || pi.L > maxRegion ||
		pi.L > pi.k*pi.sh || pi.L <= (pi.k-1)*pi.sh {
		return pi, 0, false
	}
	n := pi.size()
	if n > len(b) {
		return pi, 0, false
	}
	p := b[len(b)-n:]
	tab := pi.m * pi.sh
	if crc32c(p[tab:n-4]) != binary.LittleEndian.Uint32(p[n-4:]) {
		return pi, 0, false
	}
	pi.shards = p[:tab]
	pi.crcs = p[tab : tab+4*(pi.k+pi.m)]
	return pi, n, true
}

// rebuild repairs region (the protected block as found, possibly with
// damaged bytes; exactly pi.L bytes) in place from the parity. It reports
// whether every shard is now correct.
func (pi *parityInfo) rebuild(region []byte) bool {
	if len(region) != pi.L {
		return false
	}
	shards, pad := shardsOf(region, pi.parityLayout, nil)
	for i := range pi.m {
		shards[pi.k+i] = pi.shards[i*pi.sh : (i+1)*pi.sh]
	}
	bad := 0
	for i, s := range shards {
		if crc32c(s) != binary.LittleEndian.Uint32(pi.crcs[4*i:]) {
			shards[i] = nil
			bad++
		}
	}
	if bad == 0 {
		return true
	}
	if bad > pi.m {
		return false
	}
	enc, err := rsCodec(pi.k, pi.m)
	if err != nil || enc.ReconstructData(shards) != nil {
		return false
	}
	for i := range pi.k {
		if crc32c(shards[i]) != binary.LittleEndian.Uint32(pi.crcs[4*i:]) {
			return false
		}
		lo, hi := shardRange(pi.parityLayout, len(region), i)
		copy(region[lo:hi], shards[i][pi.sh-(hi-lo):])
	}
	_ = pad
	return true
}
