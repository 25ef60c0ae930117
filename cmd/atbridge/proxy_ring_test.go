package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/formats"
)

// TestProxyRing is a soak bench with a ring: the emulator as the device, a
// host on a pty that sends AT, then a command the firmware answers ERROR,
// then more. The proxy writes one window, soak-0001.atcap, that holds the
// session up to the ERROR and the --after time past it, says so on stderr,
// and show and stats read it.
func TestProxyRing(t *testing.T) {
	dir := t.TempDir()
	host, base := filepath.Join(dir, "host"), filepath.Join(dir, "soak.atcap")
	_, pxErr, stop := startCmd(t, "proxy", "--host", "pty:"+host, "--device", "emulate", "-w", base, "--quiet",
		"--ring", "1m", "--trigger", "error", "--trigger", "regex:^AT\\+BOGUS", "--after", "300ms")
	f := openLink(t, host, pxErr)
	var got []byte
	for _, c := range []string{"AT\r\n", "ATE0\r\n", "AT+GMR\r\n"} {
		f.Write([]byte(c))
		readUntil(t, f, &got, "\r\nOK\r\n")
		got = got[:0]
	}
	f.Write([]byte("AT+BOGUS=1\r\n"))
	readUntil(t, f, &got, "ERROR\r\n")
	got = got[:0]
	f.Write([]byte("AT\r\n")) // within the after part
	readUntil(t, f, &got, "\r\nOK\r\n")
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(pxErr.String(), "wrote "+filepath.Join(dir, "soak-0001.atcap")) {
		if time.Now().After(deadline) {
			t.Fatalf("no window written:\n%s", pxErr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	got = got[:0]
	f.Write([]byte("AT+CWMODE?\r\n")) // after the window: in the ring only
	readUntil(t, f, &got, "\r\nOK\r\n")
	if code := stop(); code != exitOK {
		t.Fatalf("proxy exit %d:\n%s", code, pxErr.String())
	}
	out := pxErr.String()
	for _, want := range []string{
		"recording to a 1m ring (windows to " + filepath.Join(dir, "soak-0001.atcap") + " on error, regex:^AT\\+BOGUS)",
		// The host's line fires the regex first, the ERROR extends the window.
		`trigger regex:^AT\+BOGUS: host→device "AT+BOGUS=1" at `,
		"ms after, ", "2 triggers",
		"1 window(s): " + filepath.Join(dir, "soak-0001.atcap"),
	} {
		if !strings.Contains(out, want) {
			t.Errorf("stderr lacks %q:\n%s", want, out)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "soak-0002.atcap")); err == nil {
		t.Error("a second window was written")
	}
	h, recs := readCapture(t, filepath.Join(dir, "soak-0001.atcap"))
	if h.Meta["ring_window"] != "1" {
		t.Errorf("header meta %v", h.Meta)
	}
	var toDev []byte
	trig := 0
	for _, r := range recs {
		if r.ATChunk() && r.Dir == formats.ToDevice {
			toDev = append(toDev, r.Data...)
		}
		if r.Kind == capture.KindEvent && r.Event.Type == capture.EvTrigger {
			trig++
		}
	}
	if want := "AT\r\nATE0\r\nAT+GMR\r\nAT+BOGUS=1\r\nAT\r\n"; string(toDev) != want {
		t.Errorf("window holds host bytes %q, want %q", toDev, want)
	}
	if trig != 2 {
		t.Errorf("%d trigger records, want 2", trig)
	}
	show, _, code := execCLI(t, "", "show", filepath.Join(dir, "soak-0001.atcap"))
	if code != exitOK || !strings.Contains(show, "trigger") || !strings.Contains(show, "AT+BOGUS=1") ||
		!strings.Contains(show, `# window 1 of a ring recording (--ring), written when this fired: regex:^AT\+BOGUS: host→device "AT+BOGUS=1"`) {
		t.Errorf("show (exit %d):\n%s", code, show)
	}

	// A second run to the same name refuses to replace the window.
	_, errOut, code := execCLI(t, "", "proxy", "--host", "pty:"+host+"2", "--device", "emulate", "-w", base, "--ring", "1m", "--trigger", "error")
	if code == exitOK || !strings.Contains(errOut, "soak-0001.atcap exist from an earlier ring recording") {
		t.Errorf("second run (exit %d): %s", code, errOut)
	}
}

func TestRingFlagErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--ring", "1m"}, "--ring needs at least one --trigger"},
		{[]string{"--trigger", "error"}, "--trigger needs --ring"},
		{[]string{"--ring", "1m", "--trigger", "oops"}, "not a trigger; want one of error, busy"},
		{[]string{"--ring", "soon", "--trigger", "error"}, `--ring "soon": want a duration`},
		{[]string{"--ring", "1m", "--trigger", "error", "--split", "10m"}, "--ring and --split do not go together"},
	} {
		args := append([]string{"proxy", "--host", "pty:" + filepath.Join(t.TempDir(), "h"), "--device", "emulate", "-w", filepath.Join(t.TempDir(), "x.atcap")}, c.args...)
		_, errOut, code := execCLI(t, "", args...)
		if code == exitOK || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, %q; want %q", c.args, code, errOut, c.want)
		}
	}
}
