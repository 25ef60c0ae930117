package at

import "testing"

// TestSurfaceCommandSecrets: the secrets of the commands beyond Wi-Fi and
// WebSocket, in the parameter order of Espressif's docs (file and command
// named per case), masked with their lengths and the line's parse kept.
func TestSurfaceCommandSecrets(t *testing.T) {
	r := &SecretRules{}
	for _, c := range []struct{ doc, line, want string }{
		{"Wi-Fi AT+CWSAP", `AT+CWSAP="ESP","1234567890",5,3`, `AT+CWSAP="ESP","**********",5,3`},
		{"Wi-Fi AT+CWJEAP (PEAP example)", `AT+CWJEAP="dlink11111",1,"example@espressif.com","espressif","test11",0`,
			`AT+CWJEAP="dlink11111",1,"*********************","*********","******",0`},
		{"Wi-Fi AT+CWJEAP (TLS example)", `AT+CWJEAP="dlink11111",0,"example@espressif.com",,,3`,
			`AT+CWJEAP="dlink11111",0,"*********************",,,3`},
		{"MQTT AT+MQTTUSERCFG example", `AT+MQTTUSERCFG=0,1,"ESP32","espressif","1234567890",0,0,""`,
			`AT+MQTTUSERCFG=0,1,"ESP32","*********","**********",0,0,""`},
		{"TCP-IP AT+CIPSSLCPSK single", `AT+CIPSSLCPSK="psk","myhint"`, `AT+CIPSSLCPSK="***","******"`},
		{"TCP-IP AT+CIPSSLCPSK multiple", `AT+CIPSSLCPSK=0,"s3cr3tpsk","myhint"`, `AT+CIPSSLCPSK=0,"*********","******"`},
		{"TCP-IP AT+CIPSSLCPSKHEX example", `AT+CIPSSLCPSKHEX=0,"70736b","myhint"`, `AT+CIPSSLCPSKHEX=0,"******","******"`},
		{"HTTP AT+HTTPCLIENT user:pass@", `AT+HTTPCLIENT=2,0,"http://bob:hunter22@httpbin.org/get",,,1`,
			`AT+HTTPCLIENT=2,0,"http://************@httpbin.org/get",,,1`},
		{"HTTP AT+HTTPCGET token query", `AT+HTTPCGET="https://h.example/x?access_token=AbC123&v=1"`,
			`AT+HTTPCGET="https://h.example/x?access_token=******&v=1"`},
		{"HTTP AT+HTTPCPOST url and headers", `AT+HTTPCPOST="http://u:p@h/post",8,2,"Authorization: Bearer t0k3n","Content-Type: text/plain"`,
			`AT+HTTPCPOST="http://***@h/post",8,2,"Authorization:*************","Content-Type: text/plain"`},
		{"HTTP AT+HTTPCPUT header", `AT+HTTPCPUT="http://h/put",4,1,"Cookie: sid=abc"`, `AT+HTTPCPUT="http://h/put",4,1,"Cookie:********"`},
		{"HTTP AT+HTTPCLIENT path token", `AT+HTTPCLIENT=1,0,"",,"/get?token=zz9",1`, `AT+HTTPCLIENT=1,0,"",,"/get?token=***",1`},
		{"TCP-IP AT+CIPSSLCCN kept", `AT+CIPSSLCCN=0,"www.example.com"`, `AT+CIPSSLCCN=0,"www.example.com"`},
		{"MQTT AT+MQTTCONN kept", `AT+MQTTCONN=0,"192.168.10.234",1883,0`, `AT+MQTTCONN=0,"192.168.10.234",1883,0`},
	} {
		cmd, err := ParseCommand([]byte(c.line))
		if err != nil {
			t.Fatalf("%s: %v", c.line, err)
		}
		got := masked(c.line, r.CommandSecrets(cmd))
		if got != c.want {
			t.Errorf("%s: %s:\n got %s\nwant %s", c.doc, c.line, got, c.want)
		}
		if again, err := ParseCommand([]byte(got)); err != nil || len(again.Params) != len(cmd.Params) || len(got) != len(c.line) {
			t.Errorf("%s: masked line %s no longer parses the same: %v", c.doc, got, err)
		}
	}
}

// TestSurfaceReadBacks: query replies that print stored credentials, in the
// reply formats of Espressif's docs.
func TestSurfaceReadBacks(t *testing.T) {
	r := &SecretRules{}
	for _, c := range []struct{ doc, line, want string }{
		{"Wi-Fi AT+CWSAP?", `+CWSAP:"ESP","1234567890",5,3,10,0`, `+CWSAP:"ESP","**********",5,3,10,0`},
		{"Wi-Fi AT+CWJEAP?", `+CWJEAP:"dlink11111",1,"example@espressif.com","espressif","test11",0`,
			`+CWJEAP:"dlink11111",1,"*********************","*********","******",0`},
		{"TCP-IP AT+CIPSSLCPSK?", `+CIPSSLCPSK:0,"s3cr3tpsk","myhint"`, `+CIPSSLCPSK:0,"*********","******"`},
		{"TCP-IP AT+CIPSSLCPSKHEX?", `+CIPSSLCPSKHEX:1,"70736b","myhint"`, `+CIPSSLCPSKHEX:1,"******","******"`},
		{"HTTP AT+HTTPCHEAD?", `+HTTPCHEAD:0,"Authorization: Basic dXNlcjpwYXNz"`, `+HTTPCHEAD:0,"Authorization:*******************"`},
		{"HTTP AT+HTTPCHEAD? custom header", `+HTTPCHEAD:1,"Range: bytes=0-100"`, `+HTTPCHEAD:1,"Range:************"`},
		{"HTTP AT+HTTPCHEAD? kept", `+HTTPCHEAD:1,"Accept: */*"`, `+HTTPCHEAD:1,"Accept: */*"`},
		{"HTTP AT+HTTPURLCFG?", `+HTTPURLCFG:38,http://bob:pw12@example.com/?sig=a1b2`, `+HTTPURLCFG:38,http://********@example.com/?sig=****`},
		{"MQTT AT+MQTTCONN? kept", `+MQTTCONN:0,4,1,"192.168.10.234",1883,"",0`, `+MQTTCONN:0,4,1,"192.168.10.234",1883,"",0`},
	} {
		got := r.DeviceLineSecrets([]byte(c.line))
		for i := range got {
			got[i].Free = true
		}
		if m := masked(c.line, got); m != c.want {
			t.Errorf("%s: %s:\n got %s\nwant %s", c.doc, c.line, m, c.want)
		}
	}
}

// TestSurfacePayloads: how the data typed after the prompt of AT+FS is
// redacted, by file name, and which reads print key material.
func TestSurfacePayloads(t *testing.T) {
	for _, c := range []struct {
		line, how string
		reads     bool
	}{
		{`AT+FS=0,1,"client.key",0,1700`, "all", false},
		{`AT+FS=0,1,"ca.pem",0,1200`, "all", false},
		{`AT+FS=0,1,"mqtt_cert.der",0,900`, "all", false},
		{`AT+FS=0,1,"test.txt",0,10`, "text", false},
		{`AT+FS=0,2,"client.key",0,1700`, "", true},
		{`AT+FS=0,2,"test.txt",0,10`, "", false},
		{`AT+FS=0,3,"client.key"`, "", false},
		{`AT+MQTTLONGPASSWORD=0,10`, "all", false},
		{`AT+HTTPCHEAD=18`, "header", false},
		{`AT+HTTPURLCFG=20`, "uri", false},
		{`AT+SYSMFG=2,"client_key","client_key.0",8,1679`, "all", false},
		{`AT+SYSMFG=1,"client_key","client_key.0"`, "", true},
	} {
		cmd := mustParse(c.line)
		p, ok := CommandPayload(cmd)
		if ok != (c.how != "") || p.How != c.how {
			t.Errorf("%s: payload %+v %v, want %q", c.line, p, ok, c.how)
		}
		if got := ReadsSecret(cmd); got != c.reads {
			t.Errorf("%s: ReadsSecret %v", c.line, got)
		}
	}
	if n := SecretReadPrefix([]byte("+FS:10,0123456789")); n != len("+FS:10,") {
		t.Errorf("SecretReadPrefix +FS: %d", n)
	}
	for name, want := range map[string]bool{"client.key": true, "CA.PEM": true, "ca": true, "/root/cert.bin": true,
		"my_token.txt": true, "test.txt": false, "cat.txt": false, "data.bin": false} {
		if KeyFileName(name) != want {
			t.Errorf("KeyFileName(%q) != %v", name, want)
		}
	}
}
