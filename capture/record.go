package capture

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/atbridge/atbridge/formats"
)

// Kind is the kind of a record. Readers skip kinds they do not know, so a
// newer writer may add kinds without breaking older readers.
type Kind uint8

// Record kinds. Values are part of the file format: never renumber them.
const (
	KindChunk Kind = 1 // serial bytes exactly as one read returned them
	KindFrame Kind = 2 // a WebSocket frame seen on the network side
	KindEvent Kind = 3 // something that happened: port, line, link, marker
)

func (k Kind) String() string {
	switch k {
	case KindChunk:
		return "chunk"
	case KindFrame:
		return "frame"
	case KindEvent:
		return "event"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Record is one entry of a capture.
//
// Which fields are meaningful depends on Kind: Port and Dir and Data for a
// chunk; Dir, Data and Frame for a frame; Event (and Port, Dir, Data where the
// event type says so) for an event. A Record returned by Reader.Next is owned
// by the caller; its Data does not alias the reader's buffers. One filled by
// Reader.NextInto does, until the reader's next call.
type Record struct {
	Kind Kind
	// Time is nanoseconds since the capture's monotonic base (Header.Start).
	// Within a file, Time never decreases from one record to the next.
	Time int64
	// Dir is the direction: ToDevice/ToHost for chunks, ToServer/ToClient
	// for frames, and whatever applies (often DirNone) for events.
	Dir formats.Dir
	// Port is the index of the serial port in Header.Ports that a chunk was
	// read from, or that a port event is about.
	Port uint8
	// Data is the chunk's bytes, the frame's payload (possibly cut, see
	// Frame.Length), or an event's binary payload.
	Data  []byte
	Frame Frame
	Event Event
}

// Frame describes a WebSocket frame as it crossed the network.
type Frame struct {
	Link    uint8 // ESP-AT link id 0..2, or the tap's connection number
	Opcode  uint8 // 0 continuation, 1 text, 2 binary, 8 close, 9 ping, 10 pong
	Fin     bool
	Rsv     uint8 // RSV1..RSV3 as bits 2..0
	Masked  bool
	MaskKey [4]byte
	// Length is the payload length on the wire. It is larger than len(Data)
	// when the recorder cut the payload at a size limit.
	Length uint64
}

// EventType says what an event record reports. Values are part of the file
// format: never renumber them. Readers keep events of types they do not know
// (as EventType values with no name) rather than failing.
type EventType uint16

// Event types. The comment says which Event and Record fields each one sets.
const (
	EvPortOpened   EventType = 1  // Port; Text: port name; Line: settings in force
	EvPortClosed   EventType = 2  // Port
	EvPortLost     EventType = 3  // Port; Text: why (unplugged, I/O error)
	EvPortReopened EventType = 4  // Port; Text: port name; Line
	EvLineSettings EventType = 5  // Port; Line: the new settings; Text: what changed them (e.g. "AT+UART_CUR", "termios")
	EvControlLines EventType = 6  // Port; Control: the new state
	EvBytesLost    EventType = 7  // Port, Dir; Count: bytes not recorded (forwarding went on)
	EvWSConnected  EventType = 8  // Event.Link; Text: URL
	EvWSClosed     EventType = 9  // Event.Link; Code: close code (0 when none); Text: reason
	EvMarker       EventType = 10 // Text: what the user typed
	EvNote         EventType = 11 // Text: free-form annotation by the tool (e.g. "emulator restarted")
	EvSplit        EventType = 12 // Text: name of the previous or next file of a split recording
	// EvNotDelivered follows the chunk(s) it is about: Port, Dir as the
	// chunk's; Count: how many of the bytes just recorded in Dir never
	// reached the other side because it was absent (unplugged, not yet
	// reopened); Text: which side ("device absent").
	EvNotDelivered EventType = 13
	// EvDamage marks records lost to damage, written by Repair where it
	// skipped them: Time and Until are the time range of the hole, Count
	// the records lost (-1 when unknown), Bytes the damaged bytes of the
	// source file, Text all of it in words.
	EvDamage EventType = 14
	// EvBreak is a BREAK condition on a line: Port; Dir the direction the
	// break travelled (ToDevice on the host's TX, ToHost on the ESP32's);
	// Count how many the OS reported since the previous EvBreak.
	EvBreak EventType = 15
	// EvLineErrors reports receive errors the OS counted on a port: Port;
	// Dir as for EvBreak; Text the kind ("framing", "parity", "overrun",
	// "buffer_overrun"); Count how many since the previous report of that
	// kind. The bytes themselves were lost or garbled by the UART.
	EvLineErrors EventType = 16
	// EvTrigger marks where a ring recording's trigger fired: Text says
	// which trigger and what matched it. The records before it are the
	// window kept in memory, those after it the --after time.
	EvTrigger EventType = 17
)

var eventNames = map[EventType]string{
	EvPortOpened:   "port_opened",
	EvPortClosed:   "port_closed",
	EvPortLost:     "port_lost",
	EvPortReopened: "port_reopened",
	EvLineSettings: "line_settings",
	EvControlLines: "control_lines",
	EvBytesLost:    "bytes_lost",
	EvWSConnected:  "ws_connected",
	EvWSClosed:     "ws_closed",
	EvMarker:       "marker",
	EvNote:         "note",
	EvSplit:        "split",
	EvNotDelivered: "not_delivered",
	EvDamage:       "damage",
	EvBreak:        "break",
	EvLineErrors:   "line_errors",
	EvTrigger:      "trigger",
}

func (t EventType) String() string {
	if n, ok := eventNames[t]; ok {
		return n
	}
	return fmt.Sprintf("event(%d)", uint16(t))
}

// Event is the body of a KindEvent record.
type Event struct {
	Type    EventType
	Text    string
	Count   int64
	Link    uint8
	Code    uint16 // WebSocket close code
	Line    LineSettings
	Control ControlLines
	Until   int64 // EvDamage: end of the time range lost
	Bytes   int64 // EvDamage: damaged bytes of the source file
}

// Parity of a serial line.
type Parity uint8

// Parity values; the byte is the usual letter.
const (
	ParityNone  Parity = 'N'
	ParityEven  Parity = 'E'
	ParityOdd   Parity = 'O'
	ParityMark  Parity = 'M'
	ParitySpace Parity = 'S'
)

// StopBits of a serial line, in half bits: 2 is one stop bit, 3 is 1.5, 4 is two.
type StopBits uint8

// Stop bit settings.
const (
	Stop1   StopBits = 2
	Stop1_5 StopBits = 3
	Stop2   StopBits = 4
)

// FlowControl of a serial line.
type FlowControl uint8

// Flow control settings.
const (
	FlowNone    FlowControl = 0
	FlowRTSCTS  FlowControl = 1
	FlowXONXOFF FlowControl = 2
)

// LineSettings are a serial line's framing. The zero value means "unknown".
type LineSettings struct {
	Baud     int
	DataBits uint8 // 5..8
	Parity   Parity
	StopBits StopBits
	Flow     FlowControl
}

// String formats settings as "115200 8N1" plus " rtscts" or " xonxoff".
func (l LineSettings) String() string {
	if l.Baud == 0 {
		return "unknown"
	}
	stop := "1"
	switch l.StopBits {
	case Stop1_5:
		stop = "1.5"
	case Stop2:
		stop = "2"
	}
	p := l.Parity
	if p == 0 {
		p = ParityNone
	}
	s := fmt.Sprintf("%d %d%c%s", l.Baud, l.DataBits, p, stop)
	switch l.Flow {
	case FlowRTSCTS:
		s += " rtscts"
	case FlowXONXOFF:
		s += " xonxoff"
	}
	return s
}

// ControlLines is the state of a serial port's modem control lines. Bit
// values match Wireshark's RTAC serial header, so exports copy them as is.
type ControlLines uint8

// Control line bits.
const (
	LineCTS ControlLines = 0x01
	LineDCD ControlLines = 0x02
	LineDSR ControlLines = 0x04
	LineRTS ControlLines = 0x08
	LineDTR ControlLines = 0x10
	LineRI  ControlLines = 0x20
)

// String lists the raised lines, e.g. "DTR|RTS", or "none".
func (c ControlLines) String() string {
	names := []struct {
		b ControlLines
		n string
	}{{LineDTR, "DTR"}, {LineRTS, "RTS"}, {LineCTS, "CTS"}, {LineDSR, "DSR"}, {LineDCD, "DCD"}, {LineRI, "RI"}}
	s := ""
	for _, x := range names {
		if c&x.b != 0 {
			if s != "" {
				s += "|"
			}
			s += x.n
		}
	}
	if s == "" {
		return "none"
	}
	return s
}

// Header is the start of a capture file.
type Header struct {
	// Version is the format version the file was written with (FormatVersion
	// for files this package writes).
	Version int
	// Tool names the program and version that wrote the file, e.g. "atbridge v0.1.0".
	Tool string
	// Start is the UTC wall-clock time of the monotonic base: a record's
	// absolute time is Start plus Record.Time nanoseconds.
	Start time.Time
	// MonoBase is the writer's monotonic clock reading at Start, in
	// nanoseconds, kept so captures made by one process can be related.
	MonoBase int64
	// Ports lists the serial ports; Record.Port indexes it.
	Ports []PortInfo
	// Meta is free-form metadata: "notes", "firmware", "command", ...
	Meta map[string]string
}

// PortInfo describes one serial port of a capture.
type PortInfo struct {
	Name string // e.g. "/dev/ttyUSB0", "pty:/tmp/esp", "emulate"
	// Role is "host" (the host app's side), "device" (the ESP32's AT
	// UART) or "log" (the ESP32's console UART, receive only).
	Role    string
	Line    LineSettings // settings when the capture started
	Adapter Adapter      // the USB adapter behind the port, when known
}

// Adapter describes the USB serial adapter behind a port as the OS
// enumerates it. The zero value means not a USB port, or not known.
type Adapter struct {
	VID, PID     uint16
	Manufacturer string
	Product      string
	Serial       string
	Driver       string // kernel driver, e.g. "ftdi_sio", "cp210x", "ch341"
	// LatencyTimerMS is the adapter's latency timer in milliseconds where
	// it has one (FTDI chips, /sys/bus/usb-serial/devices/*/latency_timer
	// on Linux); zero when it has none or it could not be read. 16 ms, the
	// FTDI default, delays every short read by up to that much.
	LatencyTimerMS int
}

// MarshalJSON gives the adapter as show --json and stats --json print it:
// vid and pid as four hex digits, as lsusb writes them; empty facts left out.
func (a Adapter) MarshalJSON() ([]byte, error) {
	j := struct {
		VID            string `json:"vid,omitempty"`
		PID            string `json:"pid,omitempty"`
		Manufacturer   string `json:"manufacturer,omitempty"`
		Product        string `json:"product,omitempty"`
		Serial         string `json:"serial,omitempty"`
		Driver         string `json:"driver,omitempty"`
		LatencyTimerMS int    `json:"latency_timer_ms,omitempty"`
	}{Manufacturer: a.Manufacturer, Product: a.Product, Serial: a.Serial, Driver: a.Driver, LatencyTimerMS: a.LatencyTimerMS}
	if a.VID != 0 || a.PID != 0 {
		j.VID, j.PID = fmt.Sprintf("%04x", a.VID), fmt.Sprintf("%04x", a.PID)
	}
	return json.Marshal(j)
}

// IsZero reports whether nothing is known about the adapter.
func (a Adapter) IsZero() bool { return a == Adapter{} }

// Port indexes used by atbridge's own recorders.
const (
	PortHost   uint8 = 0
	PortDevice uint8 = 1
	// PortLog is the ESP32's log (console) UART, recorded with
	// --log-port: its chunks are ToHost and never forwarded anywhere.
	PortLog uint8 = 2
)

// ATChunk reports whether r is a chunk of the AT UART: serial bytes
// between the host app and the ESP32, which the AT decoder reads. The log
// UART's chunks (PortLog) are not.
func (r *Record) ATChunk() bool {
	return r.Kind == KindChunk && r.Dir.Serial() && r.Port != PortLog
}
