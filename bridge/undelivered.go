package bridge

import (
	"github.com/atbridge/atbridge/capture"
)

// notDelivered records that the last n bytes read from side from (already
// queued as a chunk) never reached side to: it was absent (unplugged, not
// reopened yet) or was lost while they were written. The capture gets an
// EvNotDelivered event right after the chunk, so that readers (show,
// stats, the decoder's transactions) do not take those bytes as received;
// Stats counts them apart.
func (p *Proxy) notDelivered(from, to *side, n int) {
	if n <= 0 {
		return
	}
	i := 0
	if from == p.dev {
		i = 1
	}
	p.undelivered[i].Add(int64(n))
	p.q.event(p.q.now(), from.idx, from.readDir, capture.Event{Type: capture.EvNotDelivered, Count: int64(n), Text: to.role + " absent"})
}
