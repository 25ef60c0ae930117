package capture

import (
	"encoding/binary"
	"fmt"
	"time"
)

// Field encoding shared by the file header, frame records and event records:
// a sequence of (tag uvarint, length uvarint, value) triples. Readers skip
// tags they do not know, so newer writers can add fields. Integer values are
// uvarints (zigzag varints where the comment says signed) inside the value.

func appendUvarintField(b []byte, tag uint64, v uint64) []byte {
	b = binary.AppendUvarint(b, tag)
	var tmp [binary.MaxVarintLen64]byte
	n := binary.PutUvarint(tmp[:], v)
	b = append(b, byte(n))
	return append(b, tmp[:n]...)
}

func appendVarintField(b []byte, tag uint64, v int64) []byte {
	return appendUvarintField(b, tag, uint64(v<<1)^uint64(v>>63))
}

func appendBytesField(b []byte, tag uint64, v []byte) []byte {
	b = binary.AppendUvarint(b, tag)
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}

func appendStringField(b []byte, tag uint64, v string) []byte {
	b = binary.AppendUvarint(b, tag)
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}

// fieldIter walks a field sequence. Malformed input sets err; it never panics.
type fieldIter struct {
	b   []byte
	tag uint64
	val []byte
	err error
}

func (it *fieldIter) next() bool {
	if it.err != nil || len(it.b) == 0 {
		return false
	}
	tag, n := binary.Uvarint(it.b)
	if n <= 0 {
		it.err = fmt.Errorf("bad field tag: %w", ErrCorrupt)
		return false
	}
	l, m := binary.Uvarint(it.b[n:])
	if m <= 0 || l > uint64(len(it.b)-n-m) {
		it.err = fmt.Errorf("field %d length runs past its record: %w", tag, ErrCorrupt)
		return false
	}
	it.tag = tag
	it.val = it.b[n+m : n+m+int(l)]
	it.b = it.b[n+m+int(l):]
	return true
}

// uvarint decodes the current value as a uvarint; extra bytes are ignored.
func (it *fieldIter) uvarint() uint64 {
	v, n := binary.Uvarint(it.val)
	if n <= 0 {
		it.err = fmt.Errorf("field %d: bad integer: %w", it.tag, ErrCorrupt)
		return 0
	}
	return v
}

func (it *fieldIter) varint() int64 {
	u := it.uvarint()
	return int64(u>>1) ^ -int64(u&1)
}

// Line settings value: uvarint baud, then data bits, parity, stop bits and
// flow as one byte each. A shorter value leaves the rest zero; longer values
// (from newer writers) have their extra bytes ignored.
func appendLine(b []byte, l LineSettings) []byte {
	b = binary.AppendUvarint(b, uint64(l.Baud))
	return append(b, l.DataBits, byte(l.Parity), byte(l.StopBits), byte(l.Flow))
}

func parseLine(v []byte) (LineSettings, error) {
	var l LineSettings
	baud, n := binary.Uvarint(v)
	if n <= 0 || baud > 1<<31 {
		return l, fmt.Errorf("bad line settings: %w", ErrCorrupt)
	}
	l.Baud = int(baud)
	rest := v[n:]
	get := func(i int) byte {
		if i < len(rest) {
			return rest[i]
		}
		return 0
	}
	l.DataBits, l.Parity, l.StopBits, l.Flow = get(0), Parity(get(1)), StopBits(get(2)), FlowControl(get(3))
	return l, nil
}

// File header field tags.
const (
	hdrTool     = 1 // string
	hdrStart    = 2 // signed: Unix nanoseconds, UTC
	hdrMonoBase = 3 // signed: nanoseconds
	hdrPort     = 4 // nested fields: portName, portRole, portLine
	hdrMeta     = 5 // nested fields: metaKey, metaValue

	portName    = 1
	portRole    = 2
	portLine    = 3
	portAdapter = 4 // nested fields: adapterVID ... adapterLatency

	adapterVID          = 1 // uvarint
	adapterPID          = 2 // uvarint
	adapterManufacturer = 3
	adapterProduct      = 4
	adapterSerial       = 5
	adapterDriver       = 6
	adapterLatency      = 7 // uvarint: milliseconds

	metaKey   = 1
	metaValue = 2
)

func encodeHeaderBody(h *Header) []byte {
	var b []byte
	b = appendStringField(b, hdrTool, h.Tool)
	b = appendVarintField(b, hdrStart, h.Start.UnixNano())
	b = appendVarintField(b, hdrMonoBase, h.MonoBase)
	for _, p := range h.Ports {
		var pb []byte
		pb = appendStringField(pb, portName, p.Name)
		pb = appendStringField(pb, portRole, p.Role)
		pb = appendBytesField(pb, portLine, appendLine(nil, p.Line))
		if !p.Adapter.IsZero() {
			pb = appendBytesField(pb, portAdapter, appendAdapter(nil, p.Adapter))
		}
		b = appendBytesField(b, hdrPort, pb)
	}
	for _, k := range sortedKeys(h.Meta) {
		var mb []byte
		mb = appendStringField(mb, metaKey, k)
		mb = appendStringField(mb, metaValue, h.Meta[k])
		b = appendBytesField(b, hdrMeta, mb)
	}
	return b
}

func decodeHeaderBody(b []byte, h *Header) error {
	it := fieldIter{b: b}
	for it.next() {
		switch it.tag {
		case hdrTool:
			h.Tool = string(it.val)
		case hdrStart:
			h.Start = time.Unix(0, it.varint()).UTC()
		case hdrMonoBase:
			h.MonoBase = it.varint()
		case hdrPort:
			var p PortInfo
			pit := fieldIter{b: it.val}
			for pit.next() {
				switch pit.tag {
				case portName:
					p.Name = string(pit.val)
				case portRole:
					p.Role = string(pit.val)
				case portLine:
					l, err := parseLine(pit.val)
					if err != nil {
						return err
					}
					p.Line = l
				case portAdapter:
					a, err := parseAdapter(pit.val)
					if err != nil {
						return err
					}
					p.Adapter = a
				}
			}
			if pit.err != nil {
				return pit.err
			}
			h.Ports = append(h.Ports, p)
		case hdrMeta:
			var k, v string
			mit := fieldIter{b: it.val}
			for mit.next() {
				switch mit.tag {
				case metaKey:
					k = string(mit.val)
				case metaValue:
					v = string(mit.val)
				}
			}
			if mit.err != nil {
				return mit.err
			}
			if h.Meta == nil {
				h.Meta = make(map[string]string)
			}
			h.Meta[k] = v
		}
	}
	return it.err
}

func appendAdapter(b []byte, a Adapter) []byte {
	b = appendUvarintField(b, adapterVID, uint64(a.VID))
	b = appendUvarintField(b, adapterPID, uint64(a.PID))
	b = appendStringField(b, adapterManufacturer, a.Manufacturer)
	b = appendStringField(b, adapterProduct, a.Product)
	b = appendStringField(b, adapterSerial, a.Serial)
	b = appendStringField(b, adapterDriver, a.Driver)
	return appendUvarintField(b, adapterLatency, uint64(max(a.LatencyTimerMS, 0)))
}

func parseAdapter(v []byte) (Adapter, error) {
	var a Adapter
	it := fieldIter{b: v}
	for it.next() {
		switch it.tag {
		case adapterVID:
			a.VID = uint16(it.uvarint())
		case adapterPID:
			a.PID = uint16(it.uvarint())
		case adapterManufacturer:
			a.Manufacturer = string(it.val)
		case adapterProduct:
			a.Product = string(it.val)
		case adapterSerial:
			a.Serial = string(it.val)
		case adapterDriver:
			a.Driver = string(it.val)
		case adapterLatency:
			// A hostile value must not overflow int on 32-bit systems.
			a.LatencyTimerMS = int(min(it.uvarint(), 1<<20))
		}
	}
	return a, it.err
}
