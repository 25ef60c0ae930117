package redact

import (
	"testing"

	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/formats"
)

// TestRedactAfterCutPayload pins down afterPayload: when the decoder ends a
// payload before its announced length, the announced bytes are still
// redacted as the payload, and a command line that starts where they end
// (after the payload's rest, on one line as the decoder sees it) has its
// secrets redacted too. Without afterPayload the Wi-Fi password leaks.
func TestRedactAfterCutPayload(t *testing.T) {
	const cwjap = `AT+CWJAP="home","hunter22"` + "\r\n"
	const masked = `AT+CWJAP="home","********"` + "\r\n"
	type chunk struct {
		dev bool
		in  string
		out string // "" when unchanged
	}
	tests := []struct {
		name   string
		chunks []chunk
		counts map[string]int
	}{
		{
			name: "result during the payload",
			chunks: []chunk{
				{in: "AT+HTTPCHEAD=20\r\n"},
				{dev: true, in: "\r\nOK\r\n\r\n>"},
				{in: "X-Tok"},
				{dev: true, in: "\r\nERROR\r\n"},
				// The host types the rest of the header ("en: abcdefghijk")
				// and its next command.
				{in: "en: abcdefghijk" + cwjap, out: "en:************" + masked},
				{dev: true, in: "\r\nERROR\r\n"},
			},
			counts: map[string]int{"http-header": 1, "cwjap-password": 1},
		},
		{
			name: "restart during the payload",
			chunks: []chunk{
				{in: "AT+MQTTLONGPASSWORD=0,12\r\n"},
				{dev: true, in: "\r\nOK\r\n\r\n>"},
				{in: "mqtt", out: "****"},
				{dev: true, in: "\r\nready\r\n"},
				{in: "Secret77" + cwjap, out: "********" + masked},
				{dev: true, in: "\r\nERROR\r\n"},
			},
			counts: map[string]int{"mqtt-credentials": 1, "cwjap-password": 1},
		},
		{
			name: "SET OK before the prompt",
			chunks: []chunk{
				{in: "AT+HTTPURLCFG=20\r\n"},
				{dev: true, in: "\r\nSET OK\r\n"},
				{dev: true, in: "\r\n>"},
				{in: "http://u:pw@h.io/abc" + cwjap, out: "http://****@h.io/abc" + masked},
				{dev: true, in: "\r\nOK\r\n"},
			},
			counts: map[string]int{"uri": 1, "cwjap-password": 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := capture.Header{Meta: map[string]string{"echo": "off"}}
			var recs []capture.Record
			for i, c := range tt.chunks {
				rec := capture.Record{Kind: capture.KindChunk, Time: int64(i+1) * 1e6, Dir: formats.ToDevice, Data: []byte(c.in)}
				if c.dev {
					rec.Dir = formats.ToHost
				}
				recs = append(recs, rec)
			}
			r := New(&Options{Decoder: h.DecoderOptions()})
			var out []capture.Record
			for i := range recs {
				out = append(out, r.Add(&recs[i])...)
			}
			out = append(out, r.Flush()...)
			if len(out) != len(recs) {
				t.Fatalf("%d records out for %d in", len(out), len(recs))
			}
			for i, c := range tt.chunks {
				want := c.out
				if want == "" {
					want = c.in
				}
				if got := string(out[i].Data); got != want {
					t.Errorf("record %d: %q, want %q", i, got, want)
				}
			}
			if got, want := Summary(r.Counts()), Summary(tt.counts); got != want {
				t.Errorf("counts %s, want %s", got, want)
			}
		})
	}
}
