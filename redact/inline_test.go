package redact

import (
	"bytes"
	"testing"

	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/formats"
)

// TestInlineTokens: tokens typed inline in a command line (not firmware
// syntax, so the device answers ERROR) are redacted from the host's bytes
// and from the device's echo, whether the line parses or not, split across
// chunks or not.
func TestInlineTokens(t *testing.T) {
	const tok = "tok_9fQ2xLmZ81kd"
	for _, tc := range []struct{ name, line string }{
		{"wshead bearer", `AT+WSHEAD=0,"Authorization: Bearer ` + tok + `"`},
		{"any command, token=", `AT+WSOPEN=0,"wss://h/p","access_token=` + tok + `"`},
		{"mqtt header", `AT+MQTTPUB=0,"t","{\"api_key\":\"` + tok + `\"}",0,0`},
		{"unparseable line", `AT+WSHEAD=0,"Authorization: Bearer ` + tok},
	} {
		for _, split := range []bool{false, true} {
			name := tc.name
			if split {
				name += "/split"
			}
			t.Run(name, func(t *testing.T) {
				host := []byte(tc.line + "\r\n")
				var recs []capture.Record
				at := int64(1e6)
				chunk := func(dir formats.Dir, b []byte) {
					if split && len(b) > 20 {
						recs = append(recs, capture.Record{Kind: capture.KindChunk, Time: at, Dir: dir, Data: bytes.Clone(b[:20])})
						at += 1e5
						b = b[20:]
					}
					recs = append(recs, capture.Record{Kind: capture.KindChunk, Time: at, Dir: dir, Data: bytes.Clone(b)})
					at += 1e6
				}
				chunk(formats.ToDevice, []byte("AT\r\n"))
				chunk(formats.ToHost, []byte("AT\r\n\r\nOK\r\n"))
				chunk(formats.ToDevice, host)
				chunk(formats.ToHost, append(bytes.Clone(host), "\r\nERROR\r\n"...))
				chunk(formats.ToDevice, []byte("AT\r\n"))
				chunk(formats.ToHost, []byte("AT\r\n\r\nOK\r\n"))
				h := capture.Header{Tool: "test", Ports: []capture.PortInfo{{Name: "host", Role: "host"}, {Name: "device", Role: "device"}}}
				out := runAll(h, recs, &Options{})
				var to, from []byte
				for _, r := range out {
					switch r.Dir {
					case formats.ToDevice:
						to = append(to, r.Data...)
					case formats.ToHost:
						from = append(from, r.Data...)
					}
				}
				if l := leaks(to, []string{tok}, nil); len(l) > 0 {
					t.Errorf("the host's line leaks %v: %q", l, to)
				}
				if l := leaks(from, []string{tok}, nil); len(l) > 0 {
					t.Errorf("the echo leaks %v: %q", l, from)
				}
				if len(to) != 4+len(host)+4 {
					t.Errorf("lengths changed: %q", to)
				}
			})
		}
	}
}
