package at

import (
	"regexp"
	"strings"
	"testing"
)

// masked applies every secret to a copy of s.
func masked(s string, secrets []Secret) string {
	b := []byte(s)
	for _, x := range secrets {
		MaskSecret(b, x)
	}
	return string(b)
}

func TestCommandSecrets(t *testing.T) {
	r := &SecretRules{}
	for _, c := range []struct{ line, want string }{
		{`AT+CWJAP="ssid","password1"`, `AT+CWJAP="ssid","*********"`},
		{`AT+CWJAP="my\,ssid","pa\"ss\\word"`, `AT+CWJAP="my\,ssid","**\***\*****"`},
		{`AT+CWJAP="ssid","pwd",,1`, `AT+CWJAP="ssid","***",,1`},
		{`AT+CWSAP="ap","secret99",5,3`, `AT+CWSAP="ap","********",5,3`},
		{`AT+WSOPEN=0,"ws://u:p@h:1/p?a=1&token=abc","chat",15000,"Basic eHg="`, `AT+WSOPEN=0,"ws://***@h:1/p?a=1&token=***","chat",15000,"**********"`},
		{`AT+MQTTUSERCFG=0,1,"cid","user","pass",0,0,""`, `AT+MQTTUSERCFG=0,1,"cid","****","****",0,0,""`},
		{`AT+HTTPCLIENT=2,0,"http://h/?api_key=K1",,,1,"a=1&secret=S2","X-Token: T3","Accept: */*"`, `AT+HTTPCLIENT=2,0,"http://h/?api_key=**",,,1,"a=1&secret=**","X-Token:***","Accept: */*"`},
		{`AT+CWMODE=1`, `AT+CWMODE=1`},
		{`AT+CIPSTART="TCP","example.com",80`, `AT+CIPSTART="TCP","example.com",80`},
	} {
		cmd, err := ParseCommand([]byte(c.line))
		if err != nil {
			t.Fatalf("%s: %v", c.line, err)
		}
		got := masked(c.line, r.CommandSecrets(cmd))
		if got != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.line, got, c.want)
		}
		if again, err := ParseCommand([]byte(got)); err != nil || len(again.Params) != len(cmd.Params) {
			t.Errorf("%s: masked line no longer parses the same: %v", got, err)
		}
	}
}

func TestTextAndDeviceSecrets(t *testing.T) {
	r := &SecretRules{Patterns: []*regexp.Regexp{regexp.MustCompile(`SN-\d+`)}}
	for _, c := range []struct {
		in, want string
		device   bool
	}{
		{`{"type":"auth","token":"abc123","n":1}`, `{"type":"auth","token":"******","n":1}`, false},
		{`user=bob&password=hunter2&x=1`, `user=bob&password=*******&x=1`, false},
		{"GET / HTTP/1.1\r\nAuthorization: Bearer xyz.abc\r\nHost: h", "GET / HTTP/1.1\r\nAuthorization: **************\r\nHost: h", false},
		{`see wss://a:b@host/x?sig=zz ok`, `see wss://***@host/x?sig=** ok`, false},
		{`+WSHEAD:0,"Authorization: Basic QQ=="`, `+WSHEAD:0,"Authorization:***********"`, true},
		{`+WSHEAD:1,"Sec-WebSocket-Protocol: chat"`, `+WSHEAD:1,"Sec-WebSocket-Protocol: chat"`, true},
		{`+CWSAP:"ap","apsecret",5,3,4,0`, `+CWSAP:"ap","********",5,3,4,0`, true},
		{`+MQTTUSERCFG:0,1,"c","u1","p1",0,0,""`, `+MQTTUSERCFG:0,1,"c","**","**",0,0,""`, true},
	} {
		var got []Secret
		if c.device {
			got = r.DeviceLineSecrets([]byte(c.in))
		} else {
			got = r.TextSecrets([]byte(c.in))
		}
		for i := range got {
			got[i].Free = true
		}
		if m := masked(c.in, got); m != c.want {
			t.Errorf("%q:\n got %q\nwant %q", c.in, m, c.want)
		}
	}
	if got := masked("id SN-1234 ok", r.PatternSecrets([]byte("id SN-1234 ok"))); got != "id ******* ok" {
		t.Errorf("pattern: %q", got)
	}
}

func TestCommandPayload(t *testing.T) {
	for _, c := range []struct {
		line, how string
		n         int64
	}{
		{`AT+WSHEAD=12`, "header", 12},
		{`AT+HTTPCHEAD=20`, "header", 20},
		{`AT+MQTTLONGPASSWORD=0,40`, "all", 40},
		{`AT+SYSMFG=2,"wss_key","wss_key.0",8,1200`, "all", 1200},
		{`AT+SYSMFG=2,"ns","k",1,5`, "", 0},
		{`AT+SYSFLASH=1,"client_key",0,100`, "all", 100},
		{`AT+HTTPURLCFG=30`, "uri", 30},
		{`AT+WSSEND=0,5`, "text", 5},
		{`AT+CWMODE=1`, "", 0},
	} {
		cmd, _ := ParseCommand([]byte(c.line))
		p, ok := CommandPayload(cmd)
		if ok != (c.how != "") || p.How != c.how || p.N != c.n {
			t.Errorf("%s: %+v %v", c.line, p, ok)
		}
	}
	if !ReadsSecret(mustParse(`AT+SYSMFG=1,"wss_key","wss_key.0"`)) || ReadsSecret(mustParse(`AT+GMR`)) {
		t.Error("ReadsSecret")
	}
	if n := SecretReadPrefix([]byte(`+SYSMFG:"ns","k",8,5,abcde`)); n != len(`+SYSMFG:"ns","k",8,5,`) {
		t.Errorf("SecretReadPrefix %d", n)
	}
}

func mustParse(s string) *Command {
	c, err := ParseCommand([]byte(s))
	if err != nil {
		panic(err)
	}
	return c
}

// FuzzSecretRules: the rules never panic on any line, every secret lies
// inside its input, and masking keeps the length, CR and LF, and a command
// line's parse (same parameter count).
func FuzzSecretRules(f *testing.F) {
	for _, s := range []string{`AT+CWJAP="a\"b","c\\d"`, `AT+WSOPEN=0,"ws://u:p@h/?token=x",,1,"Basic y"`, `+WSHEAD:0,"k:v"`,
		`{"token":"x"}`, "GET / HTTP/1.1\r\nCookie: a", `AT+HTTPCLIENT=1,0,"http://h",,,1,"d","H: v"`, `+CWSAP:"a","b\"`,
		`AT+CWJEAP="s",1,"id@x","u","p\,w",0`, `+CWJEAP:"s",1,"id","u","p",0`, `AT+CIPSSLCPSK=0,"psk","hint"`,
		`AT+CIPSSLCPSK="p\"sk","h"`, `+CIPSSLCPSK:0,"psk","hint"`, `+CIPSSLCPSKHEX:0,"70736b",`, `+HTTPCHEAD:0,"Cookie: a=b"`,
		`+HTTPCHEAD:0,`, `+HTTPURLCFG:20,http://a:b@h/?token=1`, `+HTTPURLCFG:`, `AT+FS=0,1,"k.pem",0,10`, `+FS:5,ab\r\nc`,
		`AT+HTTPCPOST="http://u:p@h",5,1,"Authorization: x"`} {
		f.Add([]byte(s))
	}
	r := &SecretRules{}
	f.Fuzz(func(t *testing.T, b []byte) {
		check := func(what string, secrets []Secret, free bool) []byte {
			m := append([]byte(nil), b...)
			for _, s := range secrets {
				if s.Off < 0 || s.Len < 0 || s.Off+s.Len > len(b) {
					t.Fatalf("%s: secret %+v outside %d bytes", what, s, len(b))
				}
				s.Free = s.Free || free
				MaskSecret(m, s)
			}
			for i := range b {
				if (b[i] == '\r' || b[i] == '\n' || m[i] == '\r' || m[i] == '\n') && b[i] != m[i] {
					t.Fatalf("%s: byte %d %q -> %q", what, i, b[i], m[i])
				}
			}
			return m
		}
		check("text", r.TextSecrets(b), true)
		check("uri", r.URISecrets(b), true)
		check("device", r.DeviceLineSecrets(b), true)
		check("header", HeaderSecrets(b, "h"), true)
		if c, err := ParseCommand(b); err == nil && !strings.ContainsAny(string(b), "\r\n") {
			m := check("command", r.CommandSecrets(c), false)
			c2, err := ParseCommand(m)
			if err != nil || len(c2.Params) != len(c.Params) || c2.Name != c.Name {
				t.Fatalf("masked %q -> %q no longer parses the same: %v", b, m, err)
			}
		}
		CommandPayload(mustOrNil(b))
	})
}

func mustOrNil(b []byte) *Command {
	c, _ := ParseCommand(b)
	return c
}

// TestMaskSecretKeepsLineEnds: a quoted secret that runs into a line end
// (a torn line, or a backslash just before CRLF) keeps its CR and LF, even
// right after a backslash, so the redacted capture frames lines as the
// original did. Found by FuzzRedact.
func TestMaskSecretKeepsLineEnds(t *testing.T) {
	for _, c := range []struct {
		in, want string
		s        Secret
	}{
		{"ab\\\n\"\r\n", "**\\\n\"\r\n", Secret{Off: 0, Len: 4, Quoted: true}},
		{"ab\\\r\n", "**\\\r\n", Secret{Off: 0, Len: 5, Quoted: true}},
		{"a\\bc", "*\\**", Secret{Off: 0, Len: 4, Quoted: true}},
		{"ab\r\ncd", "**\r\n**", Secret{Off: 0, Len: 6, Free: true}},
	} {
		b := []byte(c.in)
		MaskSecret(b, c.s)
		if string(b) != c.want {
			t.Errorf("MaskSecret(%q, %+v) = %q, want %q", c.in, c.s, b, c.want)
		}
	}
}
