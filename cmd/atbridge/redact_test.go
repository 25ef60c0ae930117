package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/formats/at"
	"github.com/atbridge/atbridge/internal/session"
	"github.com/atbridge/atbridge/redact"
	"github.com/atbridge/atbridge/replay"
)

// secretsOf reads the secret values a session file lists (session.Secrets).
func secretsOf(t *testing.T, path string) []string {
	t.Helper()
	out, err := session.Secrets(path)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// everything returns every byte a capture holds, decompressed: the file as
// stored, each record's data and event text, each header field.
func everything(t *testing.T, path string) (all []byte, h capture.Header, recs []capture.Record) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r, err := capture.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	h = r.Header()
	all = append(all, raw...)
	all = append(all, "\x00"+h.Tool...)
	for k, v := range h.Meta {
		all = append(all, "\x00"+k+"\x00"+v...)
	}
	for _, p := range h.Ports {
		all = append(all, "\x00"+p.Name+"\x00"+p.Role...)
	}
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, 0)
		all = append(all, rec.Data...)
		all = append(all, "\x00"+rec.Event.Text...)
		recs = append(recs, *rec)
	}
	return all, h, recs
}

// leaked returns the secrets, or 4-byte pieces of them, in b that are not
// also in bg outside every secret.
func leaked(b []byte, secrets []string, bg []byte) []string { return leakedN(b, secrets, bg, 4) }

// leakedN is leaked with n-byte pieces.
func leakedN(b []byte, secrets []string, bg []byte, n int) []string {
	bg = bytes.Clone(bg)
	for _, s := range secrets {
		bg = bytes.ReplaceAll(bg, []byte(s), bytes.Repeat([]byte{0}, len(s)))
	}
	var out []string
	for _, s := range secrets {
		for i := 0; i+n <= min(len(s), n) || i+n <= len(s); i++ {
			if w := []byte(s[i:min(i+n, len(s))]); bytes.Contains(b, w) && !bytes.Contains(bg, w) {
				out = append(out, fmt.Sprintf("%q of %q", w, s))
				break
			}
		}
	}
	return out
}

// eventShapes decodes records and describes each event without its bytes.
func eventShapes(h capture.Header, recs []capture.Record) []string {
	d := at.NewDecoder(h.DecoderOptions())
	var out []string
	add := func(evs []at.Event) {
		for _, e := range evs {
			s := fmt.Sprintf("%d %s %s %d+%d %q link=%d", e.Seq, e.Kind, e.Dir, e.Offset, len(e.Raw), e.Name, e.Link)
			if e.Tx != nil {
				s += fmt.Sprintf(" result=%q resp=%v", e.Tx.Result, e.Tx.Response)
			}
			out = append(out, s)
		}
	}
	for _, r := range recs {
		if r.Kind == capture.KindChunk {
			add(d.Feed(r.Time, r.Dir, r.Data))
		}
	}
	return append(out, "flush")
}

// TestRedactGoldens makes testdata/secrets*.atcap from
// testdata/sessions/secrets*.txt (as TestGoldens does for *.session; -update
// rewrites them), redacts each with the CLI, and checks the output file:
// no byte sequence of any secret anywhere in it (stored bytes, decompressed
// records, texts, header), same records and lengths, mode 0600, the header
// says what was redacted, and it verifies, decodes the same, mocks and
// replays.
func TestRedactGoldens(t *testing.T) {
	t.Chdir("../..")
	files, _ := filepath.Glob("testdata/sessions/secrets*.txt")
	if len(files) == 0 {
		t.Fatal("no testdata/sessions/secrets*.txt")
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".txt")
		t.Run(name, func(t *testing.T) {
			s, err := session.ParseFile(f)
			if err != nil {
				t.Fatal(err)
			}
			secrets := secretsOf(t, f)
			path := "testdata/" + name + ".atcap"
			checkGolden(t, path, sessionCapture(t, name, s))
			inAll, inHdr, inRecs := everything(t, path)
			if l := leaked(inAll, secrets, nil); len(l) != len(secrets) {
				t.Fatalf("the input holds only %d of %d secrets", len(l), len(secrets))
			}

			out := filepath.Join(t.TempDir(), "out.atcap")
			stdout, stderr, code := execCLI(t, "", "redact", "--pattern", "SERIAL-[0-9]+", path, "-o", out)
			if code != exitOK {
				t.Fatalf("redact: exit %d: %s", code, stderr)
			}
			if !strings.Contains(stderr, "redacted") || stdout != "" {
				t.Errorf("stdout %q, stderr %q", stdout, stderr)
			}
			if st, err := os.Stat(out); err != nil || st.Mode().Perm() != 0o600 {
				t.Fatalf("output mode: %v %v", st.Mode(), err)
			}
			outAll, outHdr, outRecs := everything(t, out)
			for _, l := range leaked(outAll, secrets, inAll) {
				t.Errorf("leaked %s", l)
			}
			if len(outRecs) != len(inRecs) {
				t.Fatalf("%d records, want %d", len(outRecs), len(inRecs))
			}
			for i := range inRecs {
				a, b := inRecs[i], outRecs[i]
				if len(a.Data) != len(b.Data) || a.Time != b.Time || a.Dir != b.Dir || a.Kind != b.Kind {
					t.Fatalf("record %d changed shape", i)
				}
			}
			red := outHdr.Meta["redacted"]
			for _, rule := range []string{"cwjap-password", "cwsap-password", "wshead", "wsopen-auth", "uri", "key-material", "mqtt-credentials", "http-header", "token", "echo", "pattern"} {
				if !strings.Contains(red, rule+"=") {
					t.Errorf("header redacted=%q lacks %s", red, rule)
				}
			}
			if outHdr.Start != inHdr.Start || len(outHdr.Ports) != len(inHdr.Ports) {
				t.Errorf("header changed: %+v", outHdr)
			}

			// Verifies, decodes the same.
			if rep, err := capture.Verify(out, nil); err != nil || !rep.OK() {
				t.Fatalf("verify: %v %+v", err, rep)
			}
			if a, b := eventShapes(inHdr, inRecs), eventShapes(outHdr, outRecs); strings.Join(a, "\n") != strings.Join(b, "\n") {
				t.Errorf("the redacted capture decodes differently")
			}
			if _, stderr, code := execCLI(t, "", "show", out); code != exitOK {
				t.Errorf("show: exit %d %s", code, stderr)
			}

			// Mocks and replays as the original does, EQUAL (the decoder
			// knows the payloads of every command the session uses).
			if a, b := replaySelf(t, path), replaySelf(t, out); a != b || !strings.HasPrefix(a, "equal=true misses=0") {
				t.Errorf("replay against its own mock: redacted %s, original %s", b, a)
			}
		})
	}
}

// replaySelf replays a capture's host side against a mock of the same
// capture and summarises the outcome per transaction.
func replaySelf(t *testing.T, path string) string {
	t.Helper()
	script, err := replay.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	a, b := net.Pipe()
	m := replay.NewMock(script, &replay.MockOptions{Timing: replay.TimingFast})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); m.Serve(ctx, a); a.Close() }()
	got, err := replay.Run(ctx, b, script, &replay.RunOptions{Timeout: 2 * time.Second, URCWait: 200 * time.Millisecond})
	b.Close()
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	rep := replay.Compare(script, got, nil)
	// Unsolicited differences of a session that is not EQUAL vary from run
	// to run (timing); the transactions do not.
	sm := rep.Summary
	out := fmt.Sprintf("equal=%v misses=%d transactions=%d equal=%d different=%d missing=%d extra=%d:",
		rep.Equal, len(m.Stats().Misses), sm.Transactions, sm.Equal, sm.Different, sm.Missing, sm.Extra)
	for _, tx := range rep.Transactions {
		out += " " + fmt.Sprint(tx.Status)
	}
	return out
}

// TestRedactReplays redacts every golden capture and checks that the result
// replays against a mock of itself exactly as the original does.
func TestRedactReplays(t *testing.T) {
	t.Chdir("../..")
	files, _ := filepath.Glob("testdata/*.atcap")
	if len(files) < 5 {
		t.Fatal("no golden captures")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out.atcap")
			if _, stderr, code := execCLI(t, "", "redact", f, "-o", out); code != exitOK {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			a, b := replaySelf(t, f), replaySelf(t, out)
			t.Logf("original %s", a)
			if a != b {
				t.Errorf("redacted %s\noriginal %s", b, a)
			}
			if !strings.HasPrefix(a, "equal=true misses=0") {
				t.Errorf("original does not replay: %s", a)
			}
		})
	}
}

// TestRedactCheck lists what would be redacted, never the secrets, and
// writes nothing.
func TestRedactCheck(t *testing.T) {
	t.Chdir("../..")
	secrets := secretsOf(t, "testdata/sessions/secrets.txt")
	stdout, stderr, code := execCLI(t, "", "redact", "--check", "--pattern", "SERIAL-[0-9]+", "testdata/secrets.atcap")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) < 20 || lines[0] != "rule\trecord\tfield\toffset\tlength" {
		t.Fatalf("check output:\n%s", stdout)
	}
	for _, l := range lines[1:] {
		if f := strings.Split(l, "\t"); len(f) != 5 {
			t.Errorf("line %q", l)
		}
	}
	// Rule names ("known-secret", "token") share short pieces with secrets.
	for _, l := range leakedN([]byte(stdout+stderr), secrets, nil, 8) {
		t.Errorf("--check printed %s", l)
	}
	for _, bad := range [][]string{{"redact", "testdata/secrets.atcap"}, {"redact", "--pattern", "(", "--check", "testdata/secrets.atcap"}, {"redact", "--check"}} {
		if _, _, code := execCLI(t, "", bad...); code != exitFailure {
			t.Errorf("%q: exit %d, want %d", bad, code, exitFailure)
		}
	}
	_ = redact.Summary
}

// TestRedactDamaged: a capture with a damaged block is redacted as far as
// it reads; the command says records were lost (exit 1) and the output
// still holds no secret.
func TestRedactDamaged(t *testing.T) {
	t.Chdir("../..")
	secrets := secretsOf(t, "testdata/sessions/secrets.txt")
	// One block per record, so damage loses a few records, not all.
	_, hdr, recs := everything(t, "testdata/secrets.atcap")
	var buf bytes.Buffer
	w, err := capture.NewWriter(&buf, hdr, &capture.WriterOptions{FlushInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	for i := range recs {
		w.Write(&recs[i])
		w.Flush()
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	for i := len(b) * 40 / 100; i < len(b)*2/5+8; i++ {
		b[i] ^= 0x5a
	}
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.atcap"), filepath.Join(dir, "out.atcap")
	if err := os.WriteFile(in, b, 0o600); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := execCLI(t, "", "redact", "--pattern", "SERIAL-[0-9]+", in, "-o", out)
	if code != exitProblem || !strings.Contains(stderr, "damaged") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	inAll, _, _ := everything(t, "testdata/secrets.atcap")
	all, _, outRecs := everything(t, out)
	if len(outRecs) < len(recs)/2 || len(outRecs) >= len(recs) {
		t.Fatalf("%d records of %d kept", len(outRecs), len(recs))
	}
	for _, l := range leaked(all, secrets, inAll) {
		t.Errorf("leaked %s", l)
	}
}
