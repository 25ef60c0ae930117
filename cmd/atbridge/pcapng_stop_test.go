package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/formats"
)

// failAfter takes the pcapng header, then fails as a viewer that went away.
type failAfter struct{ n int }

func (w *failAfter) Write(b []byte) (int, error) {
	if w.n <= 0 {
		return 0, errors.New("broken pipe")
	}
	w.n -= len(b)
	return len(b), nil
}

// TestPcapngStopMessage: when the live stream's viewer goes away, the
// message says the recording goes on only when a capture file records; in
// extcap mode (and emulate without -w) it says nothing is recorded.
func TestPcapngStopMessage(t *testing.T) {
	for _, tc := range []struct {
		alone      bool
		want, nots string
	}{
		{false, "the capture file goes on recording", "nothing is recorded"},
		{true, "nothing is recorded from here on", "goes on"},
	} {
		var stderr bytes.Buffer
		e := &env{stdout: &failAfter{n: 1 << 10}, stderr: &stderr}
		p, err := openPcapngOut(e, "extcap", "-", capture.Header{})
		if err != nil {
			t.Fatal(err)
		}
		p.alone = tc.alone
		rec := &capture.Record{Kind: capture.KindChunk, Dir: formats.ToDevice, Data: bytes.Repeat([]byte("AT\r\n"), 1024)}
		for range 4 {
			p.Observe(rec)
		}
		p.Close()
		msg := stderr.String()
		if !strings.HasPrefix(msg, "atbridge extcap: live pcapng stopped") || !strings.Contains(msg, tc.want) ||
			strings.Contains(msg, tc.nots) || strings.Count(msg, "\n") != 1 {
			t.Errorf("alone=%v: stderr %q, want one line with %q", tc.alone, msg, tc.want)
		}
	}
}
