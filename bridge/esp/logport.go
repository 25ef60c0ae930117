package esp

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/atbridge/atbridge/capture"
)

// The log UART (Options.LogUART): what a board prints on UART0, its
// console, while the AT commands run on UART1. The emulator writes what an
// ESP-AT board would for its own life, in the formats formats/esplog
// decodes (Espressif's api-guides/startup, api-reference/system/log,
// api-guides/fatal-errors):
//   - at every boot the ROM's banner and reset line, POWERON_RESET at the
//     first, SW_CPU_RESET after AT+RST, AT+RESTORE or a panic, and
//     DEEPSLEEP_RESET after AT+GSLP; then the bootloader's and the AT
//     firmware's first log lines;
//   - while it runs, one ESP-IDF log line per event the emulator records
//     (links opened and closed, Wi-Fi joined, errors), tag "at";
//   - with Options.PanicOn, when the host sends that command, the panic
//     handler's output: the Guru Meditation line, a register line, the
//     backtrace and "Rebooting...", and the board restarts (the AT UART
//     sees nothing until "ready").
// The stamps are milliseconds since the boot, as esp_log_timestamp gives.

// bootReset says why the board last booted, for the ROM's rst: line.
type bootReset int

const (
	resetSoftware bootReset = iota // the zero value: AT+RST, AT+RESTORE, a panic
	resetPowerOn
	resetDeepSleep
	resetBrownout
)

var resetLines = map[bootReset]string{
	resetPowerOn:   "rst:0x1 (POWERON_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)",
	resetSoftware:  "rst:0xc (SW_CPU_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)",
	resetDeepSleep: "rst:0x5 (DEEPSLEEP_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)",
	resetBrownout:  "rst:0xf (RTCWDT_BROWN_OUT_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)",
}

// PanicKinds lists Options.PanicKind's values.
var PanicKinds = []string{"loadprohibited", "abort", "assert", "task-wdt", "int-wdt", "brownout"}

// logBoot writes the boot banner for reason.
func (e *Emulator) logBoot(why bootReset) {
	if e.opts.LogUART == nil {
		return
	}
	var b strings.Builder
	b.WriteString("ets Jun  8 2016 00:22:57\r\n\r\n")
	b.WriteString(resetLines[why] + "\r\n")
	b.WriteString("configsip: 0, SPIWP:0xee\r\nmode:DIO, clock div:2\r\nentry 0x40080404\r\n")
	e.logRaw(b.String())
	e.logLine('I', "boot", "ESP-IDF v5.0.1 2nd stage bootloader")
	e.logLine('I', "cpu_start", "Starting scheduler on PRO CPU.")
	e.logLine('I', "at", "AT firmware "+e.opts.Firmware.String()+" ready (atbridge emulator)")
}

// logLine writes one ESP-IDF log line: "<L> (<ms>) <tag>: <msg>".
func (e *Emulator) logLine(level byte, tag, msg string) {
	if e.opts.LogUART == nil {
		return
	}
	sep := ": "
	if tag == "wifi" {
		sep = ":" // the Wi-Fi library's own lines have no space: "I (5) wifi:connected with ..."
	}
	e.logRaw(fmt.Sprintf("%c (%d) %s%s%s\r\n", level, e.uptime().Milliseconds(), tag, sep, msg))
}

// logEvent mirrors a recorded event on the log UART.
func (e *Emulator) logEvent(ev capture.Event) {
	if e.opts.LogUART == nil || ev.Text == "" || ev.Text == "emulator restarted" {
		return // the board says it restarted with its boot banner
	}
	level, text := byte('I'), ev.Text
	switch ev.Type {
	case capture.EvWSConnected:
		text = fmt.Sprintf("websocket link %d connected to %s", ev.Link, ev.Text)
	case capture.EvWSClosed:
		text = fmt.Sprintf("websocket link %d closed: code %d %s", ev.Link, ev.Code, ev.Text)
	}
	if strings.Contains(text, "fail") || strings.Contains(text, "lost") {
		level = 'W'
	}
	e.logLine(level, "at", text)
}

// logWiFiJoin writes what ESP-IDF's Wi-Fi driver and netif print when
// the station joins an AP and gets its address.
func (e *Emulator) logWiFiJoin(ap AccessPoint, n netConfig) {
	e.logLine('I', "wifi", fmt.Sprintf("connected with %s, aid = 1, channel %d, BW20, bssid = %s", ap.SSID, ap.Channel, ap.BSSID))
	e.logLine('I', "esp_netif_handlers", fmt.Sprintf("sta ip: %s, mask: %s, gw: %s", n.ip, n.netmask, n.gateway))
}

// wifiReasons maps AT+CWJAP's error codes to the disconnect reason ESP-IDF
// logs (wifi_err_reason_t): 1 timeout -> 200 BEACON_TIMEOUT, 2 wrong
// password -> 15 4WAY_HANDSHAKE_TIMEOUT, 3 AP not found -> 201
// NO_AP_FOUND, 4 -> 205 CONNECTION_FAIL.
var wifiReasons = map[int]int{1: 200, 2: 15, 3: 201, 4: 205}

// logWiFiFail writes the driver's warning for a join that failed.
func (e *Emulator) logWiFiFail(code int) {
	e.logLine('W', "wifi", fmt.Sprintf("sta disconnected, reason %d", wifiReasons[code]))
}

// logPanic writes the panic handler's output for a crash in command cmd,
// as Options.PanicKind says (api-guides/fatal-errors), and sets the reason
// the ROM gives for the reset that follows.
func (e *Emulator) logPanic(cmd string) {
	if e.opts.PanicKind == "brownout" {
		e.mu.Lock()
		e.nextReset = resetBrownout
		e.mu.Unlock()
	}
	if e.opts.LogUART == nil {
		return
	}
	const regs = "Core  0 register dump:\r\n" +
		"PC      : 0x400d1234  PS      : 0x00060430  A0      : 0x800d5678  A1      : 0x3ffb5f30\r\n\r\n"
	const trace = "Backtrace: 0x400d1234:0x3ffb5f30 0x400d5675:0x3ffb5f50 0x40087f2d:0x3ffb5f70\r\n\r\n"
	e.logLine('E', "at", "crashing in "+cmd+" (Options.PanicOn)")
	switch e.opts.PanicKind {
	case "abort":
		e.logRaw("\r\nabort() was called at PC 0x400d2bf3 on core 0\r\n\r\n" + trace + "Rebooting...\r\n")
	case "assert":
		e.logRaw("\r\nassert failed: at_ws_task at_ws_cmd.c:412 (link->state == WS_CONNECTED)\r\n\r\n" + trace + "Rebooting...\r\n")
	case "task-wdt":
		e.logLine('E', "task_wdt", "Task watchdog got triggered. The following tasks did not reset the watchdog in time:")
		e.logLine('E', "task_wdt", " - IDLE (CPU 0)")
		e.logLine('E', "task_wdt", "Aborting.")
		e.logRaw("\r\nabort() was called at PC 0x400d8a1f on core 0\r\n\r\n" + trace + "Rebooting...\r\n")
	case "int-wdt":
		e.logRaw("Guru Meditation Error: Core  0 panic'ed (Interrupt wdt timeout on CPU0). \r\n\r\n" + regs + trace + "Rebooting...\r\n")
	case "brownout":
		e.logRaw("\r\nBrownout detector was triggered\r\n\r\n")
	default:
		e.logRaw("Guru Meditation Error: Core  0 panic'ed (LoadProhibited). Exception was unhandled.\r\n\r\n" + regs + trace + "Rebooting...\r\n")
	}
}

// logMsg is one piece of the log UART's queue: text to write, or (sync
// set) a request to be told when everything before it is written.
type logMsg struct {
	s    string
	sync chan struct{}
}

// logRaw queues s for the log UART. A board's console never holds up its
// AT task: when nobody reads the log port and its queue is full, lines are
// dropped (and counted in the emulator's log at the end).
func (e *Emulator) logRaw(s string) {
	e.logMu.Lock()
	defer e.logMu.Unlock()
	if e.logCh == nil {
		return
	}
	select {
	case e.logCh <- logMsg{s: s}:
	default:
		e.logDropped++
	}
}

// logSync waits, at most 100 ms, until what was queued for the log UART is
// written, so that the boot banner is out before "ready" is.
func (e *Emulator) logSync() {
	done := make(chan struct{})
	e.logMu.Lock()
	if e.logCh == nil {
		e.logMu.Unlock()
		return
	}
	select {
	case e.logCh <- logMsg{sync: done}:
	default:
		close(done)
	}
	e.logMu.Unlock()
	select {
	case <-done:
	case <-time.After(100 * time.Millisecond):
	}
}

// startLogUART starts the writer goroutine; the returned func stops it
// after the queue is written (or the port failed).
func (e *Emulator) startLogUART() func() {
	if e.opts.LogUART == nil {
		return func() {}
	}
	ch, done := make(chan logMsg, 256), make(chan struct{})
	e.logMu.Lock()
	e.logCh, e.logDropped = ch, 0
	e.logMu.Unlock()
	go func() {
		defer close(done)
		failed := false
		for m := range ch {
			if m.sync != nil {
				close(m.sync)
				continue
			}
			if failed {
				continue
			}
			if w, ok := e.opts.LogUART.(interface{ SetWriteDeadline(time.Time) error }); ok {
				_ = w.SetWriteDeadline(time.Now().Add(time.Second))
			}
			if _, err := io.WriteString(e.opts.LogUART, m.s); err != nil {
				failed = true
				e.log.Warn("writing the log UART failed; no more log output", "err", err)
			}
		}
	}()
	return func() {
		e.logMu.Lock()
		close(ch)
		e.logCh = nil
		dropped := e.logDropped
		e.logMu.Unlock()
		<-done
		if dropped > 0 {
			e.log.Warn("log UART: lines dropped because nobody read the port", "lines", dropped)
		}
	}
}
