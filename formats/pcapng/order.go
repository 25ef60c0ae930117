package pcapng

import "container/heap"

// Reorder window of the exporter. Decoded units can come out after raw
// packets with later times (the decoder holds host bytes until the device
// shows what they were, up to about a second), so packets wait in a small
// heap and leave it oldest first: files come out in time order while
// memory stays bounded. Flush empties the heap, so a live stream that
// flushes after each record is never held back (and is then in input
// order rather than strictly in time order).
const (
	reorderPackets = 256
	reorderBytes   = 4 << 20
)

// queued is a packet waiting in the reorder heap.
type queued struct {
	ts      uint64
	seq     uint64 // input order, to keep equal times stable
	ifc     uint32
	flags   uint32
	data    []byte
	comment string
}

type packetHeap []*queued

func (h packetHeap) Len() int { return len(h) }
func (h packetHeap) Less(i, j int) bool {
	if h[i].ts != h[j].ts {
		return h[i].ts < h[j].ts
	}
	return h[i].seq < h[j].seq
}
func (h packetHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *packetHeap) Push(x any)   { *h = append(*h, x.(*queued)) }
func (h *packetHeap) Pop() any {
	old := *h
	q := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return q
}

// reorder holds packets for the block writer.
type reorder struct {
	h     packetHeap
	seq   uint64
	bytes int
	free  []*queued // recycled entries with their buffers
}

// push queues a packet (data is copied) and writes out the oldest ones
// while the window is over its bounds.
func (r *reorder) push(out *blockWriter, classic bool, ts uint64, ifc, flags uint32, data []byte, comment string) {
	var q *queued
	if n := len(r.free); n > 0 {
		q = r.free[n-1]
		r.free = r.free[:n-1]
	} else {
		q = &queued{}
	}
	q.ts, q.seq, q.ifc, q.flags, q.comment = ts, r.seq, ifc, flags, comment
	q.data = append(q.data[:0], data...)
	r.seq++
	r.bytes += len(data)
	heap.Push(&r.h, q)
	for len(r.h) > reorderPackets || r.bytes > reorderBytes {
		r.pop(out, classic)
	}
}

// drain writes out every queued packet.
func (r *reorder) drain(out *blockWriter, classic bool) {
	for len(r.h) > 0 {
		r.pop(out, classic)
	}
}

func (r *reorder) pop(out *blockWriter, classic bool) {
	q := heap.Pop(&r.h).(*queued)
	r.bytes -= len(q.data)
	if classic {
		out.pcapRecord(q.ts, q.data)
	} else {
		out.packet(q.ifc, q.ts, q.data, q.flags, q.comment)
	}
	if cap(q.data) <= 64<<10 && len(r.free) < reorderPackets {
		q.comment = ""
		r.free = append(r.free, q)
	}
}
