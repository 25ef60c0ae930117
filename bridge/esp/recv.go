package esp

import (
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/atbridge/atbridge/capture"
)

// Passive receive (docs/esp-at-surface.md §3.6; DOC-TCP AT+CIPRECVTYPE,
// AT+CIPRECVDATA, AT+CIPRECVLEN): in passive mode a link's data waits in
// the board until the host reads it with AT+CIPRECVDATA. The board
// announces it once with "\r\n+IPD,[<id>,]<total>\r\n" (no data), again
// right after a read that leaves bytes behind, and holds the link's CLOSED
// back until the buffer is empty. AT+CIPRECVMODE=<mode> is the command's
// old name (until v3.3.0.0), still in v5.0.1.0 and master; it sets every
// link at once.

// rxWindow is how much a passive link buffers before the emulator stops
// reading its socket, so that TCP flow control holds the sender back as
// the board's lwIP receive window does (5760 bytes in esp-at's sdkconfig,
// DOC-TCP AT+CIPRECVTYPE).
const rxWindow = 5760

// rxBuf is a passive link's buffered data.
type rxBuf struct {
	mu         sync.Mutex
	cond       *sync.Cond
	data       []byte
	announced  bool // an +IPD announcement is outstanding (not yet read)
	peerClosed bool // the peer closed: CLOSED waits until data is read
	shut       bool // the link is being dropped: stop waiting for room
}

func newRxBuf() *rxBuf {
	b := &rxBuf{}
	b.cond = sync.NewCond(&b.mu)
	return b
}

// shutdown wakes a reader waiting for room; the link is going away.
func (b *rxBuf) shutdown() {
	b.mu.Lock()
	b.shut = true
	b.cond.Broadcast()
	b.mu.Unlock()
}

// passive reports whether link id receives passively. The caller holds e.mu.
func (e *Emulator) passive(id int) bool { return e.st.tcp.recvPassive[id] }

// passiveTake buffers p when the link is in passive mode (and not in
// passthrough), announcing it if no announcement is outstanding, and
// blocks the link's reader while the buffer is full. It reports whether
// it took p.
func (l *tcpLink) passiveTake(p []byte) bool {
	e := l.e
	e.mu.Lock()
	if e.pt != nil || !e.passive(l.id) {
		e.mu.Unlock()
		return false
	}
	if l.rx == nil {
		l.rx = newRxBuf()
	}
	b := l.rx
	e.mu.Unlock()
	b.mu.Lock()
	b.data = append(b.data, p...)
	announce := !b.announced
	b.announced = true
	total := len(b.data)
	b.mu.Unlock()
	if announce {
		e.write(l.gen, []byte("\r\n+IPD,"+l.linkPrefix()+strconv.Itoa(total)+"\r\n"))
	}
	b.mu.Lock()
	for len(b.data) >= rxWindow && !b.shut {
		b.cond.Wait()
	}
	b.mu.Unlock()
	return true
}

// passiveHold is called when the peer closed the link: with data still
// buffered, CLOSED waits until the host has read it, and the link keeps
// its id (DOC-TCP AT+CIPRECVTYPE Notes). It reports whether it held.
func (l *tcpLink) passiveHold() bool {
	l.e.mu.Lock()
	b := l.rx
	l.e.mu.Unlock()
	if b == nil {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.data) == 0 {
		return false
	}
	b.peerClosed = true
	return true
}

// buffered returns how many bytes link l holds for AT+CIPRECVDATA.
func (l *tcpLink) buffered() int {
	if l == nil {
		return 0
	}
	l.e.mu.Lock()
	b := l.rx
	l.e.mu.Unlock()
	if b == nil {
		return 0
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.data)
}

// cmdCIPRECVMODESet: AT+CIPRECVMODE=<0|1>, for every link.
func cmdCIPRECVMODESet(c *call) result {
	on, res, ok := c.boolParam("AT+CIPRECVMODE")
	if !ok {
		return res
	}
	c.e.mu.Lock()
	for i := range c.e.st.tcp.recvPassive {
		c.e.st.tcp.recvPassive[i] = on
	}
	c.e.mu.Unlock()
	return resOK
}

// cmdCIPRECVMODEQuery prints link 0's mode, as the firmware does.
func cmdCIPRECVMODEQuery(c *call) result {
	c.e.mu.Lock()
	on := c.e.st.tcp.recvPassive[0]
	c.e.mu.Unlock()
	c.print(fmt.Sprintf("+CIPRECVMODE:%d\r\n", b2i(on)))
	return resOK
}

// cmdCIPRECVTYPESet: AT+CIPRECVTYPE=[<id>,]<mode>; id 5 sets all links.
// Under AT+CIPMUX=0 the id is left out and link 0 is set.
func cmdCIPRECVTYPESet(c *call) result {
	c.e.mu.Lock()
	mux := c.e.st.tcp.mux
	c.e.mu.Unlock()
	want := 1
	if mux {
		want = 2
	}
	v, ok := c.intParams(want)
	if !ok {
		return c.paramErr("0x01060000", "AT+CIPRECVTYPE takes [<link>,]<mode> (the link only under AT+CIPMUX=1)")
	}
	id, mode := int64(0), v[0]
	if mux {
		id, mode = v[0], v[1]
	}
	if id < 0 || id > tcpLinks {
		return c.badValue(0, "AT+CIPRECVTYPE link must be 0..4, or 5 for all")
	}
	if mode < 0 || mode > 1 {
		return c.badValue(len(v)-1, "AT+CIPRECVTYPE mode must be 0 (active) or 1 (passive)")
	}
	c.e.mu.Lock()
	for i := range c.e.st.tcp.recvPassive {
		if int64(i) == id || id == tcpLinks {
			c.e.st.tcp.recvPassive[i] = mode == 1
		}
	}
	c.e.mu.Unlock()
	return resOK
}

// cmdCIPRECVTYPEQuery prints +CIPRECVTYPE:<id>,<mode> for each link under
// AT+CIPMUX=1 and +CIPRECVTYPE:<mode> otherwise (a choice: the docs give no
// example of the multi-link form).
func cmdCIPRECVTYPEQuery(c *call) result {
	c.e.mu.Lock()
	mux, modes := c.e.st.tcp.mux, c.e.st.tcp.recvPassive
	c.e.mu.Unlock()
	if !mux {
		c.print(fmt.Sprintf("+CIPRECVTYPE:%d\r\n", b2i(modes[0])))
		return resOK
	}
	var s strings.Builder
	for i, m := range modes {
		fmt.Fprintf(&s, "+CIPRECVTYPE:%d,%d\r\n", i, b2i(m))
	}
	c.print(s.String())
	return resOK
}

// cmdCIPRECVLENQuery: +CIPRECVLEN:<len> (AT+CIPMUX=0), or one length per
// link 0..4, 0 for a link without a socket (§3.6).
func cmdCIPRECVLENQuery(c *call) result {
	c.e.mu.Lock()
	mux, links := c.e.st.tcp.mux, c.e.tcp
	c.e.mu.Unlock()
	if !mux {
		c.print("+CIPRECVLEN:" + strconv.Itoa(links[0].buffered()) + "\r\n")
		return resOK
	}
	lens := make([]string, len(links))
	for i, l := range links {
		lens[i] = strconv.Itoa(l.buffered())
	}
	c.print("+CIPRECVLEN:" + strings.Join(lens, ",") + "\r\n")
	return resOK
}

// cmdCIPRECVDATASet: AT+CIPRECVDATA=[<id>,]<len> prints
// +CIPRECVDATA:<n>,[<"ip">,<port>,]<n bytes> and OK in one write (§3.6),
// then announces what is left, or prints the held CLOSED when the peer
// closed and nothing is left.
func cmdCIPRECVDATASet(c *call) result {
	e := c.e
	e.mu.Lock()
	mux, dinfo := e.st.tcp.mux, e.st.tcp.dinfo
	e.mu.Unlock()
	want := 1
	if mux {
		want = 2
	}
	v, ok := c.intParams(want)
	if !ok {
		return c.paramErr("0x01060000", "AT+CIPRECVDATA takes [<link>,]<len> (the link only under AT+CIPMUX=1)")
	}
	id, n := int64(0), v[0]
	if mux {
		id, n = v[0], v[1]
	}
	if id < 0 || id >= tcpLinks {
		return c.badValue(0, "AT+CIPRECVDATA link must be 0..4")
	}
	if n < 1 || n > 0x7fffffff {
		return c.badValue(len(v)-1, "AT+CIPRECVDATA len must be 1..2147483647")
	}
	e.mu.Lock()
	l := e.tcp[id]
	var b *rxBuf
	if l != nil {
		b = l.rx
	}
	e.mu.Unlock()
	if l == nil {
		return c.execFail(fmt.Sprintf("AT+CIPRECVDATA: link %d is not connected", id))
	}
	if b == nil {
		return c.execFail("AT+CIPRECVDATA: no data (the link is not in passive mode, AT+CIPRECVTYPE)")
	}
	b.mu.Lock()
	if len(b.data) == 0 {
		b.mu.Unlock()
		return c.execFail("AT+CIPRECVDATA: no data")
	}
	take := min(int(n), len(b.data))
	data := append([]byte(nil), b.data[:take]...)
	b.data = append(b.data[:0], b.data[take:]...)
	// Until the result is out, no announcement: one printed by the reader
	// now would land between the data and its OK.
	b.announced = true
	b.cond.Broadcast()
	b.mu.Unlock()
	out := []byte("+CIPRECVDATA:" + strconv.Itoa(take) + ",")
	if dinfo {
		r := l.peer()
		out = fmt.Appendf(out, "%q,%d,", r.IP.String(), r.Port)
	}
	c.write(append(out, data...))
	c.after = func() {
		b.mu.Lock()
		left := len(b.data)
		b.announced = left > 0
		closed := b.peerClosed && left == 0
		b.mu.Unlock()
		if left > 0 {
			c.print("\r\n+IPD," + l.linkPrefix() + strconv.Itoa(left) + "\r\n")
			return
		}
		if !closed {
			return
		}
		e.mu.Lock()
		owned := e.tcp[l.id] == l
		if owned {
			e.tcp[l.id] = nil
			e.st.tcp.closedOnce = true
		}
		e.mu.Unlock()
		if owned {
			e.event(capture.Event{Type: capture.EvNote, Text: fmt.Sprintf("tcp link %d: the held CLOSED after the last passive read", l.id)})
			c.print(l.linkPrefix() + "CLOSED\r\n")
		}
	}
	return resOK
}

func recvCommands(t map[string]handler) {
	t["+CIPRECVMODE"] = handler{query: cmdCIPRECVMODEQuery, set: cmdCIPRECVMODESet}
	t["+CIPRECVTYPE"] = handler{query: cmdCIPRECVTYPEQuery, set: cmdCIPRECVTYPESet}
	t["+CIPRECVDATA"] = handler{set: cmdCIPRECVDATASet}
	t["+CIPRECVLEN"] = handler{query: cmdCIPRECVLENQuery}
}
