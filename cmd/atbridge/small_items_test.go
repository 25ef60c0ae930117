package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestSniffHelpIsSniffs: sniff's help speaks of adapters that listen, not
// of a proxy that forwards to a pty host app.
func TestSniffHelpIsSniffs(t *testing.T) {
	out, _, code := execCLI(t, "", "sniff", "--help")
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	for _, bad := range []string{"termios", "pty host app", "atbridge proxy", "forwarded"} {
		if strings.Contains(out, bad) {
			t.Errorf("sniff --help mentions %q:\n%s", bad, out)
		}
	}
	for _, want := range []string{"both adapters", "atbridge sniff ... --pcapng -"} {
		if !strings.Contains(out, want) {
			t.Errorf("sniff --help lacks %q", want)
		}
	}
	_, stderr, code := execCLI(t, "", "sniff", "--host-rx", "/dev/atbridge-none-1", "--device-rx", "/dev/atbridge-none-2", "-w", filepath.Join(t.TempDir(), "s.atcap"))
	if code != exitFailure || !strings.HasPrefix(stderr, "atbridge sniff: host side: ") || strings.Contains(stderr, "proxy") {
		t.Errorf("exit %d, stderr %q: want one atbridge sniff: prefix and no proxy", code, stderr)
	}
}

// TestQuietReportsBaudChange: with --quiet there is no live view, but a
// baud change (AT+UART_CUR through the proxy, over a real pty) is still
// reported on stderr.
func TestQuietReportsBaudChange(t *testing.T) {
	dir := t.TempDir()
	link := filepath.Join(dir, "esp")
	_, stderr, stop := startCmd(t, "proxy", "--host", "pty:"+link, "--device", "emulate", "-w", filepath.Join(dir, "q.atcap"), "--quiet")
	f := openLink(t, link, stderr)
	if _, err := f.WriteString("AT+UART_CUR=921600,8,1,0,0\r\n"); err != nil {
		t.Fatal(err)
	}
	var got []byte
	readUntil(t, f, &got, "OK\r\n")
	// The switch follows the OK the host just read: wait for its report
	// rather than racing it with the stop.
	waitFor(t, stderr, "now at 921600 8N1 (AT+UART_CUR)")
	if code := stop(); code != exitOK && code != exitSignal {
		t.Fatalf("proxy exited %d: %s", code, stderr.String())
	}
}
