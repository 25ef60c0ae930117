package replay

import "time"

// pending is an output waiting for its deadline.
type pending struct {
	due  time.Time
	seq  int64
	data []byte
	out  int // index in Script.Out, -1 for injected bytes
}

type outQueue []*pending

func (q outQueue) Len() int { return len(q) }
func (q outQueue) Less(i, j int) bool {
	if !q[i].due.Equal(q[j].due) {
		return q[i].due.Before(q[j].due)
	}
	return q[i].seq < q[j].seq
}
func (q outQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *outQueue) Push(x any)   { *q = append(*q, x.(*pending)) }
func (q *outQueue) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}
