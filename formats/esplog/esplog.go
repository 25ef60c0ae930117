// Package esplog decodes what an ESP32 prints on its log UART (the
// board's UART0, apart from the AT UART): the ROM's boot lines, ESP-IDF log
// lines, and the messages of a failure (a panic and its backtrace, abort()
// and failed asserts, the brownout detector, the watchdogs, "Rebooting...").
// It is a pure codec: a Decoder turns bytes, in whatever pieces they were
// read, into Lines. It imports the standard library only.
//
// Formats, from Espressif's documentation:
//   - ESP-IDF log lines (api-reference/system/log): "<L> (<stamp>) <tag>: <message>",
//     L one of E W I D V, stamp the milliseconds since boot (or the system
//     time "HH:MM:SS.mmm" with CONFIG_LOG_TIMESTAMP_SOURCE_SYSTEM), with or
//     without the ANSI colour escapes CONFIG_LOG_COLORS adds;
//   - the ROM's reset line (api-guides/startup): "rst:0x1 (POWERON_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)";
//   - the panic handler (api-guides/fatal-errors): "Guru Meditation Error: Core  0 panic'ed (LoadProhibited).
//     Exception was unhandled.", "Backtrace: 0x400d1234:0x3ffb5f30 0x...", "abort() was called at PC 0x... on
//     core 0", "assert failed: <function> <file>:<line> (<expression>)", "Brownout detector was triggered",
//     "Task watchdog got triggered", "Interrupt wdt timeout on CPU0", "Rebooting...".
package esplog

import (
	"bytes"
	"regexp"
	"strconv"
	"strings"
)

// Kind is what a Line is.
type Kind int

// Kinds of lines.
const (
	KindText      Kind = iota // anything else (ROM banner, register dumps, application prints)
	KindLog                   // an ESP-IDF log line
	KindBoot                  // the ROM's reset line: a reset happened, and why
	KindPanic                 // "Guru Meditation Error": the panic handler started
	KindBacktrace             // the panic's backtrace
	KindAbort                 // abort() or a failed assert
	KindBrownout              // the brownout detector fired
	KindWatchdog              // a task or interrupt watchdog fired
	KindReboot                // "Rebooting...": the panic handler restarts the chip
)

var kindNames = [...]string{"text", "log", "boot", "panic", "backtrace", "abort", "brownout", "watchdog", "reboot"}

func (k Kind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Line is one decoded line.
type Line struct {
	Kind Kind
	// Text is the line without its line end and colour escapes.
	Text string
	// Cut is set when the line was longer than MaxLine and this is a piece.
	Cut bool

	// KindLog: the level letter (E, W, I, D, V), the board's stamp in
	// milliseconds since boot (-1 when the line carries system time, in
	// Time, instead), the tag and the message.
	Level byte
	Stamp int64
	Time  string
	Tag   string
	Msg   string

	// KindBoot: the reset cause's code and name, and the boot mode.
	ResetCode int
	Reset     string
	BootMode  string

	// KindPanic and KindAbort: the core and the cause (the exception name,
	// or for an assert its expression and place). KindAbort sets PC for
	// abort().
	Core  int
	Cause string
	PC    uint64

	// KindBacktrace: the program counter of each frame, outermost last;
	// Corrupted when the handler could not walk the whole stack.
	PCs       []uint64
	Corrupted bool
}

// MaxLine bounds a line; longer ones come out in pieces marked Cut, so
// that garbage on the wire never grows the decoder's memory.
const MaxLine = 4096

// Decoder splits a byte stream into Lines. The zero value is ready.
type Decoder struct {
	buf []byte
}

// Feed decodes p and returns the lines it completed.
func (d *Decoder) Feed(p []byte) []Line {
	var out []Line
	for len(p) > 0 {
		room := MaxLine - len(d.buf)
		look := p[:min(len(p), room)]
		if i := bytes.IndexByte(look, '\n'); i >= 0 {
			d.buf = append(d.buf, p[:i]...)
			out = append(out, Parse(string(d.buf)))
			d.buf, p = d.buf[:0], p[i+1:]
			continue
		}
		d.buf, p = append(d.buf, look...), p[len(look):]
		if len(d.buf) == MaxLine {
			l := Parse(string(d.buf))
			l.Cut = true
			out = append(out, l)
			d.buf = d.buf[:0]
		}
	}
	return out
}

// Flush returns the last line if it had no line end.
func (d *Decoder) Flush() []Line {
	if len(d.buf) == 0 {
		return nil
	}
	l := Parse(string(d.buf))
	d.buf = d.buf[:0]
	return []Line{l}
}

var (
	colour    = regexp.MustCompile("\x1b\\[[0-9;]*m")
	logLine   = regexp.MustCompile(`^([EWIDV]) \((\d+|\d{1,2}:\d{2}:\d{2}\.\d{3})\) ([^:]*): ?(.*)$`)
	bootLine  = regexp.MustCompile(`^rst:0x([0-9a-fA-F]+) \(([A-Za-z0-9_]+)\),boot:0x([0-9a-fA-F]+) \(([^)]*)\)`)
	panicLine = regexp.MustCompile(`^Guru Meditation Error: Core\s+(\d+) panic'ed \((.*?)\)`)
	btLine    = regexp.MustCompile(`^Backtrace:\s*(.*)$`)
	btFrame   = regexp.MustCompile(`0x([0-9a-fA-F]+):0x[0-9a-fA-F]+`)
	abortLine = regexp.MustCompile(`^abort\(\) was called at PC 0x([0-9a-fA-F]+) on core (\d+)`)
	assertRe  = regexp.MustCompile(`^assert failed: (.*)$`)
	wdtLine   = regexp.MustCompile(`Task watchdog got triggered|Interrupt wdt timeout on CPU(\d+)`)
)

// Parse decodes one line (without its "\n"; a trailing "\r" is dropped).
func Parse(s string) Line {
	s = strings.TrimSuffix(s, "\r")
	if strings.IndexByte(s, 0x1b) >= 0 {
		s = colour.ReplaceAllString(s, "")
	}
	l := Line{Kind: KindText, Text: s, Stamp: -1}
	if m := logLine.FindStringSubmatch(s); m != nil {
		l.Kind, l.Level, l.Tag, l.Msg = KindLog, m[1][0], m[3], m[4]
		if strings.Contains(m[2], ":") {
			l.Time = m[2]
		} else if v, err := strconv.ParseInt(m[2], 10, 64); err == nil {
			l.Stamp = v
		}
		if wdtLine.MatchString(l.Msg) {
			l.Kind = KindWatchdog
		}
		return l
	}
	switch {
	case bootLine.MatchString(s):
		m := bootLine.FindStringSubmatch(s)
		code, _ := strconv.ParseInt(m[1], 16, 32)
		l.Kind, l.ResetCode, l.Reset, l.BootMode = KindBoot, int(code), m[2], m[4]
	case panicLine.MatchString(s):
		m := panicLine.FindStringSubmatch(s)
		l.Kind, l.Cause = KindPanic, m[2]
		l.Core, _ = strconv.Atoi(m[1])
	case btLine.MatchString(s):
		rest := btLine.FindStringSubmatch(s)[1]
		l.Kind = KindBacktrace
		for _, f := range btFrame.FindAllStringSubmatch(rest, -1) {
			pc, _ := strconv.ParseUint(f[1], 16, 64)
			l.PCs = append(l.PCs, pc)
		}
		l.Corrupted = strings.Contains(rest, "CORRUPTED")
	case abortLine.MatchString(s):
		m := abortLine.FindStringSubmatch(s)
		l.Kind = KindAbort
		l.PC, _ = strconv.ParseUint(m[1], 16, 64)
		l.Core, _ = strconv.Atoi(m[2])
		l.Cause = "abort()"
	case assertRe.MatchString(s):
		l.Kind, l.Cause = KindAbort, assertRe.FindStringSubmatch(s)[1]
	case strings.Contains(s, "Brownout detector was triggered"):
		l.Kind = KindBrownout
	case wdtLine.MatchString(s):
		l.Kind = KindWatchdog
		if m := wdtLine.FindStringSubmatch(s); m[1] != "" {
			l.Core, _ = strconv.Atoi(m[1])
		}
	case strings.HasPrefix(s, "Rebooting..."):
		l.Kind = KindReboot
	}
	return l
}
