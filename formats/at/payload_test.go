package at

import (
	"bytes"
	"strconv"
	"strings"
	"testing"

	"github.com/atbridge/atbridge/formats"
)

// payloadExamples holds one command line per entry of payloadCommands,
// announcing 5 bytes.
var payloadExamples = map[string]string{
	"+WSSEND":           "AT+WSSEND=0,5",
	"+WSHEAD":           "AT+WSHEAD=5",
	"+CIPSEND":          "AT+CIPSEND=1,5",
	"+CIPSENDEX":        "AT+CIPSENDEX=5",
	"+CIPSENDL":         `AT+CIPSENDL=5,"192.168.1.10",8080`,
	"+HTTPCPOST":        `AT+HTTPCPOST="http://a.example/x",5,1,"X-A: b"`,
	"+HTTPCPUT":         `AT+HTTPCPUT="",5`,
	"+HTTPURLCFG":       "AT+HTTPURLCFG=5",
	"+HTTPCHEAD":        "AT+HTTPCHEAD=5",
	"+MQTTLONGCLIENTID": "AT+MQTTLONGCLIENTID=0,5",
	"+MQTTLONGUSERNAME": "AT+MQTTLONGUSERNAME=0,5",
	"+MQTTLONGPASSWORD": "AT+MQTTLONGPASSWORD=0,5",
	"+MQTTPUBRAW":       `AT+MQTTPUBRAW=0,"t/x",5,1,0`,
	"+SYSMFG":           `AT+SYSMFG=2,"ns","key",7,5`,
	"+SYSFLASH":         `AT+SYSFLASH=1,"ble_data",4096,5`,
	"+SYSMSGFILTERCFG":  "AT+SYSMSGFILTERCFG=1,3,2",
	"+FS":               `AT+FS=0,1,"a.txt",0,5`,
	"+BLEGATTSNTFY":     "AT+BLEGATTSNTFY=0,1,2,5",
	"+BLEGATTSIND":      "AT+BLEGATTSIND=0,1,2,5",
	"+BLEGATTSSETATTR":  "AT+BLEGATTSSETATTR=1,2,1,5",
	"+BLEGATTCWR":       "AT+BLEGATTCWR=0,3,5,5",
}

// TestPayloadCommands runs every entry of the table through the decoder
// with each of its results: the payload is the announced bytes (holding
// CRLF and a command-like line), the result ends the command, the next
// line is a command again.
func TestPayloadCommands(t *testing.T) {
	for i := range payloadCommands {
		sp := &payloadCommands[i]
		line, ok := payloadExamples[sp.name]
		if !ok {
			t.Errorf("%s: no example in payloadExamples", sp.name)
			continue
		}
		if len(sp.results) == 0 || sp.doc == "" {
			t.Errorf("%s: results and doc must be filled in", sp.name)
		}
		for _, res := range sp.results {
			t.Run(sp.name+"/"+res, func(t *testing.T) {
				prompt := "\r\n>"
				if sp.okFirst {
					prompt = "\r\nOK\r\n\r\n>"
				}
				data := "AT\r\n"[:4] + "x"
				d := NewDecoder(&DecoderOptions{EchoOff: true})
				var evs []Event
				evs = append(evs, d.Feed(1, formats.ToDevice, []byte(line+"\r\n"))...)
				evs = append(evs, d.Feed(2, formats.ToHost, []byte(prompt))...)
				evs = append(evs, d.Feed(3, formats.ToDevice, []byte(data+"AT+GMR\r\n"))...)
				evs = append(evs, d.Feed(4, formats.ToHost, []byte("\r\n"+res+"\r\n\r\nOK\r\n"))...)
				evs = append(evs, d.Flush()...)
				var got []string
				for _, e := range evs {
					switch e.Kind {
					case EvPayload:
						got = append(got, "payload:"+e.Name+":"+string(e.Data))
					case EvCommand, EvPrompt:
						got = append(got, e.Kind.String()+":"+e.Name)
					case EvTransaction:
						got = append(got, "tx:"+e.Name+":"+e.Tx.Result)
					}
				}
				want := []string{"command:" + sp.name, "prompt:" + sp.name, "payload:" + sp.name + ":" + data,
					"command:+GMR", "tx:" + sp.name + ":" + res, "tx:+GMR:OK"}
				if strings.Join(got, " ") != strings.Join(want, " ") {
					t.Errorf("got  %q\nwant %q", got, want)
				}
			})
		}
	}
	for name := range payloadExamples {
		if payloadByName[name] == nil {
			t.Errorf("example %s is not in payloadCommands", name)
		}
	}
}

func TestAnnouncedPayload(t *testing.T) {
	tests := []struct {
		line string
		n    int64
		ok   bool
	}{
		{"AT+WSSEND=0,0", 0, true}, // release firmware prompts
		{"AT+WSSEND=3,4", 0, false},
		{"AT+WSSEND=0,-1", 0, false},
		{"AT+WSHEAD=0", 0, false},
		{"AT+WSHEAD?", 0, false},
		{"AT+CIPSEND=7", 7, true},
		{`AT+CIPSEND=7,"10.0.0.1",80`, 7, true},
		{"AT+CIPSEND=2,9", 9, true},
		{"AT+CIPSEND", 0, false},
		{"AT+CIPSENDL=2147483647", 2147483647, true},
		{"AT+CIPSENDEX=0", 0, false},
		{"AT+HTTPURLCFG=0", 0, false},
		{"AT+HTTPURLCFG?", 0, false},
		{"AT+HTTPCHEAD=0", 0, false},
		{`AT+HTTPCPOST="u",x`, 0, false},
		{`AT+MQTTPUBRAW=0,"t",12,1,0`, 12, true},
		{`AT+MQTTPUB=0,"t","d",1,0`, 0, false},
		{`AT+SYSMFG=2,"ns","k",8,100`, 100, true},
		{`AT+SYSMFG=2,"ns","k",1,100`, 0, false}, // u8: 100 is the value
		{`AT+SYSMFG=1,"ns","k",8,100`, 0, false},
		{`AT+SYSFLASH=2,"ble_data",0,100`, 0, false},
		{`AT+SYSFLASH=1,"ble_data",0,100`, 100, true},
		{"AT+SYSMSGFILTERCFG=2,17,0", 17, true},
		{"AT+SYSMSGFILTERCFG=0", 0, false},
		{"AT+SYSMSGFILTERCFG=1,0,0", 0, false},
		{`AT+FS=0,2,"a",0,10`, 0, false},
		{"AT+BLEGATTSSETATTR=1,2,9", 9, true},
		{"AT+BLEGATTSSETATTR=1,2", 0, false},
		{"AT+BLEGATTCWR=0,3,5,1,4", 4, true},
		{"AT+BLEGATTCWR=0,3,5,1,4,4", 0, false},
		{"AT+GMR", 0, false},
	}
	for _, tt := range tests {
		c, err := ParseCommand([]byte(tt.line))
		if err != nil {
			t.Fatal(err)
		}
		n, ok := AnnouncedPayload(c)
		if n != tt.n || ok != tt.ok {
			t.Errorf("%s: got %d %v, want %d %v", tt.line, n, ok, tt.n, tt.ok)
		}
	}
	if _, ok := AnnouncedPayload(nil); ok {
		t.Error("nil command announces a payload")
	}
}

// TestCIPSENDEXEnd: the data ends at the length or at an unescaped `\0`,
// whatever the chunking; what follows is command input again.
func TestCIPSENDEXEnd(t *testing.T) {
	tests := []struct {
		n     int
		typed string
		want  string // the payload
		max   int    // DecoderOptions.MaxData
	}{
		{10, `ab\0cd`, `ab\0`, 0},
		{10, `a\\0b\0`, `a\\0b\0`, 0},
		{10, `\\\0`, `\\\0`, 0},
		{4, `abc\0`, `abc\`, 0},    // the length comes first
		{4, `abcd\0`, `abcd`, 0},   // ditto
		{3, `\00`, `\0`, 0},        // a `\0` at once
		{8, `ab\x\0`, `ab\x\0`, 0}, // \x is an escaped x
		// pieces of MaxData bytes never split an escape pair
		{20, `abc\0z`, `abc\0`, 4},
		{20, `ab\\\0z`, `ab\\\0`, 3},
		{20, `a\\\\b\0`, `a\\\\b\0`, 2},
	}
	for _, tt := range tests {
		for _, step := range []int{1, 2, 100} {
			d := NewDecoder(&DecoderOptions{EchoOff: true, MaxData: tt.max})
			var evs []Event
			evs = append(evs, d.Feed(1, formats.ToDevice, []byte("AT+CIPSENDEX="+strconv.Itoa(tt.n)+"\r\n"))...)
			evs = append(evs, d.Feed(2, formats.ToHost, []byte("\r\nOK\r\n\r\n>"))...)
			for i := 0; i < len(tt.typed); i += step {
				evs = append(evs, d.Feed(int64(3+i), formats.ToDevice, []byte(tt.typed[i:min(i+step, len(tt.typed))]))...)
			}
			evs = append(evs, d.Feed(1000, formats.ToHost, []byte("\r\nSEND OK\r\n"))...)
			evs = append(evs, d.Flush()...)
			var pay, rest []byte
			for _, e := range evs {
				if e.Kind == EvPayload && e.Name == "+CIPSENDEX" {
					pay = append(pay, e.Data...)
				} else if e.Kind.CarriesBytes() && e.Dir == formats.ToDevice && e.Kind != EvCommand {
					rest = append(rest, e.Raw...)
				}
			}
			if string(pay) != tt.want {
				t.Errorf("n=%d %q step %d: payload %q, want %q", tt.n, tt.typed, step, pay, tt.want)
			}
			if want := strings.TrimPrefix(tt.typed, tt.want); !bytes.Equal(rest, []byte(want)) {
				t.Errorf("n=%d %q step %d: after the payload %q, want %q", tt.n, tt.typed, step, rest, want)
			}
		}
	}
}
