package capture

import (
	"encoding/binary"
	"hash/crc32"
)

// FormatVersion is the major format version this package writes and the
// newest it reads. A reader rejects a file with a higher major version
// (ErrVersion) and accepts any minor version: minor versions only add things
// older readers can skip (record kinds, fields, block types).
const FormatVersion = 1

// FormatMinor is the minor format version this package writes.
const FormatMinor = 3

// Byte layout constants; docs/capture-format.md is the normative description.
const (
	fileHeaderSize  = 20 // magic, major, minor, body length, CRC
	blockHeaderSize = 48
	trailerSize     = 24
)

var (
	fileMagic    = [8]byte{0x89, 'A', 'T', 'C', 'A', 'P', '\r', '\n'}
	syncMarker   = [8]byte{0xA7, 'A', 'T', 'C', 'B', 'L', 'K', '\n'}
	trailerMagic = [8]byte{0x89, 'A', 'T', 'C', 'E', 'N', 'D', '\n'}
)

// Block types.
const (
	blockData   = 1 // records
	blockIndex  = 2 // the seek index, written once by Close
	blockParity = 3 // Reed-Solomon parity of the data block before it (parity.go)
	// blockHeaderCopy holds a copy of the file header (magic to body), in
	// the block right after it, so that one damaged byte cannot take both.
	blockHeaderCopy = 4
	// blockPad fills the rest of a 4 KiB page of a live recording (zero
	// bytes), so that no page holds much more than a second of traffic;
	// readers skip it, compaction drops it.
	blockPad = 5
)

// recordless reports whether a block of type typ sits among the data
// blocks without records of its own, so that a walk over the data blocks
// steps over it.
func recordless(typ uint8) bool {
	return typ == blockParity || typ == blockHeaderCopy || typ == blockPad
}

// Block codecs.
const (
	codecStored = 0
	codecZstd   = 1
	// codecColumns: each column a zstd stream of its own, cut into
	// sub-frames that a reader can decode up to a cut (subframes.go).
	codecColumns = 2
	// codecChunks: each column a deflate stream of its own, cut into
	// chunks of a second of traffic that a reader can decode up to a
	// cut (chunks.go). Written since format 1.3, in place of codec 2.
	codecChunks = 3
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func crc32c(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }

// blockHeader is the fixed 48-byte header in front of every block.
type blockHeader struct {
	typ       uint8
	codec     uint8
	flags     uint16 // reserved, written 0, ignored by readers
	storedLen uint32 // payload bytes that follow in the file
	rawLen    uint32 // payload bytes after decompression
	records   uint32
	firstTime int64
	lastTime  int64
	crc       uint32 // CRC-32C of the stored payload
}

func (h *blockHeader) put(b []byte) {
	_ = b[blockHeaderSize-1]
	copy(b, syncMarker[:])
	b[8] = h.typ
	b[9] = h.codec
	binary.LittleEndian.PutUint16(b[10:], h.flags)
	binary.LittleEndian.PutUint32(b[12:], h.storedLen)
	binary.LittleEndian.PutUint32(b[16:], h.rawLen)
	binary.LittleEndian.PutUint32(b[20:], h.records)
	binary.LittleEndian.PutUint64(b[24:], uint64(h.firstTime))
	binary.LittleEndian.PutUint64(b[32:], uint64(h.lastTime))
	binary.LittleEndian.PutUint32(b[40:], h.crc)
	binary.LittleEndian.PutUint32(b[44:], crc32c(b[:44]))
}

// parseBlockHeader decodes b (at least blockHeaderSize bytes) and reports
// whether it is a valid header: sync marker present and header CRC correct.
func parseBlockHeader(b []byte) (blockHeader, bool) {
	var h blockHeader
	if len(b) < blockHeaderSize || [8]byte(b[:8]) != syncMarker {
		return h, false
	}
	if binary.LittleEndian.Uint32(b[44:]) != crc32c(b[:44]) {
		return h, false
	}
	h.typ = b[8]
	h.codec = b[9]
	h.flags = binary.LittleEndian.Uint16(b[10:])
	h.storedLen = binary.LittleEndian.Uint32(b[12:])
	h.rawLen = binary.LittleEndian.Uint32(b[16:])
	h.records = binary.LittleEndian.Uint32(b[20:])
	h.firstTime = int64(binary.LittleEndian.Uint64(b[24:]))
	h.lastTime = int64(binary.LittleEndian.Uint64(b[32:]))
	h.crc = binary.LittleEndian.Uint32(b[40:])
	return h, true
}

// putTrailer writes the fixed 24-byte trailer that points at the index block.
func putTrailer(b []byte, indexOff int64, indexLen uint32) {
	binary.LittleEndian.PutUint64(b[0:], uint64(indexOff))
	binary.LittleEndian.PutUint32(b[8:], indexLen)
	binary.LittleEndian.PutUint32(b[12:], crc32c(b[:12]))
	copy(b[16:], trailerMagic[:])
}

func parseTrailer(b []byte) (indexOff int64, indexLen uint32, ok bool) {
	if len(b) < trailerSize || [8]byte(b[16:24]) != trailerMagic {
		return 0, 0, false
	}
	if binary.LittleEndian.Uint32(b[12:]) != crc32c(b[:12]) {
		return 0, 0, false
	}
	return int64(binary.LittleEndian.Uint64(b[0:])), binary.LittleEndian.Uint32(b[8:]), true
}
