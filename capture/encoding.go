package capture

import (
	"fmt"
	"maps"
	"slices"
)

// Record meta (the meta column, see columns.go): empty for a chunk (bytes
// there, from newer writers, are ignored); fields (see fields.go) for
// frames and events. Port and direction have columns of their own.

// Frame field tags.
const (
	frLink    = 1 // uvarint
	frOpcode  = 2 // uvarint
	frFin     = 3 // uvarint 1; absent means false
	frRsv     = 4 // uvarint
	frMaskKey = 5 // 4 bytes; present means Masked
	frLength  = 6 // uvarint: wire payload length; absent means 0
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
	evUntil   = 8 // signed varint
	evBytes   = 9 // signed varint
)

func sortedKeys(m map[string]string) []string { return slices.Sorted(maps.Keys(m)) }

// encodeFields encodes the fields of a frame or event record into scratch
// (reusing its storage) and returns them.
func encodeFields(scratch []byte, r *Record) []byte {
	f := scratch[:0]
	switch r.Kind {
	case KindFrame:
		fr := &r.Frame
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
		if ev.Until != 0 {
			f = appendVarintField(f, evUntil, ev.Until)
		}
		if ev.Bytes != 0 {
			f = appendVarintField(f, evBytes, ev.Bytes)
		}
	}
	return f
}

// decodeRecord fills r (whose Kind, Port and Dir are set) from its meta and
// data. r.Data aliases data (nil when empty); unknown fields are skipped.
func decodeRecord(r *Record, meta, data []byte) error {
	r.Data = nil
	if len(data) > 0 {
		r.Data = data
	}
	switch r.Kind {
	case KindChunk:
		return nil // meta bytes from newer writers are ignored
	case KindFrame, KindEvent:
	default:
		return fmt.Errorf("decode %v: %w", r.Kind, ErrCorrupt)
	}
	it := fieldIter{b: meta}
	if r.Kind == KindFrame {
		fr := &r.Frame
		for it.next() {
			switch it.tag {
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
		case evUntil:
			ev.Until = it.varint()
		case evBytes:
			ev.Bytes = it.varint()
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
