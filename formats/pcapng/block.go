package pcapng

import (
	"encoding/binary"
	"io"
)

// This file writes the pcapng blocks (draft-ietf-opsawg-pcapng) and classic
// pcap records the exporter needs. gopacket's pcapgo is not used for them:
// its v1.1.19 NgWriter writes Enhanced Packet Blocks without options (no
// packet comment, no direction flag), and on Linux the package pulls in
// golang.org/x/net for BPF, which atbridge does not otherwise need.

// Link types (https://www.tcpdump.org/linktypes.html).
const (
	linkEthernet   uint16 = 1
	linkRTACSerial uint16 = 250
	linkUpperPDU   uint16 = 252
)

// pcapng block types and option codes.
const (
	blockSHB = 0x0A0D0D0A
	blockIDB = 0x00000001
	blockEPB = 0x00000006

	optEnd      = 0
	optComment  = 1
	shbHardware = 2
	shbOS       = 3
	shbUserAppl = 4
	ifName      = 2
	ifDesc      = 3
	ifTSResol   = 9
	epbFlags    = 2

	// epb_flags direction bits: 01 inbound, 10 outbound.
	epbInbound  = 1
	epbOutbound = 2
)

// pcapngSnapLen is the snapshot length written in every IDB; packets are
// never cut, so it only has to be at least the longest packet. 0 means "no
// limit" in pcapng.
const pcapngSnapLen = 0

// blockWriter appends pcapng blocks to a reused buffer and hands them to w.
type blockWriter struct {
	w   io.Writer
	buf []byte
	err error
	n   int64 // bytes written
}

func (b *blockWriter) write(p []byte) {
	if b.err != nil {
		return
	}
	var n int
	n, b.err = b.w.Write(p)
	b.n += int64(n)
}

// opt appends one option (code, length, value padded to 4 bytes).
func appendOpt(dst []byte, code uint16, val []byte) []byte {
	dst = binary.LittleEndian.AppendUint16(dst, code)
	dst = binary.LittleEndian.AppendUint16(dst, uint16(len(val)))
	dst = append(dst, val...)
	return appendPad(dst, len(val))
}

func appendOptString(dst []byte, code uint16, s string) []byte {
	if s == "" {
		return dst
	}
	if len(s) > 0xFFF0 {
		s = s[:0xFFF0]
	}
	dst = binary.LittleEndian.AppendUint16(dst, code)
	dst = binary.LittleEndian.AppendUint16(dst, uint16(len(s)))
	dst = append(dst, s...)
	return appendPad(dst, len(s))
}

func appendPad(dst []byte, n int) []byte {
	for n%4 != 0 {
		dst = append(dst, 0)
		n++
	}
	return dst
}

// begin starts a block of type typ in b.buf; end fills in both lengths.
func (b *blockWriter) begin(typ uint32) {
	b.buf = binary.LittleEndian.AppendUint32(b.buf[:0], typ)
	b.buf = append(b.buf, 0, 0, 0, 0)
}

func (b *blockWriter) end(hadOpts bool) {
	if hadOpts {
		b.buf = append(b.buf, 0, 0, 0, 0) // opt_endofopt
	}
	total := uint32(len(b.buf) + 4)
	binary.LittleEndian.PutUint32(b.buf[4:8], total)
	b.buf = binary.LittleEndian.AppendUint32(b.buf, total)
	b.write(b.buf)
}

// section writes a Section Header Block.
func (b *blockWriter) section(hardware, os, appl, comment string) {
	b.begin(blockSHB)
	b.buf = binary.LittleEndian.AppendUint32(b.buf, 0x1A2B3C4D)
	b.buf = binary.LittleEndian.AppendUint16(b.buf, 1)
	b.buf = binary.LittleEndian.AppendUint16(b.buf, 0)
	b.buf = binary.LittleEndian.AppendUint64(b.buf, ^uint64(0)) // section length unknown
	n := len(b.buf)
	b.buf = appendOptString(b.buf, optComment, comment)
	b.buf = appendOptString(b.buf, shbHardware, hardware)
	b.buf = appendOptString(b.buf, shbOS, os)
	b.buf = appendOptString(b.buf, shbUserAppl, appl)
	b.end(len(b.buf) > n)
}

// iface writes an Interface Description Block with nanosecond timestamps.
func (b *blockWriter) iface(link uint16, name, desc, comment string) {
	b.begin(blockIDB)
	b.buf = binary.LittleEndian.AppendUint16(b.buf, link)
	b.buf = append(b.buf, 0, 0)
	b.buf = binary.LittleEndian.AppendUint32(b.buf, pcapngSnapLen)
	b.buf = appendOptString(b.buf, optComment, comment)
	b.buf = appendOptString(b.buf, ifName, name)
	b.buf = appendOptString(b.buf, ifDesc, desc)
	b.buf = appendOpt(b.buf, ifTSResol, []byte{9})
	b.end(true)
}

// packet writes an Enhanced Packet Block: ts is nanoseconds since the Unix
// epoch, flags the epb_flags value (0: none), comment an opt_comment.
func (b *blockWriter) packet(ifc uint32, ts uint64, data []byte, flags uint32, comment string) {
	b.begin(blockEPB)
	b.buf = binary.LittleEndian.AppendUint32(b.buf, ifc)
	b.buf = binary.LittleEndian.AppendUint32(b.buf, uint32(ts>>32))
	b.buf = binary.LittleEndian.AppendUint32(b.buf, uint32(ts))
	b.buf = binary.LittleEndian.AppendUint32(b.buf, uint32(len(data)))
	b.buf = binary.LittleEndian.AppendUint32(b.buf, uint32(len(data)))
	b.buf = append(b.buf, data...)
	b.buf = appendPad(b.buf, len(data))
	n := len(b.buf)
	b.buf = appendOptString(b.buf, optComment, comment)
	if flags != 0 {
		b.buf = appendOpt(b.buf, epbFlags, binary.LittleEndian.AppendUint32(nil, flags))
	}
	b.end(len(b.buf) > n)
}

// pcapHeader writes a classic pcap file header with nanosecond timestamps.
func (b *blockWriter) pcapHeader(link uint16) {
	b.buf = binary.LittleEndian.AppendUint32(b.buf[:0], 0xA1B23C4D) // nanosecond magic
	b.buf = binary.LittleEndian.AppendUint16(b.buf, 2)
	b.buf = binary.LittleEndian.AppendUint16(b.buf, 4)
	b.buf = binary.LittleEndian.AppendUint32(b.buf, 0) // thiszone
	b.buf = binary.LittleEndian.AppendUint32(b.buf, 0) // sigfigs
	b.buf = binary.LittleEndian.AppendUint32(b.buf, 0x0FFFFFFF)
	b.buf = binary.LittleEndian.AppendUint32(b.buf, uint32(link))
	b.write(b.buf)
}

// pcapRecord writes one classic pcap record.
func (b *blockWriter) pcapRecord(ts uint64, data []byte) {
	b.buf = binary.LittleEndian.AppendUint32(b.buf[:0], uint32(ts/1e9))
	b.buf = binary.LittleEndian.AppendUint32(b.buf, uint32(ts%1e9))
	b.buf = binary.LittleEndian.AppendUint32(b.buf, uint32(len(data)))
	b.buf = binary.LittleEndian.AppendUint32(b.buf, uint32(len(data)))
	b.buf = append(b.buf, data...)
	b.write(b.buf)
}
