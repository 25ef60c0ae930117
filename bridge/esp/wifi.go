package esp

import "fmt"

// Simulated Wi-Fi: nothing is scanned or joined; AT+CWJAP succeeds unless
// Options.CWJAPFail is set or the password is wrongPassword, and the
// station gets the fixed address below.
const (
	wrongPassword = "wrong-password"
	fakeIP        = "192.168.4.2"
	fakeGateway   = "192.168.4.1"
	fakeMAC       = "24:0a:c4:00:be:ef"
	fakeBSSID     = "ac:0b:fb:d8:cf:9a"
)

type wifiState int

// Station states as AT+CWSTATE numbers them.
const (
	wifiIdle       wifiState = 0 // not started
	wifiConnected  wifiState = 1 // associated, no IP yet
	wifiGotIP      wifiState = 2
	wifiConnecting wifiState = 3
	wifiLost       wifiState = 4 // disconnected
)

type apConfig struct {
	ssid, pwd string
}

func cmdCWMODEQuery(c *call) result {
	c.e.mu.Lock()
	m := c.e.st.cwmode
	c.e.mu.Unlock()
	c.print(fmt.Sprintf("+CWMODE:%d\r\n", m))
	return resOK
}

func cmdCWMODETest(c *call) result {
	c.print("+CWMODE:(0-3)\r\n")
	return resOK
}

// cmdCWMODESet accepts AT+CWMODE=<mode>[,<auto_connect>]. Leaving station
// mode (0 or 2) drops the simulated AP connection with WIFI DISCONNECT after
// the OK.
func cmdCWMODESet(c *call) result {
	n := len(c.cmd.Params)
	if n < 1 || n > 2 {
		return c.paramErr("0x01060000", "AT+CWMODE takes 1 or 2 parameters")
	}
	m, ok := c.cmd.Int(0)
	if !ok || m < 0 || m > 3 {
		return c.paramErr("0x01070000", "AT+CWMODE mode must be 0..3")
	}
	if n == 2 {
		if a, ok := c.cmd.Int(1); !ok || a < 0 || a > 1 {
			return c.paramErr("0x01070000", "AT+CWMODE auto_connect must be 0 or 1")
		}
	}
	c.e.mu.Lock()
	c.e.st.cwmode = m
	drop := (m == 0 || m == 2) && c.e.st.wifi == wifiGotIP
	if drop {
		c.e.st.wifi = wifiLost
	}
	c.e.mu.Unlock()
	if drop {
		c.after = func() { c.print("WIFI DISCONNECT\r\n") }
	}
	return resOK
}

// cmdCWJAPSet joins the (simulated) AP. The ssid is required; the password
// may be empty or omitted; the other optional parameters are checked for
// being numbers where given and otherwise ignored.
func cmdCWJAPSet(c *call) result {
	p := c.cmd.Params
	if len(p) < 1 || len(p) > 9 {
		return c.paramErr("0x01060000", "AT+CWJAP takes 1..9 parameters")
	}
	if !p[0].Quoted && !p[0].Empty {
		return c.paramErr("0x01050000", "AT+CWJAP ssid must be a quoted string")
	}
	ap := apConfig{ssid: p[0].Value}
	if len(p) > 1 {
		if !p[1].Quoted && !p[1].Empty {
			return c.paramErr("0x01050000", "AT+CWJAP password must be a quoted string")
		}
		ap.pwd = p[1].Value
		if len(ap.pwd) > 64 {
			return c.paramErr("0x01070000", "AT+CWJAP password longer than 64 bytes")
		}
	}
	for i := 3; i < len(p); i++ {
		if _, ok := p[i].Int(); !ok && !p[i].Empty {
			return c.paramErr("0x01050000", fmt.Sprintf("AT+CWJAP parameter %d must be a number", i+1))
		}
	}
	c.e.mu.Lock()
	if p[0].Empty {
		// AT+CWJAP=,"pwd" has no AP to join unless one was configured.
		if !c.e.st.hasAP {
			c.e.mu.Unlock()
			return c.paramErr("0x01070000", "AT+CWJAP without ssid and no AP configured")
		}
		ap.ssid = c.e.st.ap.ssid
	}
	c.e.mu.Unlock()
	return c.join(ap)
}

// cmdCWJAPExec reconnects to the last AP configured.
func cmdCWJAPExec(c *call) result {
	c.e.mu.Lock()
	has, ap := c.e.st.hasAP, c.e.st.ap
	if !has && c.e.st.savedAP != nil {
		has, ap = true, *c.e.st.savedAP
	}
	c.e.mu.Unlock()
	if !has {
		return c.errorf("AT+CWJAP without a configured AP")
	}
	return c.join(ap)
}

// join runs the connect sequence: WIFI DISCONNECT when already connected,
// then WIFI CONNECTED, WIFI GOT IP and OK, or +CWJAP:<code> and ERROR.
func (c *call) join(ap apConfig) result {
	c.e.mu.Lock()
	if c.e.st.cwmode != 1 && c.e.st.cwmode != 3 {
		c.e.mu.Unlock()
		return c.paramErr("0x010a0000", "AT+CWJAP needs station mode (AT+CWMODE=1 or 3)")
	}
	was := c.e.st.wifi
	c.e.st.ap, c.e.st.hasAP = ap, true
	c.e.mu.Unlock()
	if was == wifiGotIP || was == wifiConnected {
		c.print("WIFI DISCONNECT\r\n")
	}
	code := c.e.opts.CWJAPFail
	why := "--cwjap-fail"
	if code == 0 && ap.pwd == wrongPassword {
		code, why = 2, "the password is "+wrongPassword
	}
	if code >= 1 && code <= 4 {
		c.e.mu.Lock()
		c.e.st.wifi = wifiLost
		c.e.mu.Unlock()
		c.print(fmt.Sprintf("+CWJAP:%d\r\n", code))
		return c.errorf(fmt.Sprintf("AT+CWJAP fails with code %d (%s)", code, why))
	}
	c.e.mu.Lock()
	c.e.st.wifi = wifiGotIP
	saved := ap
	c.e.st.savedAP = &saved
	c.e.mu.Unlock()
	c.print("WIFI CONNECTED\r\nWIFI GOT IP\r\n")
	return resOK
}

// cmdCWJAPQuery prints the AP in the firmware's format, or "No AP".
func cmdCWJAPQuery(c *call) result {
	c.e.mu.Lock()
	st, ap := c.e.st.wifi, c.e.st.ap
	c.e.mu.Unlock()
	if st != wifiGotIP {
		c.print("No AP\r\n")
		return resOK
	}
	c.print(fmt.Sprintf("+CWJAP:%q,%q,6,-45,0,1,3,0,1\r\n", ap.ssid, fakeBSSID))
	return resOK
}

// cmdCWQAP disconnects; WIFI DISCONNECT follows the OK, as the event
// arrives after the command returned.
func cmdCWQAP(c *call) result {
	c.e.mu.Lock()
	was := c.e.st.wifi
	if was != wifiIdle {
		c.e.st.wifi = wifiLost
	}
	c.e.mu.Unlock()
	if was == wifiGotIP || was == wifiConnected {
		c.after = func() { c.print("WIFI DISCONNECT\r\n") }
	}
	return resOK
}

func cmdCIFSR(c *call) result {
	c.e.mu.Lock()
	st := c.e.st.wifi
	c.e.mu.Unlock()
	ip := "0.0.0.0"
	if st == wifiGotIP {
		ip = fakeIP
	}
	c.print(fmt.Sprintf("+CIFSR:STAIP,%q\r\n+CIFSR:STAMAC,%q\r\n", ip, fakeMAC))
	return resOK
}

func cmdCWSTATE(c *call) result {
	c.e.mu.Lock()
	st, ap := c.e.st.wifi, c.e.st.ap
	c.e.mu.Unlock()
	ssid := ""
	if st != wifiIdle {
		ssid = ap.ssid
	}
	c.print(fmt.Sprintf("+CWSTATE:%d,%q\r\n", st, ssid))
	return resOK
}
