package pcapng

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"github.com/atbridge/atbridge/formats"
	"github.com/atbridge/atbridge/formats/at"
)

// Exported-PDU tags (Wireshark's wsutil/exported_pdu_tlvs.h).
const (
	expTagEnd         = 0
	expTagProtoName   = 12 // dissector to call
	expTagColProtText = 33 // text of the Protocol column
	expTagP2PDir      = 35 // 0 sent, 1 received
)

// appendExportedPDU appends an exported-PDU header for the named dissector,
// then data. proto sets the Protocol column when not empty; dir gives the
// P2P direction (ToDevice sent, ToHost received, otherwise none).
func appendExportedPDU(dst []byte, dissector, proto string, dir formats.Dir, data []byte) []byte {
	tlv := func(tag uint16, val []byte) {
		// The length covers the NUL padding, as Wireshark writes it.
		n := (len(val) + 3) &^ 3
		dst = binary.BigEndian.AppendUint16(dst, tag)
		dst = binary.BigEndian.AppendUint16(dst, uint16(n))
		dst = append(dst, val...)
		dst = appendPad(dst, len(val))
	}
	tlv(expTagProtoName, []byte(dissector))
	if proto != "" {
		tlv(expTagColProtText, []byte(proto))
	}
	switch dir {
	case formats.ToDevice:
		tlv(expTagP2PDir, []byte{0, 0, 0, 0})
	case formats.ToHost:
		tlv(expTagP2PDir, []byte{0, 0, 0, 1})
	}
	dst = append(dst, 0, 0, 0, 0) // end of options
	return append(dst, data...)
}

// maxBlockLines bounds how many response lines are held to be written as
// one response block with the final result.
const maxBlockLines = 64

// atView writes one exported PDU per logical ESP-AT unit on "uart-at":
//   - a command line (and "+++") for the "at" dissector, direction sent;
//   - a response block: the running command's response lines with the final
//     result that ends them, for "at", direction received;
//   - an unsolicited message for "at"; a +WS_DATA or +IPD header goes to
//     "at" and its data, in a second packet, to "data";
//   - the echo of a command and the ">" prompt as text ("data-text-lines"
//     with the Protocol column "AT echo" / "AT prompt"), so that each
//     command is shown once;
//   - typed payloads and bytes the decoder could not place to "data"
//     (Protocol "AT payload" / "AT unparsed"), so the "at" dissector never
//     sees binary.
//
// Markers and port events go to "atbridge-events" as "data-text-lines"
// with the Protocol column "atbridge" and a packet comment.
type atView struct {
	x     *Writer
	dec   *at.Decoder
	block []*at.Event // held response lines
	size  int
}

func (a *atView) init(x *Writer) {
	a.x = x
	a.dec = at.NewDecoder(x.opts.Decoder)
}

func (a *atView) pdu(iface string, t int64, dissector, proto string, dir formats.Dir, data []byte, comment string) {
	if dissector == "at" && dir == formats.ToHost && len(data) >= 2 {
		// Device text starting with "AT" (AT+GMR's "AT version:...") would
		// be taken for a command by the at dissector.
		if d := bytes.TrimLeft(data, "\r\n"); len(d) >= 2 && (d[0]|0x20) == 'a' && (d[1]|0x20) == 't' {
			dissector, proto = "data-text-lines", "AT"
		}
	}
	a.x.pkt = appendExportedPDU(a.x.pkt[:0], dissector, proto, dir, data)
	a.x.emit(iface, t, dir, a.x.pkt, comment)
}

// unit writes the packets of one decoder event.
func (a *atView) unit(ev *at.Event) {
	if !ev.Kind.CarriesBytes() {
		return
	}
	if ev.Kind == at.EvInfo && len(a.block) < maxBlockLines && a.size+len(ev.Raw) <= 1<<16 {
		e := *ev
		a.block = append(a.block, &e)
		a.size += len(ev.Raw)
		return
	}
	if ev.Kind == at.EvResult && len(a.block) > 0 {
		raw := make([]byte, 0, a.size+len(ev.Raw))
		for _, b := range a.block {
			raw = append(raw, b.Raw...)
		}
		raw = append(raw, ev.Raw...)
		a.block, a.size = a.block[:0], 0
		a.pdu(ifAT, ev.Time, "at", "", ev.Dir, raw, errComment(ev.Err))
		return
	}
	a.flushBlock()
	switch ev.Kind {
	case at.EvCommand, at.EvResult:
		a.pdu(ifAT, ev.Time, "at", "", ev.Dir, ev.Raw, errComment(ev.Err))
	case at.EvInfo:
		a.pdu(ifAT, ev.Time, "at", "", ev.Dir, ev.Raw, "")
	case at.EvURC:
		if ev.Data == nil || !bytes.Contains(ev.Raw, ev.Line) {
			a.pdu(ifAT, ev.Time, "at", "", ev.Dir, ev.Raw, errComment(ev.Err))
			return
		}
		// The header with its leading CRLF if any (Raw starts where the
		// message starts; Line is the header up to the data).
		hdr := ev.Raw[:bytes.Index(ev.Raw, ev.Line)+len(ev.Line)]
		a.pdu(ifAT, ev.Time, "at", "", ev.Dir, hdr, errComment(ev.Err))
		a.pdu(ifAT, ev.Time, "data", ev.Name+" data", ev.Dir, ev.Data, "")
	case at.EvEcho:
		a.pdu(ifAT, ev.Time, "data-text-lines", "AT echo", ev.Dir, ev.Raw, "")
	case at.EvPrompt:
		a.pdu(ifAT, ev.Time, "data-text-lines", "AT prompt", ev.Dir, ev.Raw, "")
	case at.EvPayload:
		c := ""
		if ev.Err != nil {
			what := ev.Name // "passthrough", "excess"
			if strings.HasPrefix(what, "+") {
				what = "payload of AT" + what
			}
			c = fmt.Sprintf("%s: %v", what, ev.Err)
		}
		a.pdu(ifAT, ev.Time, "data", "AT payload", ev.Dir, ev.Raw, c)
	case at.EvUnparsed:
		a.pdu(ifAT, ev.Time, "data", "AT unparsed", ev.Dir, ev.Raw, errComment(ev.Err))
	}
}

// flushBlock writes held response lines that no result followed.
func (a *atView) flushBlock() {
	if len(a.block) == 0 {
		return
	}
	raw := make([]byte, 0, a.size)
	for _, b := range a.block {
		raw = append(raw, b.Raw...)
	}
	last := a.block[len(a.block)-1]
	a.block, a.size = a.block[:0], 0
	a.pdu(ifAT, last.Time, "at", "", last.Dir, raw, "")
}

func errComment(err error) string {
	if err == nil {
		return ""
	}
	var pe *at.ParseError
	if errors.As(err, &pe) {
		return "does not parse: " + err.Error()
	}
	return err.Error()
}

// event writes a marker or port/link event on "atbridge-events".
func (a *atView) event(t int64, ev Event) {
	text := ev.Name
	if ev.Text != "" {
		text += ": " + ev.Text
	}
	switch ev.Kind {
	case EvBytesLost:
		text = fmt.Sprintf("%s: %d bytes %s on port %d not recorded", ev.Name, ev.Count, ev.Dir, ev.Port)
	case EvWSConnected:
		text = fmt.Sprintf("%s: link %d %s", ev.Name, ev.Link, ev.Text)
	case EvWSClosed:
		text = fmt.Sprintf("%s: link %d code %d %s", ev.Name, ev.Link, ev.Code, ev.Text)
	case EvBreak, EvLineErrors:
		text = eventText(ev)
	}
	text = strings.TrimSpace(text)
	a.pdu(ifEvents, t, "data-text-lines", "atbridge", formats.DirNone, []byte(text+"\n"), text)
}
