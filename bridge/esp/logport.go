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
	resetPowerOn bootReset = iota
	resetSoftware
	resetDeepSleep
)

var resetLines = map[bootReset]string{
	resetPowerOn:   "rst:0x1 (POWERON_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)",
	resetSoftware:  "rst:0xc (SW_CPU_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)",
	resetDeepSleep: "rst:0x5 (DEEPSLEEP_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)",
}

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
	e.logRaw(fmt.Sprintf("%c (%d) %s: %s\r\n", level, e.uptime().Milliseconds(), tag, msg))
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

// logPanic writes the panic handler's output for a crash in command cmd.
func (e *Emulator) logPanic(cmd string) {
	if e.opts.LogUART == nil {
		return
	}
	e.logLine('E', "at", "crashing in "+cmd+" (Options.PanicOn)")
	e.logRaw("Guru Meditation Error: Core  0 panic'ed (LoadProhibited). Exception was unhandled.\r\n\r\n" +
		"Core  0 register dump:\r\n" +
		"PC      : 0x400d1234  PS      : 0x00060430  A0      : 0x800d5678  A1      : 0x3ffb5f30\r\n\r\n" +
		"Backtrace: 0x400d1234:0x3ffb5f30 0x400d5675:0x3ffb5f50 0x40087f2d:0x3ffb5f70\r\n\r\n" +
		"Rebooting...\r\n")
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
