package esp

import (
	"fmt"
)

// AT+CIPSENDEX (docs/esp-at-surface.md §3.3): AT+CIPSEND's forms, with data
// that ends at <len> bytes or at the two bytes `\0`, whichever comes first.
// The payload is escaped: `\\0` sends a literal `\0`, `\<any>` drops the
// backslash.

// sendexScan finds the end of AT+CIPSENDEX data across chunks.
type sendexScan struct {
	backslash bool // the last byte seen was an escaping backslash
	ended     bool // `\0` was seen
}

// scan returns how many bytes of p belong to the data: all of them, or up
// to and including an unescaped `\0`.
func (s *sendexScan) scan(p []byte) int {
	for i, b := range p {
		if s.backslash {
			s.backslash = false
			if b == '0' {
				s.ended = true
				return i + 1
			}
			continue
		}
		s.backslash = b == '\\'
	}
	return len(p)
}

// unescapeSendex turns the bytes typed into the bytes sent: the final `\0`
// (if any) dropped, and each `\<any>` into <any>.
func unescapeSendex(raw []byte, ended bool) []byte {
	if ended {
		raw = raw[:len(raw)-2]
	}
	out := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); i++ {
		if raw[i] == '\\' && i+1 < len(raw) {
			i++
		}
		out = append(out, raw[i])
	}
	return out
}

// cmdCIPSENDEX: AT+CIPSENDEX=[<link>,]<len>[,"remote host",<remote port>].
// A choice (§10.8): "Recv <n> bytes" counts the bytes typed, escapes and
// the closing `\0` included; then SEND OK, or SEND FAIL when the link
// failed (the docs name ERROR; WEA reads SEND FAIL as well).
func cmdCIPSENDEX(c *call) result {
	c.e.mu.Lock()
	pass := c.e.st.tcp.passMode
	c.e.mu.Unlock()
	if pass {
		return c.errorf("AT+CIPSENDEX in passthrough mode (AT+CIPMODE=0 first)")
	}
	l, n, to, res, ok := c.sendArgs("AT+CIPSENDEX", tcpMaxSend)
	if !ok {
		return res
	}
	sc := &sendexScan{}
	raw, canceled := c.awaitData(&promptReq{n: n, buf: make([]byte, 0, n), done: make(chan struct{}), cancelable: true, esc: sc})
	if canceled {
		c.final = []byte("\r\nSEND Canceled\r\n")
		return resNone
	}
	if raw == nil {
		return resNone
	}
	c.print(fmt.Sprintf("\r\nRecv %d bytes\r\n", len(raw)))
	data := unescapeSendex(raw, sc.ended)
	c.e.mu.Lock()
	alive := c.e.tcp[l.id] == l
	c.e.mu.Unlock()
	if !alive {
		return resSendFail
	}
	if len(data) == 0 {
		return resSendOK
	}
	if err := l.sendTo(data, to); err != nil {
		c.e.log.Info("AT+CIPSENDEX: write failed: SEND FAIL", "link", l.id, "err", err)
		return resSendFail
	}
	return resSendOK
}
