package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// execCLI runs atbridge with args the way main does, with buffers for the
// streams and no terminal, and returns what it printed and its exit code.
func execCLI(t *testing.T, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return execCLICtx(t, context.Background(), stdin, args...)
}

// execCLICtx is execCLI with a context: cancelling it is Ctrl-C.
func execCLICtx(t *testing.T, ctx context.Context, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(ctx, args, &env{
		stdin:      strings.NewReader(stdin),
		stdout:     &out,
		stderr:     &errb,
		getenv:     func(string) string { return "" },
		isTerminal: func(any) bool { return false },
	})
	return out.String(), errb.String(), code
}

func TestInspectCommandsHelp(t *testing.T) {
	for _, name := range []string{"show", "stats", "verify", "repair", "import"} {
		t.Run(name, func(t *testing.T) {
			if _, ok := commands[name]; !ok {
				t.Skipf("%s is not registered yet", name)
			}
			for _, args := range [][]string{{"help", name}, {name, "--help"}, {name, "-h"}} {
				// stderr is not checked: main.go's flag set also prints the
				// usage there when the flag package sees -h (reported).
				out, _, code := execCLI(t, "", args...)
				if code != exitOK {
					t.Errorf("%q: exit %d, want 0", args, code)
				}
				for _, want := range []string{"Usage:\n  atbridge " + name, "Examples:\n", "Exit codes:"} {
					if !strings.Contains(out, want) {
						t.Errorf("%q: help lacks %q:\n%s", args, want, out)
					}
				}
			}
			// No file: exit 2 with a message naming the command and what is wanted.
			out, errOut, code := execCLI(t, "", name)
			if code != exitFailure || out != "" || !strings.Contains(errOut, "atbridge "+name+": ") {
				t.Errorf("no arguments: exit %d, stdout %q, stderr %q; want 2 and a message", code, out, errOut)
			}
			_, errOut, code = execCLI(t, "", name, "--no-such-flag")
			if code != exitFailure || !strings.Contains(errOut, "no-such-flag") {
				t.Errorf("unknown flag: exit %d, stderr %q", code, errOut)
			}
			_, errOut, code = execCLI(t, "", name, "x.atcap", "--no-such-flag")
			if code != exitFailure || !strings.Contains(errOut, "no-such-flag") {
				t.Errorf("unknown flag after the file: exit %d, stderr %q", code, errOut)
			}
		})
	}
	if out, _, code := execCLI(t, "", "help"); code != exitOK || !strings.Contains(out, "verify") {
		t.Errorf("help: exit %d, output lacks verify:\n%s", code, out)
	}
}

func TestInterspersedFlags(t *testing.T) {
	dir := t.TempDir()
	src := writeTestCapture(t, dir, "a.atcap")
	for i, args := range [][]string{
		{"repair", "-o", dir + "/b1.atcap", src},
		{"repair", src, "-o", dir + "/b2.atcap"},
		{"repair", src, "--", "-o"}, // after --, "-o" is a file name: too many arguments
	} {
		_, errOut, code := execCLI(t, "", args...)
		want := exitOK
		if i == 2 {
			want = exitFailure
		}
		if code != want {
			t.Errorf("%q: exit %d (%s), want %d", args, code, errOut, want)
		}
	}
}
