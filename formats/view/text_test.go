package view

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/atbridge/atbridge/formats"
	"github.com/atbridge/atbridge/formats/at"
)

func TestAppendText(t *testing.T) {
	cmd, err := at.ParseCommand([]byte("AT+WSSEND=0,4"))
	if err != nil {
		t.Fatal(err)
	}
	bin := append(bytes.Repeat([]byte{0x00, 'A', '\r', '\n'}, 10), 0xff)
	tests := []struct {
		name string
		e    at.Event
		o    *TextOptions
		want string
	}{
		{"command", at.Event{Kind: at.EvCommand, Dir: formats.ToDevice, Time: 2341000, Line: []byte("AT+WSSEND=0,4"), Cmd: cmd, Link: -1},
			nil, "+0.002341  host→dev   command  AT+WSSEND=0,4  (set 0, 4)\n"},
		{"result in colour", at.Event{Kind: at.EvResult, Dir: formats.ToHost, Time: 1, Name: "OK", Link: -1},
			&TextOptions{Colour: true}, "+0.000000  dev→host   result   \x1b[32mOK\x1b[0m\n"},
		{"error result", at.Event{Kind: at.EvResult, Dir: formats.ToHost, Time: 1_500_000_000, Name: "ERROR", Link: -1},
			&TextOptions{Colour: true}, "+1.500000  dev→host   result   \x1b[31mERROR\x1b[0m\n"},
		{"short payload", at.Event{Kind: at.EvPayload, Dir: formats.ToDevice, Name: "+WSSEND", Data: []byte("te\x00t"), Link: 0},
			nil, "+0.000000  host→dev   payload  +WSSEND 4 bytes (binary)\n" +
				"                                0000  74 65 00 74                                       |te.t|\n"},
		{"text payload", at.Event{Kind: at.EvPayload, Dir: formats.ToDevice, Name: "+WSSEND", Data: []byte("test\r\n"), Link: 0},
			nil, "+0.000000  host→dev   payload  +WSSEND 6 bytes: \"test\\r\\n\"\n"},
		{"long urc payload", at.Event{Kind: at.EvURC, Dir: formats.ToHost, Name: "+WS_DATA", Line: []byte("+WS_DATA:0,41,"), Data: bin, Link: 0},
			nil, "+0.000000  dev→host   urc      +WS_DATA:0,41, 41 bytes (binary)\n" +
				"                                0000  00 41 0d 0a 00 41 0d 0a  00 41 0d 0a 00 41 0d 0a  |.A...A...A...A..|\n" +
				"                                0010  00 41 0d 0a 00 41 0d 0a  00 41 0d 0a 00 41 0d 0a  |.A...A...A...A..|\n" +
				"                                0020  00 41 0d 0a 00 41 0d 0a  ff                       |.A...A...|\n"},
		{"capped dump", at.Event{Kind: at.EvUnparsed, Dir: formats.ToHost, Raw: bin, Err: at.ErrUnrecognized, Link: -1},
			&TextOptions{MaxDump: 16}, "+0.000000  dev→host   unparsed 41 bytes (binary)  [unrecognized bytes]\n" +
				"                                0000  00 41 0d 0a 00 41 0d 0a  00 41 0d 0a 00 41 0d 0a  |.A...A...A...A..|\n" +
				"                                ... 25 more bytes\n"},
		{"transaction", at.Event{Kind: at.EvTransaction, Time: 3391000, Link: 0, Tx: &at.Transaction{Line: []byte("AT+WSSEND=0,4"), Result: "SEND OK", Latency: 3391000, Unsolicited: []int64{7}}},
			nil, "+0.003391             tx       AT+WSSEND=0,4 → SEND OK in 3.391ms (1 unsolicited meanwhile)\n"},
		{"no result", at.Event{Kind: at.EvTransaction, Link: -1, Tx: &at.Transaction{Line: []byte("AT"), Err: at.ErrNoResult}, Err: at.ErrNoResult},
			nil, "+0.000000             tx       AT → no result  [no result before the end of the input]\n"},
		{"ws message", at.Event{Kind: at.EvWSMessage, Dir: formats.ToClient, Link: 1, Data: []byte("hi"), Msg: &at.WSMessage{Link: 1, Opcode: 2, Fin: 1, PayloadLen: -1, PayloadOffset: -1}},
			nil, "+0.000000  →client    ws       link 1 binary 2 bytes: \"hi\"\n"},
		{"link state", at.Event{Kind: at.EvLinkState, Link: 2, State: at.LinkReconnecting},
			nil, "+0.000000             link     link 2 reconnecting\n"},
		{"unprintable line", at.Event{Kind: at.EvInfo, Dir: formats.ToHost, Line: []byte("AT version:\x01"), Link: -1},
			nil, "+0.000000  dev→host   info     \"AT version:\\x01\"\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(AppendText(nil, &tt.e, tt.o))
			if got != tt.want {
				t.Errorf("got\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

func TestRelTimeAndLatency(t *testing.T) {
	for _, c := range []struct {
		ns   int64
		want string
	}{{0, "+0.000000"}, {2341499, "+0.002341"}, {2341500, "+0.002342"}, {61_000_000_000, "+61.000000"}, {-1000, "-0.000001"}} {
		if got := RelTime(c.ns); got != c.want {
			t.Errorf("RelTime(%d) = %q, want %q", c.ns, got, c.want)
		}
	}
	for _, c := range []struct {
		ns   int64
		want string
	}{{999, "999ns"}, {850_000, "850µs"}, {3_391_000, "3.391ms"}, {1_204_000_000, "1.204s"}} {
		if got := latencyText(c.ns); got != c.want {
			t.Errorf("latencyText(%d) = %q, want %q", c.ns, got, c.want)
		}
	}
}

func TestJSONEvent(t *testing.T) {
	start := time.Date(2026, 11, 25, 19, 0, 0, 0, time.UTC)
	cmd, _ := at.ParseCommand([]byte(`AT+WSOPEN=0,"ws://h/"`))
	tests := []struct {
		name string
		e    at.Event
		want string
	}{
		{"command", at.Event{Kind: at.EvCommand, Dir: formats.ToDevice, Time: 1500, Start: 1000, Offset: 0, Name: "+WSOPEN", Line: []byte(`AT+WSOPEN=0,"ws://h/"`), Cmd: cmd, Link: 0},
			`{"offset_ns":1500,"time":"2026-11-25T19:00:00.000001500Z","dir":"to_device","kind":"command","name":"+WSOPEN","start_ns":1000,"byte_offset":0,"line":"AT+WSOPEN=0,\"ws://h/\"","link":0,"command":{"type":"set","params":["0","ws://h/"]}}`},
		{"binary urc", at.Event{Kind: at.EvURC, Dir: formats.ToHost, Offset: 9, Name: "+WS_DATA", Line: []byte("+WS_DATA:0,2,"), Data: []byte{0xff, 0x00}, Link: 0},
			`{"offset_ns":0,"time":"2026-11-25T19:00:00.000000000Z","dir":"to_host","kind":"urc","name":"+WS_DATA","byte_offset":9,"line":"+WS_DATA:0,2,","link":0,"data_b64":"/wA="}`},
		{"ws message", at.Event{Kind: at.EvWSMessage, Dir: formats.ToServer, Offset: -1, Data: []byte("test"), Link: 0, Msg: &at.WSMessage{Link: 0, Opcode: 1, Fin: 1, PayloadLen: -1, PayloadOffset: -1, Result: "SEND OK"}},
			`{"offset_ns":0,"time":"2026-11-25T19:00:00.000000000Z","dir":"to_server","kind":"ws_message","link":0,"data":"test","data_b64":"dGVzdA==","ws":{"opcode":1,"fin":true,"result":"SEND OK"}}`},
		{"unparsed", at.Event{Kind: at.EvUnparsed, Dir: formats.ToHost, Offset: 3, Raw: []byte{1, 2}, Link: -1, Err: at.ErrUnrecognized},
			`{"offset_ns":0,"time":"2026-11-25T19:00:00.000000000Z","dir":"to_host","kind":"unparsed","byte_offset":3,"raw_b64":"AQI=","error":"unrecognized bytes"}`},
		{"transaction", at.Event{Kind: at.EvTransaction, Offset: -1, Link: -1, Tx: &at.Transaction{Line: []byte("AT"), Err: at.ErrNoResult}, Err: errors.New("no result")},
			`{"offset_ns":0,"time":"2026-11-25T19:00:00.000000000Z","dir":"","kind":"transaction","tx":{"line":"AT","result":"","latency_ns":0},"error":"no result"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(NewJSONEvent(&tt.e, start).AppendJSON(nil))
			if got != tt.want+"\n" {
				t.Errorf("got\n%s\nwant\n%s", strings.TrimSpace(got), tt.want)
			}
		})
	}
}

// FuzzRender decodes arbitrary two-way traffic and renders every event as
// text and JSON: no panic, one line per event (plus hex dump lines), and
// valid JSON that carries the payload exactly.
func FuzzRender(f *testing.F) {
	f.Add([]byte("AT+WSSEND=0,4\r\n"), []byte("AT+WSSEND=0,4\r\n\r\nOK\r\n\r\n>"), []byte("te\x00t"))
	f.Add([]byte("AT\r\n"), []byte("+WS_DATA:0,3,\xff\r\n\r\n\r\nOK\r\n"), []byte{})
	start := time.Date(2026, 11, 25, 19, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, host, dev, more []byte) {
		d := at.NewDecoder(nil)
		evs := d.Feed(1, formats.ToDevice, host)
		evs = append(evs, d.Feed(2, formats.ToHost, dev)...)
		evs = append(evs, d.Feed(3, formats.ToDevice, more)...)
		evs = append(evs, d.Flush()...)
		for i := range evs {
			e := &evs[i]
			text := AppendText(nil, e, &TextOptions{Colour: i%2 == 0})
			if len(text) == 0 || text[len(text)-1] != '\n' {
				t.Fatalf("text of %v does not end in a newline: %q", e, text)
			}
			line := NewJSONEvent(e, start).AppendJSON(nil)
			var back JSONEvent
			if err := json.Unmarshal(line, &back); err != nil {
				t.Fatalf("invalid JSON %s: %v", line, err)
			}
			if e.Data != nil {
				data, err := base64.StdEncoding.DecodeString(*back.DataB64)
				if err != nil || !bytes.Equal(data, e.Data) {
					t.Fatalf("data_b64 does not carry the payload exactly")
				}
			}
		}
	})
}

func TestAppendHexDumpOffsets(t *testing.T) {
	b := make([]byte, 1<<16+17)
	got := string(AppendHexDump(nil, b, -1))
	lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	if len(lines) != 1<<12+2 {
		t.Fatalf("%d lines", len(lines))
	}
	for i, want := range map[int]string{0: "0000 ", 1: "0010 ", 4095: "fff0 ", 4096: "10000 ", 4097: "10010 "} {
		if !strings.HasPrefix(lines[i], hexIndent+want) {
			t.Errorf("line %d = %q, want offset %q", i, lines[i], want)
		}
	}
}

func BenchmarkAppendText(b *testing.B) {
	e := &at.Event{Kind: at.EvURC, Dir: formats.ToHost, Name: "+WS_DATA", Line: []byte("+WS_DATA:0,1024,"), Data: bytes.Repeat([]byte{0, 1, 'a', 0xff}, 256), Link: 0}
	var buf []byte
	b.SetBytes(int64(len(e.Data)))
	for b.Loop() {
		buf = AppendText(buf[:0], e, nil)
	}
}
