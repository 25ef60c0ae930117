package view

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"time"
	"unicode/utf8"

	"github.com/atbridge/atbridge/formats"
	"github.com/atbridge/atbridge/formats/at"
)

// JSONEvent is the JSON Lines form of a decoded event, one object a line,
// as "atbridge show --json" writes it. Fields that do not apply are left out,
// except offset_ns, time, dir and kind, which every line has.
type JSONEvent struct {
	// OffsetNS is the event's time (its last byte) in nanoseconds since the
	// start of the capture; Time is the same instant as RFC 3339 UTC with
	// nanoseconds.
	OffsetNS int64  `json:"offset_ns"`
	Time     string `json:"time"`
	// Dir is "to_device", "to_host", "to_server", "to_client" or "".
	Dir string `json:"dir"`
	// Kind is the EventKind name ("command", "result", "urc", ...), or for
	// records that are not decoded events "frame", "event" or "damage".
	Kind string `json:"kind"`
	// Name is the command, result or message name ("+WSSEND", "OK",
	// "+WS_DATA").
	Name string `json:"name,omitempty"`
	// StartNS is the time of the event's first byte when it differs from
	// OffsetNS.
	StartNS *int64 `json:"start_ns,omitempty"`
	// ByteOffset is the offset of the event's bytes in its direction's
	// serial stream (byte-carrying kinds only).
	ByteOffset *int64 `json:"byte_offset,omitempty"`
	// Line is the text line without CRLF, where there is one.
	Line *string `json:"line,omitempty"`
	// Link is the WebSocket (or TCP) link id, where known.
	Link *int `json:"link,omitempty"`
	// Data is the payload as a string when it is valid UTF-8; DataB64 is
	// the payload in standard base64, always present when there is one.
	Data    *string `json:"data,omitempty"`
	DataB64 *string `json:"data_b64,omitempty"`
	// RawB64 is every byte the event covers (unparsed runs only, where it
	// is the point of the event).
	RawB64 *string `json:"raw_b64,omitempty"`
	// Command is the parsed command line (kind "command").
	Command *JSONCommand `json:"command,omitempty"`
	// Tx is the transaction (kind "transaction").
	Tx *JSONTx `json:"tx,omitempty"`
	// WS describes a WebSocket message or frame (kinds "ws_message", "frame").
	WS *JSONWS `json:"ws,omitempty"`
	// State is the new link state (kind "link_state").
	State string `json:"state,omitempty"`
	// Error says what is wrong, where something is.
	Error string `json:"error,omitempty"`
	// Event, Text and Count describe a recorded capture event (kind "event"):
	// its type ("marker", "bytes_lost", ...), its text and count.
	Event string `json:"event,omitempty"`
	Text  string `json:"text,omitempty"`
	Count int64  `json:"count,omitempty"`
	// Code is a ws_closed event's close code; Settings a port event's line
	// settings ("115200 8N1"); Control a control_lines event's raised lines.
	Code     int    `json:"code,omitempty"`
	Settings string `json:"settings,omitempty"`
	Control  string `json:"control,omitempty"`
	// Port is the serial port index of a recorded chunk or event (raw mode).
	Port *int `json:"port,omitempty"`
	// Lost describes damage found while reading (kind "damage").
	Lost *JSONDamage `json:"lost,omitempty"`
	// Log describes a line of the ESP32's log UART (kind "log") or a
	// reset it reported (kind "reset").
	Log *JSONLog `json:"log,omitempty"`
}

// JSONLog is a decoded line of the ESP32's log UART, or a reset.
type JSONLog struct {
	// Type is the line's kind: "text", "log" (an ESP-IDF log line),
	// "boot" (the ROM's reset line), "panic", "backtrace", "abort",
	// "brownout", "watchdog", "reboot"; or "reset" for a kind "reset" item.
	Type string `json:"type"`
	// Level (E, W, I, D, V), Tag and Msg of an ESP-IDF log line; BoardMS
	// the board's own stamp (milliseconds since boot), or BoardTime its
	// system time ("12:34:56.789") when it logs that instead.
	Level     string `json:"level,omitempty"`
	Tag       string `json:"tag,omitempty"`
	Msg       string `json:"msg,omitempty"`
	BoardMS   *int64 `json:"board_ms,omitempty"`
	BoardTime string `json:"board_time,omitempty"`
	// Reason, ResetCode and BootMode of a boot line or a reset
	// ("SW_CPU_RESET", 12, "SPI_FAST_FLASH_BOOT").
	Reason    string `json:"reason,omitempty"`
	ResetCode *int   `json:"reset_code,omitempty"`
	BootMode  string `json:"boot_mode,omitempty"`
	// Cause is a panic's exception or an abort's ("abort()" or the failed
	// assert); for a reset, what the log said went wrong before it.
	Cause string `json:"cause,omitempty"`
	Core  *int   `json:"core,omitempty"`
	// Backtrace lists the program counters ("0x400d1234"), outermost last;
	// Corrupted says the handler could not walk the whole stack.
	Backtrace []string `json:"backtrace,omitempty"`
	Corrupted bool     `json:"corrupted,omitempty"`
	// SilentNS (reset only): how long the AT UART had been silent when the
	// ESP32 reset, -1 when it had sent nothing yet; ReadyNS: how long after
	// the reset "ready" came, -1 when none did.
	SilentNS *int64 `json:"at_silent_ns,omitempty"`
	ReadyNS  *int64 `json:"ready_after_ns,omitempty"`
	// Cut marks a piece of a line longer than the decoder's limit.
	Cut bool `json:"cut,omitempty"`
}

// JSONCommand is a parsed command line.
type JSONCommand struct {
	Type   string   `json:"type"` // "exec", "query", "test" or "set"
	Params []string `json:"params,omitempty"`
}

// JSONTx is a command with its final result.
type JSONTx struct {
	Line   string `json:"line"`
	Result string `json:"result"` // "" when there was none
	// Absent is set when there was no result because the command never
	// reached the device (at.ErrDeviceAbsent).
	Absent      bool  `json:"device_absent,omitempty"`
	LatencyNS   int64 `json:"latency_ns"`
	Busy        bool  `json:"busy,omitempty"`
	Unsolicited int   `json:"unsolicited,omitempty"`
}

// JSONWS describes a WebSocket message or frame. Values the traffic does not
// show are left out.
type JSONWS struct {
	Opcode        *int   `json:"opcode,omitempty"`
	Fin           *bool  `json:"fin,omitempty"`
	PayloadLen    *int64 `json:"payload_len,omitempty"`
	PayloadOffset *int64 `json:"payload_offset,omitempty"`
	Result        string `json:"result,omitempty"`
	Masked        bool   `json:"masked,omitempty"`
	Rsv           int    `json:"rsv,omitempty"`
}

// JSONDamage describes a damaged region of a capture.
type JSONDamage struct {
	FileOffset  int64 `json:"file_offset"`
	Bytes       int64 `json:"bytes"`
	RecordsLost int64 `json:"records_lost"` // -1 when unknown
}

// NewJSONEvent returns the JSON form of e for a capture that started at
// start.
func NewJSONEvent(e *at.Event, start time.Time) *JSONEvent {
	j := NewJSONBase(e.Time, start, e.Dir, e.Kind.String())
	j.Name = e.Name
	if e.Start != e.Time {
		j.StartNS = jsonPtr(e.Start)
	}
	if e.Kind.CarriesBytes() && e.Offset >= 0 {
		j.ByteOffset = jsonPtr(e.Offset)
	}
	if e.Line != nil {
		j.Line = jsonPtr(string(e.Line))
	}
	if e.Link >= 0 {
		j.Link = jsonPtr(e.Link)
	}
	if e.Data != nil {
		j.SetData(e.Data)
	}
	if e.Kind == at.EvUnparsed {
		j.RawB64 = jsonPtr(base64.StdEncoding.EncodeToString(e.Raw))
	}
	if e.Cmd != nil {
		c := &JSONCommand{Type: e.Cmd.Type.String()}
		for _, p := range e.Cmd.Params {
			c.Params = append(c.Params, p.Value)
		}
		j.Command = c
	}
	if tx := e.Tx; tx != nil {
		j.Tx = &JSONTx{Line: string(tx.Line), Result: tx.Result, Absent: errors.Is(tx.Err, at.ErrDeviceAbsent), LatencyNS: tx.Latency, Busy: tx.Busy, Unsolicited: len(tx.Unsolicited) + tx.Dropped}
	}
	if m := e.Msg; m != nil {
		ws := &JSONWS{Result: m.Result}
		if m.Opcode >= 0 {
			ws.Opcode = jsonPtr(m.Opcode)
		}
		if m.Fin >= 0 {
			ws.Fin = jsonPtr(m.Fin == 1)
		}
		if m.PayloadLen >= 0 {
			ws.PayloadLen = jsonPtr(m.PayloadLen)
		}
		if m.PayloadOffset >= 0 {
			ws.PayloadOffset = jsonPtr(m.PayloadOffset)
		}
		j.WS = ws
	}
	if e.Kind == at.EvLinkState {
		j.State = e.State.String()
	}
	if e.Err != nil {
		j.Error = e.Err.Error()
	}
	return j
}

// NewJSONBase returns a JSONEvent with the fields every line has.
func NewJSONBase(t int64, start time.Time, d formats.Dir, kind string) *JSONEvent {
	return &JSONEvent{
		OffsetNS: t,
		Time:     start.Add(time.Duration(t)).UTC().Format(jsonTimeLayout),
		Dir:      d.String(),
		Kind:     kind,
	}
}

// SetData sets DataB64 to b and Data too when b is valid UTF-8.
func (j *JSONEvent) SetData(b []byte) {
	if utf8.Valid(b) {
		j.Data = jsonPtr(string(b))
	}
	j.DataB64 = jsonPtr(base64.StdEncoding.EncodeToString(b))
}

// SetRawData sets DataB64 to b, and Data not at all: for lines meant to
// carry recorded bytes exactly.
func (j *JSONEvent) SetRawData(b []byte) {
	j.DataB64 = jsonPtr(base64.StdEncoding.EncodeToString(b))
}

// AppendJSON appends j as one line of JSON and a newline.
func (j *JSONEvent) AppendJSON(dst []byte) []byte {
	b, err := json.Marshal(j)
	if err != nil {
		// Only strings, numbers and bools: Marshal cannot fail.
		panic("formats: marshal JSONEvent: " + err.Error())
	}
	dst = append(dst, b...)
	return append(dst, '\n')
}

func jsonPtr[T any](v T) *T { return &v }

// jsonTimeLayout is RFC 3339 with all nine digits of nanoseconds, so times
// line up and sort as text.
const jsonTimeLayout = "2006-01-02T15:04:05.000000000Z07:00"
