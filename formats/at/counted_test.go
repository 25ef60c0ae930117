package at_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/atbridge/atbridge/formats/at"
)

// summary renders what the counted-form tests check: every event that
// carries data (its kind, name, link, topic and data), every transaction
// with its result, and every unparsed item.
func summary(evs []at.Event) string {
	var b []string
	for i := range evs {
		e := &evs[i]
		switch {
		case e.Kind == at.EvTransaction:
			b = append(b, fmt.Sprintf("tx %s %q", e.Name, e.Tx.Result))
		case e.Kind == at.EvUnparsed:
			b = append(b, fmt.Sprintf("unparsed %q %v", e.Raw, e.Err))
		case e.Data != nil && e.Kind != at.EvWSMessage:
			s := fmt.Sprintf("%s %s link=%d", e.Kind, e.Name, e.Link)
			if e.Topic != "" {
				s += fmt.Sprintf(" topic=%q", e.Topic)
			}
			b = append(b, s+fmt.Sprintf(" %q", e.Data))
		}
	}
	return strings.Join(b, "\n")
}

// countedCases are the length-counted forms, host and device side, with
// payloads that imitate result lines. The device bytes are the docs'
// (esp-at's docs/en/AT_Command_Set, esp-at-surface.md §9).
var countedCases = []struct {
	name  string
	opts  *at.DecoderOptions
	parts []string
	want  []string
}{
	{"CIPRECVDATA multi-link",
		nil,
		[]string{">AT+CIPRECVDATA=3,100\r\n", "<AT+CIPRECVDATA=3,100\r\n+CIPRECVDATA:13,\r\nOK\r\nERROR\r\n\r\nOK\r\n"},
		[]string{`urc +CIPRECVDATA link=3 "\r\nOK\r\nERROR\r\n"`, `tx +CIPRECVDATA "OK"`}},
	{"CIPRECVDATA single link with AT+CIPDINFO=1 (IPv4)",
		nil,
		[]string{">AT+CIPDINFO=1\r\n", "<AT+CIPDINFO=1\r\n\r\nOK\r\n", ">AT+CIPRECVDATA=9\r\n",
			"<AT+CIPRECVDATA=9\r\n+CIPRECVDATA:9,\"192.168.1.10\",8080,SEND OK\r\n\r\nOK\r\n"},
		[]string{`tx +CIPDINFO "OK"`, `urc +CIPRECVDATA link=-1 "SEND OK\r\n"`, `tx +CIPRECVDATA "OK"`}},
	{"CIPRECVDATA with an IPv6 address, AT+CIPDINFO not seen",
		nil,
		[]string{">AT+CIPRECVDATA=1,5\r\n", "<AT+CIPRECVDATA=1,5\r\n+CIPRECVDATA:5,\"fe80::1a2b:3c4d\",443,+IPD,\r\nOK\r\n"},
		[]string{`urc +CIPRECVDATA link=1 "+IPD,"`, `tx +CIPRECVDATA "OK"`}},
	{"CIPRECVDATA after AT+CIPDINFO=0: a quoted start is data",
		nil,
		[]string{">AT+CIPDINFO=0\r\n", "<AT+CIPDINFO=0\r\n\r\nOK\r\n", ">AT+CIPRECVDATA=0,13\r\n",
			"<AT+CIPRECVDATA=0,13\r\n+CIPRECVDATA:13,\"1.2.3.4\",80,\r\nOK\r\n"},
		[]string{`tx +CIPDINFO "OK"`, `urc +CIPRECVDATA link=0 "\"1.2.3.4\",80,"`, `tx +CIPRECVDATA "OK"`}},
	{"MQTTSUBRECV while a command runs",
		nil,
		[]string{">AT+MQTTSUB=0,\"t\",1\r\n", "<AT+MQTTSUB=0,\"t\",1\r\n+MQTTSUBRECV:0,\"t\",10,\r\nERROR\r\n>\r\n\r\nOK\r\n"},
		[]string{`urc +MQTTSUBRECV link=0 topic="t" "\r\nERROR\r\n>"`, `tx +MQTTSUB "OK"`}},
	{"MQTTSUBRECV with a raw topic holding a quote and a comma",
		nil,
		[]string{"<+MQTTSUBRECV:0,\"a\",b\",7,SEND OK\r\n+MQTTSUBRECV:0,\"x/y\",0,\r\n"},
		[]string{`urc +MQTTSUBRECV link=0 topic="a\",b" "SEND OK"`, `urc +MQTTSUBRECV link=0 topic="x/y" ""`}},
	{"HTTPCLIENT body in two chunks",
		nil,
		[]string{">AT+HTTPCLIENT=2,0,\"http://h/\",,,1\r\n",
			"<AT+HTTPCLIENT=2,0,\"http://h/\",,,1\r\n+HTTPCLIENT:12,\r\nOK\r\nbody\r\n\r\n+HTTPCLIENT:5,ERROR\r\n\r\nOK\r\n"},
		[]string{`info +HTTPCLIENT link=-1 "\r\nOK\r\nbody\r\n"`, `info +HTTPCLIENT link=-1 "ERROR"`, `tx +HTTPCLIENT "OK"`}},
	{"HTTPCLIENT HEAD header lines",
		nil,
		[]string{">AT+HTTPCLIENT=1,0,\"http://h/\",,,1\r\n",
			"<AT+HTTPCLIENT=1,0,\"http://h/\",,,1\r\n+HTTPCLIENT:35,Date: Sun, 26 Sep 2021 06:59:13 GMT\r\n+HTTPCLIENT:19,Content-Length: 329\r\n\r\nOK\r\n"},
		[]string{`info +HTTPCLIENT link=-1 "Date: Sun, 26 Sep 2021 06:59:13 GMT"`, `info +HTTPCLIENT link=-1 "Content-Length: 329"`, `tx +HTTPCLIENT "OK"`}},
	{"HTTPCGET",
		nil,
		[]string{">AT+HTTPCGET=\"http://h/x\"\r\n", "<AT+HTTPCGET=\"http://h/x\"\r\n+HTTPCGET:11,SEND FAIL\r\n\r\n\r\nOK\r\n"},
		[]string{`info +HTTPCGET link=-1 "SEND FAIL\r\n"`, `tx +HTTPCGET "OK"`}},
	{"HTTPCPOST body typed after the prompt, response chunk",
		nil,
		[]string{">AT+HTTPCPOST=\"http://h/p\",8\r\n", "<AT+HTTPCPOST=\"http://h/p\",8\r\n\r\nOK\r\n\r\n>", ">\r\nOK\r\n\r\n",
			"<+HTTPCPOST:8,\r\nOK\r\n>>\r\n\r\nSEND OK\r\n"},
		[]string{`payload +HTTPCPOST link=-1 "\r\nOK\r\n\r\n"`, `info +HTTPCPOST link=-1 "\r\nOK\r\n>>"`, `tx +HTTPCPOST "SEND OK"`}},
	{"HTTPCPUT",
		nil,
		[]string{">AT+HTTPCPUT=\"http://h/p\",5\r\n", "<AT+HTTPCPUT=\"http://h/p\",5\r\n\r\nOK\r\n\r\n>", ">ERROR",
			"<+HTTPCPUT:2,ok\r\n\r\nSEND OK\r\n"},
		[]string{`payload +HTTPCPUT link=-1 "ERROR"`, `info +HTTPCPUT link=-1 "ok"`, `tx +HTTPCPUT "SEND OK"`}},
	{"FS read",
		nil,
		[]string{">AT+FS=0,2,\"f.txt\",0,100\r\n", "<AT+FS=0,2,\"f.txt\",0,100\r\n+FS:10,\r\nERROR\r\n>\r\nOK\r\n"},
		[]string{`info +FS link=-1 "\r\nERROR\r\n>"`, `tx +FS "OK"`}},
	{"FS write after a bare prompt",
		nil,
		[]string{">AT+FS=0,1,\"f.txt\",0,8\r\n", "<AT+FS=0,1,\"f.txt\",0,8\r\n>", ">\r\nOK\r\n\r\n", "<\r\nOK\r\n"},
		[]string{`payload +FS link=-1 "\r\nOK\r\n\r\n"`, `tx +FS "OK"`}},
	{"FS list is a line",
		nil,
		[]string{">AT+FS=0,4,\".\"\r\n", "<AT+FS=0,4,\".\"\r\n+FS:12,ab.txt c.bin\r\n\r\nOK\r\n"},
		[]string{`tx +FS "OK"`}},
	{"SYSFLASH read",
		nil,
		[]string{">AT+SYSFLASH=2,\"mfg_nvs\",0,8\r\n", "<AT+SYSFLASH=2,\"mfg_nvs\",0,8\r\n+SYSFLASH:8,\r\nOK\r\n\xff\xff\r\nOK\r\n"},
		[]string{`info +SYSFLASH link=-1 "\r\nOK\r\n\xff\xff"`, `tx +SYSFLASH "OK"`}},
	{"SYSFLASH write with a hex length",
		nil,
		[]string{">AT+SYSFLASH=1,\"mfg_nvs\",0,0xA\r\n", "<AT+SYSFLASH=1,\"mfg_nvs\",0,0xA\r\n\r\n>", ">\r\nERROR\r\n>", "<\r\nOK\r\n"},
		[]string{`payload +SYSFLASH link=-1 "\r\nERROR\r\n>"`, `tx +SYSFLASH "OK"`}},
	{"SYSMFG read of a string (sysmfg_at_examples.rst) and a binary value",
		nil,
		[]string{">AT+SYSMFG=1,\"factory_param\",\"module_name\"\r\n",
			"<AT+SYSMFG=1,\"factory_param\",\"module_name\"\r\n+SYSMFG:\"factory_param\",\"module_name\",7,6,MINI-1\r\n\r\nOK\r\n",
			">AT+SYSMFG=1,\"client_key\",\"client_key.0\",0,6\r\n",
			"<AT+SYSMFG=1,\"client_key\",\"client_key.0\",0,6\r\n+SYSMFG:\"client_key\",\"client_key.0\",8,6,\r\nOK\r\n\r\nOK\r\n"},
		[]string{`info +SYSMFG link=-1 "MINI-1"`, `tx +SYSMFG "OK"`, `info +SYSMFG link=-1 "\r\nOK\r\n"`, `tx +SYSMFG "OK"`}},
	{"SYSMFG integer read is a line",
		nil,
		[]string{">AT+SYSMFG=1,\"factory_param\",\"uart_baudrate\"\r\n",
			"<AT+SYSMFG=1,\"factory_param\",\"uart_baudrate\"\r\n+SYSMFG:\"factory_param\",\"uart_baudrate\",6,6,115200\r\n\r\nOK\r\n"},
		[]string{`tx +SYSMFG "OK"`}},
	{"SYSMFG write of a string",
		nil,
		[]string{">AT+SYSMFG=2,\"factory_param\",\"module_name\",7,12\r\n",
			"<AT+SYSMFG=2,\"factory_param\",\"module_name\",7,12\r\n\r\nOK\r\n\r\n>", ">MY-MODULE-01", "<\r\nOK\r\n"},
		[]string{`payload +SYSMFG link=-1 "MY-MODULE-01"`, `tx +SYSMFG "OK"`}},
	{"IPD in every form",
		nil,
		[]string{"<\r\n+IPD,4:OK\r\n", "<\r\n+IPD,2,5:ERROR", "<\r\n+IPD,1,\"10.0.0.2\",80:>",
			"<\r\n+IPD,1,4,\"2001:db8::2\",8080:+IPD", "<\r\n+IPD,0,100\r\n", "<\r\n+IPD,100\r\n"},
		[]string{`urc +IPD link=-1 "OK\r\n"`, `urc +IPD link=2 "ERROR"`, `urc +IPD link=-1 ">"`, `urc +IPD link=1 "+IPD"`}},
	{"CIPSEND of UDP to another peer, CIPSENDEX with escapes, CIPSENDL",
		nil,
		[]string{">AT+CIPSEND=0,7,\"192.168.1.2\",8080\r\n", "<AT+CIPSEND=0,7,\"192.168.1.2\",8080\r\n\r\nOK\r\n\r\n>", ">SEND OK",
			"<\r\nRecv 7 bytes\r\n\r\nSEND OK\r\n",
			">AT+CIPSENDEX=0,20\r\n", "<AT+CIPSENDEX=0,20\r\n\r\nOK\r\n\r\n>", ">a\\\\0b\\0", "<\r\nSEND OK\r\n",
			">AT+CIPSENDL=0,6\r\n", "<AT+CIPSENDL=0,6\r\n\r\nOK\r\n\r\n>", ">\r\nOK\r\n", "<\r\nSEND OK\r\n"},
		[]string{`payload +CIPSEND link=0 "SEND OK"`, `tx +CIPSEND "SEND OK"`, `payload +CIPSENDEX link=0 "a\\\\0b\\0"`, `tx +CIPSENDEX "SEND OK"`,
			`payload +CIPSENDL link=0 "\r\nOK\r\n"`, `tx +CIPSENDL "SEND OK"`}},
	{"MQTTPUBRAW and MQTTLONGPASSWORD",
		nil,
		[]string{">AT+MQTTLONGPASSWORD=0,6\r\n", "<AT+MQTTLONGPASSWORD=0,6\r\n\r\nOK\r\n\r\n>", ">\r\nOK\r\n", "<\r\nOK\r\n",
			">AT+MQTTPUBRAW=0,\"t\",12,1,0\r\n", "<AT+MQTTPUBRAW=0,\"t\",12,1,0\r\n\r\nOK\r\n\r\n>", ">+MQTTPUB:OK", "<\r\n+MQTTPUB:OK\r\n"},
		[]string{`payload +MQTTLONGPASSWORD link=-1 "\r\nOK\r\n"`, `tx +MQTTLONGPASSWORD "OK"`, `payload +MQTTPUBRAW link=-1 "+MQTTPUB:OK"`, `tx +MQTTPUBRAW "+MQTTPUB:OK"`}},
	{"HTTPURLCFG and HTTPCHEAD",
		nil,
		[]string{">AT+HTTPURLCFG=10\r\n", "<AT+HTTPURLCFG=10\r\n\r\nOK\r\n\r\n>", ">http://a/\r", "<\r\nSET OK\r\n",
			">AT+HTTPCHEAD=9\r\n", "<AT+HTTPCHEAD=9\r\n\r\nOK\r\n\r\n>", ">X: \r\nOK\r", "<\r\nOK\r\n"},
		[]string{`payload +HTTPURLCFG link=-1 "http://a/\r"`, `tx +HTTPURLCFG "SET OK"`, `payload +HTTPCHEAD link=-1 "X: \r\nOK\r"`, `tx +HTTPCHEAD "OK"`}},
	{"counted lengths over MaxData resync",
		&at.DecoderOptions{MaxData: 8},
		[]string{"<+MQTTSUBRECV:0,\"t\",9,123456789\r\n", ">AT+FS=0,2,\"f\",0,9\r\n", "<AT+FS=0,2,\"f\",0,9\r\n+FS:9,abcdefghi\r\nOK\r\n"},
		[]string{`unparsed "+MQTTSUBRECV:0,\"t\",9," announced data length over the limit`, `unparsed "123456789\r\n" unrecognized bytes`,
			`unparsed "+FS:9," announced data length over the limit`, `tx +FS "OK"`}},
}

// TestCountedForms decodes each length-counted form as one read, then cut
// at every offset of every read, then byte by byte: the events must be
// the same, cover the bytes, and say what the docs' bytes mean.
func TestCountedForms(t *testing.T) {
	for _, tt := range countedCases {
		t.Run(tt.name, func(t *testing.T) {
			cs := script(tt.parts...)
			evs := decodeAll(tt.opts, cs)
			checkCoverage(t, evs, cs)
			if got, want := summary(evs), strings.Join(tt.want, "\n"); got != want {
				t.Fatalf("events:\n%s\nwant:\n%s\nall:\n%s", got, want, render(evs))
			}
			want := render(evs)
			if got := render(decodeAll(tt.opts, bytewise(cs))); got != want {
				t.Fatalf("byte-by-byte decoding differs:\n%s", lineDiff(want, got))
			}
			for i := range cs {
				for k := 1; k < len(cs[i].data); k++ {
					if got := render(decodeAll(tt.opts, splitAt(cs, i, k))); got != want {
						t.Fatalf("read %d cut at %d: events differ:\n%s", i, k, lineDiff(want, got))
					}
				}
			}
		})
	}
}

// TestCountedResponse checks where counted items are listed: link data
// read with AT+CIPRECVDATA in its command's response, a +MQTTSUBRECV
// among the running command's unsolicited messages.
func TestCountedResponse(t *testing.T) {
	evs := decodeAll(nil, script(">AT+CIPRECVDATA=0,4\r\n", "<AT+CIPRECVDATA=0,4\r\n+CIPRECVDATA:4,test",
		"<+MQTTSUBRECV:0,\"t\",2,hi\r\n", "<\r\nOK\r\n"))
	rd, msg, tx := find(evs, at.EvURC, "+CIPRECVDATA"), find(evs, at.EvURC, "+MQTTSUBRECV"), find(evs, at.EvTransaction, "")
	if rd == nil || msg == nil || tx == nil {
		t.Fatalf("missing events:\n%s", render(evs))
	}
	if string(rd.Line) != "+CIPRECVDATA:4," || string(rd.Data) != "test" || rd.Link != 0 {
		t.Errorf("+CIPRECVDATA: line %q data %q link %d", rd.Line, rd.Data, rd.Link)
	}
	in := func(l []int64, seq int64) bool {
		for _, s := range l {
			if s == seq {
				return true
			}
		}
		return false
	}
	if !in(tx.Tx.Response, rd.Seq) || in(tx.Tx.Unsolicited, rd.Seq) {
		t.Errorf("+CIPRECVDATA #%d not in the response only: resp %v urc %v", rd.Seq, tx.Tx.Response, tx.Tx.Unsolicited)
	}
	if in(tx.Tx.Response, msg.Seq) || !in(tx.Tx.Unsolicited, msg.Seq) {
		t.Errorf("+MQTTSUBRECV #%d not unsolicited only: resp %v urc %v", msg.Seq, tx.Tx.Response, tx.Tx.Unsolicited)
	}
	if tx.Tx.Result != "OK" {
		t.Errorf("result %q", tx.Tx.Result)
	}
}

// TestCountedTruncated: a counted item the input ends inside is reported
// as cut short.
func TestCountedTruncated(t *testing.T) {
	evs := decodeAll(nil, script("<+MQTTSUBRECV:0,\"t\",10,abc"))
	if e := find(evs, at.EvUnparsed, ""); e == nil || !errors.Is(e.Err, at.ErrTruncated) {
		t.Fatalf("want a truncated item:\n%s", render(evs))
	}
}
