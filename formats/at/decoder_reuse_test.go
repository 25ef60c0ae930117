package at_test

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/atbridge/atbridge/formats/at"
	"github.com/atbridge/atbridge/internal/atcorpus"
)

// decodeMixed decodes cs calling Decode for chunk i when useDecode(i), else
// Feed, and renders the events as render(decodeAll(...)) would: Decode's
// events at once (they are valid until the next call), Feed's at the end
// (they must have survived every later call). slab, when not 0, is the
// stream buffers' starting size.
func decodeMixed(opts *at.DecoderOptions, cs []chunk, slab int, useDecode func(i int) bool) string {
	d := at.NewDecoder(opts)
	if slab > 0 {
		at.SetSlabSize(d, slab)
	}
	type part struct {
		text string
		evs  []at.Event
	}
	var parts []part
	for i, c := range cs {
		if useDecode(i) {
			parts = append(parts, part{text: renderFull(d.Decode(c.t, c.dir, c.data))})
		} else {
			parts = append(parts, part{evs: d.Feed(c.t, c.dir, c.data)})
		}
	}
	parts = append(parts, part{evs: d.Flush()})
	var b strings.Builder
	for _, p := range parts {
		b.WriteString(p.text)
		b.WriteString(renderFull(p.evs))
	}
	return b.String()
}

// renderFull is render plus what Event.String leaves out of transactions
// and messages: the command line and parameters as typed, and the data.
func renderFull(evs []at.Event) string {
	var b strings.Builder
	for i := range evs {
		e := &evs[i]
		b.WriteString(e.String())
		if tx := e.Tx; tx != nil {
			fmt.Fprintf(&b, " line=%q", tx.Line)
			if c := tx.Cmd; c != nil {
				fmt.Fprintf(&b, " cmd=%q", c.Line)
				for _, p := range c.Params {
					fmt.Fprintf(&b, " %q@%d=%q", p.Raw, p.Offset, p.Value)
				}
			}
		}
		if m := e.Msg; m != nil {
			fmt.Fprintf(&b, " msg=%q", m.Data)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// reuseModes choose Decode or Feed per chunk.
var reuseModes = []struct {
	name string
	use  func(seed uint64) func(int) bool
}{
	{"decode", func(uint64) func(int) bool { return func(int) bool { return true } }},
	{"alternate", func(uint64) func(int) bool { return func(i int) bool { return i%2 == 0 } }},
	{"random", func(seed uint64) func(int) bool {
		r := rand.New(rand.NewPCG(seed, 11))
		return func(int) bool { return r.IntN(4) != 0 }
	}},
}

// TestDecodeMatchesFeed expects Decode to return the events Feed returns,
// alone or mixed with Feed, with stream buffers small enough to be reused
// and replaced many times, and Feed's events to stay intact meanwhile.
func TestDecodeMatchesFeed(t *testing.T) {
	for _, ns := range loadSessions(t) {
		opts := sessionOptions(ns.s)
		for _, split := range []struct {
			name string
			cs   []chunk
		}{{"chunks", sessionChunks(ns.s)}, {"bytes", bytewise(sessionChunks(ns.s))}} {
			want := renderFull(decodeAll(opts, split.cs))
			for _, slab := range []int{0, 64} {
				for _, m := range reuseModes {
					if got := decodeMixed(opts, split.cs, slab, m.use(uint64(slab))); got != want {
						t.Fatalf("%s %s slab %d %s: events differ from Feed's:\n%s", ns.name, split.name, slab, m.name, lineDiff(want, got))
					}
				}
			}
		}
	}
}

// TestDecodeCorpus does the same on generated traffic long enough for
// commands to be running whenever a stream buffer fills up.
func TestDecodeCorpus(t *testing.T) {
	var cs []chunk
	for _, c := range atcorpus.Generate(3, 200_000) {
		cs = append(cs, chunk{c.Time, c.Dir, c.Data})
	}
	want := renderFull(decodeAll(nil, cs))
	for _, slab := range []int{0, 100, 1000} {
		for _, m := range reuseModes {
			if got := decodeMixed(nil, cs, slab, m.use(uint64(slab))); got != want {
				t.Fatalf("slab %d %s: events differ from Feed's:\n%s", slab, m.name, lineDiff(want, got))
			}
		}
	}
}

// TestDecodeReusesStorage checks the point of Decode: once warmed up it
// allocates nothing for a telemetry exchange.
func TestDecodeReusesStorage(t *testing.T) {
	cs := script(">AT+WSSEND=0,5\r\n", "<AT+WSSEND=0,5\r\n\r\nOK\r\n\r\n>", ">hello", "<\r\nSEND OK\r\n",
		"<+WS_DATA:0,5,hello\r\n")
	d := at.NewDecoder(nil)
	run := func() {
		for _, c := range cs {
			d.Decode(c.t, c.dir, c.data)
		}
	}
	for range 10 {
		run()
	}
	// One allocation is left per command: the string of its parameters.
	if n := testing.AllocsPerRun(100, run); n > 1 {
		t.Errorf("Decode allocates %.1f times per exchange, want at most 1", n)
	}
}

// TestEventFields guards the decoder's reuse of storage: it writes each
// of these fields of every Event it emits (emitBytes, derivedEvent in
// decoder.go) and of every +WS_DATA WSMessage (wsData in data.go). A
// new field must be added there, then here.
func TestEventFields(t *testing.T) {
	for _, tt := range []struct {
		typ  reflect.Type
		want string
	}{
		{reflect.TypeFor[at.Event](), "Seq Kind Dir Time Start Offset Name Line Raw Link Data Topic Cmd Tx Msg State Err"},
		{reflect.TypeFor[at.WSMessage](), "Link Dir Opcode Fin PayloadLen PayloadOffset Data Result"},
	} {
		var got []string
		for i := range tt.typ.NumField() {
			got = append(got, tt.typ.Field(i).Name)
		}
		if g := strings.Join(got, " "); g != tt.want {
			t.Errorf("%s fields are %s, want %s", tt.typ.Name(), g, tt.want)
		}
	}
}
