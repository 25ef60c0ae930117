package report

import (
	"fmt"
	"html"
	"sort"
	"strings"

	"github.com/atbridge/atbridge/formats/esplog"
	"github.com/atbridge/atbridge/formats/view"
)

// LogMark is something the ESP32's log UART said that the report marks on
// the timeline: a reset, a crash, or an ESP-IDF warning or error.
type LogMark struct {
	T int64 // ns since the start
	// Kind is "reset", "panic", "abort", "brownout", "watchdog", "error"
	// or "warning".
	Kind string
	// Reason is the reset's cause (SW_CPU_RESET), the panic's or abort's
	// cause (LoadProhibited, abort(), an assert's expression); the tag of
	// a warning or error.
	Reason string
	Line   string // the line as printed (colour escapes removed)
	// ATSilentNS and ReadyAfterNS tie a reset to the AT UART: how long
	// the ESP32 had printed nothing there before it, and how long after it
	// it printed "ready". Both are -1 when not known (or not a reset); the
	// zero LogMark from LogMarkOf has them at -1.
	ATSilentNS, ReadyAfterNS int64
}

// ATSide says what the AT UART showed around a reset: "AT UART silent
// for 1.2s before; ready 310ms after", "" when nothing is known.
func (m LogMark) ATSide() string {
	var p []string
	if m.ATSilentNS >= 0 {
		p = append(p, "AT UART silent for "+secs(m.ATSilentNS)+" before")
	}
	if m.ReadyAfterNS >= 0 {
		p = append(p, "ready "+secs(m.ReadyAfterNS)+" after")
	} else if m.Kind == "reset" {
		p = append(p, "no ready after")
	}
	return strings.Join(p, "; ")
}

// Label is what the mark says on the timeline: "reset: SW_CPU_RESET",
// "panic: LoadProhibited", "warning wifi".
func (m LogMark) Label() string {
	switch m.Kind {
	case "warning", "error":
		return m.Kind + " " + m.Reason
	}
	if m.Reason == "" {
		return m.Kind
	}
	return m.Kind + ": " + m.Reason
}

// At is the mark's time as the transcript shows it (seconds since the
// start).
func (m LogMark) At() string { return relTime(m.T) }

// crash reports whether the mark is a reset or a crash rather than a
// warning or error line.
func (m LogMark) crash() bool { return m.Kind != "warning" && m.Kind != "error" }

// LogMarkOf returns the mark for a decoded log line at time t, and false
// for lines the report does not mark (info, debug, plain text, backtraces,
// which belong to the panic before them).
func LogMarkOf(t int64, ln *esplog.Line) (LogMark, bool) {
	m := LogMark{T: t, Line: ln.Text, ATSilentNS: -1, ReadyAfterNS: -1}
	switch ln.Kind {
	case esplog.KindBoot:
		m.Kind, m.Reason = "reset", ln.Reset
	case esplog.KindPanic:
		m.Kind, m.Reason = "panic", ln.Cause
	case esplog.KindAbort:
		m.Kind, m.Reason = "abort", ln.Cause
	case esplog.KindBrownout:
		m.Kind = "brownout"
	case esplog.KindWatchdog:
		m.Kind = "watchdog"
	case esplog.KindLog:
		switch ln.Level {
		case 'E':
			m.Kind = "error"
		case 'W':
			m.Kind = "warning"
		default:
			return m, false
		}
		m.Reason = ln.Tag
	default:
		return m, false
	}
	return m, true
}

// LogSummary is the report's section on the log UART.
type LogSummary struct {
	Lines   int64      // lines decoded
	Resets  []LogCount // by reason, most first
	Crashes []LogCount // panics, aborts, brownouts, watchdogs by kind and cause
	Tags    []TagCount // warnings and errors by tag, most errors first
	Events  []LogMark  // resets and crashes in time order, at most maxLogEvents
	More    int        // resets and crashes beyond Events
}

// LogCount counts marks of one kind and reason.
type LogCount struct {
	Label       string // Kind: Reason
	Count       int
	First, Last string // times, as the transcript shows them
}

// TagCount counts an ESP-IDF tag's warnings and errors.
type TagCount struct {
	Tag             string
	Errors, Warning int
	Last            string // the last of its lines
}

// maxLogEvents bounds the resets and crashes listed one by one.
const maxLogEvents = 100

// SummarizeLog counts marks (in time order) for the log section; lines is
// how many lines the log UART printed in all.
func SummarizeLog(marks []LogMark, lines int64) *LogSummary {
	s := &LogSummary{Lines: lines}
	counts := map[string]*LogCount{}
	tags := map[string]*TagCount{}
	var resets, crashes []*LogCount
	for _, m := range marks {
		if !m.crash() {
			tc := tags[m.Reason]
			if tc == nil {
				tc = &TagCount{Tag: m.Reason}
				tags[m.Reason] = tc
			}
			if m.Kind == "error" {
				tc.Errors++
			} else {
				tc.Warning++
			}
			tc.Last = m.Line
			continue
		}
		if len(s.Events) < maxLogEvents {
			s.Events = append(s.Events, m)
		} else {
			s.More++
		}
		l := m.Label()
		c := counts[l]
		if c == nil {
			c = &LogCount{Label: l, First: relTime(m.T)}
			counts[l] = c
			if m.Kind == "reset" {
				resets = append(resets, c)
			} else {
				crashes = append(crashes, c)
			}
		}
		c.Count++
		c.Last = relTime(m.T)
	}
	for _, list := range []struct {
		in  []*LogCount
		out *[]LogCount
	}{{resets, &s.Resets}, {crashes, &s.Crashes}} {
		sort.SliceStable(list.in, func(a, b int) bool { return list.in[a].Count > list.in[b].Count })
		for _, c := range list.in {
			*list.out = append(*list.out, *c)
		}
	}
	for _, tc := range tags {
		s.Tags = append(s.Tags, *tc)
	}
	sort.Slice(s.Tags, func(a, b int) bool {
		x, y := s.Tags[a], s.Tags[b]
		if x.Errors != y.Errors {
			return x.Errors > y.Errors
		}
		if x.Warning != y.Warning {
			return x.Warning > y.Warning
		}
		return x.Tag < y.Tag
	})
	return s
}

// relTime formats ns since the start as the transcript does.
func relTime(ns int64) string { return view.RelTime(ns) }

// Colours of the log lane's marks.
const (
	colourLogWarn = "#d97706"
	colourLogErr  = "#dc2626"
	colourReset   = "#111827"
	colourPanic   = "#be123c"
	maxLogLabels  = 40 // labels written on the timeline; every mark keeps its tooltip
	minLabelGap   = 130.0
)

// logLane draws the "ESP32 log" lane of the timeline at y: warnings and
// errors binned as in the other lanes, and each reset or crash (one per
// bin and kind, whatever the capture's length) as a mark across all lanes,
// from top to bottom, labelled with its reason.
func logLane(b *strings.Builder, marks []LogMark, x0, w, y, laneH, top, bottom float64, dur int64, bins int) {
	fmt.Fprintf(b, `<g id="log-lane"><text x="0" y="%.1f">ESP32 log</text><rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#f3f4f6"/>`, y+laneH/2+4, x0, y, w, laneH)
	warn, errs := make([]int, bins), make([]int, bins)
	type key struct {
		bin  int
		kind string
	}
	drawn := map[key]bool{}
	var crashes []LogMark
	bin := func(t int64) int { return max(min(int(float64(t)/float64(dur)*float64(bins)), bins-1), 0) }
	for _, m := range marks {
		k := bin(m.T)
		switch {
		case m.Kind == "warning":
			warn[k]++
		case m.Kind == "error":
			errs[k]++
		case !drawn[key{k, m.Label()}]:
			drawn[key{k, m.Label()}] = true
			crashes = append(crashes, m)
		}
	}
	peak := 1
	for k := range warn {
		peak = max(peak, warn[k]+errs[k])
	}
	bw := w / float64(bins)
	half := laneH / 2
	for k := range warn {
		for _, c := range []struct {
			n      int
			colour string
			y      float64
			what   string
		}{{errs[k], colourLogErr, y, "errors"}, {warn[k], colourLogWarn, y + half, "warnings"}} {
			if c.n == 0 {
				continue
			}
			bh := half * (0.35 + 0.65*float64(c.n)/float64(peak))
			fmt.Fprintf(b, `<rect class="log-%s" x="%.2f" y="%.2f" width="%.2f" height="%.2f" fill="%s"><title>%d log %s</title></rect>`, c.what, x0+float64(k)*bw, c.y+half-bh, max(bw, 1), bh, c.colour, c.n, c.what)
		}
	}
	lastLabel, labels := -1e9, 0
	for _, m := range crashes {
		x := x0 + w*float64(m.T)/float64(dur)
		colour, shape := colourPanic, fmt.Sprintf(`<path d="M%.2f %.1f l5 9 h-10 z"`, x, y+2) // a triangle
		if m.Kind == "reset" {
			colour, shape = colourReset, fmt.Sprintf(`<path d="M%.2f %.1f l5 5 l-5 5 l-5 -5 z"`, x, y+2) // a diamond
		}
		title := m.Label() + " at " + secs(m.T) + ": " + m.Line
		if a := m.ATSide(); a != "" {
			title += " (" + a + ")"
		}
		title = html.EscapeString(title)
		fmt.Fprintf(b, `<g class="log-mark log-%s"><line x1="%.2f" y1="%.1f" x2="%.2f" y2="%.1f" stroke="%s" stroke-width="1.5" stroke-dasharray="3 2"/>%s fill="%s"/><title>%s</title></g>`,
			html.EscapeString(m.Kind), x, top, x, bottom, colour, shape, colour, title)
		if labels < maxLogLabels && x-lastLabel >= minLabelGap {
			lx, anchor := x+6, "start"
			if x > x0+w-minLabelGap {
				lx, anchor = x-6, "end"
			}
			fmt.Fprintf(b, `<text class="log-label" x="%.2f" y="%.1f" text-anchor="%s" style="fill:%s">%s</text>`, lx, y+laneH-4, anchor, colour, html.EscapeString(m.Label()))
			lastLabel = x
			labels++
		}
	}
	b.WriteString(`</g>`)
}
