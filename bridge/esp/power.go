package esp

import (
	"fmt"
	"time"
)

// cmdGSLP enters deep sleep: AT+GSLP=<time> prints <time>, then OK, and
// after <time> ms the board wakes as from a reset (Basic_AT_Commands.rst
// AT+GSLP; the echoed line is bare "<time>", esp-at-surface.md §10.10).
// Waking is a boot: the running state is rebuilt from the flash and
// "ready" follows. 0 restarts at once; the maximum is 2^31-1 ms. Input
// while the board sleeps is lost, as on a sleeping chip.
func cmdGSLP(c *call) result {
	p := c.cmd.Params
	if len(p) != 1 {
		return c.paramErr("0x01060000", "AT+GSLP takes 1 parameter")
	}
	if p[0].Quoted {
		return c.badType(0, "AT+GSLP time must be a number")
	}
	ms, ok := p[0].Int() // at most 2^31-1: Int refuses more
	if !ok || ms < 0 {
		return c.badValue(0, "AT+GSLP time must be 0..2147483647 ms")
	}
	c.print(fmt.Sprintf("%d\r\n", ms))
	c.restart = restartReboot
	c.sleep = time.Duration(ms) * time.Millisecond
	return resOK
}

func cmdSLEEPQuery(c *call) result {
	c.e.mu.Lock()
	v := c.e.st.sleep
	c.e.mu.Unlock()
	c.print(fmt.Sprintf("+SLEEP:%d\r\n", v))
	return resOK
}

// cmdSLEEPSet records the sleep mode; the emulator never sleeps, so only
// the rules of Basic_AT_Commands.rst AT+SLEEP on which modes may be set
// apply: 1 (modem sleep) and 3 (listen interval) need station-only or null
// Wi-Fi mode, 2 (light sleep) is refused with a softAP running. Not saved.
func cmdSLEEPSet(c *call) result {
	v, ok := c.intParams(1)
	if !ok {
		if len(c.cmd.Params) != 1 {
			return c.paramErr("0x01060000", "AT+SLEEP takes 1 parameter")
		}
		return c.badType(0, "AT+SLEEP mode must be a number")
	}
	if v[0] < 0 || v[0] > 3 {
		return c.badValue(0, "AT+SLEEP mode must be 0..3")
	}
	c.e.mu.Lock()
	mode := c.e.st.cwmode
	refused := (v[0] == 1 || v[0] == 3) && mode != 0 && mode != 1 || v[0] == 2 && (mode == 2 || mode == 3)
	if !refused {
		c.e.st.sleep = v[0]
	}
	c.e.mu.Unlock()
	if refused {
		return c.execFail(fmt.Sprintf("AT+SLEEP=%d is refused in AT+CWMODE %d", v[0], mode))
	}
	return resOK
}
