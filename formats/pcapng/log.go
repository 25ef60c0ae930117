package pcapng

import (
	"fmt"
	"strings"

	"github.com/atbridge/atbridge/formats"
	"github.com/atbridge/atbridge/formats/esplog"
)

// logView writes what the ESP32 printed on its log (console) UART: one
// exported PDU per decoded line (formats/esplog; blank lines are left out)
// on one interface per log
// port ("esp32-log " and the port's name), for Wireshark's "syslog"
// dissector: the line is prefixed with a syslog priority (facility user,
// the severity from the ESP-IDF level, see logSeverity), so tshark 4.0
// shows its text in the Info column and in syslog.msg, and syslog.level
// filters by level, with no plugin ("data-text-lines" shows the text only
// in the packet details). Lines that say something went wrong carry a
// packet comment naming it ("reset: SW_CPU_RESET", "panic:
// LoadProhibited", "error wifi"), so that frame.comment finds them. The
// text is the line as esplog gives it: line end and colour escapes
// removed.
type logView struct {
	x     *Writer
	ports map[uint8]*logPort
}

// logPort is the decoding state of one log port.
type logPort struct {
	iface   string
	dec     esplog.Decoder
	pending bool  // the decoder holds the start of a line
	start   int64 // the time of that start
}

func (l *logView) init(x *Writer) {
	l.x = x
	l.ports = map[uint8]*logPort{}
}

// isLog reports whether port is a log port: named so in Options.Ports, or
// fed to Writer.Log.
func (l *logView) isLog(port uint8) bool {
	if _, ok := l.ports[port]; ok {
		return true
	}
	ps := l.x.opts.Ports
	return int(port) < len(ps) && ps[port].Role == "log"
}

// port returns the state of a log port, writing its interface description
// the first time.
func (l *logView) port(port uint8) *logPort {
	if p := l.ports[port]; p != nil {
		return p
	}
	name, desc := fmt.Sprintf("port %d", port), "the ESP32's log (console) UART"
	var comment string
	if ps := l.x.opts.Ports; int(port) < len(ps) {
		if ps[port].Name != "" {
			name = ps[port].Name
		}
		comment = adapterComment(port, ps[port])
	}
	p := &logPort{iface: "esp32-log " + name}
	l.ports[port] = p
	desc += fmt.Sprintf(" on port %d %s, receive only: one packet per line (ROM boot lines, ESP-IDF log lines, panics), shown as text; resets, panics and warnings carry a packet comment", port, name)
	l.x.addIface(linkUpperPDU, p.iface, desc, comment)
	return p
}

// chunk decodes bytes read from a log port at time t.
func (l *logView) chunk(t int64, port uint8, data []byte) {
	p := l.port(port)
	lines := p.dec.Feed(data)
	for i := range lines {
		at := t
		if i == 0 && p.pending {
			at = p.start
		}
		l.line(p, at, &lines[i])
	}
	if last := data[len(data)-1]; last != '\n' {
		if !p.pending || len(lines) > 0 {
			p.start = t
		}
		p.pending = true
	} else {
		p.pending = false
	}
}

// line writes one decoded line.
func (l *logView) line(p *logPort, t int64, ln *esplog.Line) {
	text := ln.Text
	if strings.TrimSpace(text) == "" {
		return // the blank lines around a panic's dump: nothing to show (and syslog calls an empty message malformed)
	}
	if ln.Cut {
		text += " [line cut at 4096 bytes]"
	}
	msg := fmt.Appendf(nil, "<%d>%s", 8+logSeverity(ln), text) // facility 1 (user)
	l.x.pkt = appendExportedPDU(l.x.pkt[:0], "syslog", "ESP32 log", formats.ToHost, msg)
	l.x.emit(p.iface, t, formats.ToHost, l.x.pkt, LogComment(ln))
}

// logSeverity maps a line to a syslog severity: 2 (critical) for a panic
// and what follows it, abort(), brownout and watchdogs; 5 (notice) for a
// reset or reboot; ESP-IDF levels E 3, W 4, I 6, D and V 7; 6 for other
// text.
func logSeverity(ln *esplog.Line) int {
	switch ln.Kind {
	case esplog.KindPanic, esplog.KindBacktrace, esplog.KindAbort, esplog.KindBrownout, esplog.KindWatchdog:
		return 2
	case esplog.KindBoot, esplog.KindReboot:
		return 5
	case esplog.KindLog:
		switch ln.Level {
		case 'E':
			return 3
		case 'W':
			return 4
		case 'D', 'V':
			return 7
		}
	}
	return 6
}

// LogComment is what the exporter says about a log line in its packet
// comment: the reset and its reason, the panic and its cause, the
// backtrace's addresses, abort(), brownout, watchdog, reboot, or the level
// and tag of an ESP-IDF warning or error; "" for anything else.
func LogComment(ln *esplog.Line) string {
	switch ln.Kind {
	case esplog.KindBoot:
		return fmt.Sprintf("reset: %s (rst:0x%x, boot: %s)", ln.Reset, ln.ResetCode, ln.BootMode)
	case esplog.KindPanic:
		return fmt.Sprintf("panic: %s on core %d", ln.Cause, ln.Core)
	case esplog.KindBacktrace:
		pcs := make([]string, len(ln.PCs))
		for i, pc := range ln.PCs {
			pcs[i] = fmt.Sprintf("0x%x", pc)
		}
		s := "backtrace: " + strings.Join(pcs, " ")
		if ln.Corrupted {
			s += " (corrupted)"
		}
		return s
	case esplog.KindAbort:
		if ln.PC != 0 {
			return fmt.Sprintf("abort: %s at PC 0x%x on core %d", ln.Cause, ln.PC, ln.Core)
		}
		return "abort: assert failed: " + ln.Cause
	case esplog.KindBrownout:
		return "brownout"
	case esplog.KindWatchdog:
		return "watchdog"
	case esplog.KindReboot:
		return "reboot"
	case esplog.KindLog:
		switch ln.Level {
		case 'E':
			return "error " + ln.Tag
		case 'W':
			return "warning " + ln.Tag
		}
	}
	return ""
}

// event shows a break or line errors of a log port on its interface.
func (l *logView) event(t int64, ev Event) {
	p := l.port(ev.Port)
	text := eventText(ev)
	l.x.pkt = appendExportedPDU(l.x.pkt[:0], "data-text-lines", "atbridge", formats.ToHost, []byte("["+text+"]\n"))
	l.x.emit(p.iface, t, formats.ToHost, l.x.pkt, text)
}

// flush writes the lines the decoders still hold.
func (l *logView) flush() {
	for _, p := range l.ports {
		for _, ln := range p.dec.Flush() {
			l.line(p, p.start, &ln)
		}
		p.pending = false
	}
}

// adapterComment describes the USB adapter behind a port for an interface
// comment, "" when nothing is known.
func adapterComment(i uint8, p Port) string {
	if p.Adapter == "" {
		return ""
	}
	return fmt.Sprintf("port %d %s: %s", i, p.Name, p.Adapter)
}

// eventText says what a break or line-error event reports.
func eventText(ev Event) string {
	switch ev.Kind {
	case EvBreak:
		return fmt.Sprintf("%s: BREAK%s on port %d (%d)", ev.Name, dirText(ev.Dir), ev.Port, max(ev.Count, 1))
	case EvLineErrors:
		return fmt.Sprintf("%s: %d %s errors%s on port %d", ev.Name, ev.Count, ev.Text, dirText(ev.Dir), ev.Port)
	}
	return ev.Name + ": " + ev.Text
}

// dirText is " " and the direction, or "" when there is none.
func dirText(d formats.Dir) string {
	if s := d.String(); d.Serial() && s != "" {
		return " " + s
	}
	return ""
}
