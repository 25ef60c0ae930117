package at_test

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/atbridge/atbridge/formats"
	"github.com/atbridge/atbridge/formats/at"
	"github.com/atbridge/atbridge/internal/session"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// sessionsDir holds the project's golden scenarios.
const sessionsDir = "../../testdata/sessions"

type namedSession struct {
	name string
	s    *session.Session
}

// localSessionsDir holds scenarios only this package's tests read (the
// length-counted forms beyond WebSocket); their goldens sit beside the
// others in testdata/.
const localSessionsDir = "testdata/sessions"

func loadSessions(t testing.TB) []namedSession {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(sessionsDir, "*.session"))
	if err != nil || len(names) == 0 {
		t.Fatalf("no sessions in %s: %v", sessionsDir, err)
	}
	local, err := filepath.Glob(filepath.Join(localSessionsDir, "*.session"))
	if err != nil || len(local) == 0 {
		t.Fatalf("no sessions in %s: %v", localSessionsDir, err)
	}
	names = append(names, local...)
	var out []namedSession
	for _, n := range names {
		s, err := session.ParseFile(n)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, namedSession{strings.TrimSuffix(filepath.Base(n), ".session"), s})
	}
	return out
}

func sessionOptions(s *session.Session) *at.DecoderOptions {
	o := &at.DecoderOptions{EchoOff: s.Meta["echo"] == "off"}
	switch s.Meta["firmware"] {
	case "release":
		o.Firmware = at.FirmwareRelease
	case "development":
		o.Firmware = at.FirmwareDevelopment
	}
	return o
}

// chunk is one Feed call.
type chunk struct {
	t    int64
	dir  formats.Dir
	data []byte
}

func sessionChunks(s *session.Session) []chunk {
	var cs []chunk
	for _, st := range s.Steps {
		cs = append(cs, chunk{st.Time, st.Dir, st.Data})
	}
	return cs
}

func decodeAll(opts *at.DecoderOptions, cs []chunk) []at.Event {
	d := at.NewDecoder(opts)
	var evs []at.Event
	for _, c := range cs {
		evs = append(evs, d.Feed(c.t, c.dir, c.data)...)
	}
	return append(evs, d.Flush()...)
}

func render(evs []at.Event) string {
	var b strings.Builder
	for i := range evs {
		b.WriteString(evs[i].String())
		b.WriteByte('\n')
	}
	return b.String()
}

// TestDecoderGolden decodes every golden session and compares the events
// with formats/at/testdata/<session>.golden (go test ./formats/at -update).
func TestDecoderGolden(t *testing.T) {
	for _, ns := range loadSessions(t) {
		t.Run(ns.name, func(t *testing.T) {
			got := render(decodeAll(sessionOptions(ns.s), sessionChunks(ns.s)))
			path := filepath.Join("testdata", ns.name+".golden")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./formats/ -update)", err)
			}
			if got != string(want) {
				t.Errorf("decoded events differ from %s (run with -update after checking):\n%s", path, lineDiff(string(want), got))
			}
		})
	}
}

// lineDiff shows the first differing lines.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var a, b string
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			b = g[i]
		}
		if a != b {
			return fmt.Sprintf("line %d:\nwant %s\ngot  %s", i+1, a, b)
		}
	}
	return "(no difference)"
}

// checkCoverage verifies that the byte-carrying events of each direction
// tile its stream exactly, and that Seq numbers run without gaps.
func checkCoverage(t testing.TB, evs []at.Event, cs []chunk) {
	t.Helper()
	var want [2]bytes.Buffer
	for _, c := range cs {
		if c.dir == formats.ToDevice || c.dir == formats.ToHost {
			want[c.dir-formats.ToDevice].Write(c.data)
		}
	}
	var got [2]bytes.Buffer
	for i, e := range evs {
		if e.Seq != int64(i) {
			t.Fatalf("event %d has Seq %d", i, e.Seq)
		}
		if !e.Kind.CarriesBytes() {
			if e.Offset != -1 || e.Raw != nil {
				t.Fatalf("derived event %s carries bytes", e.String())
			}
			continue
		}
		if e.Dir != formats.ToDevice && e.Dir != formats.ToHost {
			t.Fatalf("byte event %s has direction %v", e.String(), e.Dir)
		}
		if len(e.Raw) == 0 {
			t.Fatalf("byte event %s is empty", e.String())
		}
		g := &got[e.Dir-formats.ToDevice]
		if e.Offset != int64(g.Len()) {
			t.Fatalf("event %s starts at %d, want %d (gap or overlap)", e.String(), e.Offset, g.Len())
		}
		g.Write(e.Raw)
	}
	for i := range got {
		if !bytes.Equal(got[i].Bytes(), want[i].Bytes()) {
			t.Fatalf("%v: events cover %q, stream is %q", formats.ToDevice+formats.Dir(i), got[i].Bytes(), want[i].Bytes())
		}
	}
}

func TestDecoderCoverage(t *testing.T) {
	for _, ns := range loadSessions(t) {
		t.Run(ns.name, func(t *testing.T) {
			cs := sessionChunks(ns.s)
			checkCoverage(t, decodeAll(sessionOptions(ns.s), cs), cs)
		})
	}
}

// splitAt returns cs with chunk i cut in two at k; both pieces keep the
// chunk's time.
func splitAt(cs []chunk, i, k int) []chunk {
	out := make([]chunk, 0, len(cs)+1)
	out = append(out, cs[:i]...)
	c := cs[i]
	out = append(out, chunk{c.t, c.dir, c.data[:k]}, chunk{c.t, c.dir, c.data[k:]})
	return append(out, cs[i+1:]...)
}

// bytewise returns cs with every chunk cut into single bytes.
func bytewise(cs []chunk) []chunk {
	var out []chunk
	for _, c := range cs {
		for i := range c.data {
			out = append(out, chunk{c.t, c.dir, c.data[i : i+1]})
		}
	}
	return out
}

// TestDecoderSplitInvariance decodes every golden session cut at every
// byte boundary (one cut at a time, and all cuts at once) and expects the
// same events.
func TestDecoderSplitInvariance(t *testing.T) {
	for _, ns := range loadSessions(t) {
		t.Run(ns.name, func(t *testing.T) {
			opts := sessionOptions(ns.s)
			cs := sessionChunks(ns.s)
			want := render(decodeAll(opts, cs))
			if got := render(decodeAll(opts, bytewise(cs))); got != want {
				t.Fatalf("byte-by-byte decoding differs:\n%s", lineDiff(want, got))
			}
			for i := range cs {
				for k := 1; k < len(cs[i].data); k++ {
					if got := render(decodeAll(opts, splitAt(cs, i, k))); got != want {
						t.Fatalf("chunk %d cut at %d: events differ:\n%s", i, k, lineDiff(want, got))
					}
				}
			}
		})
	}
}
