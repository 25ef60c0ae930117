package esp

import (
	"fmt"
	"strings"

	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/formats/at"
)

// emuState is everything a reboot resets (savedAP excepted: it is "flash").
type emuState struct {
	echo    bool
	syslog  bool
	sysmsg  int64
	cwmode  int64
	wifi    wifiState
	ap      apConfig
	hasAP   bool      // an AP was configured (AT+CWJAP exec reuses it)
	savedAP *apConfig // kept across AT+RST, cleared by AT+RESTORE
	sntp    sntpConfig
	uartCur capture.LineSettings
	uartDef capture.LineSettings
	wscfg   [wsLinks]*wsConfig
	headers []wsHeader // newest first
	datafmt [wsLinks]dataFmt
	tcp     tcpSettings // AT+CIPMUX, AT+CIPMODE, AT+CIPDINFO (tcp.go)
}

func defaultState() emuState {
	st := emuState{echo: true, cwmode: 1, sntp: defaultSNTP()}
	uart := capture.LineSettings{Baud: 115200, DataBits: 8, Parity: capture.ParityNone, StopBits: capture.Stop1}
	st.uartCur, st.uartDef = uart, uart
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

// commandTable returns the commands of the emulated firmware.
func (e *Emulator) commandTable() map[string]handler {
	t := map[string]handler{
		"":             {exec: func(*call) result { return resOK }},
		"E0":           {exec: func(c *call) result { return c.e.setEcho(false) }},
		"E1":           {exec: func(c *call) result { return c.e.setEcho(true) }},
		"+GMR":         {exec: cmdGMR},
		"+RST":         {exec: cmdRST},
		"+RESTORE":     {exec: cmdRESTORE},
		"+SYSLOG":      {query: cmdSyslogQuery, set: cmdSyslogSet, test: cmdSyslogTest},
		"+SYSMSG":      {query: cmdSysmsgQuery, set: cmdSysmsgSet},
		"+UART_CUR":    {query: cmdUARTQuery(false), set: cmdUARTSet(false)},
		"+UART_DEF":    {query: cmdUARTQuery(true), set: cmdUARTSet(true)},
		"+CWMODE":      {query: cmdCWMODEQuery, set: cmdCWMODESet, test: cmdCWMODETest},
		"+CWJAP":       {query: cmdCWJAPQuery, set: cmdCWJAPSet, exec: cmdCWJAPExec},
		"+CWQAP":       {exec: cmdCWQAP},
		"+CIFSR":       {exec: cmdCIFSR},
		"+CWSTATE":     {query: cmdCWSTATE},
		"+CIPSNTPCFG":  {query: cmdSNTPCFGQuery, set: cmdSNTPCFGSet},
		"+CIPSNTPTIME": {query: cmdSNTPTIME},
		"+WSCFG":       {set: cmdWSCFG},
		"+WSHEAD":      {query: cmdWSHEADQuery, set: cmdWSHEADSet},
		"+WSOPEN":      {query: cmdWSOPENQuery, set: cmdWSOPENSet},
		"+WSSEND":      {set: cmdWSSEND},
		"+WSCLOSE":     {set: cmdWSCLOSE},
		"+CIPMUX":      {query: cmdCIPMUXQuery, set: cmdCIPMUXSet},
		"+CIPMODE":     {query: cmdCIPMODEQuery, set: cmdCIPMODESet},
		"+CIPDINFO":    {query: cmdCIPDINFOQuery, set: cmdCIPDINFOSet},
		"+CIPSTART":    {set: cmdCIPSTART},
		"+CIPSEND":     {set: cmdCIPSENDSet, exec: cmdCIPSENDExec},
		"+CIPCLOSE":    {set: cmdCIPCLOSESet, exec: cmdCIPCLOSEExec},
		"+CIPSTATUS":   {exec: cmdCIPSTATUS},
		"+CIPSTATE":    {query: cmdCIPSTATE},
	}
	if e.opts.Firmware == FirmwareDev {
		t["+WSDATAFMT"] = handler{set: cmdWSDATAFMT}
	}
	return t
}

// run looks the command up and runs the form the host used.
func (e *Emulator) run(c *call) result {
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

// cmdSysmsgSet stores the value. The TCP links honour it (bit 0 +QUITT,
// bit 1 +LINK_CONN, bit 2 CLOSED in passthrough; tcp.go); WebSocket
// URCs ignore it (esp-at.md §1.6).
func cmdSysmsgSet(c *call) result {
	v, ok := c.intParams(1)
	if !ok || v[0] < 0 || v[0] > 7 {
		return c.paramErr("0x01070000", "AT+SYSMSG takes 0..7")
	}
	c.e.mu.Lock()
	c.e.st.sysmsg = v[0]
	c.e.mu.Unlock()
	return resOK
}

func cmdUARTQuery(def bool) func(*call) result {
	return func(c *call) result {
		c.e.mu.Lock()
		l := c.e.st.uartCur
		if def {
			l = c.e.st.uartDef
		}
		c.e.mu.Unlock()
		name := "+UART_CUR"
		if def {
			name = "+UART_DEF"
		}
		stop := map[capture.StopBits]int{capture.Stop1: 1, capture.Stop1_5: 2, capture.Stop2: 3}[l.StopBits]
		par := map[capture.Parity]int{capture.ParityNone: 0, capture.ParityOdd: 1, capture.ParityEven: 2}[l.Parity]
		flow := 0
		if l.Flow == capture.FlowRTSCTS {
			flow = 3
		}
		c.print(fmt.Sprintf("%s:%d,%d,%d,%d,%d\r\n", name, l.Baud, l.DataBits, stop, par, flow))
		return resOK
	}
}

// cmdUARTSet parses AT+UART_CUR/DEF=<baud>,<databits>,<stopbits>,<parity>,<flow>
// and, after the OK has gone out at the old settings, switches the port.
// AT+UART_DEF also switches at once here: the emulator keeps no flash, so
// "saved for the next boot" and "now" coincide except across AT+RST, which
// keeps the port as it is. Flow control 1 (RTS only) and 2 (CTS only) are
// accepted and mapped to RTS/CTS, the only hardware flow a pty or USB-UART
// offers.
func cmdUARTSet(def bool) func(*call) result {
	return func(c *call) result {
		v, ok := c.intParams(5)
		if !ok {
			return c.paramErr("0x01060000", "AT+UART_CUR/DEF take 5 numbers")
		}
		baud, bits, stop, par, flow := v[0], v[1], v[2], v[3], v[4]
		if baud < 80 || baud > 5000000 || bits < 5 || bits > 8 || stop < 1 || stop > 3 || par < 0 || par > 2 || flow < 0 || flow > 3 {
			return c.paramErr("0x01070000", "UART parameter out of range")
		}
		l := capture.LineSettings{Baud: int(baud), DataBits: uint8(bits)}
		l.StopBits = []capture.StopBits{capture.Stop1, capture.Stop1_5, capture.Stop2}[stop-1]
		l.Parity = []capture.Parity{capture.ParityNone, capture.ParityOdd, capture.ParityEven}[par]
		if flow != 0 {
			l.Flow = capture.FlowRTSCTS
		}
		c.e.mu.Lock()
		c.e.st.uartCur = l
		if def {
			c.e.st.uartDef = l
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
