package esp

import (
	"fmt"
	"math"
)

// AT+CIPSENDL and AT+CIPSENDLCFG (docs/esp-at-surface.md §3.3): a long
// send that streams to the link while the host types, with a report line
// every <report size> bytes.

// sendlConfig is AT+CIPSENDLCFG's values; zero means the default.
type sendlConfig struct{ report, transmit int }

func (s sendlConfig) values() (report, transmit int) {
	report, transmit = 1024, 2920
	if s.report > 0 {
		report = s.report
	}
	if s.transmit > 0 {
		transmit = s.transmit
	}
	return report, transmit
}

func cmdCIPSENDLCFGQuery(c *call) result {
	c.e.mu.Lock()
	r, t := c.e.st.tcp.sendl.values()
	c.e.mu.Unlock()
	c.print(fmt.Sprintf("+CIPSENDLCFG:%d,%d\r\n", r, t))
	return resOK
}

// cmdCIPSENDLCFGSet: AT+CIPSENDLCFG=<report 100..2^20>[,<transmit 100..2920>].
func cmdCIPSENDLCFGSet(c *call) result {
	v, ok := c.wsInts()
	if !ok || len(v) < 1 || len(v) > 2 {
		return c.paramErr("0x01060000", "AT+CIPSENDLCFG takes <report size>[,<transmit size>]")
	}
	if v[0] < 100 || v[0] > 1<<20 || len(v) == 2 && (v[1] < 100 || v[1] > 2920) {
		return c.paramErr("0x01070000", "AT+CIPSENDLCFG report size must be 100..1048576, transmit size 100..2920")
	}
	c.e.mu.Lock()
	c.e.st.tcp.sendl.report = int(v[0])
	if len(v) == 2 {
		c.e.st.tcp.sendl.transmit = int(v[1])
	}
	c.e.mu.Unlock()
	return resOK
}

// cmdCIPSENDL: AT+CIPSENDL=[<link>,]<len>[,"remote host",<remote port>].
// Data goes to the link in transmit-size pieces as it arrives; after every
// report-size bytes sent, +CIPSENDL:<had sent>,<port recv>\r\n (a choice:
// the CRLF placement is unconfirmed). "+++" alone ends it with SEND
// CANCELLED (LIB-IP's spelling).
func cmdCIPSENDL(c *call) result {
	e := c.e
	e.mu.Lock()
	pass := e.st.tcp.passMode
	report, transmit := e.st.tcp.sendl.values()
	e.mu.Unlock()
	if pass {
		return c.errorf("AT+CIPSENDL in passthrough mode (AT+CIPMODE=0 first)")
	}
	l, n, to, res, ok := c.sendArgs("AT+CIPSENDL", math.MaxInt32)
	if !ok {
		return res
	}
	pr := &promptReq{n: n, done: make(chan struct{}), cancelable: true, wake: make(chan struct{}, 1)}
	e.mu.Lock()
	e.prompt = pr
	e.mu.Unlock()
	c.print("\r\nOK\r\n\r\n>")
	sent, nextReport := 0, report
	var failed error
	for {
		finished := false
		select {
		case <-pr.wake:
		case <-pr.done:
			finished = true
		case <-c.ctx.Done():
			e.mu.Lock()
			if e.prompt == pr {
				e.prompt = nil
			}
			e.mu.Unlock()
			return resNone
		}
		e.mu.Lock()
		chunk := pr.buf
		pr.buf = nil
		pr.taken += len(chunk)
		recv, canceled := pr.taken, pr.canceled
		alive := e.tcp[l.id] == l
		e.mu.Unlock()
		if canceled {
			c.final = []byte("\r\nSEND CANCELLED\r\n")
			return resNone
		}
		for len(chunk) > 0 && failed == nil {
			k := min(len(chunk), transmit)
			if !alive {
				failed = fmt.Errorf("the link closed")
			} else if err := l.sendTo(chunk[:k], to); err != nil {
				failed = err
			}
			chunk = chunk[k:]
			sent += k
			for failed == nil && sent >= nextReport {
				c.print(fmt.Sprintf("+CIPSENDL:%d,%d\r\n", nextReport, recv))
				nextReport += report
			}
		}
		if finished || recv == n {
			if failed != nil {
				e.log.Info("AT+CIPSENDL: SEND FAIL", "link", l.id, "err", failed)
				return resSendFail
			}
			return resSendOK
		}
	}
}
