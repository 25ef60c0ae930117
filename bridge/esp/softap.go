package esp

import "fmt"

// softAPConfig is AT+CWSAP's configuration. The emulated softAP beacons
// nothing and no station ever joins it: the commands keep and print their
// settings, and AT+CIFSR lists its address in modes 2 and 3.
type softAPConfig struct {
	ssid, pwd                     string
	channel, ecn, maxConn, hidden int64
}

// defaultSoftAP is ESP-IDF's softAP configuration when NVS holds none:
// SSID "ESP_" and the last three bytes of the softAP MAC in upper-case hex
// (esp-at-surface.md §10.6), open, channel 1, at most 4 stations (ESP-IDF's
// default max_connection; the docs give none), broadcast.
func defaultSoftAP(m mac) softAPConfig {
	return softAPConfig{ssid: fmt.Sprintf("ESP_%02X%02X%02X", m[3], m[4], m[5]), channel: 1, maxConn: 4}
}

// softAPOn reports whether the Wi-Fi mode runs the softAP (2 or 3).
func softAPOn(mode int64) bool { return mode == 2 || mode == 3 }

// cmdCWSAPQuery prints LIB-WIFI's `+CWSAP:"%.*s","%.*s",%d,%d,%d,%d`,
// password in clear. Like the set command it needs AT+CWMODE 2 or 3
// (Wi-Fi_AT_Commands.rst AT+CWSAP Notes).
func cmdCWSAPQuery(c *call) result {
	c.e.mu.Lock()
	mode, s := c.e.st.cwmode, c.e.st.softAP
	c.e.mu.Unlock()
	if !softAPOn(mode) {
		return c.execFail("AT+CWSAP needs softAP mode (AT+CWMODE=2 or 3)")
	}
	c.print(fmt.Sprintf("+CWSAP:\"%s\",\"%s\",%d,%d,%d,%d\r\n", s.ssid, s.pwd, s.channel, s.ecn, s.maxConn, s.hidden))
	return resOK
}

// cmdCWSAPSet parses AT+CWSAP=<"ssid">,<"pwd">,<chl>,<ecn>[,<max conn>][,<ssid hidden>]
// and saves it with AT+SYSSTORE=1. ecn is 0, 2, 3 or 4 (no WEP); a secured
// AP's password is 8..63 bytes (64 on dev); an open AP's is ignored and
// kept empty, as ESP-IDF does with an OPEN authmode.
func cmdCWSAPSet(c *call) result {
	p := c.cmd.Params
	if len(p) < 4 || len(p) > 6 {
		return c.paramErr("0x01060000", "AT+CWSAP takes 4..6 parameters")
	}
	ssid, res, ok := c.quotedParam(0, 1, 32, "AT+CWSAP ssid")
	if !ok {
		return res
	}
	if !p[1].Quoted {
		return c.badType(1, "AT+CWSAP password must be a quoted string")
	}
	s := softAPConfig{ssid: ssid, pwd: p[1].Value}
	for i := 2; i <= 3; i++ {
		if p[i].Empty {
			return c.badValue(i, "AT+CWSAP channel and ecn are required")
		}
	}
	if s.channel, res, ok = c.optInt(2, 1, 14, 1, "AT+CWSAP channel"); !ok {
		return res
	}
	if s.ecn, res, ok = c.optInt(3, 0, 4, 0, "AT+CWSAP ecn"); !ok {
		return res
	}
	if s.ecn == 1 {
		return c.badValue(3, "AT+CWSAP does not support WEP (ecn 1)")
	}
	maxPwd := 63
	if c.e.opts.Firmware == FirmwareDev {
		maxPwd = 64
	}
	if s.ecn == 0 {
		s.pwd = ""
	} else if len(s.pwd) < 8 || len(s.pwd) > maxPwd {
		return c.badValue(1, fmt.Sprintf("AT+CWSAP password must be 8..%d bytes", maxPwd))
	}
	if s.maxConn, res, ok = c.optInt(4, 1, 10, 4, "AT+CWSAP max conn"); !ok {
		return res
	}
	if s.hidden, res, ok = c.optInt(5, 0, 1, 0, "AT+CWSAP ssid hidden"); !ok {
		return res
	}
	c.e.mu.Lock()
	mode := c.e.st.cwmode
	if softAPOn(mode) {
		c.e.storeLocked(func(f *flashSettings) { f.softAP = s })
	}
	c.e.mu.Unlock()
	if !softAPOn(mode) {
		return c.execFail("AT+CWSAP needs softAP mode (AT+CWMODE=2 or 3)")
	}
	return resOK
}
