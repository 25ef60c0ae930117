package redact

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/formats"
	"github.com/atbridge/atbridge/formats/at"
	"github.com/atbridge/atbridge/internal/session"
)

// sessionSecrets reads the secret values a session file lists (see
// session.Secrets). None of them, nor any 4-byte piece of one, may survive
// redaction.
func sessionSecrets(t testing.TB, path string) []string {
	t.Helper()
	out, err := session.Secrets(path)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// goldenPattern is the --pattern the golden tests pass.
var goldenPattern = regexp.MustCompile(`SERIAL-[0-9]+`)

// leaks returns the secrets, or 4-byte pieces of them, found in b, except
// pieces that also occur in bg outside every secret (the original bytes:
// "Secr" is no leak where the capture says "+CWJAP" and "Secret" elsewhere).
func leaks(b []byte, secrets []string, bg []byte) []string {
	bg = bytes.Clone(bg)
	for _, s := range secrets {
		bg = bytes.ReplaceAll(bg, []byte(s), bytes.Repeat([]byte{0}, len(s)))
	}
	var out []string
	for _, s := range secrets {
		if bytes.Contains(b, []byte(s)) {
			out = append(out, fmt.Sprintf("%q whole", s))
			continue
		}
		for i := 0; i+4 <= len(s); i++ {
			if w := []byte(s[i : i+4]); bytes.Contains(b, w) && !bytes.Contains(bg, w) {
				out = append(out, fmt.Sprintf("%q of %q", s[i:i+4], s))
				break
			}
		}
	}
	return out
}

func sessionRecords(t testing.TB, path string) (capture.Header, []capture.Record) {
	t.Helper()
	ss, err := session.ParseFile(path)
	if err != nil {
		t.Fatal(err)
	}
	h := capture.Header{Tool: "test", Meta: map[string]string{"firmware": ss.Meta["firmware"]},
		Ports: []capture.PortInfo{{Name: "host", Role: "host"}, {Name: "device", Role: "device"}}}
	return h, ss.Records()
}

func runAll(h capture.Header, recs []capture.Record, o *Options) []capture.Record {
	if o.Decoder == nil {
		o.Decoder = h.DecoderOptions()
	}
	r := New(o)
	var out []capture.Record
	for i := range recs {
		out = append(out, r.Add(&recs[i])...)
	}
	return append(out, r.Flush()...)
}

// decodeShape decodes records and describes every event without its bytes:
// what the redacted capture must keep.
func decodeShape(h capture.Header, recs []capture.Record) []string {
	d := at.NewDecoder(h.DecoderOptions())
	var out []string
	add := func(evs []at.Event) {
		for _, e := range evs {
			s := fmt.Sprintf("%d %s %s %d+%d %q link=%d", e.Seq, e.Kind, e.Dir, e.Offset, len(e.Raw), e.Name, e.Link)
			if e.Tx != nil {
				s += fmt.Sprintf(" result=%q resp=%v", e.Tx.Result, e.Tx.Response)
			}
			if e.Cmd != nil {
				s += fmt.Sprintf(" params=%d", len(e.Cmd.Params))
			}
			if e.Err != nil {
				s += " err=" + e.Err.Error()
			}
			out = append(out, s)
		}
	}
	for _, r := range recs {
		if r.Kind == capture.KindChunk {
			add(d.Feed(r.Time, r.Dir, r.Data))
		}
	}
	add(d.Flush())
	return out
}

func TestRedactGoldenSession(t *testing.T) {
	h, recs := sessionRecords(t, "../testdata/sessions/secrets.txt")
	goldenSecrets := sessionSecrets(t, "../testdata/sessions/secrets.txt")
	var all []byte
	for _, r := range recs {
		all = append(all, r.Data...)
	}
	if l := leaks(all, goldenSecrets, nil); len(l) != len(goldenSecrets) {
		t.Fatalf("the session lacks some secrets: %d of %d present", len(l), len(goldenSecrets))
	}
	var found []Redaction
	out := runAll(h, recs, &Options{Rules: at.SecretRules{Patterns: []*regexp.Regexp{goldenPattern}},
		OnRedact: func(x Redaction) { found = append(found, x) }})
	if len(out) != len(recs) {
		t.Fatalf("%d records out for %d in", len(out), len(recs))
	}
	var got []byte
	for i := range out {
		if len(out[i].Data) != len(recs[i].Data) || out[i].Time != recs[i].Time || out[i].Dir != recs[i].Dir {
			t.Fatalf("record %d changed shape: %d bytes at %d %s, want %d at %d %s", i, len(out[i].Data), out[i].Time, out[i].Dir, len(recs[i].Data), recs[i].Time, recs[i].Dir)
		}
		got = append(got, out[i].Data...)
	}
	for _, l := range leaks(got, goldenSecrets, all) {
		t.Errorf("leaked %s", l)
	}
	if len(found) == 0 {
		t.Fatal("no redactions reported")
	}
	a, b := decodeShape(h, recs), decodeShape(h, out)
	if strings.Join(a, "\n") != strings.Join(b, "\n") {
		for i := range min(len(a), len(b)) {
			if a[i] != b[i] {
				t.Fatalf("decoding changed at event %d:\n was %s\n now %s", i, a[i], b[i])
			}
		}
		t.Fatalf("decoding changed: %d events, was %d", len(b), len(a))
	}
	if testing.Verbose() {
		for _, r := range out {
			t.Logf("%s %q", r.Dir, r.Data)
		}
	}
}

// TestRedactFramesEventsHeader: secrets outside the serial traffic (tap
// URLs, frame payloads, a recorded handshake, notes, the header) are
// redacted too, including a secret learned from a command.
func TestRedactFramesEventsHeader(t *testing.T) {
	pw := "WifiKnown77"
	recs := []capture.Record{
		{Kind: capture.KindChunk, Time: 1, Dir: formats.ToDevice, Data: []byte(`AT+CWJAP="ssid","` + pw + "\"\r\n")},
		{Kind: capture.KindEvent, Time: 2, Event: capture.Event{Type: capture.EvWSConnected, Text: "wss://u:TapPass1@h:443/ws?token=TapTok2"}},
		{Kind: capture.KindFrame, Time: 3, Dir: formats.ToServer, Data: []byte(`{"password":"FramePw3","echo":"` + pw + `"}`)},
		{Kind: capture.KindEvent, Time: 4, Event: capture.Event{Type: capture.EvNote, Text: "handshake"}, Data: []byte("GET /ws HTTP/1.1\r\nHost: h\r\nAuthorization: Basic HsAuth4\r\nX-Device-Key: HsKey5\r\n\r\n")},
		{Kind: capture.KindEvent, Time: 5, Event: capture.Event{Type: capture.EvMarker, Text: "user typed " + pw}},
	}
	var found []Redaction
	r := New(&Options{OnRedact: func(x Redaction) { found = append(found, x) }})
	var out []capture.Record
	for i := range recs {
		out = append(out, r.Add(&recs[i])...)
	}
	out = append(out, r.Flush()...)
	h := r.Header(capture.Header{Meta: map[string]string{"notes": "wifi is " + pw}, Ports: []capture.PortInfo{{Name: "tcp:h:1?token=PortTok6"}}})
	var all []byte
	for _, o := range out {
		all = append(all, o.Data...)
		all = append(all, o.Event.Text...)
	}
	all = append(all, h.Meta["notes"]+h.Ports[0].Name...)
	var in []byte
	for _, r := range recs {
		in = append(append(in, r.Data...), r.Event.Text...)
	}
	for _, l := range leaks(all, []string{pw, "TapPass1", "TapTok2", "FramePw3", "HsAuth4", "HsKey5", "PortTok6"}, in) {
		t.Errorf("leaked %s", l)
	}
	if !bytes.Contains(all, []byte("Host: h")) || !strings.Contains(h.Meta["notes"], "wifi is ") {
		t.Errorf("redacted too much: %q", all)
	}
	fields := map[string]bool{}
	for _, x := range found {
		fields[x.Field] = true
	}
	for _, f := range []string{"data", "text", "meta:notes", "port:0"} {
		if !fields[f] {
			t.Errorf("no redaction reported in %s: %+v", f, found)
		}
	}
}
