package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/formats"
)

// writeCapture writes chunks (alternating host, device) as a capture.
func writeCapture(t *testing.T, path string, chunks ...string) {
	t.Helper()
	w, err := capture.Create(path, capture.Header{Tool: "test"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range chunks {
		dir := formats.ToDevice
		if i%2 == 1 {
			dir = formats.ToHost
		}
		if err := w.WriteChunk(int64(i)*1e6, 0, dir, []byte(c)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestRegressionCommandsUsage(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.atcap")
	writeCapture(t, good, "AT\r\n", "AT\r\n\r\nOK\r\n")
	for _, name := range []string{"mock", "replay", "diff"} {
		out, _, code := execCLI(t, "", "help", name)
		if code != exitOK || !strings.Contains(out, "Usage:\n  atbridge "+name) || !strings.Contains(out, "Examples:") {
			t.Errorf("help %s: exit %d\n%s", name, code, out)
		}
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"diff", good}, "want two captures"},
		{[]string{"diff", good, filepath.Join(dir, "none.atcap")}, "none.atcap"},
		{[]string{"diff", "--match", "loose", good, good}, "unknown match mode"},
		{[]string{"diff", "--order", "random", good, good}, "--order"},
		{[]string{"diff", "--max-slowdown", "half", good, good}, "--max-slowdown"},
		{[]string{"diff", "--rules", filepath.Join(dir, "none.txt"), good, good}, "rules"},
		{[]string{"mock", good}, "--port is required"},
		{[]string{"mock", good, "--port", "pty:" + filepath.Join(dir, "p"), "--fault", "explode *"}, "unknown fault"},
		{[]string{"mock", good, "--port", "pty:" + filepath.Join(dir, "p"), "--timing", "slow"}, "--timing"},
		{[]string{"replay", good}, "--device is required"},
		{[]string{"replay", good, "--device", filepath.Join(dir, "no-such-tty")}, "no-such-tty"},
		{[]string{"replay", good, "--device", "emulate", "--pacing", "sometimes"}, "--pacing"},
		{[]string{"replay", good, "--device", "mock:" + filepath.Join(dir, "none.atcap")}, "none.atcap"},
	} {
		_, errOut, code := execCLI(t, "", tc.args...)
		if code != exitFailure || !strings.Contains(errOut, tc.want) {
			t.Errorf("%q: exit %d, want 2 with %q:\n%s", tc.args, code, tc.want, errOut)
		}
	}
}

func TestDiffJSONAndStrict(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.atcap"), filepath.Join(dir, "b.atcap")
	writeCapture(t, a, "AT+CIPSNTPTIME?\r\n", "AT+CIPSNTPTIME?\r\n+CIPSNTPTIME:Mon Oct 18 20:12:27 2021\r\nOK\r\n")
	writeCapture(t, b, "AT+CIPSNTPTIME?\r\n", "AT+CIPSNTPTIME?\r\n+CIPSNTPTIME:Tue Oct 19 08:00:00 2021\r\nOK\r\n")
	if out, _, code := execCLI(t, "", "diff", a, b); code != exitOK {
		t.Errorf("lenient diff of two SNTP dates: exit %d\n%s", code, out)
	}
	out, _, code := execCLI(t, "", "diff", "--match", "strict", "--json", a, b)
	if code != exitProblem || !strings.Contains(out, `"status": "different"`) || !strings.Contains(out, "Tue Oct 19") {
		t.Errorf("strict diff: exit %d\n%s", code, out)
	}
}
