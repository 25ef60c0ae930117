package analysis

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/formats"
	"github.com/atbridge/atbridge/formats/at"
)

// liveSink records what a Live hands over; gate, when set, holds the
// first Record until it is closed.
type liveSink struct {
	gate    chan struct{}
	events  []string
	records []capture.Record
	ticks   int
}

func (s *liveSink) Events(evs []at.Event) {
	for _, e := range evs {
		s.events = append(s.events, e.Kind.String()+" "+e.Name)
	}
}

func (s *liveSink) Record(r *capture.Record) {
	if s.gate != nil {
		<-s.gate
		s.gate = nil
	}
	s.records = append(s.records, *r)
}

func (s *liveSink) Tick() { s.ticks++ }

func TestLiveDecodes(t *testing.T) {
	l := NewLive(capture.Header{}, nil)
	sink := &liveSink{}
	done := make(chan struct{})
	go func() { defer close(done); l.Run(sink) }()
	l.Observe(&capture.Record{Kind: capture.KindChunk, Time: 1, Dir: formats.ToDevice, Data: []byte("AT\r\n")})
	l.Observe(&capture.Record{Kind: capture.KindChunk, Time: 2, Dir: formats.ToHost, Data: []byte("AT\r\n\r\nOK\r\n")})
	l.Observe(&capture.Record{Kind: capture.KindEvent, Time: 3, Event: capture.Event{Type: capture.EvNote, Text: "marker"}})
	l.Close()
	<-done
	got := strings.Join(sink.events, "|")
	for _, want := range []string{"command AT", "result OK", "transaction AT"} {
		if !strings.Contains(got, want) {
			t.Errorf("events %q lack %q", got, want)
		}
	}
	if len(sink.records) != 1 || sink.records[0].Event.Text != "marker" {
		t.Errorf("records = %+v, want the one note", sink.records)
	}
	if sink.ticks < 1 {
		t.Error("no Tick at the end")
	}
}

// TestLiveSkips: a view that is behind never holds up Observe; it is told
// how many records it missed, in the middle and at the end.
func TestLiveSkips(t *testing.T) {
	l := NewLive(capture.Header{}, &LiveOptions{Raw: true, Queue: 4, Viewer: "page"})
	sink := &liveSink{gate: make(chan struct{})}
	done := make(chan struct{})
	go func() { defer close(done); l.Run(sink) }()
	start := time.Now()
	for i := range 100 {
		l.Observe(&capture.Record{Kind: capture.KindChunk, Time: int64(i), Dir: formats.ToDevice, Data: []byte{'A'}})
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Observe was held up for %v", d)
	}
	close(sink.gate)
	l.Close()
	<-done
	var notes []string
	chunks := 0
	for _, r := range sink.records {
		if r.Kind == capture.KindEvent {
			notes = append(notes, r.Event.Text)
		} else {
			chunks++
		}
	}
	if chunks >= 100 || chunks < 1 {
		t.Fatalf("%d chunks shown of 100 with a queue of 4 and a stalled view", chunks)
	}
	if len(notes) == 0 || !strings.Contains(notes[len(notes)-1], "(the page was too slow)") {
		t.Fatalf("notes = %q, want a last one naming the page", notes)
	}
	skipped := 0
	for _, n := range notes {
		var k int
		if _, err := fmtSscan(n, &k); err != nil {
			t.Fatalf("note %q: %v", n, err)
		}
		skipped += k
	}
	if skipped+chunks != 100 {
		t.Errorf("notes %q: %d skipped + %d shown != 100", notes, skipped, chunks)
	}
}

func fmtSscan(note string, n *int) (int, error) {
	return fmt.Sscanf(note, "live view: %d records", n)
}
