package bridge

import (
	"sync"
	"time"

	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/formats"
)

// Recorder is where a live session's records go: a *capture.Writer, or a
// *SplitWriter that rotates files. Now gives the timestamps; Write must copy
// what it keeps of the record.
type Recorder interface {
	Now() int64
	Write(*capture.Record) error
}

var (
	_ Recorder = (*capture.Writer)(nil)
	_ Recorder = (*SplitWriter)(nil)
)

// DefaultQueueBytes is ProxyOptions.QueueBytes when zero: how many bytes of
// chunk and frame data may wait for the disk before new data is counted as
// lost instead of queued.
const DefaultQueueBytes = 32 << 20

// recQueue decouples the pumps from the disk: push never blocks. When the
// queued data would pass the bound, the record is dropped and its bytes are
// counted per port and direction; the next record of that port and
// direction that fits is preceded by an EvBytesLost event with the count.
// Events (small, rare) are always queued.
//
// One goroutine (run) writes the queue to the Recorder and then hands each
// record to observe (the live view).
type recQueue struct {
	rec     Recorder
	observe func(*capture.Record)
	limit   int

	mu      sync.Mutex
	q       []capture.Record
	bytes   int
	closed  bool
	lost    map[lostKey]int64
	stats   QueueStats
	wake    chan struct{}
	done    chan struct{}
	lastErr error
	// timer wakes run queueTick after a record lands in an empty queue;
	// armed says it is set. An idle proxy has no timer running, so it
	// makes no wake-ups at all.
	timer *time.Timer
	armed bool
}

type lostKey struct {
	port uint8
	dir  formats.Dir
}

// QueueStats counts what went through a proxy's recording queue.
type QueueStats struct {
	Records      int64 // records handed to the Recorder
	Bytes        int64 // chunk and frame payload bytes queued
	LostBytes    int64 // bytes forwarded but not recorded (queue full or write error)
	LostEvents   int64 // EvBytesLost events recorded
	WriteErrors  int64 // Recorder.Write failures
	MaxQueued    int   // the high-water mark of queued bytes
	LastWriteErr string
}

func newRecQueue(rec Recorder, limit int, observe func(*capture.Record)) *recQueue {
	if limit <= 0 {
		limit = DefaultQueueBytes
	}
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &recQueue{
		rec: rec, observe: observe, limit: limit,
		lost:  map[lostKey]int64{},
		wake:  make(chan struct{}, 1),
		done:  make(chan struct{}),
		timer: t,
	}
}

func (q *recQueue) now() int64 { return q.rec.Now() }

// chunk queues a copy of data read from port at time t.
func (q *recQueue) chunk(t int64, port uint8, dir formats.Dir, data []byte) {
	q.push(capture.Record{Kind: capture.KindChunk, Time: t, Port: port, Dir: dir, Data: data}, true)
}

// event queues an event record; it is never dropped.
func (q *recQueue) event(t int64, port uint8, dir formats.Dir, ev capture.Event) {
	q.push(capture.Record{Kind: capture.KindEvent, Time: t, Port: port, Dir: dir, Event: ev}, false)
}

// push queues r, copying r.Data when cp is set. Chunks and frames that do
// not fit are counted as lost.
func (q *recQueue) push(r capture.Record, cp bool) {
	n := len(r.Data)
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return
	}
	if r.Kind != capture.KindEvent {
		k := lostKey{r.Port, r.Dir}
		if q.bytes+n > q.limit && q.bytes > 0 {
			q.lost[k] += int64(n)
			q.stats.LostBytes += int64(n)
			q.mu.Unlock()
			return
		}
		if c := q.lost[k]; c > 0 {
			delete(q.lost, k)
			q.stats.LostEvents++
			q.q = append(q.q, capture.Record{Kind: capture.KindEvent, Time: r.Time, Port: r.Port, Dir: r.Dir,
				Event: capture.Event{Type: capture.EvBytesLost, Count: c, Text: "(recording queue full)"}})
		}
		if cp && n > 0 {
			r.Data = append([]byte(nil), r.Data...)
		}
		q.bytes += n
		q.stats.Bytes += int64(n)
		if q.bytes > q.stats.MaxQueued {
			q.stats.MaxQueued = q.bytes
		}
	}
	q.q = append(q.q, r)
	// Waking the writer goroutine for each read would put a thread wake-up
	// on the forwarding path: it takes what has queued up queueTick after
	// the first record. Events, and a queue filling up, wake it at once.
	wake := r.Kind == capture.KindEvent || q.bytes >= queueWakeBytes
	if !wake && !q.armed {
		q.armed = true
		q.timer.Reset(queueTick)
	}
	q.mu.Unlock()
	if wake {
		select {
		case q.wake <- struct{}{}:
		default:
		}
	}
}

// queueTick is how long a record may wait before the writer goroutine
// takes it; queueWakeBytes is how much queued data wakes it early.
const (
	queueTick      = 2 * time.Millisecond
	queueWakeBytes = 256 << 10
)

// run writes queued records until close is called and the queue is empty.
func (q *recQueue) run() {
	var batch []capture.Record
	defer q.timer.Stop()
	for {
		q.mu.Lock()
		batch, q.q = q.q, batch[:0]
		closed := q.closed
		q.armed = false // the next record arms it again
		q.mu.Unlock()
		if len(batch) == 0 {
			if closed {
				return
			}
			select {
			case <-q.wake:
			case <-q.timer.C:
			}
			continue
		}
		freed := 0
		for i := range batch {
			r := &batch[i]
			if r.Kind != capture.KindEvent {
				freed += len(r.Data)
			}
			if err := q.rec.Write(r); err != nil {
				q.mu.Lock()
				q.stats.WriteErrors++
				q.stats.LastWriteErr = err.Error()
				if r.Kind != capture.KindEvent {
					q.stats.LostBytes += int64(len(r.Data))
				}
				q.lastErr = err
				q.mu.Unlock()
			} else {
				q.mu.Lock()
				q.stats.Records++
				q.mu.Unlock()
			}
			if q.observe != nil {
				q.observe(r)
			}
			batch[i] = capture.Record{}
		}
		q.mu.Lock()
		q.bytes -= freed
		q.mu.Unlock()
	}
}

// flushLost records the pending lost counts (at the end of a session).
func (q *recQueue) flushLost() {
	q.mu.Lock()
	t := q.rec.Now()
	for k, c := range q.lost {
		q.stats.LostEvents++
		q.q = append(q.q, capture.Record{Kind: capture.KindEvent, Time: t, Port: k.port, Dir: k.dir,
			Event: capture.Event{Type: capture.EvBytesLost, Count: c, Text: "(recording queue full)"}})
		delete(q.lost, k)
	}
	q.mu.Unlock()
}

// close stops taking records; run drains what is queued and returns.
func (q *recQueue) close() {
	q.flushLost()
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *recQueue) snapshot() QueueStats {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.stats
}
