package main

import (
	"fmt"
	"strings"

	"github.com/atbridge/atbridge/analysis"
	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/formats"
	"github.com/atbridge/atbridge/formats/esplog"
	"github.com/atbridge/atbridge/formats/view"
)

// The ESP32's log UART in show and the live view: each decoded line is one
// item of kind "log", interleaved with the AT events by time, and each
// reset one item of kind "reset" at the ROM's reset line, saying why and
// what the AT side saw around it (analysis.DeviceLog).

// logLevels orders ESP-IDF's levels, most severe first.
const logLevels = "EWIDV"

// parseLogLevel reads --log: "all", "none" or a level letter.
func parseLogLevel(s string) (byte, error) {
	switch u := strings.ToUpper(strings.TrimSpace(s)); {
	case u == "" || u == "ALL":
		return 'V', nil
	case u == "NONE":
		return 0, nil
	case len(u) == 1 && strings.Contains(logLevels, u):
		return u[0], nil
	case strings.HasPrefix(u, "ERR"):
		return 'E', nil
	case strings.HasPrefix(u, "WARN"):
		return 'W', nil
	case strings.HasPrefix(u, "INFO"):
		return 'I', nil
	case strings.HasPrefix(u, "DEBUG"):
		return 'D', nil
	case strings.HasPrefix(u, "VERB"):
		return 'V', nil
	}
	return 0, fmt.Errorf("--log wants all, none or a level (E, W, I, D, V or error, warn, info, debug, verbose), not %q", s)
}

// logShown says whether line passes the --log level: ESP-IDF lines up to
// the level; failures (boot, panic, backtrace, abort, brownout, watchdog,
// reboot) whenever the log is shown at all; plain text (the ROM banner,
// register dumps, prints) only at the verbose level.
func logShown(l *esplog.Line, level byte) bool {
	switch {
	case level == 0:
		return false
	case l.Kind == esplog.KindLog:
		return strings.IndexByte(logLevels, l.Level) <= strings.IndexByte(logLevels, level)
	case l.Kind == esplog.KindText:
		return level == 'V' && l.Text != ""
	}
	return true
}

// logColour is the colour of a log line: errors and failures red,
// warnings yellow, the rest dim.
func logColour(l *esplog.Line) string {
	switch {
	case l.Kind == esplog.KindLog && l.Level == 'E', l.Kind != esplog.KindLog && l.Kind != esplog.KindText:
		return view.ColourProblem
	case l.Kind == esplog.KindLog && l.Level == 'W':
		return view.ColourNotice
	}
	return view.ColourQuiet
}

// logChunk decodes a log UART chunk and shows its lines and the resets it
// settled.
func (s *shower) logChunk(r *capture.Record) {
	s.logLines(s.dl.Log(r))
}

// logFlush shows what the log decoder still holds at the end.
func (s *shower) logFlush() {
	if s.dl != nil {
		s.logLines(s.dl.Flush())
	}
}

func (s *shower) logLines(lines []analysis.LogLine, resets []analysis.Reset) {
	for i := range lines {
		l := &lines[i]
		if !logShown(&l.Line, s.logLevel) || !s.wants("log", -1) {
			continue
		}
		if s.f.json {
			j := view.NewJSONBase(l.Time, s.start, formats.DirNone, "log")
			j.Name, j.Text = l.Kind.String(), l.Text
			j.Log = jsonLogLine(&l.Line)
			s.buf = j.AppendJSON(s.buf[:0])
		} else {
			s.buf = view.AppendTextLine(s.buf[:0], l.Time, formats.DirNone, "log", l.Text, logColour(&l.Line), &s.text)
		}
		s.emit(l.Time)
	}
	s.resets(resets)
}

// resets shows resets settled by the log or by the AT side's "ready".
func (s *shower) resets(rs []analysis.Reset) {
	for i := range rs {
		r := &rs[i]
		if s.logLevel == 0 || !s.wants("reset", -1) {
			continue
		}
		if s.f.json {
			j := view.NewJSONBase(r.Time, s.start, formats.DirNone, "reset")
			j.Name, j.Text = r.Reason, r.String()
			j.Log = &view.JSONLog{Type: "reset", Reason: r.Reason, ResetCode: &r.Code, Cause: r.Cause, SilentNS: &r.SilentNS, ReadyNS: &r.ReadyNS}
			for _, pc := range r.Backtrace {
				j.Log.Backtrace = append(j.Log.Backtrace, fmt.Sprintf("0x%08x", pc))
			}
			s.buf = j.AppendJSON(s.buf[:0])
		} else {
			s.buf = view.AppendTextLine(s.buf[:0], r.Time, formats.DirNone, "RESET", r.String(), view.ColourProblem, &s.text)
		}
		s.emit(r.Time)
	}
}

// jsonLogLine is the "log" object of a log line's JSON.
func jsonLogLine(l *esplog.Line) *view.JSONLog {
	j := &view.JSONLog{Type: l.Kind.String(), Cut: l.Cut}
	switch l.Kind {
	case esplog.KindLog, esplog.KindWatchdog:
		if l.Level != 0 {
			j.Level, j.Tag, j.Msg, j.BoardTime = string(l.Level), l.Tag, l.Msg, l.Time
			if l.Stamp >= 0 {
				j.BoardMS = &l.Stamp
			}
		}
	case esplog.KindBoot:
		j.Reason, j.ResetCode, j.BootMode = l.Reset, &l.ResetCode, l.BootMode
	case esplog.KindPanic, esplog.KindAbort:
		j.Cause, j.Core = l.Cause, &l.Core
	case esplog.KindBacktrace:
		for _, pc := range l.PCs {
			j.Backtrace = append(j.Backtrace, fmt.Sprintf("0x%08x", pc))
		}
		j.Corrupted = l.Corrupted
	}
	return j
}
