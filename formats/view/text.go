package view

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/atbridge/atbridge/formats"
	"github.com/atbridge/atbridge/formats/at"
)

// The text rendering of decoded traffic, as "atbridge show" prints it: one
// line per event, columns for the time since the start of the capture, the
// direction and the kind, then what the event says:
//
//	+0.000000  host→dev   command  AT+WSSEND=0,4  (set 0, 4)
//	+0.000412  dev→host   echo     AT+WSSEND=0,4
//	+0.000530  dev→host   result   OK
//	+0.000530  dev→host   prompt   >
//	+0.001204  host→dev   payload  +WSSEND 4 bytes: "test"
//	+0.003391  dev→host   result   SEND OK
//	+0.003391             tx       AT+WSSEND=0,4 → SEND OK in 3.391ms
//
// Text payloads of up to TextOptions.MaxInline bytes are quoted on the
// line; binary and longer ones follow as a hex dump block, indented under
// the line.

// TextOptions control AppendText. A nil *TextOptions means defaults.
type TextOptions struct {
	// Colour adds ANSI colour codes (results green or red, URCs yellow,
	// problems red, echo dim). Default off.
	Colour bool
	// MaxInline is the longest payload shown on the event's own line;
	// longer payloads get a hex dump block. Zero means 32.
	MaxInline int
	// MaxDump caps the bytes of one hex dump block; the rest is counted as
	// "... N more bytes". Zero means 4096; negative means no cap.
	MaxDump int
}

func (o *TextOptions) withDefaults() TextOptions {
	var r TextOptions
	if o != nil {
		r = *o
	}
	if r.MaxInline <= 0 {
		r.MaxInline = 32
	}
	if r.MaxDump == 0 {
		r.MaxDump = 4096
	}
	return r
}

// ANSI colours used by the text rendering.
const (
	ansiReset  = "\x1b[0m"
	ansiRed    = "\x1b[31m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
	ansiBlue   = "\x1b[34m"
	ansiCyan   = "\x1b[36m"
	ansiDim    = "\x1b[2m"
	ansiBold   = "\x1b[1m"
)

// Colour names for TextLine.
const (
	ColourNone    = ""
	ColourProblem = ansiRed
	ColourGood    = ansiGreen
	ColourNotice  = ansiYellow
	ColourNetwork = ansiBlue
	ColourCommand = ansiCyan
	ColourQuiet   = ansiDim
	ColourMarker  = ansiBold
)

// DirLabel returns the direction column of the text rendering: "host→dev",
// "dev→host", "→server", "→client", or "" for DirNone.
func DirLabel(d formats.Dir) string {
	switch d {
	case formats.ToDevice:
		return "host→dev"
	case formats.ToHost:
		return "dev→host"
	case formats.ToServer:
		return "→server"
	case formats.ToClient:
		return "→client"
	case formats.DirNone:
		return ""
	}
	return d.String()
}

// RelTime formats nanoseconds since the start of a capture as "+1.002341"
// (seconds with microseconds), the time column of the text rendering.
func RelTime(ns int64) string { return string(appendRelTime(nil, ns)) }

func appendRelTime(dst []byte, ns int64) []byte {
	sign := byte('+')
	if ns < 0 {
		sign, ns = '-', -ns
	}
	us := (ns + 500) / 1000
	dst = append(dst, sign)
	dst = strconv.AppendInt(dst, us/1e6, 10)
	frac := us % 1e6
	dst = append(dst, '.')
	for d := int64(1e5); d > 0; d /= 10 {
		dst = append(dst, byte('0'+frac/d%10))
	}
	return dst
}

// appendPadded appends s and spaces up to width runes (at least one space
// when s is as wide or wider).
func appendPadded(dst []byte, s string, width int) []byte {
	dst = append(dst, s...)
	for n := utf8.RuneCountInString(s); n < width; n++ {
		dst = append(dst, ' ')
	}
	return dst
}

// AppendTextLine appends one line of the text rendering: the time, direction
// and kind columns, then text, in colour (an ANSI code, ColourNone for
// none) when o.Colour is set, and a newline.
func AppendTextLine(dst []byte, t int64, d formats.Dir, kind, text, colour string, o *TextOptions) []byte {
	start := len(dst)
	dst = appendRelTime(dst, t)
	for len(dst)-start < 10 {
		dst = append(dst, ' ')
	}
	dst = append(dst, ' ')
	dst = appendPadded(dst, DirLabel(d), 9)
	dst = append(dst, "  "...)
	dst = appendPadded(dst, kind, 8)
	dst = append(dst, ' ')
	if o != nil && o.Colour && colour != "" {
		dst = append(dst, colour...)
		dst = append(dst, text...)
		dst = append(dst, ansiReset...)
	} else {
		dst = append(dst, text...)
	}
	return append(dst, '\n')
}

// hexIndent is the indentation of hex dump blocks: under the text column.
var hexIndent = strings.Repeat(" ", 32)

// AppendHexDump appends b as a hex dump block, 16 bytes a line with the
// offset and a text column, indented under the text column; at most max
// bytes (negative: all), then a line counting the rest.
func AppendHexDump(dst, b []byte, max int) []byte {
	const digits = "0123456789abcdef"
	n := len(b)
	if max >= 0 && n > max {
		n = max
	}
	for off := 0; off < n; off += 16 {
		row := b[off:min(off+16, n)]
		dst = append(dst, hexIndent...)
		dst = append(dst, digits[off>>12&15], digits[off>>8&15], digits[off>>4&15], digits[off&15], ' ')
		if off >= 1<<16 {
			// Offsets past 0xffff: the plain form keeps all digits.
			dst = fmt.Appendf(dst[:len(dst)-5], "%04x ", off)
		}
		for i := range 16 {
			if i == 8 {
				dst = append(dst, ' ')
			}
			if i < len(row) {
				dst = append(dst, ' ', digits[row[i]>>4], digits[row[i]&15])
			} else {
				dst = append(dst, "   "...)
			}
		}
		dst = append(dst, "  |"...)
		for _, c := range row {
			if c >= 0x20 && c < 0x7f {
				dst = append(dst, c)
			} else {
				dst = append(dst, '.')
			}
		}
		dst = append(dst, "|\n"...)
	}
	if n < len(b) {
		dst = fmt.Appendf(dst, "%s... %d more bytes\n", hexIndent, len(b)-n)
	}
	return dst
}

// QuoteText renders bytes for the text column: printable ASCII and valid
// UTF-8 as is, the rest as Go escapes (\r, \n, \x00), in double quotes.
func QuoteText(b []byte) string {
	return strconv.Quote(string(b))
}

// lineText renders a CRLF-free text line as is when it is printable, and
// quoted otherwise.
func lineText(b []byte) string {
	for _, c := range b {
		if c < 0x20 || c == 0x7f {
			return QuoteText(b)
		}
	}
	if !utf8.Valid(b) {
		return QuoteText(b)
	}
	return string(b)
}

// IsText reports whether b reads as text: valid UTF-8 with no control
// characters other than CR, LF and tab.
func IsText(b []byte) bool {
	for _, c := range b {
		if (c < 0x20 && c != '\r' && c != '\n' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return utf8.Valid(b)
}

// PayloadText describes a payload for the text column: its length, and the
// bytes themselves (quoted) when they are text of at most MaxInline bytes.
// dump says the payload should follow as a hex dump block instead: it is
// binary, or too long to quote.
func PayloadText(b []byte, opts *TextOptions) (text string, dump bool) {
	o := opts.withDefaults()
	text = fmt.Sprintf("%d bytes", len(b))
	if len(b) == 1 {
		text = "1 byte"
	}
	switch {
	case len(b) == 0:
		return text, false
	case len(b) <= o.MaxInline && IsText(b):
		return text + ": " + QuoteText(b), false
	case !IsText(b):
		text += " (binary)"
	}
	return text, true
}

// AppendText appends the text rendering of e: one line, plus a hex dump
// block for a long payload or unparsed run.
func AppendText(dst []byte, e *at.Event, opts *TextOptions) []byte {
	o := opts.withDefaults()
	kind, text, colour := e.Kind.String(), "", ColourNone
	var dump []byte
	payload := func(b []byte) string {
		text, d := PayloadText(b, &o)
		if d {
			dump = b
		}
		return text
	}
	switch e.Kind {
	case at.EvCommand:
		colour = ColourCommand
		text = lineText(e.Line)
		if e.Cmd != nil && len(e.Cmd.Params) > 0 {
			text += "  (" + e.Cmd.Type.String() + " " + paramsText(e.Cmd.Params) + ")"
		}
	case at.EvEcho:
		colour = ColourQuiet
		text = lineText(e.Line)
		if len(e.Line) == 0 {
			text = QuoteText(e.Raw)
		}
	case at.EvPayload:
		text = e.Name + " " + payload(e.Data)
	case at.EvPrompt:
		text = ">"
	case at.EvResult:
		text = e.Name
		colour = ColourGood
		if e.Name != "OK" && e.Name != "SEND OK" {
			colour = ColourProblem
		}
	case at.EvInfo:
		text = lineText(e.Line)
		if e.Data != nil { // a counted read: +HTTPCGET, +FS, +SYSFLASH, ...
			text += " " + payload(e.Data)
		}
	case at.EvURC:
		colour = ColourNotice
		text = lineText(e.Line)
		if e.Data != nil {
			text += " " + payload(e.Data)
		}
	case at.EvUnparsed:
		colour = ColourProblem
		text = payload(e.Raw)
	case at.EvTransaction:
		kind = "tx"
		text = txText(e.Tx)
		if e.Tx != nil && (e.Tx.Result == "" || (e.Tx.Result != "OK" && e.Tx.Result != "SEND OK")) {
			colour = ColourProblem
		}
	case at.EvWSMessage:
		kind = "ws"
		colour = ColourNetwork
		text = wsText(e) + " " + payload(e.Data)
	case at.EvLinkState:
		kind = "link"
		text = fmt.Sprintf("link %d %s", e.Link, e.State)
	default:
		text = QuoteText(e.Raw)
	}
	if e.Err != nil {
		text += "  [" + e.Err.Error() + "]"
		colour = ColourProblem
	}
	dst = AppendTextLine(dst, e.Time, e.Dir, kind, text, colour, &o)
	if dump != nil {
		dst = AppendHexDump(dst, dump, o.MaxDump)
	}
	return dst
}

func paramsText(ps []at.Param) string {
	var b strings.Builder
	for i, p := range ps {
		if i > 0 {
			b.WriteString(", ")
		}
		switch {
		case p.Empty:
			b.WriteString("_")
		case p.Quoted:
			b.WriteString(strconv.Quote(p.Value))
		default:
			b.WriteString(p.Value)
		}
	}
	return b.String()
}

func txText(tx *at.Transaction) string {
	if tx == nil {
		return "?"
	}
	s := lineText(tx.Line)
	if tx.Busy {
		s += " (typed while busy)"
	}
	if tx.Result != "" {
		s += fmt.Sprintf(" → %s in %s", tx.Result, latencyText(tx.Latency))
	} else if errors.Is(tx.Err, at.ErrDeviceAbsent) {
		s += " → not delivered: device absent"
	} else {
		s += " → no result"
	}
	if n := len(tx.Unsolicited) + tx.Dropped; n > 0 {
		s += fmt.Sprintf(" (%d unsolicited meanwhile)", n)
	}
	return s
}

// latencyText formats a latency with three significant decimals in a
// readable unit: "850µs", "3.391ms", "1.204s".
func latencyText(ns int64) string {
	switch {
	case ns < 1000:
		return fmt.Sprintf("%dns", ns)
	case ns < 1e6:
		return fmt.Sprintf("%dµs", (ns+500)/1000)
	case ns < 1e9:
		return fmt.Sprintf("%.3fms", float64(ns)/1e6)
	}
	return fmt.Sprintf("%.3fs", float64(ns)/1e9)
}

var opcodeNames = map[int]string{0: "continuation", 1: "text", 2: "binary", 8: "close", 9: "ping", 10: "pong"}

// OpcodeName names a WebSocket opcode: "text", "binary", "close", ...,
// "opcode 3" for reserved ones.
func OpcodeName(op int) string {
	if n, ok := opcodeNames[op]; ok {
		return n
	}
	return fmt.Sprintf("opcode %d", op)
}

func wsText(e *at.Event) string {
	m := e.Msg
	if m == nil {
		return fmt.Sprintf("link %d", e.Link)
	}
	s := fmt.Sprintf("link %d", m.Link)
	if m.Opcode >= 0 {
		s += " " + OpcodeName(m.Opcode)
	}
	if m.Fin == 0 {
		s += " (not fin)"
	}
	if m.PayloadLen >= 0 {
		s += fmt.Sprintf(" [%d+%d of %d]", max(m.PayloadOffset, 0), len(e.Data), m.PayloadLen)
	}
	if m.Result != "" && m.Result != "SEND OK" {
		s += " " + m.Result
	}
	return s
}
