package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/formats"
	"github.com/atbridge/atbridge/replay"
)

// TestMockRedactLive records a mock session with --redact over a real pty
// while a host replays testdata/config.atcap (a Wi-Fi password with
// escapes, an AT+WSHEAD Authorization header and its read-back, a WSOPEN
// URI with user:pass@ and an auth field): the recording holds none of the
// secrets, says in its header that it was redacted while recording, ends
// with a note of the counts, and decodes to the same transactions.
func TestMockRedactLive(t *testing.T) {
	src, err := filepath.Abs("../../testdata/config.atcap")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	link, out := filepath.Join(dir, "mock"), filepath.Join(dir, "mock.atcap")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done, _, stderr := startCLI(ctx, "mock", src, "--port", "pty:"+link, "--timing", "fast", "--linger", "300ms", "--redact", "-w", out)
	f := openPtyLink(t, link, done, stderr)
	script, err := replay.Load(src)
	if err != nil {
		t.Fatal(err)
	}
	got, err := replay.Run(ctx, f, script, &replay.RunOptions{Timeout: 2 * time.Second, URCWait: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if code := <-done; code != exitOK {
		t.Fatalf("mock exited %d: %s", code, stderr.String())
	}
	f.Close()
	if rep := replay.Compare(script, got, nil); !rep.Equal {
		t.Fatalf("the mock did not play the capture: %+v", rep.Summary)
	}

	secrets := []string{`pa"ss\word`, `pa\"ss\\word`, "QTIzMzIyMDE5OTk6MTIzNDU2Nzg=", "user:pass@", "dXNlcjpwYXNz"}
	inAll, _, _ := everything(t, src)
	if l := leaked(inAll, secrets, nil); len(l) != len(secrets) {
		t.Fatalf("config.atcap holds %d of the %d secrets", len(l), len(secrets))
	}
	all, h, recs := everything(t, out)
	last := recs[len(recs)-1]
	// The closing note names rules ("cwjap-password"), not secrets; the
	// file's compressed bytes hold pieces of it.
	all = bytes.ReplaceAll(all, []byte(last.Event.Text), nil)
	bg := append(append([]byte(nil), inAll...), last.Event.Text...)
	for _, l := range leaked(all, secrets, bg) {
		t.Errorf("leaked %s", l)
	}
	if !strings.HasPrefix(h.Meta["redacted"], "live") {
		t.Errorf("header redacted=%q", h.Meta["redacted"])
	}
	if last.Kind != capture.KindEvent || !strings.HasPrefix(last.Event.Text, "redacted: ") || !strings.Contains(last.Event.Text, "cwjap-password=1") {
		t.Errorf("last record %+v, want the redaction note", last.Event)
	}
	rs, err := replay.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs.Txs) != len(script.Txs) {
		t.Errorf("the redacted recording has %d transactions, want %d", len(rs.Txs), len(script.Txs))
	}
}

// TestProxyRedactLive: "atbridge proxy --redact" between a host on a pty
// and the emulator records the Wi-Fi password masked in both directions
// (the command and its ATE1 echo), while the host and the device see the
// real bytes.
func TestProxyRedactLive(t *testing.T) {
	dir := t.TempDir()
	link := filepath.Join(dir, "esp")
	rec := filepath.Join(dir, "s.atcap")
	_, stderr, stop := startCmd(t, "proxy", "--host", "pty:"+link, "--device", "emulate", "-w", rec, "--quiet", "--redact")
	f := openLink(t, link, stderr)
	var got []byte
	readUntil(t, f, &got, "ready\r\n")
	cmd := "AT+CWJAP=\"home\",\"Proxy\\\"Pw99\"\r\n"
	if _, err := f.Write([]byte(cmd)); err != nil {
		t.Fatal(err)
	}
	readUntil(t, f, &got, "\r\nOK\r\n")
	if !strings.Contains(string(got), cmd) {
		t.Fatalf("the host did not get the real echo: %q", got)
	}
	if code := stop(); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	recs := readRecords(t, rec)
	masked := "AT+CWJAP=\"home\",\"*****\\*****\"\r\n"
	if h := chunks(recs, formats.ToDevice); h != masked {
		t.Errorf("recorded host bytes %q, want %q", h, masked)
	}
	if d := chunks(recs, formats.ToHost); !strings.Contains(d, masked) || strings.Contains(d, "Pw99") {
		t.Errorf("recorded device bytes %q", d)
	}
	r, err := capture.Open(rec, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if !strings.HasPrefix(r.Header().Meta["redacted"], "live") {
		t.Errorf("header %v", r.Header().Meta)
	}
}
