package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/formats"
)

// TestVerifyRepairInterrupted runs verify and repair with a context that
// is already done, as after Ctrl-C: both stop with exit 130 and repair
// writes nothing.
func TestVerifyRepairInterrupted(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "long.atcap")
	w, err := capture.Create(src, capture.Header{Tool: "test"}, &capture.WriterOptions{FlushInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20000 {
		if err := w.WriteChunk(int64(i)*1000, capture.PortHost, formats.ToDevice, []byte(fmt.Sprintf("AT+CIPSTATUS %d\r\n", i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	out := filepath.Join(dir, "fixed.atcap")
	for _, args := range [][]string{{"verify", src}, {"repair", src, "-o", out}} {
		var stdout, stderr bytes.Buffer
		code := run(ctx, args, &env{
			stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr,
			getenv: func(string) string { return "" }, isTerminal: func(any) bool { return false },
		})
		if code != exitSignal || !strings.Contains(stderr.String(), "interrupted") {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want 130 and a note", args[0], code, stdout.String(), stderr.String())
		}
	}
	if names, _ := filepath.Glob(filepath.Join(dir, "*fixed*")); len(names) != 0 {
		t.Errorf("interrupted repair left %v", names)
	}
	if _, err := os.Stat(src); err != nil {
		t.Fatal(err)
	}
}
