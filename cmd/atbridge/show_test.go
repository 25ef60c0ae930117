package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/formats"
)

// wsSession is a short WebSocket exchange as chunks: open, send "test",
// receive it back as binary-looking +WS_DATA, with a frame and a marker.
func writeWSCapture(t *testing.T, path string) []*capture.Record {
	t.Helper()
	recs := []*capture.Record{
		{Kind: capture.KindEvent, Time: 0, Port: 0, Event: capture.Event{Type: capture.EvPortOpened, Text: "pty:/tmp/esp", Line: capture.LineSettings{Baud: 115200, DataBits: 8, Parity: capture.ParityNone, StopBits: capture.Stop1}}},
		{Kind: capture.KindChunk, Time: 1_000_000, Port: 0, Dir: formats.ToDevice, Data: []byte("AT+WSOPEN=0,\"ws://127.0.0.1:8765\"\r\n")},
		{Kind: capture.KindChunk, Time: 1_200_000, Port: 1, Dir: formats.ToHost, Data: []byte("AT+WSOPEN=0,\"ws://127.0.0.1:8765\"\r\n")},
		{Kind: capture.KindChunk, Time: 9_000_000, Port: 1, Dir: formats.ToHost, Data: []byte("+WS_CONNECTED:0\r\n\r\nOK\r\n")},
		{Kind: capture.KindEvent, Time: 10_000_000, Event: capture.Event{Type: capture.EvMarker, Text: "sending now"}},
		{Kind: capture.KindChunk, Time: 20_000_000, Port: 0, Dir: formats.ToDevice, Data: []byte("AT+WSSEND=0,4\r\n")},
		{Kind: capture.KindChunk, Time: 20_400_000, Port: 1, Dir: formats.ToHost, Data: []byte("AT+WSSEND=0,4\r\n\r\nOK\r\n\r\n>")},
		{Kind: capture.KindChunk, Time: 21_000_000, Port: 0, Dir: formats.ToDevice, Data: []byte("te\x00t")},
		{Kind: capture.KindChunk, Time: 22_000_000, Port: 1, Dir: formats.ToHost, Data: []byte("\r\nSEND OK\r\n")},
		{Kind: capture.KindFrame, Time: 23_000_000, Dir: formats.ToClient, Data: []byte("te\x00t"), Frame: capture.Frame{Link: 0, Opcode: 2, Fin: true, Length: 4}},
		{Kind: capture.KindChunk, Time: 24_000_000, Port: 1, Dir: formats.ToHost, Data: []byte("+WS_DATA:0,4,te\x00t\r\n")},
		{Kind: capture.KindEvent, Time: 25_000_000, Port: 1, Dir: formats.ToHost, Event: capture.Event{Type: capture.EvBytesLost, Count: 12}},
		{Kind: capture.KindChunk, Time: 2_000_000_000, Port: 0, Dir: formats.ToDevice, Data: []byte("AT+WSSEND=1,4\r\n")},
		{Kind: capture.KindChunk, Time: 2_001_000_000, Port: 1, Dir: formats.ToHost, Data: []byte("AT+WSSEND=1,4\r\n\r\nERROR\r\n")},
	}
	w, err := capture.Create(path, capture.Header{
		Tool: "atbridge test", Start: time.Date(2026, 11, 25, 19, 0, 0, 0, time.UTC), MonoBase: 1,
		Ports: []capture.PortInfo{{Name: "pty:/tmp/esp", Role: "host"}, {Name: "emulate", Role: "device"}},
	}, &capture.WriterOptions{FlushInterval: -1, BlockSize: 64})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return recs
}

func TestShowText(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ws.atcap")
	writeWSCapture(t, path)
	out, errOut, code := execCLI(t, "", "show", path)
	if code != exitOK || errOut != "" {
		t.Fatalf("exit %d, stderr %s", code, errOut)
	}
	for _, want := range []string{
		"# port 0: pty:/tmp/esp (host)",
		"+0.000000             event    port_opened: port 0 pty:/tmp/esp (115200 8N1)",
		"+0.001000  host→dev   command  AT+WSOPEN=0,\"ws://127.0.0.1:8765\"  (set 0, \"ws://127.0.0.1:8765\")",
		"dev→host   urc      +WS_CONNECTED:0",
		"event    MARKER: sending now",
		"host→dev   payload  +WSSEND 4 bytes (binary)\n                                0000  74 65 00 74 ",
		"dev→host   result   SEND OK",
		"tx       AT+WSSEND=0,4 → SEND OK in ",
		"+0.023000  →client    frame    link 0 binary 4 bytes (binary)\n",
		"BYTES LOST: 12 bytes dev→host on port 1",
		"dev→host   result   ERROR",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if strings.Contains(out, "\x1b[") {
		t.Errorf("colour without a terminal")
	}
	if t.Failed() {
		t.Logf("output:\n%s", out)
	}
}

func TestShowColour(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ws.atcap")
	writeWSCapture(t, path)
	for _, noColor := range []string{"", "1"} {
		var out bytes.Buffer
		run(context.Background(), []string{"show", path}, &env{
			stdout: &out, stderr: &bytes.Buffer{},
			getenv:     func(k string) string { return map[string]string{"NO_COLOR": noColor}[k] },
			isTerminal: func(any) bool { return true },
		})
		if has := strings.Contains(out.String(), "\x1b[32mOK\x1b[0m"); has != (noColor == "") {
			t.Errorf("NO_COLOR=%q: colour = %v", noColor, has)
		}
	}
}

func TestShowRawJSONExactBytes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ws.atcap")
	recs := writeWSCapture(t, path)
	out, _, code := execCLI(t, "", "show", "--raw", "--json", path)
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != len(recs)+1 {
		t.Fatalf("%d lines for %d records and the header", len(lines), len(recs))
	}
	var hdr map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &hdr); err != nil || hdr["kind"] != "header" || hdr["start"] != "2026-11-25T19:00:00.000000000Z" {
		t.Fatalf("first line %s (%v), want the header", lines[0], err)
	}
	if ports, _ := hdr["ports"].([]any); len(ports) == 0 {
		t.Errorf("header line without ports: %s", lines[0])
	}
	lines = lines[1:]
	for i, l := range lines {
		var j map[string]any
		if err := json.Unmarshal([]byte(l), &j); err != nil {
			t.Fatalf("line %d: %v", i, err)
		}
		r := recs[i]
		if j["kind"] != r.Kind.String() || j["dir"] != r.Dir.String() || int64(j["offset_ns"].(float64)) != r.Time {
			t.Errorf("line %d = %s, record %+v", i, l, r)
		}
		if wantTime := time.Date(2026, 11, 25, 19, 0, 0, int(r.Time), time.UTC).Format("2006-01-02T15:04:05.000000000Z"); j["time"] != wantTime {
			t.Errorf("line %d: time %v, want %s", i, j["time"], wantTime)
		}
		if r.Kind != capture.KindEvent {
			data, err := base64.StdEncoding.DecodeString(j["data_b64"].(string))
			if err != nil || !bytes.Equal(data, r.Data) {
				t.Errorf("line %d: data_b64 does not decode to the recorded bytes", i)
			}
		}
	}
}

func TestShowJSON(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ws.atcap")
	writeWSCapture(t, path)
	out, _, code := execCLI(t, "", "show", "--json", "--kind", "urc,payload", path)
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	var got []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var j map[string]any
		if err := json.Unmarshal([]byte(l), &j); err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		got = append(got, j)
	}
	if len(got) == 0 || got[0]["kind"] != "header" {
		t.Fatalf("show --json does not start with the header line")
	}
	got = got[1:]
	var wsData map[string]any
	for _, j := range got {
		if j["kind"] != "urc" && j["kind"] != "payload" {
			t.Errorf("--kind urc,payload let through %v", j["kind"])
		}
		if j["name"] == "+WS_DATA" {
			wsData = j
		}
	}
	if wsData == nil {
		t.Fatalf("no +WS_DATA in:\n%s", out)
	}
	if wsData["data"] != "te\x00t" || wsData["data_b64"] != "dGUAdA==" || wsData["link"] != 0.0 || wsData["dir"] != "to_host" || wsData["line"] != "+WS_DATA:0,4," {
		t.Errorf("+WS_DATA = %v", wsData)
	}
}

func TestShowFilters(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ws.atcap")
	writeWSCapture(t, path)
	tests := []struct {
		args       []string
		want, not  []string
		wantExit   int
		wantStderr string
	}{
		{[]string{"--since", "1s"}, []string{"AT+WSSEND=1,4", "ERROR"}, []string{"MARKER", "+WS_CONNECTED"}, exitOK, ""},
		{[]string{"--since", "2026-11-25T19:00:01Z"}, []string{"AT+WSSEND=1,4"}, []string{"MARKER"}, exitOK, ""},
		{[]string{"--until", "0.015"}, []string{"MARKER", "+WS_CONNECTED"}, []string{"AT+WSSEND"}, exitOK, ""},
		{[]string{"--link", "1"}, []string{"AT+WSSEND=1,4"}, []string{"AT+WSSEND=0,4", "MARKER"}, exitOK, ""},
		{[]string{"--kind", "transaction"}, []string{"tx       AT+WSSEND=0,4 → SEND OK", "tx       AT+WSSEND=1,4 → ERROR"}, []string{"command  "}, exitOK, ""},
		{[]string{"--since", "soon"}, nil, nil, exitFailure, "--since"},
		{[]string{"--link", "7"}, nil, nil, exitFailure, "--link"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			out, errOut, code := execCLI(t, "", append(append([]string{"show"}, tt.args...), path)...)
			if code != tt.wantExit || !strings.Contains(errOut, tt.wantStderr) {
				t.Fatalf("exit %d, stderr %q", code, errOut)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("lacks %q", w)
				}
			}
			for _, w := range tt.not {
				if strings.Contains(out, w) {
					t.Errorf("has %q", w)
				}
			}
			if t.Failed() {
				t.Logf("output:\n%s", out)
			}
		})
	}
}

func TestShowDamage(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ws.atcap")
	writeWSCapture(t, path)
	b, _ := os.ReadFile(path)
	for i := len(b) / 2; i < len(b)/2+4; i++ {
		b[i] ^= 0xff
	}
	bad := filepath.Join(dir, "bad.atcap")
	os.WriteFile(bad, b, 0o600)
	out, errOut, code := execCLI(t, "", "show", bad)
	if code != exitProblem || !strings.Contains(out, "DAMAGE   file offset ") || !strings.Contains(errOut, "atbridge repair") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr: %s", code, out, errOut)
	}
	// What comes after the damage is still shown.
	if !strings.Contains(out, "AT+WSSEND=1,4") {
		t.Errorf("records after the damage are missing:\n%s", out)
	}
	out, _, code = execCLI(t, "", "show", "--json", bad)
	if code != exitProblem || !strings.Contains(out, `"kind":"damage"`) || !strings.Contains(out, `"lost":{"file_offset":`) {
		t.Fatalf("json: exit %d\n%s", code, out)
	}
	if _, errOut, code := execCLI(t, "", "show", filepath.Join(dir, "nope.atcap")); code != exitFailure || !strings.Contains(errOut, "nope.atcap") {
		t.Fatalf("missing file: exit %d, %s", code, errOut)
	}
}

// TestShowTimeOrder checks that events the decoder settles late (host
// bytes typed before the prompt arrived) are shown in time order with the
// frames recorded meanwhile.
func TestShowTimeOrder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "order.atcap")
	w, err := capture.Create(path, capture.Header{Start: time.Date(2026, 11, 25, 19, 0, 0, 0, time.UTC), MonoBase: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	w.WriteChunk(1_000_000, capture.PortHost, formats.ToDevice, []byte("AT+WSSEND=0,4\r\n"))
	w.WriteChunk(2_000_000, capture.PortHost, formats.ToDevice, []byte("test"))
	w.Write(&capture.Record{Kind: capture.KindFrame, Time: 3_000_000, Dir: formats.ToClient, Data: []byte("x"), Frame: capture.Frame{Opcode: 1, Fin: true, Length: 1}})
	w.WriteChunk(4_000_000, capture.PortDevice, formats.ToHost, []byte("AT+WSSEND=0,4\r\n\r\nOK\r\n\r\n>"))
	w.WriteChunk(5_000_000, capture.PortDevice, formats.ToHost, []byte("\r\nSEND OK\r\n"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	out, _, code := execCLI(t, "", "show", path)
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	var last string
	for _, l := range strings.Split(out, "\n") {
		if !strings.HasPrefix(l, "+") {
			continue
		}
		ts := strings.Fields(l)[0]
		if ts < last {
			t.Errorf("%q comes after time %s:\n%s", l, last, out)
		}
		last = ts
	}
	if !strings.Contains(out, "payload") || !strings.Contains(out, "frame") {
		t.Fatalf("payload or frame missing:\n%s", out)
	}
}

// FuzzShow feeds arbitrary files (seeded with the golden captures, cut and
// flipped by the fuzzer) to show, show --raw --json and stats: they must
// never panic, and must exit 0, 1 (damage) or 2 (not a capture).
func FuzzShow(f *testing.F) {
	seeds, _ := filepath.Glob("../../testdata/*.atcap")
	for _, p := range seeds {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, file []byte) {
		path := filepath.Join(t.TempDir(), "f.atcap")
		if err := os.WriteFile(path, file, 0o600); err != nil {
			t.Fatal(err)
		}
		for _, args := range [][]string{{"show", path}, {"show", "--raw", "--json", path}, {"stats", path}} {
			_, _, code := execCLI(t, "", args...)
			if code != exitOK && code != exitProblem && code != exitFailure {
				t.Fatalf("%q: exit %d", args, code)
			}
		}
	})
}
