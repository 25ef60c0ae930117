package esp

import "time"

// Passthrough mode (AT+CIPMODE=1, then AT+CIPSEND; esp-at.md §1.6).

// passthrough is the input side of passthrough mode: the reader appends the
// host's bytes (under e.mu) and wakes the AT+CIPSEND handler, which sends
// them after 20 ms of silence or at 8192 bytes, and leaves on "+++".
type passthrough struct {
	buf    []byte
	segs   []ptSeg   // when each chunk of buf arrived
	before time.Time // when the last byte before buf arrived (or the prompt went out)
	wake   chan struct{}
}

type ptSeg struct {
	t time.Time
	n int
}

// add queues a chunk that arrived at t. The caller holds e.mu.
func (pt *passthrough) add(p []byte, t time.Time) {
	pt.buf = append(pt.buf, p...)
	pt.segs = append(pt.segs, ptSeg{t, len(p)})
	select {
	case pt.wake <- struct{}{}:
	default:
	}
}

// take removes and returns the first n bytes. The caller holds e.mu.
func (pt *passthrough) take(n int) []byte {
	out := append([]byte(nil), pt.buf[:n]...)
	pt.buf = append(pt.buf[:0], pt.buf[n:]...)
	for n > 0 {
		pt.before = pt.segs[0].t
		if pt.segs[0].n > n {
			pt.segs[0].n -= n
			break
		}
		n -= pt.segs[0].n
		pt.segs = pt.segs[1:]
	}
	return out
}

// next decides what to do at now: send data, quit on "+++", or wait (for
// the returned time; zero with nothing queued). The caller holds e.mu.
func (pt *passthrough) next(now time.Time) (data []byte, quit bool, wait time.Duration) {
	if len(pt.buf) == 0 {
		return nil, false, 0
	}
	if len(pt.buf) >= ptPacket {
		return pt.take(ptPacket), false, 0
	}
	last := pt.segs[len(pt.segs)-1].t
	if idle := now.Sub(last); idle < ptGuard {
		return nil, false, ptGuard - idle
	}
	if pt.escape() {
		pt.take(3)
		return nil, true, 0
	}
	return pt.take(len(pt.buf)), false, 0
}

// escape reports whether the queued bytes are "+++" alone: silence of more
// than the guard time before, less than it between the pluses (the silence
// after is next's business).
func (pt *passthrough) escape() bool {
	if string(pt.buf) != "+++" || pt.segs[0].t.Sub(pt.before) <= ptGuard {
		return false
	}
	for i := 1; i < len(pt.segs); i++ {
		if pt.segs[i].t.Sub(pt.segs[i-1].t) >= ptGuard {
			return false
		}
	}
	return true
}

// cmdCIPSENDExec: AT+CIPSEND in passthrough mode (AT+CIPMODE=1, a link
// open): the prompt, then raw data both ways until "+++" (esp-at.md §1.6).
// Leaving prints nothing, or +QUITT under AT+SYSMSG bit 0. The command stays
// "busy" all along, so the reader hands every byte to the passthrough queue.
func cmdCIPSENDExec(c *call) result {
	e := c.e
	e.mu.Lock()
	pass, l := e.st.tcp.passMode, e.tcp[0]
	e.mu.Unlock()
	if !pass {
		return c.errorf("AT+CIPSEND without parameters needs AT+CIPMODE=1")
	}
	if l == nil {
		return c.errorf("AT+CIPSEND: no connection for passthrough (AT+CIPSTART first)")
	}
	pt := &passthrough{wake: make(chan struct{}, 1)}
	e.mu.Lock()
	pt.before = time.Now()
	e.pt = pt
	e.mu.Unlock()
	c.print("\r\nOK\r\n\r\n>")
	e.log.Info("passthrough mode: raw data both ways until +++", "link", l.id)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		select {
		case <-pt.wake:
		case <-timer.C:
		case <-c.ctx.Done():
			e.mu.Lock()
			if e.pt == pt {
				e.pt = nil
			}
			e.mu.Unlock()
			return resNone
		}
		for {
			e.mu.Lock()
			data, quit, wait := pt.next(time.Now())
			if quit {
				e.pt = nil
			}
			sysmsg := e.st.sysmsg
			cur := e.tcp[0]
			e.mu.Unlock()
			if quit {
				e.log.Info("passthrough mode left on +++")
				if sysmsg&1 != 0 {
					c.final = []byte("\r\n+QUITT\r\n")
				}
				return resNone
			}
			if data != nil {
				if cur == nil {
					e.log.Info("passthrough: no connection, data dropped", "bytes", len(data))
				} else if err := cur.send(data); err != nil {
					e.log.Info("passthrough: write failed, data dropped", "bytes", len(data), "err", err)
				}
				continue
			}
			if wait > 0 {
				timer.Reset(wait)
			}
			break
		}
	}
}
