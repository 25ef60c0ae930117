package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestProgressOnTerminal checks that import draws a bar on a terminal
// stderr and clears it before the summary, and draws nothing otherwise
// (the other tests).
func TestProgressOnTerminal(t *testing.T) {
	dir := t.TempDir()
	var dump strings.Builder
	for i := range 2000 {
		fmt.Fprintf(&dump, "> 2026/11/25 19:18:50.%06d  length=4 from=%d to=%d\n 41 54 0d 0a\n", i, 4*i, 4*i+3)
	}
	src := filepath.Join(dir, "big.socat")
	os.WriteFile(src, []byte(dump.String()), 0o600)
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"import", "--from", "socat", "--tz", "UTC", src, "-o", filepath.Join(dir, "big.atcap")}, &env{
		stdout: &out, stderr: &errb,
		getenv:     func(string) string { return "" },
		isTerminal: func(v any) bool { return v == &errb },
	})
	if code != exitOK || !strings.Contains(out.String(), "imported 2000 blocks") {
		t.Fatalf("exit %d: %s %s", code, out.String(), errb.String())
	}
	if !strings.Contains(errb.String(), "importing") || !strings.HasSuffix(errb.String(), "\r") {
		t.Errorf("no bar, or not cleared, on a terminal stderr: %q", errb.String())
	}
	if newProgress(&env{stderr: &errb, isTerminal: func(any) bool { return false }}, 100, "x") != nil {
		t.Errorf("a bar without a terminal")
	}
	var nilBar *progress
	nilBar.set(5) // a nil bar is a no-op
	nilBar.finish()
}

// TestProgressExportReplay checks the bars of export (by file offset) and
// replay (by host inputs sent) on a terminal stderr: drawn, then cleared
// before the summary and the report.
func TestProgressExportReplay(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join("..", "..", "testdata", "seed-tcp.atcap")
	for _, c := range []struct {
		what string
		args []string
		code int
	}{
		{"exporting", []string{"export", src, "-o", filepath.Join(dir, "x.pcapng")}, exitOK},
		{"replaying", []string{"replay", src, "--device", "mock:" + src}, exitOK},
	} {
		var out, errb bytes.Buffer
		code := run(context.Background(), c.args, &env{
			stdout: &out, stderr: &errb,
			getenv:     func(string) string { return "" },
			isTerminal: func(v any) bool { return v == &errb },
		})
		if code != c.code {
			t.Fatalf("%v: exit %d: %s %s", c.args, code, out.String(), errb.String())
		}
		got := errb.String()
		tail := got[strings.LastIndex(got, "\r")+1:] // what follows the cleared bar
		if !strings.Contains(got, c.what) || !(tail == "" || strings.HasPrefix(tail, "atbridge "+c.args[0]+": ")) {
			t.Errorf("%s: no bar, or not cleared before the next line, on a terminal stderr: %q", c.args[0], errb.String())
		}
	}
}
