package capture

import (
	"fmt"
	"maps"
	"slices"

	"github.com/atbridge/atbridge/formats"
)

// Block raw payload layout: two columns, so that the small, regular record
// heads compress apart from the traffic bytes:
//
//	heads length uvarint | heads | data
//
// heads holds, per record:
//
//	kind u8 | time delta uvarint | meta length uvarint | meta | data length uvarint
//
// and data holds the records' data back to back in the same order. The time
// delta is from the previous record of the block (the block's firstTime for
// the first record), so a reader keeps the time chain across records of
// kinds it skips.
//
// Chunk meta: port u8 | dir u8 (later bytes, from newer writers, ignored).
// Frame and event meta: fields (see fields.go).

// Frame field tags.
const (
	frLink    = 1 // uvarint
	frOpcode  = 2 // uvarint
	frFin     = 3 // uvarint 1; absent means false
	frRsv     = 4 // uvarint
	frMaskKey = 5 // 4 bytes; present means Masked
	frLength  = 6 // uvarint: wire payload length; absent means 0
	frDir     = 7 // uvarint: Record.Dir
	frPort    = 8 // uvarint: Record.Port
)

// Event field tags.
const (
	evType    = 1 // uvarint
	evText    = 2 // bytes
	evCount   = 3 // signed varint
	evLink    = 4 // uvarint
	evCode    = 5 // uvarint
	evLine    = 6 // line settings value
	evControl = 7 // uvarint
	evDir     = 8 // uvarint: Record.Dir
	evPort    = 9 // uvarint: Record.Port
)

func sortedKeys(m map[string]string) []string { return slices.Sorted(maps.Keys(m)) }

// encodeFields encodes the fields of a frame or event record into scratch
// (reusing its storage) and returns them.
func encodeFields(scratch []byte, r *Record) []byte {
	f := scratch[:0]
	switch r.Kind {
	case KindFrame:
		fr := &r.Frame
		if r.Dir != 0 {
			f = appendUvarintField(f, frDir, uint64(r.Dir))
		}
		if r.Port != 0 {
			f = appendUvarintField(f, frPort, uint64(r.Port))
		}
		if fr.Link != 0 {
			f = appendUvarintField(f, frLink, uint64(fr.Link))
		}
		f = appendUvarintField(f, frOpcode, uint64(fr.Opcode))
		if fr.Fin {
			f = appendUvarintField(f, frFin, 1)
		}
		if fr.Rsv != 0 {
			f = appendUvarintField(f, frRsv, uint64(fr.Rsv))
		}
		if fr.Masked {
			f = appendBytesField(f, frMaskKey, fr.MaskKey[:])
		}
		if fr.Length != 0 {
			f = appendUvarintField(f, frLength, fr.Length)
		}
	case KindEvent:
		ev := &r.Event
		f = appendUvarintField(f, evType, uint64(ev.Type))
		if r.Dir != 0 {
			f = appendUvarintField(f, evDir, uint64(r.Dir))
		}
		if r.Port != 0 {
			f = appendUvarintField(f, evPort, uint64(r.Port))
		}
		if ev.Text != "" {
			f = appendStringField(f, evText, ev.Text)
		}
		if ev.Count != 0 {
			f = appendVarintField(f, evCount, ev.Count)
		}
		if ev.Link != 0 {
			f = appendUvarintField(f, evLink, uint64(ev.Link))
		}
		if ev.Code != 0 {
			f = appendUvarintField(f, evCode, uint64(ev.Code))
		}
		if ev.Line != (LineSettings{}) {
			var tmp [16]byte
			f = appendBytesField(f, evLine, appendLine(tmp[:0], ev.Line))
		}
		if ev.Control != 0 {
			f = appendUvarintField(f, evControl, uint64(ev.Control))
		}
	}
	return f
}

// decodeRecord fills r (whose Kind is set) from its meta and data. r.Data
// is a fresh copy. Unknown fields are skipped.
func decodeRecord(r *Record, meta, data []byte) error {
	r.Data = clone(data)
	switch r.Kind {
	case KindChunk:
		if len(meta) < 2 {
			return fmt.Errorf("chunk meta of %d bytes: %w", len(meta), ErrCorrupt)
		}
		r.Port = meta[0]
		r.Dir = formats.Dir(meta[1])
		return nil
	case KindFrame, KindEvent:
	default:
		return fmt.Errorf("decode %v: %w", r.Kind, ErrCorrupt)
	}
	it := fieldIter{b: meta}
	if r.Kind == KindFrame {
		fr := &r.Frame
		for it.next() {
			switch it.tag {
			case frDir:
				r.Dir = formats.Dir(it.uvarint())
			case frPort:
				r.Port = uint8(it.uvarint())
			case frLink:
				fr.Link = uint8(it.uvarint())
			case frOpcode:
				fr.Opcode = uint8(it.uvarint())
			case frFin:
				fr.Fin = it.uvarint() != 0
			case frRsv:
				fr.Rsv = uint8(it.uvarint())
			case frMaskKey:
				fr.Masked = true
				copy(fr.MaskKey[:], it.val)
			case frLength:
				fr.Length = it.uvarint()
			}
		}
		return it.err
	}
	ev := &r.Event
	for it.next() {
		switch it.tag {
		case evType:
			ev.Type = EventType(it.uvarint())
		case evDir:
			r.Dir = formats.Dir(it.uvarint())
		case evPort:
			r.Port = uint8(it.uvarint())
		case evText:
			ev.Text = string(it.val)
		case evCount:
			ev.Count = it.varint()
		case evLink:
			ev.Link = uint8(it.uvarint())
		case evCode:
			ev.Code = uint16(it.uvarint())
		case evLine:
			l, err := parseLine(it.val)
			if err != nil {
				return err
			}
			ev.Line = l
		case evControl:
			ev.Control = ControlLines(it.uvarint())
		}
	}
	return it.err
}

func clone(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return append([]byte(nil), b...)
}
