package esp

import (
	"fmt"

	"github.com/atbridge/atbridge/capture"
)

// flashSettings are the settings the firmware keeps in its NVS partition.
// The Emulator holds one copy as its flash (Emulator.flash, which survives
// AT+RST, AT+GSLP and a new Serve); the running state embeds another
// (emuState.flashSettings), which is what queries read ("Query commands are
// always fetched from RAM", Basic_AT_Commands.rst AT+SYSSTORE). At every
// boot the flash copy is copied into the running state (powerOnLocked);
// AT+RESTORE puts the flash back to defaultFlash() first.
//
// To add a setting:
//  1. add a field here, with its factory value in defaultFlash (nothing to
//     do when the zero value is the factory value);
//  2. in its set handler, change it under e.mu with e.storeLocked (settings
//     the docs say are "saved in the NVS partition if AT+SYSSTORE=1": the
//     commands listed under AT+SYSSTORE) or e.storeNVSLocked (settings saved
//     regardless: AT+UART_DEF, AT+CWAUTOCONN, AT+SAVETRANSLINK);
//  3. read it from e.st under e.mu as any other state field.
//
// A setting the firmware never saves (AT+UART_CUR, AT+CWHOSTNAME,
// AT+CIPMUX...) goes in emuState itself instead, and every boot resets it.
// Values held by pointer (savedAP) are never changed in place: a new value
// gets a new pointer, so the two copies never share a mutable value.
type flashSettings struct {
	sysstore bool         // AT+SYSSTORE; itself kept in NVS (esp-at-surface.md §10.9)
	sysmsg   int64        // AT+SYSMSG
	cwmode   int64        // AT+CWMODE
	autoconn bool         // AT+CWAUTOCONN (always saved)
	savedAP  *apConfig    // the AP of the last successful AT+CWJAP; nil: none
	joinOpts joinOptions  // AT+CWJAP's optional parameters, as AT+CWJAP? prints them
	reconn   reconnConfig // AT+CWRECONNCFG (its interval is CWJAP's reconn_interval)
	uartDef  uartConfig   // AT+UART_DEF (always saved)
	softAP   softAPConfig // AT+CWSAP
	staNet   netConfig    // AT+CIPSTA (static; !static means DHCP)
	apNet    netConfig    // AT+CIPAP
	staMAC   mac          // AT+CIPSTAMAC
	apMAC    mac          // AT+CIPAPMAC
	dhcp     int64        // AT+CWDHCP state: bit 0 station, bit 1 softAP
	dns      dnsConfig    // AT+CIPDNS (names.go)
}

// defaultFlash is a freshly flashed board's NVS (and what AT+RESTORE
// leaves).
func defaultFlash() flashSettings {
	sta, _ := parseMAC(fakeMAC)
	ap := sta
	ap[5]++ // the ESP32 softAP MAC is the station MAC + 1
	return flashSettings{
		sysstore: true, // factory_param sys_store is 1 (esp-at-surface.md §1.2)
		cwmode:   1,
		autoconn: true,
		joinOpts: defaultJoinOptions(),
		uartDef:  uartConfig{line: capture.LineSettings{Baud: 115200, DataBits: 8, Parity: capture.ParityNone, StopBits: capture.Stop1}},
		softAP:   defaultSoftAP(ap),
		apNet:    netConfig{ip: softAPIP, gateway: softAPIP, netmask: defaultNetmask},
		staMAC:   sta,
		apMAC:    ap,
		dhcp:     3,
	}
}

// powerOnLocked gives the running state what a board has right after it
// boots: power-on defaults with the flash settings over them. Called with
// e.mu held, by Serve and reboot.
func (e *Emulator) powerOnLocked() {
	e.st = defaultState()
	e.st.flashSettings = e.flash
	e.st.uartCur = e.flash.uartDef // the UART starts with AT+UART_DEF
	if e.flash.savedAP != nil {
		// The station configuration is loaded from NVS whether or not it
		// auto-connects: a later AT+CWJAP (execute) uses it.
		e.st.ap, e.st.hasAP = *e.flash.savedAP, true
	}
}

// storeLocked applies a set command's change to the running settings and,
// when AT+SYSSTORE is 1, to the flash too (the commands listed under
// AT+SYSSTORE in Basic_AT_Commands.rst). Called with e.mu held.
func (e *Emulator) storeLocked(change func(*flashSettings)) {
	change(&e.st.flashSettings)
	if e.st.sysstore {
		change(&e.flash)
	}
}

// storeNVSLocked applies a change to the running settings and the flash
// whatever AT+SYSSTORE says. Called with e.mu held.
func (e *Emulator) storeNVSLocked(change func(*flashSettings)) {
	change(&e.st.flashSettings)
	change(&e.flash)
}

// bootURCs runs after "ready": with AT+CWAUTOCONN=1, a saved AP and a
// station mode, the board joins by itself and prints WIFI CONNECTED and
// WIFI GOT IP (Wi-Fi_AT_Commands.rst AT+CWAUTOCONN). A saved AP that no
// longer joins (an --aps list without it, Options.CWJAPFail) leaves the
// station disconnected without a line: the firmware's failed attempts print
// nothing while nothing was connected (esp-at-surface.md §10.2).
func (e *Emulator) bootURCs(gen uint64) {
	e.mu.Lock()
	st := &e.st
	if !st.autoconn || st.savedAP == nil || (st.cwmode != 1 && st.cwmode != 3) {
		e.mu.Unlock()
		return
	}
	ap := *st.savedAP
	e.mu.Unlock()
	found, code, _ := e.matchAP(ap)
	if code != 0 {
		e.mu.Lock()
		e.st.wifi = wifiLost
		e.mu.Unlock()
		e.log.Info("auto-connect at boot failed", "ssid", ap.ssid, "code", code)
		return
	}
	e.mu.Lock()
	e.connectLocked(ap, found)
	e.mu.Unlock()
	e.write(gen, []byte("WIFI CONNECTED\r\nWIFI GOT IP\r\n"))
}

// applyBootLine switches the port to the UART settings a boot starts with,
// when they differ from those in use (after AT+UART_CUR, or a new Serve
// with a non-factory AT+UART_DEF).
func (e *Emulator) applyBootLine(prev, now uartConfig) {
	if prev.line != now.line {
		e.applyLine(now.line, "boot (AT+UART_DEF)")
	}
}

func cmdSYSSTOREQuery(c *call) result {
	c.e.mu.Lock()
	v := c.e.st.sysstore
	c.e.mu.Unlock()
	c.print(fmt.Sprintf("+SYSSTORE:%d\r\n", b2i(v)))
	return resOK
}

// cmdSYSSTORESet sets the store mode. The mode itself is kept in NVS
// (esp-at-surface.md §10.9: the docs are silent).
func cmdSYSSTORESet(c *call) result {
	v, res, ok := c.boolParam("AT+SYSSTORE")
	if !ok {
		return res
	}
	c.e.mu.Lock()
	c.e.storeNVSLocked(func(f *flashSettings) { f.sysstore = v })
	c.e.mu.Unlock()
	return resOK
}

// b2i is 1 for true.
func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
