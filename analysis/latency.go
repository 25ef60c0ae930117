package analysis

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"time"

	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/formats"
	"github.com/atbridge/atbridge/formats/at"
)

// This file splits round trips into segments: the serial line each way,
// the ESP32's own time and, where WebSocket frames were recorded on the
// same clock, the network and server.
//
// The model: a capture's times are taken at the host's end of the ESP32's
// UART (proxy and sniff record there), so the interval from a command's
// last byte to its result's last byte holds the command crossing the line,
// the ESP32's work and the response crossing back. The serial segments are
// not measured but computed: bytes times the character time of the line
// settings in force (start bit, data bits, parity, stop bits, from the
// header's port and EvLineSettings events). What is left is the device's.
// When the device is the in-process emulator (a port named "emulate")
// there is no wire, and a capture written by "atbridge emulate" (meta
// command=emulate) is stamped at the ESP32's end, where the line's time
// lies outside the measured interval: in both, nothing is subtracted, and
// the serial segments say what the line adds.

// Segment names, in the order a round trip passes them.
const (
	SegToDevice   = "host→ESP32" // host bytes on the line (command line, typed payload)
	SegHostWait   = "host wait"  // from the ">" prompt to the first payload byte: the host's own time
	SegDevice     = "ESP32"      // device time without frames: processing and network together
	SegProcessing = "processing" // device time outside the network (frames on the same clock)
	SegNetwork    = "network"    // from the frame to the server to the frame back (network and server)
	SegToHost     = "ESP32→host" // device bytes on the line (echo excluded: it travels while the host types)
	SegRoundTrip  = "round trip" // the sum of the others
	wsExchange    = "+WSSEND→+WS_DATA"
)

// segmentOrder lists the segments as tables show them.
var segmentOrder = []string{SegToDevice, SegHostWait, SegDevice, SegProcessing, SegNetwork, SegToHost, SegRoundTrip}

// Dist is the distribution of one segment, in nanoseconds (nearest-rank
// percentiles).
type Dist struct {
	Count int   `json:"count"`
	P50NS int64 `json:"p50_ns"`
	P90NS int64 `json:"p90_ns"`
	P99NS int64 `json:"p99_ns"`
	MaxNS int64 `json:"max_ns"`
	// Samples are the values in the order the round trips happened; left
	// out of the JSON form.
	Samples []int64 `json:"-"`
}

// Segment is one segment's distribution within a SplitStats.
type Segment struct {
	Name string `json:"name"` // one of the Seg constants
	Dist
}

// SplitStats is the latency split of one command (by decoder name, e.g.
// "+WSSEND") or of one kind of WebSocket exchange ("+WSSEND→+WS_DATA link
// 0": a message sent with AT+WSSEND and the next +WS_DATA on its link).
type SplitStats struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
	// WithFrames counts the round trips whose device time was split by
	// recorded frames into processing and network.
	WithFrames int        `json:"with_frames"`
	Segments   []*Segment `json:"segments"` // in round-trip order, only those seen
}

// LatencyStats is what "atbridge stats --latency" reports.
type LatencyStats struct {
	File string `json:"file"`
	// Line is the ESP32 UART's settings at the start ("unknown" when the
	// capture does not say; the serial segments are then 0).
	Line string `json:"line"`
	// Wire is false when the measured times hold no serial line time (the
	// in-process emulator, or a capture the emulator wrote at its own
	// end): the serial segments are then computed only, not subtracted.
	Wire      bool          `json:"wire"`
	Commands  []*SplitStats `json:"commands"`  // by name
	Exchanges []*SplitStats `json:"exchanges"` // WebSocket exchanges, by link
}

// evInfo is what the latency split keeps of a decoded event.
type evInfo struct {
	seq         int64
	kind        at.EventKind
	n           int // bytes
	start, time int64
}

// evRing is how many recent events are remembered for transactions to
// refer to; older ones are left out of their split.
const evRing = 4096

// wsPending is a WebSocket exchange in progress on one link.
type wsPending struct {
	payloadEnd        int64 // time of the AT+WSSEND payload's last byte; -1 when none
	payloadN          int
	head              []byte // the payload's first bytes, to know its frame by
	frameOut, frameIn int64  // -1 until seen
	frameLink         int    // the Link of the frame to the server, -1 until seen
	typing            bool   // AT+WSSEND sent: its payload pieces count
	line              capture.LineSettings
}

// headLen is how much of a payload is kept to match it with its frame.
const headLen = 64

func idleWS() wsPending { return wsPending{payloadEnd: -1, frameOut: -1, frameIn: -1, frameLink: -1} }

// A LatencyCollector computes LatencyStats from a recording's records,
// given in file order. The zero value is not usable; it is not safe for
// concurrent use.
type LatencyCollector struct {
	file  string
	dec   *at.Decoder
	lines map[uint8]capture.LineSettings
	uart  uint8 // the port whose line settings time the bytes
	first capture.LineSettings
	wire  bool
	ring  [evRing]evInfo
	ws    [3]wsPending
	cmds  map[string]*splitAcc
	ex    map[string]*splitAcc
}

type splitAcc struct {
	count, frames int
	segs          map[string][]int64
}

func (a *splitAcc) add(name string, v int64) {
	a.segs[name] = append(a.segs[name], max(v, 0))
}

// NewLatencyCollector returns a LatencyCollector for the recording named
// file with header h.
func NewLatencyCollector(file string, h capture.Header) *LatencyCollector {
	c := &LatencyCollector{
		file: file, dec: at.NewDecoder(h.DecoderOptions()), lines: map[uint8]capture.LineSettings{},
		wire: true, cmds: map[string]*splitAcc{}, ex: map[string]*splitAcc{},
	}
	c.uart = uartPort(h.Ports)
	if h.Meta["command"] == "emulate" {
		c.wire = false
	}
	for i, p := range h.Ports {
		c.lines[uint8(i)] = p.Line
		if p.Name == "emulate" {
			c.wire = false
		}
	}
	c.first = c.lines[c.uart]
	for i := range c.ws {
		c.ws[i] = idleWS()
	}
	return c
}

// uartPort picks the port of the ESP32's AT UART: the "device" one, else
// the "host" one (emulate records the host's side of the emulated UART),
// else the first.
func uartPort(ports []capture.PortInfo) uint8 {
	for _, role := range []string{"device", "host"} {
		for i, p := range ports {
			if p.Role == role {
				return uint8(i)
			}
		}
	}
	return 0
}

// charTime is how long one character takes with settings l: a start bit,
// the data bits, a parity bit unless none, and the stop bits. Zero fields
// count as 8N1; a zero Baud (unknown) gives 0.
func charTime(l capture.LineSettings) float64 {
	if l.Baud <= 0 {
		return 0
	}
	bits := 1.0 + 8
	if l.DataBits >= 5 && l.DataBits <= 8 {
		bits = 1 + float64(l.DataBits)
	}
	if l.Parity != 0 && l.Parity != capture.ParityNone {
		bits++
	}
	switch l.StopBits {
	case capture.Stop1_5:
		bits += 1.5
	case capture.Stop2:
		bits += 2
	default:
		bits++
	}
	return bits * float64(time.Second) / float64(l.Baud)
}

// serial is how long n bytes take on line l, in nanoseconds.
func serial(l capture.LineSettings, n int) int64 {
	return int64(float64(n)*charTime(l) + 0.5)
}

// Add takes one record. Chunks of the ESP32's log UART (capture.PortLog)
// are not AT traffic and are skipped. It keeps nothing of rec's storage.
func (c *LatencyCollector) Add(rec *capture.Record) {
	switch rec.Kind {
	case capture.KindChunk:
		if rec.Port == capture.PortLog {
			return
		}
		c.events(c.dec.Decode(rec.Time, rec.Dir, rec.Data))
	case capture.KindFrame:
		if rec.Frame.Opcode < 8 { // control frames carry no message
			c.frame(rec)
		}
	case capture.KindEvent:
		switch rec.Event.Type {
		case capture.EvLineSettings, capture.EvPortOpened, capture.EvPortReopened:
			if rec.Event.Line.Baud > 0 {
				c.lines[rec.Port] = rec.Event.Line
			}
		case capture.EvNotDelivered:
			if rec.Dir == formats.ToDevice {
				c.events(c.dec.DeviceAbsent(rec.Time))
			}
		}
	}
}

// frame ties a data frame to the exchange it belongs to. The emulator
// numbers its frames by AT link, but --ws-tap by its own connections, so
// a frame to the server is known by its payload first (the start of an
// AT+WSSEND payload still waiting for its frame), by its link number
// second; the frame back is the next one on the same connection.
func (c *LatencyCollector) frame(rec *capture.Record) {
	fl := int(rec.Frame.Link)
	if rec.Dir == formats.ToClient {
		for i := range c.ws {
			if w := &c.ws[i]; w.frameLink == fl && w.frameIn < 0 {
				w.frameIn = rec.Time
				return
			}
		}
		return
	}
	if rec.Dir != formats.ToServer {
		return
	}
	head := rec.Data[:min(len(rec.Data), headLen)]
	pick := -1
	for i := range c.ws {
		w := &c.ws[i]
		if w.payloadEnd < 0 || w.frameOut >= 0 {
			continue
		}
		if string(w.head) == string(head) && (pick < 0 || i == fl) {
			pick = i
		}
	}
	if pick < 0 && fl < len(c.ws) && c.ws[fl].payloadEnd >= 0 && c.ws[fl].frameOut < 0 {
		pick = fl
	}
	if pick >= 0 {
		c.ws[pick].frameOut, c.ws[pick].frameLink = rec.Time, fl
	}
}

// Damaged settles what the decoder holds before a damaged region.
func (c *LatencyCollector) Damaged() { c.events(c.dec.Flush()) }

func (c *LatencyCollector) line() capture.LineSettings { return c.lines[c.uart] }

func (c *LatencyCollector) events(evs []at.Event) {
	for i := range evs {
		ev := &evs[i]
		c.ring[ev.Seq%evRing] = evInfo{seq: ev.Seq, kind: ev.Kind, n: len(ev.Raw), start: ev.Start, time: ev.Time}
		switch ev.Kind {
		case at.EvCommand:
			// A new AT+WSSEND starts the link's next exchange; one still
			// waiting for its +WS_DATA is given up (its reply cannot be told
			// from this one's).
			if ev.Name == "+WSSEND" && ev.Link >= 0 && ev.Link < len(c.ws) {
				w := idleWS()
				w.head, w.typing = c.ws[ev.Link].head[:0], true
				c.ws[ev.Link] = w
			}
		case at.EvPayload:
			// The payload may come in several pieces, one event each.
			if ev.Name == "+WSSEND" && ev.Link >= 0 && ev.Link < len(c.ws) {
				if w := &c.ws[ev.Link]; w.typing && w.frameOut < 0 {
					w.payloadEnd, w.payloadN, w.line = ev.Time, w.payloadN+len(ev.Raw), c.line()
					w.head = append(w.head, ev.Data[:min(len(ev.Data), headLen-len(w.head))]...)
				}
			}
		case at.EvURC:
			if ev.Name == "+WS_DATA" && ev.Link >= 0 && ev.Link < len(c.ws) {
				c.wsData(ev)
			}
		case at.EvTransaction:
			if ev.Tx != nil && ev.Tx.Result != "" {
				c.transaction(ev.Name, ev.Tx)
			}
		}
	}
}

// lookup returns the remembered event seq, if still remembered.
func (c *LatencyCollector) lookup(seq int64) (evInfo, bool) {
	e := c.ring[seq%evRing]
	return e, seq >= 0 && e.seq == seq && e.kind != 0
}

// transaction splits one command's round trip: from its line's last byte
// to its result's last byte.
func (c *LatencyCollector) transaction(name string, tx *at.Transaction) {
	l := c.line()
	cmd, ok := c.lookup(tx.CmdSeq)
	if !ok {
		return
	}
	out, in := cmd.n, 0
	var hostWait int64
	prompt := int64(-1)
	for i := 0; i <= len(tx.Response); i++ {
		s := tx.ResultSeq // last: the Response slice is the decoder's, never appended to
		if i < len(tx.Response) {
			s = tx.Response[i]
		}
		e, ok := c.lookup(s)
		if !ok {
			continue
		}
		switch e.kind {
		case at.EvPayload:
			out += e.n
			if prompt >= 0 && e.start > prompt {
				hostWait += e.start - prompt
				prompt = -1
			}
		case at.EvEcho:
		case at.EvPrompt:
			in += e.n
			prompt = e.time
		default:
			in += e.n
		}
	}
	sOut, sIn := serial(l, out), serial(l, in)
	device := tx.Done - tx.Sent - hostWait
	if c.wire {
		device -= sOut + sIn
	}
	a := acc(c.cmds, name)
	a.count++
	a.add(SegToDevice, sOut)
	if hostWait > 0 {
		a.add(SegHostWait, hostWait)
	}
	a.add(SegDevice, device)
	a.add(SegToHost, sIn)
	a.add(SegRoundTrip, sOut+hostWait+max(device, 0)+sIn)
}

// wsData ends the exchange in progress on the +WS_DATA's link: from the
// AT+WSSEND payload's last byte to the +WS_DATA's last byte.
func (c *LatencyCollector) wsData(ev *at.Event) {
	w := &c.ws[ev.Link]
	if w.payloadEnd < 0 {
		return
	}
	sOut, sIn := serial(w.line, w.payloadN), serial(c.line(), len(ev.Raw))
	device := ev.Time - w.payloadEnd
	if c.wire {
		device -= sOut + sIn
	}
	a := acc(c.ex, fmt.Sprintf("%s link %d", wsExchange, ev.Link))
	a.count++
	a.add(SegToDevice, sOut)
	if w.frameOut >= 0 && w.frameIn >= 0 {
		a.frames++
		network := w.frameIn - w.frameOut
		a.add(SegProcessing, device-network)
		a.add(SegNetwork, network)
	} else {
		a.add(SegDevice, device)
	}
	a.add(SegToHost, sIn)
	a.add(SegRoundTrip, sOut+max(device, 0)+sIn)
	*w = idleWS()
}

func acc(m map[string]*splitAcc, name string) *splitAcc {
	a := m[name]
	if a == nil {
		a = &splitAcc{segs: map[string][]int64{}}
		m[name] = a
	}
	return a
}

// Finish settles the decoder and returns the LatencyStats, commands and
// exchanges sorted by name. Call it once, after the last Add.
func (c *LatencyCollector) Finish() *LatencyStats {
	c.events(c.dec.Flush())
	return &LatencyStats{File: c.file, Line: c.first.String(), Wire: c.wire, Commands: finishSplits(c.cmds), Exchanges: finishSplits(c.ex)}
}

func finishSplits(m map[string]*splitAcc) []*SplitStats {
	out := []*SplitStats{}
	for name, a := range m {
		s := &SplitStats{Name: name, Count: a.count, WithFrames: a.frames, Segments: []*Segment{}}
		for _, seg := range segmentOrder {
			if v, ok := a.segs[seg]; ok {
				s.Segments = append(s.Segments, &Segment{Name: seg, Dist: distOf(v)})
			}
		}
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func distOf(v []int64) Dist {
	sorted := slices.Sorted(slices.Values(v))
	d := Dist{Count: len(v), Samples: v, P50NS: percentile(sorted, 50), P90NS: percentile(sorted, 90), P99NS: percentile(sorted, 99)}
	if len(v) > 0 {
		d.MaxNS = sorted[len(v)-1]
	}
	return d
}

// Segment returns the named segment of s, or nil when s has none.
func (s *SplitStats) Segment(name string) *Segment {
	for _, g := range s.Segments {
		if g.Name == name {
			return g
		}
	}
	return nil
}

// ReadLatency computes the LatencyStats of the capture at path. Damaged
// regions are skipped (the decoder is settled at each); it stops with
// ctx's error when ctx is done.
func ReadLatency(ctx context.Context, path string) (*LatencyStats, error) {
	r, err := capture.Open(path, nil)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	c := NewLatencyCollector(path, r.Header())
	var rec capture.Record
	for {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		err := r.NextInto(&rec)
		if errors.Is(err, io.EOF) {
			break
		}
		var d *capture.DamageError
		if errors.As(err, &d) {
			c.Damaged()
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		c.Add(&rec)
	}
	return c.Finish(), nil
}
