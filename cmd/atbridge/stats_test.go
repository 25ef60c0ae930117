package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/atbridge/atbridge/analysis"
	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/formats"
)

func TestStats(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ws.atcap")
	writeWSCapture(t, path)
	out, _, code := execCLI(t, "", "stats", "--json", path)
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	var st analysis.Stats
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatal(err)
	}
	if st.DurationNS != 2_001_000_000 || st.Directions["to_device"].Chunks != 4 || st.LostBytes != 12 || len(st.Damage) != 0 {
		t.Errorf("stats = %s", out)
	}
	var send *analysis.CmdStats
	for _, c := range st.Commands {
		if c.Name == "+WSSEND" {
			send = c
		}
	}
	if send == nil || send.Count != 2 || send.Results["SEND OK"] != 1 || send.Results["ERROR"] != 1 || send.LatencyMaxNS != 2_000_000 {
		t.Errorf("+WSSEND stats = %+v", send)
	}
	if len(st.WSFrames) != 1 || st.WSFrames[0].ToClient != 1 || st.WSFrames[0].ToClientBytes != 4 || len(st.WSFromAT) == 0 {
		t.Errorf("ws stats: frames %+v from AT %+v", st.WSFrames, st.WSFromAT)
	}
	text, _, code := execCLI(t, "", "stats", path)
	for _, w := range []string{"duration", "+WSSEND", "SEND OK 1", "lost bytes  12 in 1 events", "damage      none"} {
		if !strings.Contains(text, w) {
			t.Errorf("text stats lack %q:\n%s", w, text)
		}
	}
}

func TestStatsFragmentedFrames(t *testing.T) {
	path := filepath.Join(t.TempDir(), "frames.atcap")
	w, err := capture.Create(path, capture.Header{Start: time.Date(2026, 11, 25, 19, 0, 0, 0, time.UTC), MonoBase: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []capture.Frame{
		{Link: 2, Opcode: 2, Fin: false, Length: 3},
		{Link: 2, Opcode: 9, Fin: true, Length: 1}, // a ping between the fragments
		{Link: 2, Opcode: 0, Fin: true, Length: 2},
	} {
		w.Write(&capture.Record{Kind: capture.KindFrame, Dir: formats.ToServer, Frame: f, Data: make([]byte, f.Length)})
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	out, _, code := execCLI(t, "", "stats", "--json", path)
	var st analysis.Stats
	if err := json.Unmarshal([]byte(out), &st); code != exitOK || err != nil {
		t.Fatalf("exit %d: %v", code, err)
	}
	if len(st.WSFrames) != 1 || *st.WSFrames[0] != (analysis.WSStats{Link: 2, ToServer: 1, ToServerBytes: 5}) {
		t.Errorf("frames = %s", out)
	}
}
