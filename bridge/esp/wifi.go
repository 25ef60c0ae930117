package esp

import (
	"fmt"
	"slices"
)

// Simulated Wi-Fi: the radio "sees" Options.AccessPoints (wifi_scan.go);
// AT+CWJAP joins one of them when the password matches, unless
// Options.CWJAPFail is set or the password is wrongPassword, and the
// station gets the fixed address below (or its AT+CIPSTA static one).
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

// apConfig is the station's configuration as AT+CWJAP sets it.
type apConfig struct {
	ssid, pwd string
	bssid     string // lower-case; empty: any AP with the SSID
	pci       int64  // <pci_en> (release) or <authmode> threshold (dev)
}

// joinOptions are AT+CWJAP's optional numbers that AT+CWJAP? prints back.
type joinOptions struct {
	listen, scanMode, timeout, pmf int64
}

func defaultJoinOptions() joinOptions {
	return joinOptions{listen: 3, timeout: 15, pmf: 1}
}

// reconnConfig is AT+CWRECONNCFG's. The emulated AP never drops the
// station, so nothing ever reconnects; the values are kept and printed.
type reconnConfig struct {
	interval, repeat int64
}

// joinedAP is the AP the station is on, for AT+CWJAP?.
type joinedAP = AccessPoint

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

// cmdCWMODESet accepts AT+CWMODE=<mode>[,<auto_connect>] and saves the mode
// with AT+SYSSTORE=1. Leaving station mode (0 or 2) drops the AP
// connection with WIFI DISCONNECT after the OK; entering it from 0 or 2
// with auto_connect (default 1) and a configured AP joins it again, with
// WIFI CONNECTED and WIFI GOT IP after the OK. The doc says "saved in flash
// before"; the emulator also rejoins an AP configured with AT+SYSSTORE=0,
// as ESP-IDF keeps the station configuration in RAM too (a choice).
func cmdCWMODESet(c *call) result {
	n := len(c.cmd.Params)
	if n < 1 || n > 2 {
		return c.paramErr("0x01060000", "AT+CWMODE takes 1 or 2 parameters")
	}
	m, ok := c.cmd.Int(0)
	if !ok || m < 0 || m > 3 {
		return c.badValue(0, "AT+CWMODE mode must be 0..3")
	}
	auto, res, ok := c.optInt(1, 0, 1, 1, "AT+CWMODE auto_connect")
	if !ok {
		return res
	}
	e := c.e
	e.mu.Lock()
	old := e.st.cwmode
	e.storeLocked(func(f *flashSettings) { f.cwmode = m })
	station := m == 1 || m == 3
	drop := !station && (e.st.wifi == wifiGotIP || e.st.wifi == wifiConnected)
	if drop {
		e.st.wifi = wifiLost
	}
	rejoin := station && (old == 0 || old == 2) && auto == 1 && e.st.hasAP
	ap := e.st.ap
	e.mu.Unlock()
	switch {
	case drop:
		c.after = func() { c.print("WIFI DISCONNECT\r\n") }
		c.after = c.e.mqttAfterWiFiLoss(c, c.after) // MQTT drops with Wi-Fi (mqtt_client.go)
	case rejoin:
		c.after = func() {
			found, code, _ := e.matchAP(ap)
			if code != 0 {
				return
			}
			e.mu.Lock()
			e.connectLocked(ap, found)
			e.mu.Unlock()
			c.print("WIFI CONNECTED\r\nWIFI GOT IP\r\n")
		}
	}
	return resOK
}

// cmdCWJAPSet parses
// AT+CWJAP=[<"ssid">],[<"pwd">][,<"bssid">][,<pci_en>][,<reconn_interval>][,<listen_interval>][,<scan_mode>][,<jap_timeout>][,<pmf>]
// (Wi-Fi_AT_Commands.rst AT+CWJAP) and joins. With the SSID omitted the
// last configuration is used ("AT will use the last configuration"). The
// fourth field is <pci_en> 0|1 on the release firmware and the <authmode>
// threshold 0..16 on dev; the password is at most 63 bytes on release, 64
// on dev (esp-at-surface.md §7.2). The timeout is checked, not waited for:
// a failure answers at once.
func cmdCWJAPSet(c *call) result {
	p := c.cmd.Params
	if len(p) > 9 {
		return c.paramErr("0x01060000", "AT+CWJAP takes 1..9 parameters")
	}
	if !p[0].Quoted && !p[0].Empty {
		return c.badType(0, "AT+CWJAP ssid must be a quoted string")
	}
	if len(p[0].Value) > 32 {
		return c.badValue(0, "AT+CWJAP ssid longer than 32 bytes")
	}
	ap := apConfig{ssid: p[0].Value}
	maxPwd, maxPCI := 63, int64(1)
	if c.e.opts.Firmware == FirmwareDev {
		maxPwd, maxPCI = 64, 16
	}
	pwdGiven := len(p) > 1 && !p[1].Empty
	if pwdGiven {
		if !p[1].Quoted {
			return c.badType(1, "AT+CWJAP password must be a quoted string")
		}
		if len(p[1].Value) > maxPwd {
			return c.badValue(1, fmt.Sprintf("AT+CWJAP password longer than %d bytes", maxPwd))
		}
		ap.pwd = p[1].Value
	}
	if len(p) > 2 && !p[2].Empty {
		if !p[2].Quoted {
			return c.badType(2, "AT+CWJAP bssid must be a quoted string")
		}
		m, ok := parseMAC(p[2].Value)
		if !ok {
			return c.badValue(2, "AT+CWJAP bssid is not xx:xx:xx:xx:xx:xx")
		}
		ap.bssid = m.String()
	}
	var res result
	var ok bool
	if ap.pci, res, ok = c.optInt(3, 0, maxPCI, 0, "AT+CWJAP pci_en/authmode"); !ok {
		return res
	}
	var o joinOptions
	var reconn int64
	if reconn, res, ok = c.optInt(4, 0, 7200, 1, "AT+CWJAP reconn_interval"); !ok {
		return res
	}
	if o.listen, res, ok = c.optInt(5, 1, 100, 3, "AT+CWJAP listen_interval"); !ok {
		return res
	}
	if o.scanMode, res, ok = c.optInt(6, 0, 1, 0, "AT+CWJAP scan_mode"); !ok {
		return res
	}
	if o.timeout, res, ok = c.optInt(7, 3, 600, 15, "AT+CWJAP jap_timeout"); !ok {
		return res
	}
	if o.pmf, res, ok = c.optInt(8, 0, 3, 1, "AT+CWJAP pmf"); !ok {
		return res
	}
	e := c.e
	e.mu.Lock()
	if p[0].Empty {
		if !e.st.hasAP {
			e.mu.Unlock()
			return c.badValue(0, "AT+CWJAP without ssid and no AP configured")
		}
		ap.ssid = e.st.ap.ssid
		if !pwdGiven {
			ap.pwd = e.st.ap.pwd
		}
	}
	e.storeLocked(func(f *flashSettings) {
		f.joinOpts = o
		f.reconn.interval = reconn // the same setting as CWRECONNCFG's interval
	})
	e.mu.Unlock()
	return c.join(ap)
}

// cmdCWJAPExec reconnects with the last configuration.
func cmdCWJAPExec(c *call) result {
	c.e.mu.Lock()
	has, ap := c.e.st.hasAP, c.e.st.ap
	c.e.mu.Unlock()
	if !has {
		return c.execFail("AT+CWJAP without a configured AP")
	}
	return c.join(ap)
}

// matchAP decides whether ap joins: the AP it lands on, or a +CWJAP error
// code (1 timeout, 2 wrong password, 3 no AP, 4 fail) and why.
func (e *Emulator) matchAP(ap apConfig) (AccessPoint, int, string) {
	if code := e.opts.CWJAPFail; code >= 1 && code <= 4 {
		return AccessPoint{}, code, "--cwjap-fail"
	}
	if ap.pwd == wrongPassword {
		return AccessPoint{}, 2, "the password is " + wrongPassword
	}
	list, anySSID := e.accessPoints()
	var best *AccessPoint
	named := false
	for i := range list {
		a := &list[i]
		if a.SSID != ap.ssid {
			continue
		}
		named = true
		// pci_en=1 (or an authmode threshold above WEP) skips OPEN and WEP
		// APs, as the station's scan filter does: the AP is "not found".
		if ap.bssid != "" && a.BSSID != ap.bssid || ap.pci >= 1 && a.ECN <= 1 {
			continue
		}
		if best == nil || a.RSSI > best.RSSI {
			best = a // scan_mode 1 picks the strongest; so does fast scan here
		}
	}
	if best == nil {
		if anySSID && !named {
			bssid := fakeBSSID
			if ap.bssid != "" {
				bssid = ap.bssid
			}
			return AccessPoint{SSID: ap.ssid, BSSID: bssid, Channel: 6, RSSI: -45, ECN: 3}, 0, ""
		}
		return AccessPoint{}, 3, "no AP with this SSID (and BSSID) in the access point list"
	}
	if best.ECN != 0 && ap.pwd != best.Password {
		return AccessPoint{}, 2, "the password does not match the access point list"
	}
	return *best, 0, ""
}

// connectLocked puts the station on found. Called with e.mu held.
func (e *Emulator) connectLocked(ap apConfig, found AccessPoint) {
	e.st.wifi, e.st.ap, e.st.hasAP, e.st.joined = wifiGotIP, ap, true, found
}

// join runs the connect sequence: WIFI DISCONNECT when already connected,
// then WIFI CONNECTED, WIFI GOT IP and OK, or +CWJAP:<code> and ERROR (no
// WIFI CONNECTED before a failure: esp-at-surface.md §10.2). A successful
// join is saved in flash with AT+SYSSTORE=1; a failed one is not (a
// choice: the docs do not say, and a board that saved a failing AP would
// keep retrying it at every boot).
func (c *call) join(ap apConfig) result {
	e := c.e
	e.mu.Lock()
	if e.st.cwmode != 1 && e.st.cwmode != 3 {
		e.mu.Unlock()
		return c.execFail("AT+CWJAP needs station mode (AT+CWMODE=1 or 3)")
	}
	was := e.st.wifi
	e.st.ap, e.st.hasAP = ap, true
	e.st.wifi = wifiConnecting
	e.mu.Unlock()
	if was == wifiGotIP || was == wifiConnected {
		c.print("WIFI DISCONNECT\r\n")
	}
	found, code, why := e.matchAP(ap)
	if code != 0 {
		e.mu.Lock()
		e.st.wifi = wifiLost
		e.mu.Unlock()
		e.logWiFiFail(code)
		c.print(fmt.Sprintf("+CWJAP:%d\r\n", code))
		return c.execFail(fmt.Sprintf("AT+CWJAP fails with code %d (%s)", code, why))
	}
	e.mu.Lock()
	e.connectLocked(ap, found)
	saved := ap
	e.storeLocked(func(f *flashSettings) { f.savedAP = &saved })
	addr := e.staAddrLocked()
	e.mu.Unlock()
	e.logWiFiJoin(found, addr)
	c.print("WIFI CONNECTED\r\nWIFI GOT IP\r\n")
	return resOK
}

// cmdCWJAPQuery prints the AP in LIB-WIFI's format
// `+CWJAP:"%s","%02x:...",%d,%d,%d,%d,%d,%d,%d`, the SSID raw (no
// escapes), or "No AP" when not connected (esp-at-surface.md §10.3).
func cmdCWJAPQuery(c *call) result {
	c.e.mu.Lock()
	st, ap, j, o, r := c.e.st.wifi, c.e.st.ap, c.e.st.joined, c.e.st.joinOpts, c.e.st.reconn
	c.e.mu.Unlock()
	if st != wifiGotIP {
		c.print("No AP\r\n")
		return resOK
	}
	c.print(fmt.Sprintf("+CWJAP:\"%s\",\"%s\",%d,%d,%d,%d,%d,%d,%d\r\n", j.SSID, j.BSSID, j.Channel, j.RSSI, ap.pci, r.interval, o.listen, o.scanMode, o.pmf))
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
		c.after = c.e.mqttAfterWiFiLoss(c, c.after) // MQTT drops with Wi-Fi (mqtt_client.go)
	}
	return resOK
}

// cmdCWSTATE prints LIB-WIFI's `+CWSTATE:%d,"%.*s"`, the SSID raw.
func cmdCWSTATE(c *call) result {
	c.e.mu.Lock()
	st, ap := c.e.st.wifi, c.e.st.ap
	c.e.mu.Unlock()
	ssid := ""
	if st != wifiIdle {
		ssid = ap.ssid
	}
	c.print(fmt.Sprintf("+CWSTATE:%d,\"%s\"\r\n", st, ssid))
	return resOK
}

func cmdCWAUTOCONNQuery(c *call) result {
	c.e.mu.Lock()
	v := c.e.st.autoconn
	c.e.mu.Unlock()
	c.print(fmt.Sprintf("+CWAUTOCONN:%d\r\n", b2i(v)))
	return resOK
}

// cmdCWAUTOCONNSet saves the setting in NVS whatever AT+SYSSTORE says
// (Wi-Fi_AT_Commands.rst AT+CWAUTOCONN Note).
func cmdCWAUTOCONNSet(c *call) result {
	v, res, ok := c.boolParam("AT+CWAUTOCONN")
	if !ok {
		return res
	}
	c.e.mu.Lock()
	c.e.storeNVSLocked(func(f *flashSettings) { f.autoconn = v })
	c.e.mu.Unlock()
	return resOK
}

func cmdCWRECONNCFGQuery(c *call) result {
	c.e.mu.Lock()
	r := c.e.st.reconn
	c.e.mu.Unlock()
	c.print(fmt.Sprintf("+CWRECONNCFG:%d,%d\r\n", r.interval, r.repeat))
	return resOK
}

// cmdCWRECONNCFGSet parses AT+CWRECONNCFG=<interval 0..7200>,<repeat 0..1000>,
// plus [,<reconnect_now 0|1>] on the dev firmware (esp-at-surface.md §2.5).
func cmdCWRECONNCFGSet(c *call) result {
	p := c.cmd.Params
	counts := []int{2}
	if c.e.opts.Firmware == FirmwareDev {
		counts = []int{2, 3}
	}
	if !slices.Contains(counts, len(p)) {
		return c.paramErr("0x01060000", "AT+CWRECONNCFG takes <interval>,<repeat_count>")
	}
	for i := range p {
		if p[i].Empty {
			return c.badValue(i, "AT+CWRECONNCFG parameters are required")
		}
	}
	var r reconnConfig
	var res result
	var ok bool
	if r.interval, res, ok = c.optInt(0, 0, 7200, 0, "AT+CWRECONNCFG interval"); !ok {
		return res
	}
	if r.repeat, res, ok = c.optInt(1, 0, 1000, 0, "AT+CWRECONNCFG repeat_count"); !ok {
		return res
	}
	if _, res, ok = c.optInt(2, 0, 1, 0, "AT+CWRECONNCFG reconnect_now"); !ok {
		return res
	}
	c.e.mu.Lock()
	c.e.storeLocked(func(f *flashSettings) { f.reconn = r })
	c.e.mu.Unlock()
	return resOK
}

// wifiCommands adds the Wi-Fi commands (DOC-WIFI) to t.
func wifiCommands(t map[string]handler) {
	t["+CWMODE"] = handler{query: cmdCWMODEQuery, set: cmdCWMODESet, test: cmdCWMODETest}
	t["+CWJAP"] = handler{query: cmdCWJAPQuery, set: cmdCWJAPSet, exec: cmdCWJAPExec}
	t["+CWQAP"] = handler{exec: cmdCWQAP}
	t["+CIFSR"] = handler{exec: cmdCIFSR}
	t["+CWSTATE"] = handler{query: cmdCWSTATE}
	t["+CWLAP"] = handler{set: cmdCWLAPSet, exec: cmdCWLAPExec}
	t["+CWLAPOPT"] = handler{set: cmdCWLAPOPT}
	t["+CWAUTOCONN"] = handler{query: cmdCWAUTOCONNQuery, set: cmdCWAUTOCONNSet}
	t["+CWRECONNCFG"] = handler{query: cmdCWRECONNCFGQuery, set: cmdCWRECONNCFGSet}
	t["+CWSAP"] = handler{query: cmdCWSAPQuery, set: cmdCWSAPSet}
	t["+CIPSTA"] = handler{query: cmdNetQuery(false), set: cmdNetSet(false)}
	t["+CIPAP"] = handler{query: cmdNetQuery(true), set: cmdNetSet(true)}
	t["+CIPSTAMAC"] = handler{query: cmdMACQuery(false), set: cmdMACSet(false)}
	t["+CIPAPMAC"] = handler{query: cmdMACQuery(true), set: cmdMACSet(true)}
	t["+CWDHCP"] = handler{query: cmdCWDHCPQuery, set: cmdCWDHCPSet}
	t["+CWHOSTNAME"] = handler{query: cmdCWHOSTNAMEQuery, set: cmdCWHOSTNAMESet}
}
