package replay

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sort"

	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/formats"
	"github.com/atbridge/atbridge/formats/at"
)

// Script is a capture decoded into what the engines play and compare: the
// host's inputs, the device's outputs (echo excluded, since the mock echoes
// live as the firmware does) anchored to the host input they followed, and
// the AT transactions.
//
// A Script is read-only once built and safe for concurrent readers.
type Script struct {
	Header capture.Header
	// Host lists the host's inputs in stream order: command lines (CRLF
	// included), payloads after a prompt, and bytes the decoder could not
	// place.
	Host []HostItem
	// Out lists the device's outputs in stream order, echo excluded.
	Out []OutItem
	// Txs lists the transactions in command order.
	Txs []Tx
	// Duration is the time of the last record (nanoseconds since the
	// capture's start): the capture's recorded length.
	Duration int64
	// DeviceBytes counts the device's output bytes, echo included.
	DeviceBytes int64
	// EchoOn is the echo state (ATE) when the capture starts, inferred from
	// the first command: on unless its echo is missing.
	EchoOn bool
}

// HostItem is one input of the host app.
type HostItem struct {
	Kind at.EventKind // EvCommand, EvPayload or EvUnparsed
	Name string       // the command name, or for payloads the command they answer ("+WSSEND", "excess")
	Raw  []byte
	// Time is when the item's last byte was recorded.
	Time int64
	Loc  Loc
	// Tx is the transaction this item opens (command) or feeds (payload), -1
	// for none.
	Tx int
}

// OutItem is one output of the device.
type OutItem struct {
	Kind at.EventKind // EvResult, EvInfo, EvPrompt, EvURC or EvUnparsed
	Name string
	Raw  []byte
	Line []byte // the line without CRLF, or the +WS_DATA header
	Data []byte // the data of a length-counted reply (+WS_DATA, +IPD, +CIPRECVDATA, ...; at.Event.Data)
	// Topic is the topic of a +MQTTSUBRECV.
	Topic string
	Link  int
	Time  int64
	Loc   Loc
	// Anchor is the index in Script.Host of the last host input fully
	// received before this output was recorded, -1 when none (boot output).
	// The mock sends the item Time-Host[Anchor].Time after it receives that
	// input (or at Time after it starts, when Anchor is -1).
	Anchor int
	// Tx is the transaction whose response this is, -1 for unsolicited
	// output.
	Tx int
}

// Tx is one AT transaction: a command, its response and final result.
type Tx struct {
	Index   int    // position in Script.Txs
	Line    []byte // command line without CRLF
	Cmd     *at.Command
	Name    string // command name ("+WSSEND", "E0", "" for the bare AT)
	Host    int    // index of the command line in Script.Host
	Payload int    // index of the typed payload in Script.Host, -1 when none
	// Prompt is the announced payload length when the device printed a
	// prompt, -1 otherwise.
	Prompt int
	// Response lists the device outputs (indexes in Script.Out) of the
	// transaction, echo excluded and final result included, in order.
	Response []int
	Result   string // "" when none (Err says why)
	Echoed   bool   // the device echoed the command line
	Busy     bool
	Sent     int64 // time of the command line's last byte
	Latency  int64 // result time minus Sent; 0 when no result
	Err      error
	Loc      Loc
}

// Loc says where something is in a capture, for messages a person can
// follow to the bytes.
type Loc struct {
	Record int   // index of the record holding the first byte, from 0
	Offset int64 // byte offset in its direction's stream
	Time   int64 // nanoseconds since the capture's start
}

// String formats a Loc as "record 12, offset 340, t=5.002000s".
func (l Loc) String() string {
	return fmt.Sprintf("record %d, offset %d, t=%s", l.Record, l.Offset, fmtSec(l.Time))
}

func fmtSec(ns int64) string {
	return fmt.Sprintf("%d.%06ds", ns/1e9, (ns%1e9)/1e3)
}

// Load reads the capture at path into a Script.
func Load(path string) (*Script, error) {
	r, err := capture.Open(path, nil)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	s, err := Read(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// Read decodes every record of r into a Script. Damage in the capture is
// an error: a regression test must not run on a capture with holes.
func Read(r *capture.Reader) (*Script, error) {
	var recs []capture.Record
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read capture: %w", err)
		}
		recs = append(recs, *rec)
	}
	return FromRecords(r.Header(), recs)
}

// chunkMark notes where a serial chunk starts in its direction's stream.
type chunkMark struct {
	off     int64 // stream offset of the chunk's first byte
	record  int
	hostEnd int64 // host bytes recorded before this chunk (device chunks)
}

// FromRecords builds a Script from records in capture order. Serial chunks
// of every port count (a proxy records the host's input on one port and the
// device's output on another); frames and events are not used. The
// records' Data is not retained.
func FromRecords(h capture.Header, recs []capture.Record) (*Script, error) {
	s := &Script{Header: h, EchoOn: true}
	dec := at.NewDecoder(&at.DecoderOptions{Firmware: firmwareOf(h)})
	var events []at.Event
	var hostMarks, devMarks []chunkMark
	var hostEnd, devEnd int64
	for i := range recs {
		r := &recs[i]
		if r.Time > s.Duration {
			s.Duration = r.Time
		}
		if !r.ATChunk() || len(r.Data) == 0 {
			continue
		}
		if r.Dir == formats.ToDevice {
			hostMarks = append(hostMarks, chunkMark{off: hostEnd, record: i})
			hostEnd += int64(len(r.Data))
		} else {
			devMarks = append(devMarks, chunkMark{off: devEnd, record: i, hostEnd: hostEnd})
			devEnd += int64(len(r.Data))
			s.DeviceBytes = devEnd
		}
		events = append(events, dec.Feed(r.Time, r.Dir, r.Data)...)
	}
	events = append(events, dec.Flush()...)
	if len(events) == 0 {
		return s, nil
	}
	s.build(events, hostMarks, devMarks)
	return s, nil
}

func firmwareOf(h capture.Header) at.Firmware {
	switch h.Meta["firmware"] {
	case "release":
		return at.FirmwareRelease
	case "dev", "development":
		return at.FirmwareDevelopment
	}
	return at.FirmwareAuto
}

// markAt returns the chunk mark holding stream offset off.
func markAt(m []chunkMark, off int64) chunkMark {
	i := sort.Search(len(m), func(i int) bool { return m[i].off > off }) - 1
	if i < 0 {
		return chunkMark{record: -1}
	}
	return m[i]
}

func (s *Script) build(events []at.Event, hostMarks, devMarks []chunkMark) {
	hostIdx := map[int64]int{} // event seq -> index in s.Host
	outIdx := map[int64]int{}  // event seq -> index in s.Out
	var echoes []int64
	// Host items are in stream order when sorted by offset; so are outputs.
	var hostEv, devEv []*at.Event
	for i := range events {
		e := &events[i]
		if !e.Kind.CarriesBytes() {
			continue
		}
		switch {
		case e.Dir == formats.ToDevice:
			hostEv = append(hostEv, e)
		case e.Kind == at.EvEcho:
			echoes = append(echoes, e.Seq)
		default:
			devEv = append(devEv, e)
		}
	}
	sort.SliceStable(hostEv, func(i, j int) bool { return hostEv[i].Offset < hostEv[j].Offset })
	sort.SliceStable(devEv, func(i, j int) bool { return devEv[i].Offset < devEv[j].Offset })
	hostEnds := make([]int64, len(hostEv))
	for i, e := range hostEv {
		m := markAt(hostMarks, e.Offset)
		hostIdx[e.Seq] = len(s.Host)
		hostEnds[i] = e.Offset + int64(len(e.Raw))
		s.Host = append(s.Host, HostItem{Kind: e.Kind, Name: e.Name, Raw: e.Raw, Time: e.Time,
			Loc: Loc{Record: m.record, Offset: e.Offset, Time: e.Start}, Tx: -1})
	}
	for _, e := range devEv {
		m := markAt(devMarks, e.Offset)
		// The last host item whose bytes had all been recorded before the
		// chunk holding this output's first byte.
		anchor := sort.Search(len(hostEnds), func(i int) bool { return hostEnds[i] > m.hostEnd }) - 1
		outIdx[e.Seq] = len(s.Out)
		s.Out = append(s.Out, OutItem{Kind: e.Kind, Name: e.Name, Raw: e.Raw, Line: e.Line, Data: e.Data, Topic: e.Topic,
			Link: e.Link, Time: e.Time, Loc: Loc{Record: m.record, Offset: e.Offset, Time: e.Start}, Anchor: anchor, Tx: -1})
	}
	echoed := map[int64]bool{}
	for _, seq := range echoes {
		echoed[seq] = true
	}
	var txEv []*at.Event
	for i := range events {
		if events[i].Kind == at.EvTransaction && events[i].Tx != nil {
			txEv = append(txEv, &events[i])
		}
	}
	sort.SliceStable(txEv, func(i, j int) bool { return txEv[i].Tx.CmdSeq < txEv[j].Tx.CmdSeq })
	for _, e := range txEv {
		ft := e.Tx
		hi, ok := hostIdx[ft.CmdSeq]
		if !ok {
			continue
		}
		tx := Tx{Index: len(s.Txs), Line: ft.Line, Cmd: ft.Cmd, Name: e.Name, Host: hi, Payload: -1, Prompt: -1,
			Result: ft.Result, Busy: ft.Busy, Sent: ft.Sent, Latency: ft.Latency, Err: ft.Err, Loc: s.Host[hi].Loc}
		s.Host[hi].Tx = tx.Index
		for _, seq := range ft.Response {
			if echoed[seq] {
				tx.Echoed = true
				continue
			}
			if pi, ok := hostIdx[seq]; ok {
				if s.Host[pi].Kind == at.EvPayload && s.Host[pi].Name != "excess" && tx.Payload < 0 {
					tx.Payload = pi
					s.Host[pi].Tx = tx.Index
				}
				continue
			}
			if oi, ok := outIdx[seq]; ok {
				tx.Response = append(tx.Response, oi)
				s.Out[oi].Tx = tx.Index
				if s.Out[oi].Kind == at.EvPrompt {
					tx.Prompt = announced(ft.Cmd)
				}
			}
		}
		if oi, ok := outIdx[ft.ResultSeq]; ok {
			tx.Response = append(tx.Response, oi)
			s.Out[oi].Tx = tx.Index
		}
		if len(s.Txs) == 0 {
			s.EchoOn = tx.Echoed
		}
		s.Txs = append(s.Txs, tx)
	}
	for i := range s.Txs {
		s.anchorResponse(&s.Txs[i])
	}
}

// anchorResponse ties a transaction's response to its own input when the
// capture shows it after a later command that the device did not refuse:
// what comes up to the prompt then answers the command line, what comes
// after it the payload. A recorder that stores a chunk after forwarding it
// can put the device's answer after the host's next command in the file;
// anchored as recorded, the mock would wait for a command the host only
// sends once it has that answer. A later command answered "busy p..." (or
// bytes that are no command line, such as "+++") is real overlap and keeps
// the recorded anchor.
func (s *Script) anchorResponse(tx *Tx) {
	last := tx.Host
	if tx.Payload > tx.Host {
		last = tx.Payload
	}
	overlap := func(upTo int) bool {
		for k := last + 1; k <= upTo && k < len(s.Host); k++ {
			h := &s.Host[k]
			if h.Kind == at.EvCommand && bytes.HasSuffix(h.Raw, []byte("\r\n")) && (h.Tx < 0 || s.Txs[h.Tx].Result != "busy p...") {
				return false
			}
		}
		return true
	}
	prompted := false
	for _, oi := range tx.Response {
		o := &s.Out[oi]
		if o.Anchor < tx.Host {
			o.Anchor = tx.Host
		}
		if !prompted && o.Anchor > tx.Host && tx.Payload > tx.Host && o.Anchor >= tx.Payload {
			o.Anchor = tx.Host // before the prompt: it answers the command line
		}
		if o.Anchor > last && !overlap(o.Anchor) {
			o.Anchor = last
			if !prompted {
				o.Anchor = tx.Host
			}
		}
		prompted = prompted || o.Kind == at.EvPrompt
	}
}

// announced returns the payload length a command announces after its ">"
// prompt (every command in the decoder's table: at.AnnouncedPayload),
// or -1.
func announced(c *at.Command) int {
	if c == nil {
		return -1
	}
	n, ok := at.AnnouncedPayload(c)
	if !ok || n > 1<<24 {
		return -1
	}
	return int(n)
}

// HostBytes returns the host's input stream as recorded.
func (s *Script) HostBytes() []byte {
	var b []byte
	for _, h := range s.Host {
		b = append(b, h.Raw...)
	}
	return b
}

// Unsolicited returns the indexes in s.Out of the device's unsolicited
// output (no transaction's response), in order.
func (s *Script) Unsolicited() []int {
	var out []int
	for i, o := range s.Out {
		if o.Tx < 0 {
			out = append(out, i)
		}
	}
	return out
}
