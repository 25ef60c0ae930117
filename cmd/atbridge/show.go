package main

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/atbridge/atbridge/analysis"
	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/formats"
	"github.com/atbridge/atbridge/formats/at"
	"github.com/atbridge/atbridge/formats/view"
)

func init() {
	register(&command{
		name:    "show",
		summary: "Print a capture as a readable, decoded transcript (or JSON Lines)",
		usage:   "atbridge show [flags] FILE",
		examples: `  # the decoded transcript: commands, results, URCs, payloads, latencies
  atbridge show testdata/seed-tcp.atcap
  # the bytes exactly as recorded, one hex block per chunk
  atbridge show --raw session.atcap
  # JSON Lines for jq: every +WS_DATA payload of link 0
  atbridge show --json --link 0 --kind urc session.atcap | jq -r 'select(.name=="+WS_DATA") | .data'
  # ten seconds from 1m30s into a long recording (jumps there without reading the start)
  atbridge show --since 90s --until 100s big.atcap`,
		setup: setupShow,
	})
}

type showFlags struct {
	raw, json    bool
	since, until string
	link         int
	kinds        string
	log          string // --log: the log UART lines shown
}

func setupShow(fs *flag.FlagSet) func(context.Context, *env, []string) int {
	f := &showFlags{}
	fs.BoolVar(&f.raw, "raw", false, "show records as recorded (chunks in hex, frames, events) instead of decoding them")
	fs.BoolVar(&f.json, "json", false, "write JSON Lines, one object per event (with --raw: per record); schema in the README")
	fs.StringVar(&f.since, "since", "", "start at this time: a duration from the start (1.5s, 2m) or an RFC 3339 time")
	fs.StringVar(&f.until, "until", "", "stop after this time: a duration from the start or an RFC 3339 time")
	fs.IntVar(&f.link, "link", -1, "only events of this WebSocket link (0..2)")
	fs.StringVar(&f.kinds, "kind", "", "only these kinds, comma-separated: command,echo,payload,prompt,result,info,urc,unparsed,transaction,ws_message,link_state,frame,event,log,reset (with --raw: chunk,frame,event)")
	fs.StringVar(&f.log, "log", "all", "ESP32 log UART lines shown (captures recorded with --log-port): all, none, or the least severe level shown (E, W, I, D, V); resets and panics show at any level but none")
	return func(ctx context.Context, e *env, args []string) int {
		return runShow(ctx, e, f, args)
	}
}

// parseWhen reads a --since/--until value: a duration from the capture's
// start ("1.5s", "90s", "2m"), a number of seconds, or an RFC 3339 time.
func parseWhen(s string, start time.Time) (int64, error) {
	if d, err := time.ParseDuration(s); err == nil {
		return int64(d), nil
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return int64(f * 1e9), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return int64(t.Sub(start)), nil
	}
	return 0, fmt.Errorf("%q is neither a duration from the start (1.5s, 2m) nor an RFC 3339 time (2026-11-25T19:07:05Z)", s)
}

// shower renders records and decoded events to out in one of four forms
// (text or JSON, decoded or raw), applying the filters.
type shower struct {
	out    *bufio.Writer
	f      *showFlags
	start  time.Time
	text   view.TextOptions
	kinds  map[string]bool // nil: all
	until  int64
	buf    []byte
	damage int
	// dl decodes the log UART's chunks (nil with --raw); logLevel is the
	// --log level (0: none).
	dl       *analysis.DeviceLog
	logLevel byte
	// pending holds rendered items briefly so they come out in time order:
	// the decoder settles some events (held host bytes, flushed partial
	// lines) after records with later times were shown. Their text is in
	// arena, so queuing an item allocates nothing.
	pending []shownItem
	arena   []byte
}

// shownItem is one rendered event or record waiting in shower.pending:
// its time and its text, arena[from:to].
type shownItem struct {
	t        int64
	from, to int
}

// reorderWindow bounds shower.pending: items are written, oldest first,
// once twice this many wait. Events are rarely settled more than a few
// items late, so a small window puts them in place at constant memory.
const reorderWindow = 256

// emit queues the rendered item in s.buf at time t.
func (s *shower) emit(t int64) {
	from := len(s.arena)
	s.arena = append(s.arena, s.buf...)
	s.pending = append(s.pending, shownItem{t, from, len(s.arena)})
	if len(s.pending) >= 2*reorderWindow {
		s.drain(reorderWindow)
	}
}

// drain writes the n earliest pending items (all when n < 0) in time
// order; items with equal times keep the order they were emitted in.
func (s *shower) drain(n int) {
	slices.SortStableFunc(s.pending, func(a, b shownItem) int { return cmp.Compare(a.t, b.t) })
	if n < 0 || n > len(s.pending) {
		n = len(s.pending)
	}
	for _, it := range s.pending[:n] {
		s.out.Write(s.arena[it.from:it.to])
	}
	// Move what stays to the front of the arena, in its new order.
	rest := s.pending[n:]
	var keep []byte
	for i, it := range rest {
		from := len(keep)
		keep = append(keep, s.arena[it.from:it.to]...)
		rest[i] = shownItem{it.t, from, len(keep)}
	}
	s.arena = append(s.arena[:0], keep...)
	s.pending = append(s.pending[:0], rest...)
}

func runShow(ctx context.Context, e *env, f *showFlags, args []string) int {
	fail := func(format string, a ...any) int {
		fmt.Fprintf(e.stderr, "atbridge show: "+format+"\n", a...)
		return exitFailure
	}
	if len(args) != 1 {
		return fail("want one capture FILE, got %d arguments; see atbridge show --help", len(args))
	}
	if f.link > 2 || f.link < -1 {
		return fail("--link must be 0, 1 or 2")
	}
	path := args[0]
	r, err := capture.Open(path, nil)
	if err != nil {
		if errors.Is(err, capture.ErrNotCapture) {
			return fail("%v (a socat dump? convert it with atbridge import --from socat)", err)
		}
		return fail("%v", err)
	}
	defer r.Close()
	hdr := r.Header()
	s := &shower{
		out:   bufio.NewWriterSize(e.stdout, 64<<10),
		f:     f,
		start: hdr.Start,
		text:  view.TextOptions{Colour: !f.json && e.useColour(e.stdout)},
		until: 1<<63 - 1,
	}
	if s.logLevel, err = parseLogLevel(f.log); err != nil {
		return fail("%v", err)
	}
	if !f.raw {
		s.dl = analysis.NewDeviceLog()
	}
	defer s.out.Flush()
	defer s.drain(-1)
	if f.kinds != "" {
		s.kinds = map[string]bool{}
		for k := range strings.SplitSeq(f.kinds, ",") {
			s.kinds[strings.TrimSpace(k)] = true
		}
	}
	if f.until != "" {
		if s.until, err = parseWhen(f.until, hdr.Start); err != nil {
			return fail("--until: %v", err)
		}
	}
	if f.since != "" {
		since, err := parseWhen(f.since, hdr.Start)
		if err != nil {
			return fail("--since: %v", err)
		}
		if err := r.SeekTime(since); err != nil {
			return fail("--since: %v", err)
		}
	}
	if f.json {
		s.jsonHeader(&hdr)
	} else {
		s.header(path, &hdr)
	}
	var dec *at.Decoder
	if !f.raw {
		dec = at.NewDecoder(hdr.DecoderOptions())
	}
	order := newOrderCheck(&hdr) // sniffed captures: flag reads the taps may have misordered
	var last int64
	for {
		if ctx.Err() != nil {
			s.drain(-1)
			s.out.Flush()
			fmt.Fprintf(e.stderr, "atbridge show: interrupted\n")
			return exitSignal
		}
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		var d *capture.DamageError
		if errors.As(err, &d) {
			if dec != nil {
				s.events(dec.Flush())
			}
			s.damaged(last, d)
			continue
		}
		if err != nil {
			s.drain(-1)
			s.out.Flush()
			return fail("%s: %v", path, err)
		}
		if rec.Time > s.until {
			break
		}
		last = rec.Time
		if note := order.check(rec); note != nil {
			s.record(note)
		}
		if dec != nil && rec.Kind == capture.KindChunk && rec.Port != capture.PortLog {
			s.events(dec.Feed(rec.Time, rec.Dir, rec.Data))
			continue
		}
		s.record(rec)
		if dec != nil && deviceAbsent(rec) {
			s.events(dec.DeviceAbsent(rec.Time))
		}
	}
	if dec != nil {
		s.events(dec.Flush())
	}
	s.logFlush()
	s.drain(-1)
	if err := s.out.Flush(); err != nil {
		return fail("write: %v", err)
	}
	if s.damage > 0 {
		fmt.Fprintf(e.stderr, "atbridge show: %s has %s (marked in the output); atbridge repair %s -o FIXED.atcap keeps what is readable\n", path, plural(s.damage, "damaged region"), path)
		return exitProblem
	}
	return exitOK
}

// header prints what the capture is, as comment lines.
func (s *shower) header(path string, h *capture.Header) {
	fmt.Fprintf(s.out, "# %s: started %s, written by %s\n", path, h.Start.UTC().Format(time.RFC3339Nano), orUnknown(h.Tool))
	for i, p := range h.Ports {
		line := ""
		if p.Line.Baud != 0 {
			line = ", " + p.Line.String()
		}
		fmt.Fprintf(s.out, "# port %d: %s (%s%s)\n", i, p.Name, p.Role, line)
		if !p.Adapter.IsZero() {
			fmt.Fprintf(s.out, "#   adapter: %s\n", p.Adapter)
		}
	}
	if n := h.Meta["ring_window"]; n != "" {
		fmt.Fprintf(s.out, "# window %s of a ring recording (--ring), written when this fired: %s\n", n, h.Meta["ring_trigger"])
	}
}

func (s *shower) wants(kind string, link int) bool {
	if s.kinds != nil && !s.kinds[kind] {
		return false
	}
	return s.f.link < 0 || link == s.f.link
}

func (s *shower) events(evs []at.Event) {
	if s.dl != nil {
		defer s.resets(s.dl.AT(evs))
	}
	for i := range evs {
		e := &evs[i]
		if !s.wants(e.Kind.String(), e.Link) {
			continue
		}
		if s.f.json {
			s.buf = view.NewJSONEvent(e, s.start).AppendJSON(s.buf[:0])
		} else {
			s.buf = view.AppendText(s.buf[:0], e, &s.text)
		}
		s.emit(e.Time)
	}
}

// record shows a record that is not decoded: a frame or an event, or with
// --raw any record.
func (s *shower) record(r *capture.Record) {
	if s.dl != nil && r.Kind == capture.KindChunk && r.Port == capture.PortLog {
		s.logChunk(r)
		return
	}
	link := -1
	switch r.Kind {
	case capture.KindFrame:
		link = int(r.Frame.Link)
	case capture.KindEvent:
		if r.Event.Type == capture.EvWSConnected || r.Event.Type == capture.EvWSClosed {
			link = int(r.Event.Link)
		}
	}
	if !s.wants(r.Kind.String(), link) {
		return
	}
	if s.f.json {
		s.buf = recordJSON(r, s.start, s.f.raw).AppendJSON(s.buf[:0])
	} else {
		s.buf = recordText(s.buf[:0], r, &s.text)
	}
	s.emit(r.Time)
}

// jsonHeader writes the first line of show --json: kind "header", what a
// consumer needs before the events (who recorded, when, which ports).
func (s *shower) jsonHeader(h *capture.Header) {
	type port struct {
		Name     string           `json:"name"`
		Role     string           `json:"role,omitempty"`
		Settings string           `json:"settings,omitempty"`
		Adapter  *capture.Adapter `json:"adapter,omitempty"`
	}
	line := struct {
		Kind  string            `json:"kind"`
		Tool  string            `json:"tool"`
		Start string            `json:"start"`
		Ports []port            `json:"ports"`
		Meta  map[string]string `json:"meta,omitempty"`
	}{Kind: "header", Tool: h.Tool, Start: h.Start.UTC().Format("2006-01-02T15:04:05.000000000Z07:00"), Ports: []port{}, Meta: h.Meta}
	for _, p := range h.Ports {
		q := port{Name: p.Name, Role: p.Role}
		if p.Line != (capture.LineSettings{}) {
			q.Settings = p.Line.String()
		}
		if !p.Adapter.IsZero() {
			q.Adapter = &p.Adapter
		}
		line.Ports = append(line.Ports, q)
	}
	b, _ := json.Marshal(line)
	s.out.Write(append(b, '\n'))
}

func (s *shower) damaged(t int64, d *capture.DamageError) {
	s.damage++
	if s.f.json {
		j := view.NewJSONBase(t, s.start, formats.DirNone, "damage")
		j.Lost = &view.JSONDamage{FileOffset: d.Offset, Bytes: d.Length, RecordsLost: d.RecordsLost}
		j.Error = d.Err.Error()
		s.buf = j.AppendJSON(s.buf[:0])
	} else {
		lost := "an unknown number of records lost"
		if d.RecordsLost >= 0 {
			lost = fmt.Sprintf("%d records lost", d.RecordsLost)
		}
		if errors.Is(d, capture.ErrRecovered) {
			lost = "nothing lost"
		}
		s.buf = view.AppendTextLine(s.buf[:0], t, formats.DirNone, "DAMAGE",
			fmt.Sprintf("file offset %d: %d bytes unreadable, %s (%v)", d.Offset, d.Length, lost, d.Err), view.ColourProblem, &s.text)
	}
	s.emit(t)
}

// recordText renders a chunk, frame or event as text.
func recordText(dst []byte, r *capture.Record, o *view.TextOptions) []byte {
	switch r.Kind {
	case capture.KindChunk:
		dst = view.AppendTextLine(dst, r.Time, r.Dir, "chunk", fmt.Sprintf("port %d, %d bytes", r.Port, len(r.Data)), view.ColourNone, o)
		return view.AppendHexDump(dst, r.Data, -1)
	case capture.KindFrame:
		fr := r.Frame
		text := fmt.Sprintf("link %d %s", fr.Link, view.OpcodeName(int(fr.Opcode)))
		if !fr.Fin {
			text += " (not fin)"
		}
		if fr.Masked {
			text += " masked"
		}
		if fr.Rsv != 0 {
			text += fmt.Sprintf(" rsv=%d", fr.Rsv)
		}
		if uint64(len(r.Data)) < fr.Length {
			text += fmt.Sprintf(" %d bytes on the wire, first", fr.Length)
		}
		payload, dump := view.PayloadText(r.Data, o)
		dst = view.AppendTextLine(dst, r.Time, r.Dir, "frame", text+" "+payload, view.ColourNetwork, o)
		if dump {
			dst = view.AppendHexDump(dst, r.Data, 4096)
		}
		return dst
	case capture.KindEvent:
		text, colour := eventText(r)
		return view.AppendTextLine(dst, r.Time, r.Dir, "event", text, colour, o)
	}
	return view.AppendTextLine(dst, r.Time, r.Dir, r.Kind.String(), fmt.Sprintf("%d bytes", len(r.Data)), view.ColourNone, o)
}

// deviceAbsent reports whether r says host bytes did not reach the device:
// the transactions they started end as "device absent".
func deviceAbsent(r *capture.Record) bool {
	return r.Kind == capture.KindEvent && r.Event.Type == capture.EvNotDelivered && r.Dir == formats.ToDevice
}

// eventText says what a recorded event reports, and in which colour.
func eventText(r *capture.Record) (string, string) {
	ev := r.Event
	switch ev.Type {
	case capture.EvPortOpened, capture.EvPortReopened:
		return fmt.Sprintf("%s: port %d %s (%s)", ev.Type, r.Port, ev.Text, ev.Line), view.ColourQuiet
	case capture.EvPortClosed:
		return fmt.Sprintf("port_closed: port %d", r.Port), view.ColourQuiet
	case capture.EvPortLost:
		return fmt.Sprintf("port_lost: port %d: %s", r.Port, ev.Text), view.ColourProblem
	case capture.EvLineSettings:
		return fmt.Sprintf("line_settings: port %d now %s (by %s)", r.Port, ev.Line, ev.Text), view.ColourNotice
	case capture.EvControlLines:
		return fmt.Sprintf("control_lines: port %d %s", r.Port, ev.Control), view.ColourQuiet
	case capture.EvNotDelivered:
		return fmt.Sprintf("NOT DELIVERED: %d bytes %s on port %d were recorded but never reached the other side (%s)", ev.Count, view.DirLabel(r.Dir), r.Port, ev.Text), view.ColourProblem
	case capture.EvBytesLost:
		text := fmt.Sprintf("BYTES LOST: %d bytes %s on port %d were forwarded but not recorded", ev.Count, view.DirLabel(r.Dir), r.Port)
		if ev.Text != "" {
			text += " (" + ev.Text + ")"
		}
		return text, view.ColourProblem
	case capture.EvWSConnected:
		return fmt.Sprintf("ws_connected: link %d %s", ev.Link, ev.Text), view.ColourNetwork
	case capture.EvWSClosed:
		return fmt.Sprintf("ws_closed: link %d code %d %s", ev.Link, ev.Code, view.QuoteText([]byte(ev.Text))), view.ColourNetwork
	case capture.EvBreak:
		return fmt.Sprintf("BREAK: %d on port %d %s (the line was held low longer than a character)", ev.Count, r.Port, view.DirLabel(r.Dir)), view.ColourProblem
	case capture.EvLineErrors:
		return fmt.Sprintf("LINE ERRORS: %d %s on port %d %s (the UART garbled or dropped those bytes; check baud, wiring and ground)", ev.Count, lineErrorWords(ev.Text), r.Port, view.DirLabel(r.Dir)), view.ColourProblem
	case capture.EvMarker:
		return "MARKER: " + ev.Text, view.ColourMarker
	case capture.EvDamage:
		return "DAMAGE (repaired): " + ev.Text, view.ColourProblem
	}
	text := ev.Type.String()
	if ev.Text != "" {
		text += ": " + ev.Text
	}
	return text, view.ColourNone
}

// lineErrorWords names a kind of receive error as EvLineErrors spells it.
func lineErrorWords(kind string) string {
	switch kind {
	case "framing":
		return "framing errors"
	case "parity":
		return "parity errors"
	case "overrun":
		return "UART overruns"
	case "buffer_overrun":
		return "driver buffer overruns"
	}
	return kind + " errors"
}

// recordJSON renders a chunk, frame or event as a JSON line. raw says
// chunks and frames carry only data_b64 (the exact bytes), not also data.
func recordJSON(r *capture.Record, start time.Time, raw bool) *view.JSONEvent {
	j := view.NewJSONBase(r.Time, start, r.Dir, r.Kind.String())
	setData := func(b []byte) {
		if raw {
			j.SetRawData(b)
		} else {
			j.SetData(b)
		}
	}
	switch r.Kind {
	case capture.KindChunk:
		port := int(r.Port)
		j.Port = &port
		setData(r.Data)
	case capture.KindFrame:
		fr := r.Frame
		link, op, fin, n := int(fr.Link), int(fr.Opcode), fr.Fin, int64(fr.Length)
		j.Link = &link
		j.WS = &view.JSONWS{Opcode: &op, Fin: &fin, PayloadLen: &n, Masked: fr.Masked, Rsv: int(fr.Rsv)}
		setData(r.Data)
	case capture.KindEvent:
		ev := r.Event
		j.Event, j.Text, j.Count, j.Code = ev.Type.String(), ev.Text, ev.Count, int(ev.Code)
		switch ev.Type {
		case capture.EvPortOpened, capture.EvPortReopened, capture.EvLineSettings:
			j.Settings = ev.Line.String()
		case capture.EvControlLines:
			j.Control = ev.Control.String()
		}
		switch ev.Type {
		case capture.EvWSConnected, capture.EvWSClosed:
			link := int(ev.Link)
			j.Link = &link
		case capture.EvMarker, capture.EvNote, capture.EvSplit, capture.EvDamage:
		default:
			port := int(r.Port)
			j.Port = &port
		}
		if len(r.Data) > 0 {
			setData(r.Data)
		}
	}
	return j
}
