package at

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/atbridge/atbridge/formats"
)

// EventKind says what a decoded Event is.
type EventKind uint8

// Event kinds. The first eight carry bytes of the serial streams (Raw is
// non-empty and Offset locates it); every input byte of each direction is
// covered by exactly one of them. The last three are derived from others and
// carry no bytes of their own (Offset is -1).
const (
	EvCommand     EventKind = iota + 1 // a host command line (or "+++"), CRLF included in Raw
	EvEcho                             // device bytes echoing what the host typed (ATE1)
	EvPayload                          // host bytes after a ">" prompt, passthrough data, or discarded excess input
	EvPrompt                           // the device's "\r\n>" data prompt
	EvResult                           // OK, ERROR, SEND OK, SEND FAIL, busy p..., SEND Canceled
	EvInfo                             // a response line of the running command (+CIPSNTPTIME:..., AT version:..., ERR CODE:...), or a counted body chunk (+HTTPCLIENT, +FS, ...)
	EvURC                              // an unsolicited message (+WS_DATA, +WS_CONNECTED, +IPD, +MQTTSUBRECV, WIFI ..., ready, ...), or link data read with AT+CIPRECVDATA
	EvUnparsed                         // bytes the decoder could not place; Err says why
	EvTransaction                      // a command paired with its final result (Tx)
	EvWSMessage                        // a WebSocket message derived from AT+WSSEND or +WS_DATA (Msg)
	EvLinkState                        // a WebSocket link changed state (Link, State)
)

var eventKindNames = [...]string{"", "command", "echo", "payload", "prompt", "result", "info", "urc", "unparsed", "transaction", "ws_message", "link_state"}

// String returns the lowercase name used as the JSON "kind" value:
// "command", "echo", "payload", "prompt", "result", "info", "urc",
// "unparsed", "transaction", "ws_message" or "link_state".
func (k EventKind) String() string {
	if k > 0 && int(k) < len(eventKindNames) {
		return eventKindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// ParseEventKind is the inverse of EventKind.String.
func ParseEventKind(s string) (EventKind, error) {
	for i, n := range eventKindNames {
		if i > 0 && n == s {
			return EventKind(i), nil
		}
	}
	return 0, fmt.Errorf("unknown event kind %q", s)
}

// CarriesBytes reports whether events of kind k cover serial bytes (Raw,
// Offset), as opposed to being derived from other events.
func (k EventKind) CarriesBytes() bool { return k >= EvCommand && k <= EvUnparsed }

// LinkState is the state of an ESP-AT WebSocket link (0..2) as the decoder
// infers it from the traffic (esp-at.md §6.5).
type LinkState uint8

// Link states. The zero value is LinkClosed.
const (
	LinkClosed       LinkState = iota // no client allocated
	LinkConnecting                    // AT+WSOPEN sent, not yet connected
	LinkConnected                     // +WS_CONNECTED seen
	LinkReconnecting                  // +WS_DISCONNECTED seen on a connected link; the firmware retries every 10 s
)

var linkStateNames = [...]string{"closed", "connecting", "connected", "reconnecting"}

// String returns "closed", "connecting", "connected" or "reconnecting".
func (s LinkState) String() string {
	if int(s) < len(linkStateNames) {
		return linkStateNames[s]
	}
	return fmt.Sprintf("linkstate(%d)", uint8(s))
}

// Errors found in Event.Err and Transaction.Err. Test them with errors.Is.
var (
	// ErrUnrecognized: device bytes that are no echo, result, prompt,
	// response line or known unsolicited message (boot noise, a torn line,
	// a stray blank line), set on EvUnparsed.
	ErrUnrecognized = errors.New("unrecognized bytes")
	// ErrLineTooLong: a line longer than the decoder's limit
	// (DecoderOptions.MaxLine for host command lines, MaxResponseLine for
	// device lines); its bytes come out as EvUnparsed, in pieces of at most
	// the limit.
	ErrLineTooLong = errors.New("line too long")
	// ErrDataTooLong: the header of a length-counted device item (+WS_DATA,
	// +IPD, +CIPRECVDATA, +MQTTSUBRECV, +HTTPCLIENT and the other HTTP body
	// chunks, +FS, +SYSFLASH, +SYSMFG) announced more than
	// DecoderOptions.MaxData bytes; the header is EvUnparsed and the data
	// that follows is decoded as ordinary output.
	ErrDataTooLong = errors.New("announced data length over the limit")
	// ErrTruncated: an item was cut short: the input ended (Flush) in the
	// middle of a line, a payload or a length-counted message, or the device
	// ended a command while its payload was still being typed.
	ErrTruncated = errors.New("item cut short")
	// ErrUndelimited: a +WS_DATA message whose AT+WSDATAFMT mask shows no
	// length; its data was taken up to the next CRLF, which is a guess.
	ErrUndelimited = errors.New("+WS_DATA without a length: data taken up to CRLF")
	// ErrDiscarded: host bytes typed while a command was running, which the
	// firmware dropped with "busy p..." (EvPayload named "excess").
	ErrDiscarded = errors.New("input discarded by the busy device")
	// ErrNoResult: the command got no final result before the input ended
	// (Transaction.Err at Flush), or before 64 later commands piled up
	// behind it (the decoder bounds what it keeps).
	ErrNoResult = errors.New("no result before the end of the input")
	// ErrNoPrompt: host bytes typed after a command that announced a
	// payload, held while no prompt came, beyond the decoder's holding limit
	// (twice DecoderOptions.MaxData plus MaxLine); set on EvUnparsed.
	ErrNoPrompt = errors.New("host bytes held too long waiting for a prompt")
	// ErrRestarted: the device restarted ("ready") before the command got a
	// final result, or while a payload was being typed.
	ErrRestarted = errors.New("device restarted")
	// ErrDeviceAbsent: the device side was gone (unplugged) when the
	// command was sent or before its result came; see Decoder.DeviceAbsent.
	ErrDeviceAbsent = errors.New("device absent")
)

// Event is one item decoded from ESP-AT serial traffic.
//
// Times are nanoseconds (atbridge's capture times); the decoder only
// compares and subtracts them, except for the 20 ms guard times around a
// passthrough "+++". An Event owns its slices: none aliases the decoder's
// or the caller's buffers, though Line and Data are parts of Raw, and the
// Data of an EvWSMessage is the Data of the +WS_DATA event, or of the
// AT+WSSEND payload event when that came in one piece. (Events returned by
// Decoder.Decode own nothing: the decoder reuses their storage, bytes
// included, at its next call.)
type Event struct {
	// Seq numbers the events a Decoder emits, from 0, with no gaps.
	// Transactions refer to other events by Seq.
	Seq  int64
	Kind EventKind
	// Dir is ToDevice or ToHost for byte-carrying events, ToServer (AT+WSSEND)
	// or ToClient (+WS_DATA) for EvWSMessage, DirNone for EvTransaction and
	// EvLinkState.
	Dir formats.Dir
	// Time is the time of the chunk holding the event's last byte; Start the
	// time of the chunk holding its first. Derived events take the time of
	// the event that caused them.
	Time, Start int64
	// Offset is the byte offset of Raw in its direction's stream, or -1 for
	// derived events.
	Offset int64
	// Name identifies the item: the command name for EvCommand and
	// EvTransaction ("+WSSEND", "E0", "AT" for the bare AT, "+++", "" for a
	// line that does not parse); the result text for EvResult ("OK",
	// "SEND OK", "busy p..."); the message name for EvURC ("+WS_DATA",
	// "+WS_CONNECTED", "+IPD", "WIFI GOT IP", "ready", "CONNECT", "CLOSED");
	// for EvInfo the "+NAME" before the colon, "ERR CODE", "Recv", or else
	// the running command's name ("+GMR"); for EvPayload the command whose
	// prompt it answers ("+WSSEND", "+WSHEAD", "+CIPSEND"), "passthrough"
	// or "excess"; the state name for EvLinkState.
	Name string
	// Line is the text line without its leading and trailing CRLF where there
	// is one (commands, echoes of whole lines, results, info lines and
	// URCs); for a length-counted device item (+WS_DATA, +IPD and the
	// others listed under Data) it is the header up to the data.
	Line []byte
	// Raw is every byte the event covers, exactly as it crossed the wire.
	Raw []byte
	// Link is the WebSocket link id (0..2) for +WS_* URCs, WebSocket
	// commands, WSMessages and link states; the TCP link id for +IPD,
	// +CIPRECVDATA (from its AT+CIPRECVDATA=<link>,<len> command; -1 for
	// the single-link form), <n>,CONNECT, <n>,CLOSED and AT+CIPSEND; the
	// MQTT LinkID for +MQTTSUBRECV; otherwise -1.
	Link int
	// Data is the payload: typed data for EvPayload, the message data of
	// EvWSMessage, and the counted data of these device items, which the
	// decoder never splits into lines (Line is their header):
	//   - EvURC "+WS_DATA" and "+IPD": data received on a link;
	//   - EvURC "+CIPRECVDATA": link data read in passive mode, delivered
	//     as +IPD data is (same kind and fields) but listed in the
	//     Response of its AT+CIPRECVDATA transaction, not Unsolicited;
	//   - EvURC "+MQTTSUBRECV": a message on a subscribed topic (Topic);
	//   - EvInfo "+HTTPCLIENT", "+HTTPCGET", "+HTTPCPOST", "+HTTPCPUT": a
	//     chunk of the HTTP response (a body piece, or a header line for
	//     AT+HTTPCLIENT's HEAD), the event's Name saying which command;
	//   - EvInfo "+FS" (an AT+FS read), "+SYSFLASH" (an AT+SYSFLASH read)
	//     and "+SYSMFG" (a string or binary value read with AT+SYSMFG).
	// A trailing CRLF that the length does not count is part of Raw, not
	// of Data.
	Data []byte
	// Topic is the topic of an EvURC "+MQTTSUBRECV", as printed (raw, not
	// unescaped); "" for every other event.
	Topic string
	Cmd   *Command     // EvCommand of a line that parses (nil when Err is set)
	Tx    *Transaction // EvTransaction
	Msg   *WSMessage   // EvWSMessage
	// State is the new state of an EvLinkState event.
	State LinkState
	// Err says what is wrong: the *ParseError of an EvCommand line that does
	// not parse, why bytes are EvUnparsed, ErrTruncated or ErrDiscarded on a
	// payload, ErrUndelimited on a +WS_DATA.
	Err error
}

// Transaction is a command paired with its final result.
type Transaction struct {
	Cmd    *Command // nil when the line does not parse
	Line   []byte   // the command line without CRLF
	CmdSeq int64    // Seq of the EvCommand event
	// Sent is the time of the command line's last byte.
	Sent int64
	// Busy is set when the line was typed while an earlier command was
	// still running; the firmware answers such input with "busy p...".
	Busy bool
	// Result is the final result: "OK", "ERROR", "SEND OK", "SEND FAIL",
	// "busy p..." or "SEND Canceled"; "" when there was none (Err says why).
	Result    string
	ResultSeq int64 // Seq of the EvResult event, -1 when none
	// Done is the time of the result's last byte, and Latency is Done-Sent
	// (both 0 when there is no result).
	Done, Latency int64
	// Response lists, by Seq, the events that answer this command besides
	// the final result: echo, info lines, an intermediate OK, the prompt,
	// the typed payload.
	Response []int64
	// Unsolicited lists, by Seq, the unsolicited messages (EvURC) that
	// arrived while the command was running. They are not part of its
	// response. At most 1024 are listed; Dropped counts the rest.
	Unsolicited []int64
	Dropped     int
	// Err is ErrNoResult, ErrRestarted or ErrDeviceAbsent when Result is "".
	Err error
}

// WSMessage is a WebSocket message (or a piece of one) seen through the AT
// traffic: data the host sent with AT+WSSEND, or data the device reported
// with +WS_DATA. Fields the traffic does not show are -1.
type WSMessage struct {
	Link int
	// Dir is ToServer for AT+WSSEND, ToClient for +WS_DATA.
	Dir formats.Dir
	// Opcode is the frame opcode: from AT+WSSEND's third parameter (default
	// 1, text), or from +WS_DATA when the AT+WSDATAFMT mask has bit 0.
	Opcode int
	// Fin is 1 or 0: from AT+WSSEND's fifth parameter (development firmware;
	// default 1), or from +WS_DATA with mask bit 1.
	Fin int
	// PayloadLen and PayloadOffset are the frame's length and this piece's
	// offset in it, from +WS_DATA with mask bits 2 and 3.
	PayloadLen, PayloadOffset int64
	Data                      []byte
	// Result is the AT+WSSEND outcome ("SEND OK" or "ERROR"); "" for
	// +WS_DATA.
	Result string
}

// String renders an event on one line, stably, for logs and golden files:
//
//	12 1.002000000 result to_host @40+6 OK "\r\nOK\r\n"
func (e *Event) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d %s %s", e.Seq, fmtTime(e.Time), e.Kind)
	if e.Dir != formats.DirNone {
		fmt.Fprintf(&b, " %s", e.Dir)
	}
	if e.Offset >= 0 {
		fmt.Fprintf(&b, " @%d+%d", e.Offset, len(e.Raw))
	}
	if e.Start != e.Time {
		fmt.Fprintf(&b, " from=%s", fmtTime(e.Start))
	}
	if e.Name != "" {
		fmt.Fprintf(&b, " %s", strconv.Quote(e.Name))
	}
	if e.Link >= 0 {
		fmt.Fprintf(&b, " link=%d", e.Link)
	}
	if e.Topic != "" {
		fmt.Fprintf(&b, " topic=%q", e.Topic)
	}
	switch e.Kind {
	case EvTransaction:
		if tx := e.Tx; tx != nil {
			fmt.Fprintf(&b, " cmd=#%d", tx.CmdSeq)
			if tx.Busy {
				b.WriteString(" busy")
			}
			if tx.Result != "" {
				fmt.Fprintf(&b, " result=%q #%d latency=%s", tx.Result, tx.ResultSeq, fmtTime(tx.Latency))
			}
			fmt.Fprintf(&b, " resp=%s urc=%s", fmtSeqs(tx.Response), fmtSeqs(tx.Unsolicited))
			if tx.Dropped > 0 {
				fmt.Fprintf(&b, "+%d", tx.Dropped)
			}
			if tx.Err != nil {
				fmt.Fprintf(&b, " err=%q", tx.Err.Error())
			}
		}
		return b.String()
	case EvWSMessage:
		if m := e.Msg; m != nil {
			fmt.Fprintf(&b, " op=%d fin=%d", m.Opcode, m.Fin)
			if m.PayloadLen >= 0 || m.PayloadOffset >= 0 {
				fmt.Fprintf(&b, " len=%d off=%d", m.PayloadLen, m.PayloadOffset)
			}
			if m.Result != "" {
				fmt.Fprintf(&b, " result=%q", m.Result)
			}
		}
		fmt.Fprintf(&b, " data=%s", strconv.Quote(string(e.Data)))
		return b.String()
	case EvLinkState:
		return b.String()
	}
	if e.Cmd != nil {
		fmt.Fprintf(&b, " %s", e.Cmd.Type)
		if len(e.Cmd.Params) > 0 {
			b.WriteString(" [")
			for i, p := range e.Cmd.Params {
				if i > 0 {
					b.WriteByte(' ')
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
			b.WriteString("]")
		}
	}
	if e.Data != nil && (e.Kind == EvURC || e.Kind == EvPayload || e.Kind == EvInfo) {
		fmt.Fprintf(&b, " data=%d", len(e.Data))
	}
	fmt.Fprintf(&b, " %s", strconv.Quote(string(e.Raw)))
	if e.Err != nil {
		fmt.Fprintf(&b, " err=%q", e.Err.Error())
	}
	return b.String()
}

// fmtTime formats a nanosecond count as seconds with nine decimals.
func fmtTime(t int64) string {
	sign := ""
	if t < 0 {
		sign = "-"
		t = -t
	}
	return fmt.Sprintf("%s%d.%09d", sign, t/1e9, t%1e9)
}

func fmtSeqs(s []int64) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, n := range s {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatInt(n, 10))
	}
	b.WriteByte(']')
	return b.String()
}
