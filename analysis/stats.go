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

// Stats is what "atbridge stats" reports; its JSON form is the --json
// output.
type Stats struct {
	File       string               `json:"file"`
	Start      time.Time            `json:"start"`
	DurationNS int64                `json:"duration_ns"`
	Records    int64                `json:"records"`
	Directions map[string]*DirStats `json:"directions"` // by formats.Dir name
	Commands   []*CmdStats          `json:"commands"`   // by name
	Results    map[string]int       `json:"results"`    // final results by text: OK, ERROR, busy p...
	NoResult   int                  `json:"no_result"`  // commands that never got a final result
	// DeviceAbsent: commands that ended without a result because the
	// device side was gone (not counted in NoResult).
	DeviceAbsent int `json:"device_absent"`
	// NotDelivered: bytes recorded but never delivered (the other side was
	// absent), by direction ("to_device", "to_host").
	NotDelivered map[string]int64 `json:"not_delivered"`
	Unparsed     int              `json:"unparsed"` // runs of bytes the decoder could not place
	URCs         map[string]int   `json:"urcs"`     // unsolicited messages by name
	// WSFromAT counts WebSocket messages seen through AT+WSSEND and +WS_DATA;
	// WSFrames counts frames recorded on the network side. Both by link.
	WSFromAT   []*WSStats `json:"ws_from_at"`
	WSFrames   []*WSStats `json:"ws_frames"`
	LostEvents int        `json:"lost_events"` // bytes_lost events
	LostBytes  int64      `json:"lost_bytes"`
	Damage     []string   `json:"damage"` // one line per damaged region
	// Ports are the capture's ports with the USB adapter behind each and
	// the line events recorded on it.
	Ports []*PortStats `json:"ports"`
	// Log is what the ESP32's log UART said (captures recorded with
	// --log-port); nil without one.
	Log *LogStats `json:"log,omitempty"`
}

// LogStats summarises the ESP32's log UART.
type LogStats struct {
	Bytes int64 `json:"bytes"`
	Lines int   `json:"lines"`
	// Resets by the ROM's reason ("SW_CPU_RESET"), and Causes by what the
	// log said went wrong before them ("panic: LoadProhibited").
	ResetsByReason map[string]int `json:"resets_by_reason"`
	ResetsByCause  map[string]int `json:"resets_by_cause"`
	Resets         []ResetStat    `json:"resets"`
	// Warnings and Errors count ESP-IDF W and E lines by tag.
	Warnings map[string]int `json:"warnings_by_tag"`
	Errors   map[string]int `json:"errors_by_tag"`
}

// ResetStat is one reset, as stats --json lists it.
type ResetStat struct {
	TimeNS   int64  `json:"time_ns"`
	Reason   string `json:"reason"`
	Cause    string `json:"cause,omitempty"`
	SilentNS int64  `json:"at_silent_ns"`   // -1: the AT UART had carried nothing from the ESP32
	ReadyNS  int64  `json:"ready_after_ns"` // -1: no "ready" followed
	Text     string `json:"text"`
}

// PortStats is one port of the capture: what the header says about it,
// and the line events the OS reported on it while recording.
type PortStats struct {
	Index   int              `json:"index"`
	Name    string           `json:"name"`
	Role    string           `json:"role,omitempty"`
	Adapter *capture.Adapter `json:"adapter,omitempty"`
	// ControlChanges counts EvControlLines events; Breaks the BREAKs;
	// LineErrors the receive errors by kind ("framing", "parity",
	// "overrun", "buffer_overrun").
	ControlChanges int              `json:"control_changes"`
	Breaks         int64            `json:"breaks"`
	LineErrors     map[string]int64 `json:"line_errors"`
}

// DirStats counts the traffic of one direction.
type DirStats struct {
	Bytes  int64 `json:"bytes"`
	Chunks int64 `json:"chunks"`
}

// CmdStats summarises the transactions of one command.
type CmdStats struct {
	Name         string         `json:"name"`
	Count        int            `json:"count"`
	Results      map[string]int `json:"results"`
	LatencyP50NS int64          `json:"latency_p50_ns"`
	LatencyP95NS int64          `json:"latency_p95_ns"`
	LatencyMaxNS int64          `json:"latency_max_ns"`
	// Latencies are the latencies of the transactions that got a result,
	// sorted; they are left out of the JSON form.
	Latencies []int64 `json:"-"`
}

// WSStats counts the WebSocket messages of one link and their payload
// bytes. A message sent in several frames (or +WS_DATA pieces) counts once.
type WSStats struct {
	Link          int   `json:"link"`
	ToServer      int   `json:"to_server"`
	ToServerBytes int64 `json:"to_server_bytes"`
	ToClient      int   `json:"to_client"`
	ToClientBytes int64 `json:"to_client_bytes"`
}

// A Collector computes the Stats of one recording from its records, given
// in file order. It decodes the serial chunks itself. The zero value is
// not usable; a Collector is not safe for concurrent use.
type Collector struct {
	st             *Stats
	dec            *at.Decoder
	cmds           map[string]*CmdStats
	fromAT, frames map[int]*WSStats
	dl             *DeviceLog
}

// NewCollector returns a Collector for the recording named file (as the
// Stats will show it) with header h.
func NewCollector(file string, h capture.Header) *Collector {
	ports := []*PortStats{}
	for i, p := range h.Ports {
		ps := &PortStats{Index: i, Name: p.Name, Role: p.Role, LineErrors: map[string]int64{}}
		if !p.Adapter.IsZero() {
			a := p.Adapter
			ps.Adapter = &a
		}
		ports = append(ports, ps)
	}
	return &Collector{
		st: &Stats{Ports: ports,
			File: file, Start: h.Start, Directions: map[string]*DirStats{},
			Results: map[string]int{}, URCs: map[string]int{}, Damage: []string{}, NotDelivered: map[string]int64{},
			Commands: []*CmdStats{}, WSFromAT: []*WSStats{}, WSFrames: []*WSStats{},
		},
		dec:    at.NewDecoder(h.DecoderOptions()),
		cmds:   map[string]*CmdStats{},
		fromAT: map[int]*WSStats{},
		frames: map[int]*WSStats{},
		dl:     NewDeviceLog(),
	}
}

// Add counts one record. It keeps nothing of rec's storage, so rec may be
// reused for the next record (as capture.Reader.NextInto does).
func (c *Collector) Add(rec *capture.Record) {
	st := c.st
	st.Records++
	st.DurationNS = max(st.DurationNS, rec.Time)
	switch rec.Kind {
	case capture.KindChunk:
		if rec.Port == capture.PortLog {
			c.logStats().Bytes += int64(len(rec.Data))
			c.logged(c.dl.Log(rec))
			break
		}
		ds := st.Directions[rec.Dir.String()]
		if ds == nil {
			ds = &DirStats{}
			st.Directions[rec.Dir.String()] = ds
		}
		ds.Bytes += int64(len(rec.Data))
		ds.Chunks++
		// Decode reuses its storage: safe because the events are counted
		// and let go before the next call, and what is kept (names,
		// results) are strings, which are never reused.
		c.events(c.dec.Decode(rec.Time, rec.Dir, rec.Data))
	case capture.KindFrame:
		if rec.Frame.Opcode < 8 { // data frames; control frames are not messages
			countWS(c.frames, int(rec.Frame.Link), rec.Dir, int(rec.Frame.Length), rec.Frame.Fin)
		}
	case capture.KindEvent:
		if rec.Event.Type == capture.EvBytesLost {
			st.LostEvents++
			st.LostBytes += rec.Event.Count
		}
		switch rec.Event.Type {
		case capture.EvControlLines:
			c.port(rec.Port).ControlChanges++
		case capture.EvBreak:
			c.port(rec.Port).Breaks += rec.Event.Count
		case capture.EvLineErrors:
			c.port(rec.Port).LineErrors[rec.Event.Text] += rec.Event.Count
		}
		if rec.Event.Type == capture.EvDamage { // a hole a repair left
			st.Damage = append(st.Damage, "repaired: "+rec.Event.Text)
		}
		if rec.Event.Type == capture.EvNotDelivered {
			st.NotDelivered[rec.Dir.String()] += rec.Event.Count
			if rec.Dir == formats.ToDevice {
				c.events(c.dec.DeviceAbsent(rec.Time))
			}
		}
	}
}

// port is the stats of port i, added when the header did not list it.
func (c *Collector) port(i uint8) *PortStats {
	for _, ps := range c.st.Ports {
		if ps.Index == int(i) {
			return ps
		}
	}
	ps := &PortStats{Index: int(i), Name: fmt.Sprintf("port %d", i), LineErrors: map[string]int64{}}
	c.st.Ports = append(c.st.Ports, ps)
	return ps
}

// Damaged notes a damaged region of the file: what the decoder holds is
// settled first, as the bytes after the gap do not continue it.
func (c *Collector) Damaged(d *capture.DamageError) {
	c.events(c.dec.Flush())
	c.st.Damage = append(c.st.Damage, d.Error())
}

// Finish settles what the decoder still holds and returns the Stats, with
// commands sorted by name and links by number. Call it once, after the
// last Add.
func (c *Collector) Finish() *Stats {
	st := c.st
	c.events(c.dec.Flush())
	c.logged(c.dl.Flush())
	for _, cs := range c.cmds {
		slices.Sort(cs.Latencies)
		cs.LatencyP50NS, cs.LatencyP95NS = percentile(cs.Latencies, 50), percentile(cs.Latencies, 95)
		if n := len(cs.Latencies); n > 0 {
			cs.LatencyMaxNS = cs.Latencies[n-1]
		}
		st.Commands = append(st.Commands, cs)
	}
	sort.Slice(st.Commands, func(i, j int) bool { return st.Commands[i].Name < st.Commands[j].Name })
	st.WSFromAT, st.WSFrames = sortedWS(c.fromAT), sortedWS(c.frames)
	return st
}

// logStats returns st.Log, made on the first log UART record.
func (c *Collector) logStats() *LogStats {
	if c.st.Log == nil {
		c.st.Log = &LogStats{ResetsByReason: map[string]int{}, ResetsByCause: map[string]int{},
			Resets: []ResetStat{}, Warnings: map[string]int{}, Errors: map[string]int{}}
	}
	return c.st.Log
}

// logged counts decoded log lines and completed resets.
func (c *Collector) logged(lines []LogLine, resets []Reset) {
	if len(lines) == 0 && len(resets) == 0 {
		return
	}
	ls := c.logStats()
	for _, l := range lines {
		ls.Lines++
		switch l.Level {
		case 'W':
			ls.Warnings[l.Tag]++
		case 'E':
			ls.Errors[l.Tag]++
		}
	}
	for i := range resets {
		r := &resets[i]
		ls.ResetsByReason[r.Reason]++
		if r.Cause != "" {
			ls.ResetsByCause[r.Cause]++
		}
		ls.Resets = append(ls.Resets, ResetStat{TimeNS: r.Time, Reason: r.Reason, Cause: r.Cause,
			SilentNS: r.SilentNS, ReadyNS: r.ReadyNS, Text: r.String()})
	}
}

func (c *Collector) events(evs []at.Event) {
	st := c.st
	if rs := c.dl.AT(evs); len(rs) > 0 {
		c.logged(nil, rs)
	}
	for i := range evs {
		ev := &evs[i]
		switch ev.Kind {
		case at.EvTransaction:
			tx := ev.Tx
			cs := c.cmds[ev.Name]
			if cs == nil {
				cs = &CmdStats{Name: ev.Name, Results: map[string]int{}}
				c.cmds[ev.Name] = cs
			}
			cs.Count++
			if tx.Result == "" && errors.Is(tx.Err, at.ErrDeviceAbsent) {
				st.DeviceAbsent++
				cs.Results["(device absent)"]++
				continue
			}
			if tx.Result == "" {
				st.NoResult++
				cs.Results["(none)"]++
				continue
			}
			cs.Results[tx.Result]++
			st.Results[tx.Result]++
			cs.Latencies = append(cs.Latencies, tx.Latency)
		case at.EvURC:
			st.URCs[ev.Name]++
		case at.EvUnparsed:
			st.Unparsed++
		case at.EvWSMessage:
			// A piece with fin=0 is continued by the next one.
			countWS(c.fromAT, ev.Link, ev.Dir, len(ev.Data), ev.Msg == nil || ev.Msg.Fin != 0)
		}
	}
}

// ReadFile computes the Stats of the capture at path. Damaged regions are
// listed in Stats.Damage, not returned as errors; it stops with ctx's
// error when ctx is done.
func ReadFile(ctx context.Context, path string) (*Stats, error) {
	r, err := capture.Open(path, nil)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	c := NewCollector(path, r.Header())
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
			c.Damaged(d)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		c.Add(&rec)
	}
	return c.Finish(), nil
}

// countWS adds n payload bytes of link's traffic in direction d, and one
// message when last is set (the final piece or frame of a message).
func countWS(m map[int]*WSStats, link int, d formats.Dir, n int, last bool) {
	w := m[link]
	if w == nil {
		w = &WSStats{Link: link}
		m[link] = w
	}
	msgs, bytes := &w.ToClient, &w.ToClientBytes
	if d == formats.ToServer {
		msgs, bytes = &w.ToServer, &w.ToServerBytes
	}
	*bytes += int64(n)
	if last {
		*msgs++
	}
}

func sortedWS(m map[int]*WSStats) []*WSStats {
	out := []*WSStats{}
	for _, w := range m {
		out = append(out, w)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Link < out[j].Link })
	return out
}

// percentile returns the nearest-rank p-th percentile of sorted v (0 when
// empty).
func percentile(v []int64, p int) int64 {
	if len(v) == 0 {
		return 0
	}
	i := (len(v)*p + 99) / 100
	return v[max(i-1, 0)]
}
