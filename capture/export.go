package capture

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"

	"github.com/atbridge/atbridge/formats/pcapng"
	"github.com/atbridge/atbridge/formats/ws"
)

// PcapOptions derives exporter options from a capture header: the wall
// clock of time 0, the ports, a section comment with the tool and notes,
// and the decoder's settings from Meta["firmware"] ("release" or
// "dev"/"development") and Meta["echo"] ("off" when ATE0 was in force at
// the start). Fields already set in base are kept.
func PcapOptions(h Header, base *pcapng.Options) pcapng.Options {
	var o pcapng.Options
	if base != nil {
		o = *base
	}
	if o.Start.IsZero() {
		o.Start = h.Start
	}
	if o.Ports == nil {
		for _, p := range h.Ports {
			o.Ports = append(o.Ports, pcapng.Port{Name: p.Name, Role: p.Role, Adapter: p.Adapter.String()})
		}
	}
	var c []string
	if h.Tool != "" {
		c = append(c, "Recorded by "+h.Tool+" at "+h.Start.UTC().Format("2006-01-02T15:04:05.000Z07:00")+".")
	}
	keys := make([]string, 0, len(h.Meta))
	for k := range h.Meta {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		c = append(c, k+": "+h.Meta[k])
	}
	if o.Comment != "" {
		c = append(c, o.Comment)
	}
	o.Comment = strings.Join(c, "\n")
	if o.Decoder == nil {
		o.Decoder = h.DecoderOptions()
	}
	return o
}

// pcapEvent converts an event record for the exporter.
func pcapEvent(r *Record) pcapng.Event {
	ev := r.Event
	pe := pcapng.Event{Kind: pcapng.EvNote, Name: ev.Type.String(), Text: ev.Text, Port: r.Port, Dir: r.Dir, Link: -1}
	switch ev.Type {
	case EvControlLines:
		pe.Kind, pe.Control, pe.Text = pcapng.EvControlLines, uint8(ev.Control), ev.Control.String()
	case EvBytesLost:
		pe.Kind, pe.Count = pcapng.EvBytesLost, ev.Count
	case EvWSConnected:
		pe.Kind, pe.Link = pcapng.EvWSConnected, int(ev.Link)
	case EvWSClosed:
		pe.Kind, pe.Link, pe.Code = pcapng.EvWSClosed, int(ev.Link), ev.Code
	case EvPortOpened, EvPortReopened:
		pe.Text = fmt.Sprintf("port %d %s %s", r.Port, ev.Text, ev.Line)
	case EvLineSettings:
		pe.Text = fmt.Sprintf("port %d %s", r.Port, ev.Line)
		if ev.Text != "" {
			pe.Text += " (" + ev.Text + ")"
		}
	case EvPortClosed, EvPortLost:
		pe.Text = strings.TrimSpace(fmt.Sprintf("port %d %s", r.Port, ev.Text))
	case EvBreak:
		pe.Kind, pe.Count = pcapng.EvBreak, ev.Count
	case EvLineErrors:
		pe.Kind, pe.Count = pcapng.EvLineErrors, ev.Count
	}
	return pe
}

// String describes the adapter in one line, as show, stats and the
// export's interface comments print it; "" when nothing is known.
func (a Adapter) String() string {
	if a.IsZero() {
		return ""
	}
	var f []string
	if a.VID != 0 || a.PID != 0 {
		f = append(f, fmt.Sprintf("USB %04x:%04x", a.VID, a.PID))
	}
	if s := strings.TrimSpace(a.Manufacturer + " " + a.Product); s != "" {
		f = append(f, s)
	}
	if a.Serial != "" {
		f = append(f, "serial number "+a.Serial)
	}
	if a.Driver != "" {
		f = append(f, "driver "+a.Driver)
	}
	if a.LatencyTimerMS > 0 {
		lt := fmt.Sprintf("latency timer %d ms", a.LatencyTimerMS)
		if a.LatencyTimerMS >= 16 {
			lt += " (delays every short read by up to that much: latencies in this capture are inflated)"
		}
		f = append(f, lt)
	}
	return strings.Join(f, ", ")
}

// logPorts says which ports of a header are the ESP32's log UART: those
// with Role "log", and PortLog when the header does not describe it.
func logPorts(h Header) (lp [256]bool) {
	for i, p := range h.Ports {
		if i < len(lp) {
			lp[i] = p.Role == "log"
		}
	}
	if int(PortLog) >= len(h.Ports) {
		lp[PortLog] = true
	}
	return lp
}

// PcapFeed feeds capture records to a pcapng.Writer: it is how a
// recording (proxy, emulate) streams pcapng while it records, and what
// Export uses. It is safe for concurrent use; the exporter's output is the
// only thing it writes to, and it never closes that writer.
type PcapFeed struct {
	mu   sync.Mutex
	x    *pcapng.Writer
	live bool
	err  error
	last int64 // latest record time
	// log marks the log ports: their chunks are console text, not AT
	// traffic, and go to the exporter's log view only.
	log [256]bool
}

// NewPcapFeed writes the pcapng (or pcap) header for a capture with header
// h to w. With live set, every Write flushes its packets to w at once (for
// "wireshark -k -i -"); otherwise output is buffered until Flush or Close.
func NewPcapFeed(w io.Writer, h Header, opts *pcapng.Options, live bool) (*PcapFeed, error) {
	o := PcapOptions(h, opts)
	x, err := pcapng.NewWriter(w, &o)
	if err != nil {
		return nil, err
	}
	f := &PcapFeed{x: x, live: live, log: logPorts(h)}
	if live {
		if err := x.Flush(); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// Write exports one record, at its time or the latest time written before
// if that is later (as Writer records it). After the first write error every call
// returns it (a live viewer that went away does not stop the recording:
// the caller may log the error and carry on).
func (f *PcapFeed) Write(r *Record) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	// Times never decrease, as Writer clamps them: a live stream is then
	// the same bytes as the export of the recording.
	t := max(r.Time, f.last)
	f.last = t
	var err error
	switch r.Kind {
	case KindChunk:
		if f.log[r.Port] {
			err = f.x.Log(t, r.Port, r.Data)
		} else {
			err = f.x.Chunk(t, r.Port, r.Dir, r.Data)
		}
	case KindFrame:
		h := ws.Header{Fin: r.Frame.Fin, Rsv: r.Frame.Rsv, Opcode: r.Frame.Opcode, Masked: r.Frame.Masked, MaskKey: r.Frame.MaskKey, Length: r.Frame.Length}
		err = f.x.Frame(t, int(r.Frame.Link), r.Dir, h, r.Data)
	case KindEvent:
		err = f.x.Event(t, pcapEvent(r))
	}
	if err == nil && f.live {
		err = f.x.Flush()
	}
	f.err = err
	return err
}

// Note adds a text event (shown on the "atbridge-events" interface).
func (f *PcapFeed) Note(t int64, name, text string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	f.err = f.x.Event(max(t, f.last), pcapng.Event{Kind: pcapng.EvNote, Name: name, Text: text, Link: -1})
	return f.err
}

// Flush writes out buffered packets.
func (f *PcapFeed) Flush() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	f.err = f.x.Flush()
	return f.err
}

// Close ends the export (the decoder reports what it still holds) and
// flushes. It is idempotent and does not close the writer.
func (f *PcapFeed) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	err := f.x.Close()
	if f.err != nil && !errors.Is(f.err, pcapng.ErrClosed) {
		return f.err
	}
	return err
}

// Stats reports what the exporter wrote so far.
func (f *PcapFeed) Stats() pcapng.Stats {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.x.Stats()
}

// ExportStats says what Export did.
type ExportStats struct {
	Records int64 // records read
	Damaged int   // damaged stretches skipped (each also noted in the export)
	Lost    int64 // bytes skipped as damaged
	Pcap    pcapng.Stats
}

// Export reads r to its end (or past opts.Until) and writes the records to
// w as pcapng (or pcap, see pcapng.Options). Damage in the capture
// is not fatal: the stretch is skipped, counted in ExportStats, and shown
// as an event in the export. It stops early when ctx is done. w is not
// closed.
func Export(ctx context.Context, r *Reader, w io.Writer, opts *pcapng.Options) (ExportStats, error) {
	var st ExportStats
	var until int64
	if opts != nil {
		until = opts.Until
	}
	feed, err := NewPcapFeed(w, r.Header(), opts, false)
	if err != nil {
		return st, err
	}
	last := int64(0)
	// NextInto: the exporter's Chunk and Frame do not retain their bytes,
	// so one Record serves the whole file.
	var x Record
	rec := &x
	for {
		if st.Records&1023 == 0 && ctx.Err() != nil {
			feed.Close()
			st.Pcap = feed.Stats()
			return st, ctx.Err()
		}
		err := r.NextInto(rec)
		if err == io.EOF {
			break
		}
		var d *DamageError
		if errors.As(err, &d) {
			st.Damaged++
			st.Lost += d.Length
			if err := feed.Note(last, "damage", d.Error()); err != nil {
				return st, err
			}
			continue
		}
		if err != nil {
			feed.Close()
			st.Pcap = feed.Stats()
			return st, fmt.Errorf("export: %w", err)
		}
		st.Records++
		if until > 0 && rec.Time > until {
			break
		}
		last = rec.Time
		if err := feed.Write(rec); err != nil {
			return st, fmt.Errorf("export: %w", err)
		}
	}
	err = feed.Close()
	st.Pcap = feed.Stats()
	if err != nil {
		return st, fmt.Errorf("export: %w", err)
	}
	return st, nil
}
