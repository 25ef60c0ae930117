package esp

import (
	"fmt"
	"sort"
	"strings"

	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/formats/at"
)

// emuState is the running state, which every boot rebuilds: power-on
// values (defaultState) with the flash settings copied over them
// (flashSettings, flash.go).
type emuState struct {
	flashSettings
	echo     bool
	syslog   bool
	wifi     wifiState
	ap       apConfig // the station's configuration (AT+CWJAP execute reuses it)
	hasAP    bool     // an AP was configured
	joined   joinedAP // the AP joined, while wifi is wifiGotIP
	hostname string   // AT+CWHOSTNAME (never saved)
	sleep    int64    // AT+SLEEP (never saved)
	lapOpt   lapOptions
	sntp     sntpConfig
	uartCur  uartConfig
	wscfg    [wsLinks]*wsConfig
	headers  []wsHeader // newest first
	datafmt  [wsLinks]dataFmt
	tcp      tcpSettings // AT+CIPMUX, AT+CIPMODE, AT+CIPDINFO (tcp.go)
	http     httpState   // AT+HTTPURLCFG, AT+HTTPCHEAD (http.go)
}

// defaultState is the power-on state of the settings the flash does not
// hold; powerOnLocked adds the flash ones.
func defaultState() emuState {
	st := emuState{echo: true, sntp: defaultSNTP(), flashSettings: defaultFlash()}
	st.hostname = defaultHostname
	// ESP-IDF's default station power save is modem sleep (WIFI_PS_MIN_MODEM),
	// which AT+SLEEP numbers 1; the docs give no default (a choice).
	st.sleep = 1
	st.lapOpt = defaultLapOptions()
	st.uartCur = st.uartDef
	st.tcp.maxConn, st.tcp.sto = defaultMaxConn, defaultSTO
	for i := range st.datafmt {
		st.datafmt[i] = dataFmt{level: 0, mask: 48}
	}
	return st
}

// handler holds a command's four forms; a nil form answers ERROR, as a NULL
// slot in the firmware's command table does (esp-at.md §1.2).
type handler struct {
	test, query, set, exec func(c *call) result
}

// commandTable returns the commands of the emulated firmware: each command
// group's file adds its own (one file per group, so groups grow apart).
func (e *Emulator) commandTable() map[string]handler {
	t := map[string]handler{
		"":          {exec: func(*call) result { return resOK }},
		"E0":        {exec: func(c *call) result { return c.e.setEcho(false) }},
		"E1":        {exec: func(c *call) result { return c.e.setEcho(true) }},
		"+GMR":      {exec: cmdGMR},
		"+RST":      {exec: cmdRST},
		"+RESTORE":  {exec: cmdRESTORE},
		"+SYSLOG":   {query: cmdSyslogQuery, set: cmdSyslogSet, test: cmdSyslogTest},
		"+SYSSTORE": {query: cmdSYSSTOREQuery, set: cmdSYSSTORESet},
		"+CMD":      {query: cmdCMDQuery},
		"+GSLP":     {set: cmdGSLP},
		"+SLEEP":    {query: cmdSLEEPQuery, set: cmdSLEEPSet},
		"+SYSMSG":   {query: cmdSysmsgQuery, set: cmdSysmsgSet},
		"+UART":     {query: cmdUARTQuery(false), set: cmdUARTSet(true)}, // at_uart_cmd.c: query current, set as UART_DEF
		"+UART_CUR": {query: cmdUARTQuery(false), set: cmdUARTSet(false)},
		"+UART_DEF": {query: cmdUARTQuery(true), set: cmdUARTSet(true)},
	}
	wifiCommands(t)
	tcpCommands(t)
	recvCommands(t)
	nameCommands(t)
	httpCommands(t)
	wsCommands(t, e.opts.Firmware)
	mqttCommands(t)
	return t
}

// run looks the command up and runs the form the host used.
func (e *Emulator) run(c *call) result {
	if p := e.opts.PanicOn; p != "" && c.cmd.Name == p {
		e.log.Info("PanicOn: the board crashes and restarts", "cmd", string(c.cmd.Line))
		e.logPanic(string(c.cmd.Line))
		c.restart = restartReboot
		return resNone
	}
	h, ok := e.commandTable()[c.cmd.Name]
	if !ok {
		e.mu.Lock()
		syslog := e.st.syslog
		e.mu.Unlock()
		if syslog {
			c.print("ERR CODE:0x01090000\r\n")
		}
		return c.errorf("unknown command (not implemented by the emulated " + e.opts.Firmware.String() + " firmware)")
	}
	var f func(*call) result
	switch c.cmd.Type {
	case at.CmdExec:
		f = h.exec
	case at.CmdQuery:
		f = h.query
	case at.CmdTest:
		f = h.test
	case at.CmdSet:
		f = h.set
	}
	if f == nil {
		return c.errorf("the command has no " + c.cmd.Type.String() + " form")
	}
	return f(c)
}

// paramErr answers a malformed parameter of a non-WebSocket command: those
// handlers go through the core's parameter parser, which prints an error code
// under AT+SYSLOG=1 (0x0106 count, 0x0107 invalid value); the WebSocket
// handlers print none (esp-at.md §1.2).
func (c *call) paramErr(code, why string) result {
	c.e.mu.Lock()
	syslog := c.e.st.syslog
	c.e.mu.Unlock()
	if syslog {
		c.print("ERR CODE:" + code + "\r\n")
	}
	return c.errorf(why)
}

// intParams reads exactly n numeric parameters.
func (c *call) intParams(n int) ([]int64, bool) {
	if len(c.cmd.Params) != n {
		return nil, false
	}
	out := make([]int64, n)
	for i := range out {
		v, ok := c.cmd.Int(i)
		if !ok {
			return nil, false
		}
		out[i] = v
	}
	return out, true
}

// boolParam reads the one 0|1 parameter of a set command; a bad one is
// answered as the firmware does (parameter error, "NAME takes 0 or 1").
func (c *call) boolParam(name string) (bool, result, bool) {
	v, ok := c.intParams(1)
	if !ok || v[0] < 0 || v[0] > 1 {
		return false, c.paramErr("0x01070000", name+" takes 0 or 1"), false
	}
	return v[0] == 1, resOK, true
}

// badValue answers a parameter out of range: PARA_INVALID with the
// parameter's index as the extension (esp_at_core.h ESP_AT_ERROR_NO).
func (c *call) badValue(i int, why string) result {
	return c.paramErr(fmt.Sprintf("0x0107%04x", i), why)
}

// badType answers a parameter of the wrong kind (a string for a number or
// the reverse): PARA_TYPE_MISMATCH with the parameter's index.
func (c *call) badType(i int, why string) result {
	return c.paramErr(fmt.Sprintf("0x0105%04x", i), why)
}

// execFail answers a well-formed command the firmware cannot carry out in
// its state (wrong Wi-Fi mode, a failed join): CMD_EXEC_FAIL with no module
// extension, the code the core prints when a handler returns a plain
// ESP_AT_RESULT_CODE_ERROR (a choice: the docs show none).
func (c *call) execFail(why string) result {
	return c.paramErr("0x010a0000", why)
}

// quotedParam reads parameter i as a quoted string of at most max bytes
// (min at least); ok is false after answering ERROR.
func (c *call) quotedParam(i, min, max int, what string) (string, result, bool) {
	p, _ := c.cmd.Param(i)
	if !p.Quoted {
		return "", c.badType(i, what+" must be a quoted string"), false
	}
	if len(p.Value) < min || len(p.Value) > max {
		return "", c.badValue(i, fmt.Sprintf("%s must be %d..%d bytes", what, min, max)), false
	}
	return p.Value, resOK, true
}

// reqInt reads numeric parameter i within lo..hi; missing or empty is a
// bad value, as out of range is.
func (c *call) reqInt(i int, lo, hi int64, what string) (int64, result, bool) {
	v, res, ok := c.optInt(i, lo, hi, lo-1, what)
	if ok && v < lo {
		return 0, c.badValue(i, fmt.Sprintf("%s must be %d..%d", what, lo, hi)), false
	}
	return v, res, ok
}

// optInt reads optional numeric parameter i within lo..hi: missing or
// empty gives def.
func (c *call) optInt(i int, lo, hi, def int64, what string) (int64, result, bool) {
	p, there := c.cmd.Param(i)
	if !there || p.Empty {
		return def, resOK, true
	}
	if p.Quoted {
		return 0, c.badType(i, what+" must be a number"), false
	}
	v, ok := p.Int()
	if !ok || v < lo || v > hi {
		return 0, c.badValue(i, fmt.Sprintf("%s must be %d..%d", what, lo, hi)), false
	}
	return v, resOK, true
}

// cmdCMDQuery lists the commands of this firmware build, one
// +CMD:<index>,"AT<name>",<test>,<query>,<set>,<exe> line each
// (Basic_AT_Commands.rst AT+CMD; LIB-BASE "%s:%d,\"AT%s\",%d,%d,%d,%d").
// The firmware's index order is its registration order, which the docs do
// not give: the emulator numbers from 0 in name order (a choice).
func cmdCMDQuery(c *call) result {
	t := c.e.commandTable()
	names := make([]string, 0, len(t))
	for n := range t {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for i, n := range names {
		h := t[n]
		fmt.Fprintf(&b, "+CMD:%d,\"AT%s\",%d,%d,%d,%d\r\n", i, n, b2i(h.test != nil), b2i(h.query != nil), b2i(h.set != nil), b2i(h.exec != nil))
	}
	c.print(b.String())
	return resOK
}

func (e *Emulator) setEcho(on bool) result {
	e.mu.Lock()
	e.st.echo = on
	e.mu.Unlock()
	return resOK
}

// cmdGMR prints the firmware's four version lines. The AT version and core
// commit are those of the emulated firmware; SDK and Bin version name the
// emulator so a log shows at once that no board was involved.
func cmdGMR(c *call) result {
	at := "5.0.1.0(3258eee - ESP32 - Mar  9 2026 12:00:00)"
	if c.e.opts.Firmware == FirmwareDev {
		at = "5.0.1.0-dev(32ff6e1 - ESP32 - Jul 24 2026 12:00:00)"
	}
	c.print("AT version:" + at + "\r\n" +
		"SDK version:" + c.e.opts.Version + " emulator\r\n" +
		"compile time(atbridge):Jan  1 2026 00:00:00\r\n" +
		"Bin version:" + c.e.opts.Firmware.String() + "(atbridge emulate)\r\n")
	return resOK
}

// cmdRST prints OK, then the board restarts (esp-at.md §1.7).
func cmdRST(c *call) result {
	c.restart = restartReboot
	return resOK
}

// cmdRESTORE prints OK, forgets the saved AP and restarts.
func cmdRESTORE(c *call) result {
	c.restart = restartRestore
	return resOK
}

func cmdSyslogQuery(c *call) result {
	c.e.mu.Lock()
	v := c.e.st.syslog
	c.e.mu.Unlock()
	if v {
		c.print("+SYSLOG:1\r\n")
	} else {
		c.print("+SYSLOG:0\r\n")
	}
	return resOK
}

func cmdSyslogTest(c *call) result {
	c.print("+SYSLOG:(0-1)\r\n")
	return resOK
}

func cmdSyslogSet(c *call) result {
	v, res, ok := c.boolParam("AT+SYSLOG")
	if !ok {
		return res
	}
	c.e.mu.Lock()
	c.e.st.syslog = v
	c.e.mu.Unlock()
	return resOK
}

func cmdSysmsgQuery(c *call) result {
	c.e.mu.Lock()
	v := c.e.st.sysmsg
	c.e.mu.Unlock()
	c.print(fmt.Sprintf("+SYSMSG:%d\r\n", v))
	return resOK
}

// cmdSysmsgSet stores the value (in flash with AT+SYSSTORE=1). The TCP links honour it (bit 0 +QUITT,
// bit 1 +LINK_CONN, bit 2 CLOSED in passthrough; tcp.go); WebSocket
// URCs ignore it (esp-at.md §1.6).
func cmdSysmsgSet(c *call) result {
	v, ok := c.intParams(1)
	if !ok || v[0] < 0 || v[0] > 7 {
		return c.paramErr("0x01070000", "AT+SYSMSG takes 0..7")
	}
	c.e.mu.Lock()
	c.e.storeLocked(func(f *flashSettings) { f.sysmsg = v[0] })
	c.e.mu.Unlock()
	return resOK
}

// uartConfig is a UART setting as AT+UART_CUR/DEF take it: the line, and
// the flow-control number (0 none, 1 RTS, 2 CTS, 3 both), kept as set
// because a pty or USB-UART offers only RTS/CTS together.
type uartConfig struct {
	line capture.LineSettings
	flow int64
}

// cmdUARTQuery prints <baud>,<databits>,<stopbits>,<parity>,<flow> as
// at_uart_cmd.c does (flow: UART_HW_FLOWCTRL_RTS 1, CTS 2, CTS_RTS 3).
func cmdUARTQuery(def bool) func(*call) result {
	return func(c *call) result {
		c.e.mu.Lock()
		u := c.e.st.uartCur
		if def {
			u = c.e.st.uartDef
		}
		c.e.mu.Unlock()
		l := u.line
		stop := map[capture.StopBits]int{capture.Stop1: 1, capture.Stop1_5: 2, capture.Stop2: 3}[l.StopBits]
		par := map[capture.Parity]int{capture.ParityNone: 0, capture.ParityOdd: 1, capture.ParityEven: 2}[l.Parity]
		c.print(fmt.Sprintf("%s:%d,%d,%d,%d,%d\r\n", c.cmd.Name, l.Baud, l.DataBits, stop, par, u.flow))
		return resOK
	}
}

// cmdUARTSet parses AT+UART_CUR/DEF=<baud>,<databits>,<stopbits>,<parity>,<flow>
// and, after the OK has gone out at the old settings, switches the port
// (at_uart_cmd.c: AT+UART_DEF also applies at once, and saves in NVS
// whatever AT+SYSSTORE says). Flow control 1 (RTS only) and 2 (CTS only)
// are read back as set but applied as RTS/CTS, the only hardware flow a pty
// or USB-UART offers.
func cmdUARTSet(def bool) func(*call) result {
	return func(c *call) result {
		v, ok := c.intParams(5)
		if !ok {
			return c.paramErr("0x01060000", "AT+UART_CUR/DEF take 5 numbers")
		}
		baud, bits, stop, par, flow := v[0], v[1], v[2], v[3], v[4]
		for i, bad := range []bool{baud < 80 || baud > 5000000, bits < 5 || bits > 8, stop < 1 || stop > 3, par < 0 || par > 2, flow < 0 || flow > 3} {
			if bad {
				return c.badValue(i, "UART parameter out of range")
			}
		}
		l := capture.LineSettings{Baud: int(baud), DataBits: uint8(bits)}
		l.StopBits = []capture.StopBits{capture.Stop1, capture.Stop1_5, capture.Stop2}[stop-1]
		l.Parity = []capture.Parity{capture.ParityNone, capture.ParityOdd, capture.ParityEven}[par]
		if flow != 0 {
			l.Flow = capture.FlowRTSCTS
		}
		u := uartConfig{line: l, flow: flow}
		c.e.mu.Lock()
		c.e.st.uartCur = u
		if def {
			c.e.storeNVSLocked(func(f *flashSettings) { f.uartDef = u })
		}
		c.e.mu.Unlock()
		what := strings.TrimPrefix(c.cmd.Name, "+")
		c.after = func() { c.e.applyLine(l, "AT+"+what) }
		return resOK
	}
}

// applyLine changes the port's settings, if it has any.
func (e *Emulator) applyLine(l capture.LineSettings, why string) {
	e.outMu.Lock()
	fn := e.lineFn
	e.outMu.Unlock()
	if fn == nil {
		e.log.Info("line settings changed; the port has none to apply", "line", l.String(), "by", why)
	} else if err := fn(l); err != nil {
		e.log.Warn("could not apply line settings", "line", l.String(), "by", why, "err", err)
	} else {
		e.log.Info("line settings applied", "line", l.String(), "by", why)
	}
	e.event(capture.Event{Type: capture.EvLineSettings, Line: l, Text: why})
}
