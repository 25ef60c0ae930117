package analysis

import (
	"fmt"
	"strings"

	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/formats"
	"github.com/atbridge/atbridge/formats/at"
	"github.com/atbridge/atbridge/formats/esplog"
)

// DeviceLog follows the ESP32's log UART (the chunks of capture.PortLog)
// beside the AT UART: it decodes the log lines and turns each reset the
// ROM reports into one Reset, with what caused it (a panic, abort(), the
// brownout detector or a watchdog printed just before) and what the AT
// side saw around it (how long the ESP32 had been silent on the AT UART,
// and how long after the reset its "ready" came).
//
// Feed it the log UART's chunks with Log and the decoded AT events with
// AT, in file order; both return what they completed. The zero value is not
// usable: use NewDeviceLog. It is not safe for concurrent use.
type DeviceLog struct {
	dec esplog.Decoder
	// cause is the failure the log reported since the last reset, waiting
	// for the reset it leads to.
	cause    string
	causeAt  int64
	weak     bool // cause is a warning that need not reset the board
	trace    []uint64
	corrupt  bool
	pending  []*Reset // resets waiting for the AT side's "ready"
	lastAT   int64    // time of the last byte the device sent on the AT UART; -1: none yet
	lastTime int64
}

// Reset is one restart of the ESP32, from its log UART.
type Reset struct {
	// Time is when the ROM printed its reset line ("rst:0xc (SW_CPU_RESET),...").
	Time int64
	// Code and Reason are the ROM's reset cause (1 POWERON_RESET, 0xc
	// SW_CPU_RESET, 0xf RTCWDT_BROWN_OUT_RESET, ...); BootMode its boot mode.
	Code     int
	Reason   string
	BootMode string
	// Cause is what the log said went wrong before it, when anything did:
	// "panic: LoadProhibited", "abort()", "assert failed: ...", "brownout",
	// "task watchdog", "interrupt watchdog". CauseTime is when it was said.
	Cause     string
	CauseTime int64
	// Backtrace is the panic's backtrace (program counters), if it printed
	// one; BacktraceCorrupted says the handler could not walk it all.
	Backtrace          []uint64
	BacktraceCorrupted bool
	// SilentNS is how long the AT UART had carried nothing from the
	// ESP32 when it reset (-1: it had sent nothing yet).
	SilentNS int64
	// ReadyNS is how long after the reset the AT firmware's "ready" came
	// (-1: none came within ReadyWait, or before the capture ended).
	ReadyNS int64
}

// ReadyWait bounds how long a Reset waits for the AT side's "ready".
const ReadyWait = int64(30e9)

// NewDeviceLog returns a DeviceLog ready for the first record.
func NewDeviceLog() *DeviceLog { return &DeviceLog{lastAT: -1} }

// LogLine is one decoded line of the log UART at the time of the chunk
// that completed it.
type LogLine struct {
	Time int64
	esplog.Line
}

// Log feeds one chunk of the log UART (a capture.PortLog chunk) and
// returns the lines it completed, and the resets that waited too long
// for "ready". It keeps nothing of rec's storage.
func (d *DeviceLog) Log(rec *capture.Record) ([]LogLine, []Reset) {
	d.lastTime = max(d.lastTime, rec.Time)
	lines := d.dec.Feed(rec.Data)
	out := make([]LogLine, 0, len(lines))
	for _, l := range lines {
		out = append(out, LogLine{Time: rec.Time, Line: l})
		d.line(rec.Time, &l)
	}
	return out, d.expire(rec.Time)
}

// line notes what a log line says about a reset.
func (d *DeviceLog) line(t int64, l *esplog.Line) {
	switch l.Kind {
	case esplog.KindPanic:
		d.setCause(t, "panic: "+l.Cause, true)
	case esplog.KindAbort:
		if l.Cause == "abort()" {
			d.setCause(t, "abort()", true)
		} else {
			d.setCause(t, "assert failed: "+l.Cause, true)
		}
	case esplog.KindBrownout:
		d.setCause(t, "brownout", true)
	case esplog.KindWatchdog:
		// The task watchdog only logs an E line unless it is configured
		// to panic (CONFIG_ESP_TASK_WDT_PANIC): a panic after it is the
		// cause. The interrupt watchdog always resets.
		if strings.Contains(l.Text, "Interrupt wdt") {
			d.setCause(t, "interrupt watchdog", true)
		} else {
			d.setCause(t, "task watchdog", false)
		}
	case esplog.KindBacktrace:
		if d.cause != "" && d.trace == nil {
			d.trace = l.PCs
			d.corrupt = l.Corrupted
		}
	case esplog.KindBoot:
		r := &Reset{Time: t, Code: l.ResetCode, Reason: l.Reset, BootMode: l.BootMode,
			Cause: d.cause, CauseTime: d.causeAt, Backtrace: d.trace, BacktraceCorrupted: d.corrupt, SilentNS: -1, ReadyNS: -1}
		if d.lastAT >= 0 {
			r.SilentNS = t - d.lastAT
		}
		d.cause, d.causeAt, d.weak, d.trace, d.corrupt = "", 0, false, nil, false
		d.pending = append(d.pending, r)
	}
}

// setCause keeps the first failure reported before a reset (the panic
// handler's later lines repeat it), unless that was only a warning (weak)
// and a fatal one (strong) follows: then the fatal one is the cause, and
// says what came before it.
func (d *DeviceLog) setCause(t int64, c string, strong bool) {
	switch {
	case d.cause == "":
		d.cause, d.causeAt, d.weak = c, t, !strong
	case d.weak && strong:
		d.cause, d.causeAt, d.weak, d.trace = c+" (after "+d.cause+")", t, false, nil
	}
}

// AT feeds the decoded AT events, in order: what the ESP32 sent dates the
// AT UART's silence, and a "ready" completes the resets waiting for it.
// It returns the resets it completed.
func (d *DeviceLog) AT(evs []at.Event) []Reset {
	var out []Reset
	for i := range evs {
		ev := &evs[i]
		if ev.Dir != formats.ToHost {
			continue
		}
		d.lastTime = max(d.lastTime, ev.Time)
		out = append(out, d.expire(ev.Time)...)
		if ev.Kind != at.EvURC || ev.Name != "ready" || len(d.pending) == 0 {
			d.lastAT = ev.Time
			continue
		}
		for _, r := range d.pending {
			if ev.Time >= r.Time {
				r.ReadyNS = ev.Time - r.Time
			}
			out = append(out, *r)
		}
		d.pending = d.pending[:0]
		d.lastAT = ev.Time
	}
	return out
}

// expire returns the resets that waited longer than ReadyWait at time t.
func (d *DeviceLog) expire(t int64) []Reset {
	var out []Reset
	for len(d.pending) > 0 && t-d.pending[0].Time > ReadyWait {
		out = append(out, *d.pending[0])
		d.pending = d.pending[1:]
	}
	return out
}

// Flush returns the last line if it had no line end, and the resets still
// waiting for "ready", at the end of the capture.
func (d *DeviceLog) Flush() ([]LogLine, []Reset) {
	var lines []LogLine
	for _, l := range d.dec.Flush() {
		lines = append(lines, LogLine{Time: d.lastTime, Line: l})
		d.line(d.lastTime, &l)
	}
	var out []Reset
	for _, r := range d.pending {
		out = append(out, *r)
	}
	d.pending = nil
	return lines, out
}

// String says what the reset was in one line, e.g. "SW_CPU_RESET after
// panic: LoadProhibited; AT UART silent 1.2s before, ready 350ms after".
func (r *Reset) String() string {
	var b strings.Builder
	b.WriteString(r.Reason)
	if r.Cause != "" {
		b.WriteString(" after " + r.Cause)
	}
	var at []string
	if r.SilentNS >= 0 {
		at = append(at, "AT UART silent "+fmtDur(r.SilentNS)+" before")
	}
	if r.ReadyNS >= 0 {
		at = append(at, "ready "+fmtDur(r.ReadyNS)+" after")
	} else {
		at = append(at, "no ready after it")
	}
	b.WriteString("; " + strings.Join(at, ", "))
	if len(r.Backtrace) > 0 {
		pcs := make([]string, len(r.Backtrace))
		for i, pc := range r.Backtrace {
			pcs[i] = fmt.Sprintf("0x%08x", pc)
		}
		b.WriteString("; backtrace " + strings.Join(pcs, " "))
		if r.BacktraceCorrupted {
			b.WriteString(" (corrupted)")
		}
	}
	return b.String()
}

// fmtDur prints a duration with millisecond precision.
func fmtDur(ns int64) string {
	switch {
	case ns < 1e6:
		return fmt.Sprintf("%dµs", ns/1e3)
	case ns < 1e9:
		return fmt.Sprintf("%dms", ns/1e6)
	}
	return fmt.Sprintf("%.3fs", float64(ns)/1e9)
}
