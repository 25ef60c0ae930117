package capture

import (
	"encoding/binary"
	"errors"
)

// indexEntry names a data block for seeking: where it starts, the time of
// its first record and how many records it holds.
type indexEntry struct {
	off       int64
	firstTime int64
	records   uint32
}

// Index block payload: uvarint stride, uvarint entry count, then per entry
// uvarint offset delta (from the previous entry's offset, the first from 0),
// uvarint first-time delta (likewise) and uvarint record count.
func encodeIndex(stride int64, idx []indexEntry) []byte {
	b := binary.AppendUvarint(nil, uint64(stride))
	b = binary.AppendUvarint(b, uint64(len(idx)))
	var off, t int64
	for _, e := range idx {
		b = binary.AppendUvarint(b, uint64(e.off-off))
		b = binary.AppendUvarint(b, uint64(e.firstTime-t))
		b = binary.AppendUvarint(b, uint64(e.records))
		off, t = e.off, e.firstTime
	}
	return b
}

var errBadIndex = errors.New("bad index")

func decodeIndex(b []byte) ([]indexEntry, error) {
	next := func() (uint64, error) {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			return 0, errBadIndex
		}
		b = b[n:]
		return v, nil
	}
	if _, err := next(); err != nil { // stride: informative only
		return nil, err
	}
	count, err := next()
	if err != nil || count > uint64(len(b)/3) {
		return nil, errBadIndex
	}
	idx := make([]indexEntry, 0, count)
	var off, t uint64
	for range count {
		do, err1 := next()
		dt, err2 := next()
		rc, err3 := next()
		if err := errors.Join(err1, err2, err3); err != nil {
			return nil, err
		}
		off += do
		t += dt
		if off > 1<<62 || t > 1<<62 || rc > 1<<32-1 {
			return nil, errBadIndex
		}
		idx = append(idx, indexEntry{off: int64(off), firstTime: int64(t), records: uint32(rc)})
	}
	return idx, nil
}
