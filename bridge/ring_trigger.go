package bridge

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/formats"
	"github.com/atbridge/atbridge/formats/at"
	"github.com/atbridge/atbridge/formats/esplog"
)

// TriggerKind is what a ring recording's trigger watches for.
type TriggerKind uint8

// Trigger kinds, as --trigger spells them.
const (
	TrigError   TriggerKind = iota + 1 // "error": a command ended ERROR or SEND FAIL
	TrigBusy                           // "busy": a "busy p..." or "busy s..." reply
	TrigWSClose                        // "ws-close": a WebSocket link closed or disconnected
	TrigReset                          // "reset": the ESP32 reset or panicked
	TrigLatency                        // "latency>D": a command took longer than D
	TrigRegex                          // "regex:RE": a line on either UART (or the log UART) matched
	TrigMarker                         // "marker": the user typed a marker
)

// Trigger is one --trigger.
type Trigger struct {
	Kind    TriggerKind
	Latency time.Duration  // TrigLatency: the bound
	Regexp  *regexp.Regexp // TrigRegex
	Spec    string         // as the user gave it
}

// TriggerHelp lists the --trigger forms, for help text and errors.
const TriggerHelp = "error, busy, ws-close, reset, latency>DURATION (latency>500ms), regex:RE, marker"

// ParseTrigger reads one --trigger value.
func ParseTrigger(s string) (Trigger, error) {
	t := Trigger{Spec: s}
	switch {
	case s == "error":
		t.Kind = TrigError
	case s == "busy":
		t.Kind = TrigBusy
	case s == "ws-close":
		t.Kind = TrigWSClose
	case s == "reset":
		t.Kind = TrigReset
	case s == "marker":
		t.Kind = TrigMarker
	case strings.HasPrefix(s, "latency>"):
		d, err := time.ParseDuration(strings.TrimPrefix(s, "latency>"))
		if err != nil || d <= 0 {
			return t, fmt.Errorf("--trigger %q: want latency>DURATION with a positive duration, such as latency>500ms", s)
		}
		t.Kind, t.Latency = TrigLatency, d
	case strings.HasPrefix(s, "regex:"):
		re, err := regexp.Compile(strings.TrimPrefix(s, "regex:"))
		if err != nil {
			return t, fmt.Errorf("--trigger %q: %v", s, err)
		}
		if re.String() == "" {
			return t, fmt.Errorf("--trigger %q: the regular expression is empty (it would match every line)", s)
		}
		t.Kind, t.Regexp = TrigRegex, re
	default:
		return t, fmt.Errorf("--trigger %q: not a trigger; want one of %s", s, TriggerHelp)
	}
	return t, nil
}

// maxTriggerLine bounds the line a regex trigger sees: a longer run without
// a line end is matched in pieces of this size.
const maxTriggerLine = 4096

// detector decodes a live session as it is recorded and says when one of
// its triggers fires. Not safe for concurrent use.
type detector struct {
	trig  []Trigger
	kinds map[TriggerKind]bool
	dec   *at.Decoder
	esp   esplog.Decoder
	// lines holds each port and direction's partial line for regex
	// triggers.
	lines map[lostKey][]byte
	found []string
}

func newDetector(h capture.Header, trig []Trigger) *detector {
	d := &detector{trig: trig, kinds: map[TriggerKind]bool{}, lines: map[lostKey][]byte{}}
	for _, t := range trig {
		d.kinds[t.Kind] = true
	}
	if d.kinds[TrigError] || d.kinds[TrigBusy] || d.kinds[TrigWSClose] || d.kinds[TrigReset] || d.kinds[TrigLatency] {
		d.dec = at.NewDecoder(h.DecoderOptions())
	}
	return d
}

// check returns what r fired, in words ("error: AT+CIPSTART=... -> ERROR"),
// one string a trigger; nil when nothing fired. The slice is reused.
func (d *detector) check(r *capture.Record) []string {
	d.found = d.found[:0]
	switch r.Kind {
	case capture.KindChunk:
		if r.Port == capture.PortLog {
			d.logChunk(r)
		} else if r.Dir.Serial() {
			if d.dec != nil {
				d.events(d.dec.Decode(r.Time, r.Dir, r.Data))
			}
		}
		if d.kinds[TrigRegex] {
			d.regexLines(r)
		}
	case capture.KindFrame:
		if r.Frame.Opcode == 8 && d.kinds[TrigWSClose] {
			d.fire(TrigWSClose, fmt.Sprintf("ws-close: close frame on link %d (%s)", r.Frame.Link, r.Dir))
		}
	case capture.KindEvent:
		switch r.Event.Type {
		case capture.EvWSClosed:
			d.fire(TrigWSClose, fmt.Sprintf("ws-close: link %d closed (code %d) %s", r.Event.Link, r.Event.Code, r.Event.Text))
		case capture.EvMarker:
			d.fire(TrigMarker, "marker: "+r.Event.Text)
		case capture.EvPortLost:
			// The bytes after a reconnect do not continue the line.
			if d.dec != nil {
				d.events(d.dec.Flush())
			}
		}
	}
	return d.found
}

func (d *detector) fire(k TriggerKind, what string) {
	if d.kinds[k] {
		d.found = append(d.found, what)
	}
}

func (d *detector) events(evs []at.Event) {
	for i := range evs {
		ev := &evs[i]
		switch ev.Kind {
		case at.EvTransaction:
			tx := ev.Tx
			switch {
			case tx.Result == "ERROR" || tx.Result == "SEND FAIL":
				d.fire(TrigError, fmt.Sprintf("error: %s -> %s", clip(tx.Line), tx.Result))
			case strings.HasPrefix(tx.Result, "busy "):
				d.fire(TrigBusy, fmt.Sprintf("busy: %s -> %s", clip(tx.Line), tx.Result))
			}
			for _, t := range d.trig {
				if t.Kind == TrigLatency && tx.Result != "" && tx.Latency > int64(t.Latency) {
					d.found = append(d.found, fmt.Sprintf("%s: %s took %s", t.Spec, clip(tx.Line), time.Duration(tx.Latency).Round(time.Microsecond)))
				}
			}
		case at.EvURC:
			switch ev.Name {
			case "+WS_DISCONNECTED", "+WS_CLOSED":
				d.fire(TrigWSClose, "ws-close: "+clip(ev.Line))
			case "ready":
				d.fire(TrigReset, "reset: the ESP32 said ready (it restarted)")
			}
		}
	}
}

// logChunk fires TrigReset on the first line of a reset or panic on the
// log UART: the ROM's rst: line, a panic, abort, brownout or watchdog.
func (d *detector) logChunk(r *capture.Record) {
	if !d.kinds[TrigReset] {
		return
	}
	for _, l := range d.esp.Feed(r.Data) {
		switch l.Kind {
		case esplog.KindBoot:
			d.fire(TrigReset, fmt.Sprintf("reset: rst:0x%x (%s)", l.ResetCode, l.Reset))
		case esplog.KindPanic, esplog.KindAbort, esplog.KindBrownout, esplog.KindWatchdog:
			d.fire(TrigReset, "reset: "+l.Kind.String()+": "+l.Text)
		}
	}
}

// regexLines matches whole lines of the chunk's port and direction.
func (d *detector) regexLines(r *capture.Record) {
	k := lostKey{r.Port, r.Dir}
	buf := append(d.lines[k], r.Data...)
	for {
		i := bytes.IndexByte(buf, '\n')
		if i < 0 && len(buf) < maxTriggerLine {
			break
		}
		n := i + 1
		if i < 0 {
			n = maxTriggerLine
		}
		line := bytes.TrimRight(buf[:n], "\r\n")
		for _, t := range d.trig {
			if t.Kind == TrigRegex && t.Regexp.Match(line) {
				d.found = append(d.found, fmt.Sprintf("%s: %s %q", t.Spec, streamName(r), clip(line)))
			}
		}
		buf = buf[n:]
	}
	d.lines[k] = append(d.lines[k][:0], buf...)
}

func streamName(r *capture.Record) string {
	switch {
	case r.Port == capture.PortLog:
		return "log UART"
	case r.Dir == formats.ToDevice:
		return "host→device"
	}
	return "device→host"
}

func clip(b []byte) string {
	const n = 60
	if len(b) > n {
		return string(b[:n]) + "..."
	}
	return string(b)
}
