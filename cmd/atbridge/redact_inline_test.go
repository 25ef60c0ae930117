package main

import (
	"bytes"
	"path/filepath"
	"testing"
	"time"

	"github.com/atbridge/atbridge/formats"
)

// TestRedactInlineToken types a bearer token inline in a command line (not
// firmware syntax: the emulated board echoes it and answers ERROR) through
// "proxy --redact" over a real pty, and through a plain proxy whose
// capture "atbridge redact" then cleans: neither capture holds the token,
// in the host's line or in the echo.
func TestRedactInlineToken(t *testing.T) {
	const tok = "tok_7hQz2LmX90aB"
	dir := t.TempDir()
	record := func(name string, extra ...string) string {
		link := filepath.Join(dir, name)
		rec := filepath.Join(dir, name+".atcap")
		_, stderr, stop := startCmd(t, append([]string{"proxy", "--host", "pty:" + link, "--device", "emulate", "-w", rec, "--quiet"}, extra...)...)
		f := openLink(t, link, stderr)
		var got []byte
		for _, line := range []string{"AT", `AT+WSHEAD=0,"Authorization: Bearer ` + tok + `"`, "AT"} {
			if _, err := f.WriteString(line + "\r\n"); err != nil {
				t.Fatal(err)
			}
			got = nil
			buf := make([]byte, 256)
			_ = f.SetReadDeadline(time.Now().Add(10 * time.Second))
			for !bytes.Contains(got, []byte("\r\nOK\r\n")) && !bytes.Contains(got, []byte("\r\nERROR\r\n")) {
				n, err := f.Read(buf)
				got = append(got, buf[:n]...)
				if err != nil {
					t.Fatalf("after %q: %v", got, err)
				}
			}
		}
		if code := stop(); code != exitOK && code != exitSignal {
			t.Fatalf("proxy exited %d: %s", code, stderr.String())
		}
		return rec
	}
	plain := record("plain")
	if all, _, _ := everything(t, plain); len(leaked(all, []string{tok}, nil)) == 0 {
		t.Fatalf("the unredacted capture should hold the token")
	}
	live := record("live", "--redact")
	cleaned := filepath.Join(dir, "cleaned.atcap")
	if _, stderr, code := execCLI(t, "", "redact", plain, "-o", cleaned); code != exitOK {
		t.Fatalf("redact exited %d: %s", code, stderr)
	}
	for _, p := range []string{live, cleaned} {
		all, _, recs := everything(t, p)
		if l := leaked(all, []string{tok}, nil); len(l) > 0 {
			t.Errorf("%s leaks %v", filepath.Base(p), l)
		}
		echoed := false
		for _, r := range recs {
			if r.Dir == formats.ToHost && len(r.Data) > 0 {
				echoed = true
			}
		}
		if !echoed {
			t.Errorf("%s has no device bytes", filepath.Base(p))
		}
	}
}
