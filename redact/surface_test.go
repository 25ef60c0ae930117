package redact

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/formats"
)

// exchange is what the host app typed and what the ESP32 answered, in the
// bytes Espressif's docs give (echo on, as after a reset).
type exchange struct{ host, dev string }

// echoed is a command exchange: the line, its echo, then the reply.
func echoed(line, reply string) exchange {
	return exchange{line + "\r\n", line + "\r\n" + reply}
}

const fsKey = "-----BEGIN PRIVATE KEY-----\r\nMIIEvQIBADANBgkqhkiG9w0B\r\n-----END PRIVATE KEY-----\r\n"

// TestRedactSurfaceSecrets: each secret of esp-at-surface.md §9 is redacted
// in the command the host typed, in the device's echo of it, in the data
// typed after the prompt and in the device's read-back, with every record's
// length kept and the redacted capture decoding to the same items; whole and
// cut into 7-byte chunks.
func TestRedactSurfaceSecrets(t *testing.T) {
	for _, tc := range []struct {
		name    string
		ex      []exchange
		secrets []string
	}{
		{"cwsap", []exchange{
			echoed(`AT+CWSAP="ESP","ap_pass_77",5,3`, "\r\nOK\r\n"),
			echoed(`AT+CWSAP?`, "+CWSAP:\"ESP\",\"ap_pass_77\",5,3,10,0\r\n\r\nOK\r\n"),
		}, []string{"ap_pass_77"}},
		{"cwjeap", []exchange{
			echoed(`AT+CWJEAP="corp",1,"jdoe@corp.example","jdoe_inner","eap_pw_991",0`, "WIFI CONNECTED\r\nWIFI GOT IP\r\n\r\nOK\r\n"),
			echoed(`AT+CWJEAP?`, "+CWJEAP:\"corp\",1,\"jdoe@corp.example\",\"jdoe_inner\",\"eap_pw_991\",0\r\n\r\nOK\r\n"),
		}, []string{"jdoe@corp.example", "jdoe_inner", "eap_pw_991"}},
		{"mqttusercfg", []exchange{
			echoed(`AT+MQTTUSERCFG=0,1,"ESP32","mqtt_user_5","mqtt_pw_842",0,0,""`, "\r\nOK\r\n"),
		}, []string{"mqtt_user_5", "mqtt_pw_842"}},
		{"mqttlongpassword", []exchange{
			echoed(`AT+MQTTLONGPASSWORD=0,20`, "\r\nOK\r\n\r\n>"),
			{"longpw_0123456789ab", ""}, // 19 bytes: the 20th comes next
			{"Z", "\r\nOK\r\n"},
		}, []string{"longpw_0123456789abZ"}},
		{"cipsslcpsk", []exchange{
			echoed(`AT+CIPSSLCPSK=0,"psk_secret_1","id_hint_1"`, "\r\nOK\r\n"),
			echoed(`AT+CIPSSLCPSKHEX=1,"70736b5f6865785f32","hexhint_2"`, "\r\nOK\r\n"),
			echoed(`AT+CIPSSLCPSK?`, "+CIPSSLCPSK:0,\"psk_secret_1\",\"id_hint_1\"\r\n+CIPSSLCPSK:1,\"\",\"\"\r\n\r\nOK\r\n"),
		}, []string{"psk_secret_1", "id_hint_1", "70736b5f6865785f32", "hexhint_2"}},
		{"httpchead", []exchange{
			echoed(`AT+HTTPCHEAD=30`, "\r\nOK\r\n\r\n>"),
			{"Authorization: Bearer tk_h42Q", ""},
			{"x", "\r\nOK\r\n"},
			echoed(`AT+HTTPCHEAD?`, "+HTTPCHEAD:0,\"Authorization: Bearer tk_h42Qx\"\r\n\r\nOK\r\n"),
		}, []string{"tk_h42Qx"}},
		{"httpurlcfg", []exchange{
			echoed(`AT+HTTPURLCFG=37`, "\r\nOK\r\n\r\n>"),
			{"http://bob:urlpw_7@h.example/?sig=Sg9", "\r\nSET OK\r\n"},
			echoed(`AT+HTTPURLCFG?`, "+HTTPURLCFG:37,http://bob:urlpw_7@h.example/?sig=Sg9\r\n\r\nOK\r\n"),
		}, []string{"bob:urlpw_7", "Sg9"}},
		{"http urls", []exchange{
			echoed(`AT+HTTPCLIENT=2,0,"http://ann:cli_pw_3@httpbin.org/get",,,1`, "+HTTPCLIENT:2,{}\r\n\r\nOK\r\n"),
			echoed(`AT+HTTPCGET="https://h.example/f?access_token=tok_cget_5"`, "+HTTPCGET:2,{}\r\n\r\nOK\r\n"),
			echoed(`AT+HTTPCPOST="http://h.example/p?api_key=key_post_6",3,1,"X-Auth: hdr_post_7"`, "\r\nOK\r\n\r\n>"),
			{"a=1", "\r\nSEND OK\r\n"},
		}, []string{"ann:cli_pw_3", "tok_cget_5", "key_post_6", "hdr_post_7"}},
		{"fs key file", []exchange{
			echoed(fmt.Sprintf(`AT+FS=0,1,"client.key",0,%d`, len(fsKey)), ">"), // a bare ">" (esp-at-surface.md §6)
			{fsKey, "\r\nOK\r\n"},
			echoed(fmt.Sprintf(`AT+FS=0,2,"client.key",0,%d`, len(fsKey)), fmt.Sprintf("+FS:%d,%s\r\nOK\r\n", len(fsKey), fsKey)),
		}, []string{"MIIEvQIBADANBgkqhkiG9w0B"}},
		{"fs data file", []exchange{
			echoed(`AT+FS=0,1,"cfg.txt",0,20`, ">"),
			{"token=fs_tok_811&a=1", "\r\nOK\r\n"},
		}, []string{"fs_tok_811"}},
		{"sysmfg key", []exchange{
			echoed(`AT+SYSMFG=2,"client_key","client_key.0",8,24`, "\r\nOK\r\n\r\n>"),
			{"MIIEvQIBADANBgkqhkiG9w0B", "\r\nOK\r\n"},
			echoed(`AT+SYSMFG=1,"client_key","client_key.0"`, "+SYSMFG:\"client_key\",\"client_key.0\",8,24,MIIEvQIBADANBgkqhkiG9w0B\r\n\r\nOK\r\n"),
		}, []string{"MIIEvQIBADANBgkqhkiG9w0B"}},
	} {
		for _, cut := range []int{0, 7} {
			t.Run(fmt.Sprintf("%s/cut%d", tc.name, cut), func(t *testing.T) {
				var recs []capture.Record
				now := int64(1e6)
				chunk := func(dir formats.Dir, s string) {
					for len(s) > 0 {
						n := len(s)
						if cut > 0 {
							n = min(n, cut)
						}
						recs = append(recs, capture.Record{Kind: capture.KindChunk, Time: now, Dir: dir, Data: []byte(s[:n])})
						s = s[n:]
						now += 1e5
					}
				}
				for _, e := range append([]exchange{echoed("AT", "\r\nOK\r\n")}, tc.ex...) {
					chunk(formats.ToDevice, e.host)
					chunk(formats.ToHost, e.dev)
				}
				h := capture.Header{Tool: "test", Ports: []capture.PortInfo{{Name: "host", Role: "host"}, {Name: "device", Role: "device"}}}
				out := runAll(h, slices.Clone(recs), &Options{})
				if len(out) != len(recs) {
					t.Fatalf("%d records out of %d", len(out), len(recs))
				}
				var to, from, orig []byte
				for i, r := range out {
					if len(r.Data) != len(recs[i].Data) {
						t.Fatalf("record %d: length %d, was %d", i, len(r.Data), len(recs[i].Data))
					}
					orig = append(orig, recs[i].Data...)
					if r.Dir == formats.ToDevice {
						to = append(to, r.Data...)
					} else {
						from = append(from, r.Data...)
					}
				}
				if l := leaks(to, tc.secrets, orig); len(l) > 0 {
					t.Errorf("host bytes leak %v:\n%q", l, to)
				}
				if l := leaks(from, tc.secrets, orig); len(l) > 0 {
					t.Errorf("device bytes (echo, read-back) leak %v:\n%q", l, from)
				}
				if a, b := decodeShape(h, recs), decodeShape(h, out); strings.Join(a, "\n") != strings.Join(b, "\n") {
					t.Errorf("the redacted capture decodes differently:\n%s\n---\n%s", strings.Join(a, "\n"), strings.Join(b, "\n"))
				}
				if !bytes.Contains(from, []byte("OK")) {
					t.Error("results were masked")
				}
			})
		}
	}
}
