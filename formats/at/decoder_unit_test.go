package at_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/atbridge/atbridge/formats"
	"github.com/atbridge/atbridge/formats/at"
	"github.com/atbridge/atbridge/internal/atcorpus"
)

// script builds chunks from direction-marked parts: ">" host, "<" device;
// each chunk 1 ms after the previous.
func script(parts ...string) []chunk { return scriptEvery(1e6, parts...) }

// scriptEvery is script with step ns between chunks.
func scriptEvery(step int64, parts ...string) []chunk {
	var cs []chunk
	for i, p := range parts {
		dir := formats.ToDevice
		if p[0] == '<' {
			dir = formats.ToHost
		}
		cs = append(cs, chunk{int64(i) * step, dir, []byte(p[1:])})
	}
	return cs
}

func kinds(evs []at.Event) string {
	var b []string
	for _, e := range evs {
		s := e.Kind.String()
		if e.Name != "" {
			s += ":" + e.Name
		}
		b = append(b, s)
	}
	return strings.Join(b, " ")
}

func find(evs []at.Event, kind at.EventKind, name string) *at.Event {
	for i := range evs {
		if evs[i].Kind == kind && (name == "" || evs[i].Name == name) {
			return &evs[i]
		}
	}
	return nil
}

func TestDecoderCases(t *testing.T) {
	tests := []struct {
		name  string
		opts  *at.DecoderOptions
		parts []string
		want  string // kinds and names, space separated
	}{
		{"unparseable command gets ERROR", nil,
			[]string{">AT+GMR \r\n", "<AT+GMR \r\n\r\nERROR\r\n"},
			"command echo result:ERROR transaction"},
		{"not AT when idle is a failed command", nil,
			[]string{">hello\r\n", "<hello\r\n\r\nERROR\r\n"},
			"command echo result:ERROR transaction"},
		{"echo off option", &at.DecoderOptions{EchoOff: true},
			[]string{">AT\r\n", "<\r\nOK\r\n"},
			"command:AT result:OK transaction:AT"},
		{"echo off option, device echoes anyway", &at.DecoderOptions{EchoOff: true},
			[]string{">AT\r\n", "<AT\r\n\r\nOK\r\n"},
			"command:AT echo:AT result:OK transaction:AT"},
		{"host line too long", &at.DecoderOptions{MaxLine: 8},
			[]string{">AT+ABCDEFGH\r\n"},
			"unparsed command transaction"},
		{"device line too long", &at.DecoderOptions{MaxResponseLine: 8},
			[]string{"<0123456789\r\n"},
			"unparsed unparsed"},
		{"WS_DATA over the limit is not held", &at.DecoderOptions{MaxData: 16},
			[]string{"<+WS_DATA:0,1099511627776,abc\r\n"},
			"unparsed unparsed"},
		{"WS_DATA length one over the limit", &at.DecoderOptions{MaxData: 4},
			[]string{"<+WS_DATA:0,5,abcde\r\n"},
			"unparsed unparsed"},
		{"IPD over the limit", &at.DecoderOptions{MaxData: 4},
			[]string{"<\r\n+IPD,0,5:abcde"},
			"unparsed unparsed"},
		{"truncated WS_DATA at flush", nil,
			[]string{"<+WS_DATA:0,10,abc"},
			"unparsed"},
		{"truncated payload at flush", nil,
			[]string{">AT+WSSEND=0,10\r\n", "<AT+WSSEND=0,10\r\n\r\nOK\r\n\r\n>", ">abc"},
			"command:+WSSEND echo:+WSSEND result:OK prompt:+WSSEND payload:+WSSEND transaction:+WSSEND"},
		{"bytes typed before the prompt are held, then payload", nil,
			[]string{">AT+WSSEND=0,3\r\nabc", "<AT+WSSEND=0,3\r\n\r\nOK\r\n\r\n>", "<\r\nSEND OK\r\n"},
			"command:+WSSEND echo:+WSSEND result:OK prompt:+WSSEND payload:+WSSEND result:SEND OK ws_message:+WSSEND transaction:+WSSEND"},
		{"held bytes become commands after ERROR", nil,
			[]string{">AT+WSSEND=1,3\r\nAT\r\n", "<AT+WSSEND=1,3\r\n\r\nERROR\r\n", "<\r\nbusy p...\r\n"},
			"command:+WSSEND echo:+WSSEND result:ERROR transaction:+WSSEND command:AT result:busy p... transaction:AT"},
		{"WSHEAD payload", nil,
			[]string{">AT+WSHEAD=3\r\n", "<AT+WSHEAD=3\r\n\r\nOK\r\n\r\n>", ">a:b", "<\r\nOK\r\n"},
			"command:+WSHEAD echo:+WSHEAD result:OK prompt:+WSHEAD payload:+WSHEAD result:OK transaction:+WSHEAD"},
		{"release firmware prompts for length 0", &at.DecoderOptions{Firmware: at.FirmwareRelease},
			[]string{">AT+WSSEND=0,0\r\n", "<AT+WSSEND=0,0\r\n\r\nOK\r\n\r\n>", "<\r\nSEND OK\r\n"},
			"command:+WSSEND echo:+WSSEND result:OK prompt:+WSSEND result:SEND OK ws_message:+WSSEND transaction:+WSSEND"},
		{"release firmware ignores WSDATAFMT", &at.DecoderOptions{Firmware: at.FirmwareRelease},
			[]string{">AT+WSDATAFMT=0,0,63\r\n", "<\r\nOK\r\n", "<+WS_DATA:0,3,abc\r\n"},
			"command:+WSDATAFMT result:OK transaction:+WSDATAFMT urc:+WS_DATA ws_message:+WS_DATA"},
		{"initial data format option", &at.DecoderOptions{DataFormat: [3]at.WSDataFormat{{Level: 0, Mask: 63}}},
			[]string{"<+WS_DATA:0,2,1,3,0,3,abc\r\n"},
			"urc:+WS_DATA ws_message:+WS_DATA"},
		{"undelimited WS_DATA", &at.DecoderOptions{DataFormat: [3]at.WSDataFormat{{Level: 0, Mask: 33}}},
			[]string{"<+WS_DATA:0,1,abc\r\n"},
			"urc:+WS_DATA ws_message:+WS_DATA"},
		{"stray prompt and stray results", nil,
			[]string{"<\r\n>", "<\r\nOK\r\n", "<\r\nSEND OK\r\n"},
			"prompt:> result:OK result:SEND OK"},
		{"no result before the end", nil,
			[]string{">AT+GMR\r\n"},
			"command:+GMR transaction:+GMR"},
		{"partial command at the end", nil,
			[]string{">AT+GM"},
			"unparsed"},
		{"info line without a command is unparsed", nil,
			[]string{"<+CWJAP:1\r\n"},
			"unparsed"},
		{"malformed WS URC", nil,
			[]string{"<+WS_CONNECTED:7\r\n", "<+WS_DATA:9,1,a\r\n"},
			"unparsed unparsed"},
		{"passthrough data is capped", &at.DecoderOptions{MaxData: 4},
			[]string{">AT+CIPMODE=1\r\n", "<\r\nOK\r\n", ">AT+CIPSEND\r\n", "<\r\nOK\r\n\r\n>", ">0123456789", "<abcdef"},
			"command:+CIPMODE result:OK transaction:+CIPMODE command:+CIPSEND result:OK transaction:+CIPSEND prompt:+CIPSEND payload:passthrough payload:passthrough payload:passthrough payload:passthrough payload:passthrough"},
		{"+++ without a pause is data", nil,
			[]string{">AT+CIPMODE=1\r\n", "<\r\nOK\r\n", ">AT+CIPSEND\r\n", "<\r\nOK\r\n\r\n>", ">x", ">+++"},
			"command:+CIPMODE result:OK transaction:+CIPMODE command:+CIPSEND result:OK transaction:+CIPSEND prompt:+CIPSEND payload:passthrough payload:passthrough"},
		{"certificate missing", nil,
			[]string{">AT+WSCFG=0,30,60,4096,3,0,0\r\n", "<AT+WSCFG=0,30,60,4096,3,0,0\r\nNO CERT FOUND\r\n\r\nERROR\r\n"},
			"command:+WSCFG echo:+WSCFG info:NO CERT FOUND result:ERROR transaction:+WSCFG"},
		{"CWJAP failure code", nil,
			[]string{">AT+CWJAP=\"a\",\"b\"\r\n", "<AT+CWJAP=\"a\",\"b\"\r\n+CWJAP:1\r\n\r\nERROR\r\n"},
			"command:+CWJAP echo:+CWJAP info:+CWJAP result:ERROR transaction:+CWJAP"},
		{"ALREADY CONNECTED and SYSMSG URCs", nil,
			[]string{">AT+CIPSTART=\"TCP\",\"h\",1\r\n", "<ALREADY CONNECTED\r\n\r\nERROR\r\n", "<+LINK_CONN:0,0,\"TCP\",0,\"1.2.3.4\",80,1\r\nWIFI DISCONNECT\r\n"},
			"command:+CIPSTART info:ALREADY CONNECTED result:ERROR transaction:+CIPSTART urc:+LINK_CONN urc:WIFI DISCONNECT"},
		{"WS link states", nil,
			[]string{"<+WS_DISCONNECTED:2\r\n", "<+WS_CONNECTED:2\r\n", "<+WS_CLOSED:2\r\n"},
			"urc:+WS_DISCONNECTED link_state:reconnecting urc:+WS_CONNECTED link_state:connected urc:+WS_CLOSED link_state:closed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs := script(tt.parts...)
			evs := decodeAll(tt.opts, cs)
			checkCoverage(t, evs, cs)
			if got := kinds(evs); got != tt.want {
				t.Errorf("events:\n got %s\nwant %s\n%s", got, tt.want, render(evs))
			}
		})
	}
}

// TestDecoderQuitPassthrough: "+++" after a pause leaves passthrough, so
// the device's +QUITT (AT+SYSMSG bit 0) is decoded as a message.
func TestDecoderQuitPassthrough(t *testing.T) {
	cs := scriptEvery(30e6, ">AT+CIPMODE=1\r\n", "<\r\nOK\r\n", ">AT+CIPSEND\r\n", "<\r\nOK\r\n\r\n>", ">+++", "<\r\n+QUITT\r\n")
	evs := decodeAll(nil, cs)
	checkCoverage(t, evs, cs)
	want := "command:+CIPMODE result:OK transaction:+CIPMODE command:+CIPSEND result:OK transaction:+CIPSEND prompt:+CIPSEND command:+++ urc:+QUITT"
	if got := kinds(evs); got != want {
		t.Errorf("events:\n got %s\nwant %s", got, want)
	}
}

// TestDecoderPlusTiming: the passthrough escape follows the firmware's
// timing (esp-at.md §1.6), whatever the reads: pluses typed one at a time
// less than 20 ms apart count, bytes within 20 ms after "+++" make it data,
// and so does a pause between the pluses.
func TestDecoderPlusTiming(t *testing.T) {
	const ms = int64(1e6)
	enter := []string{">AT+CIPMODE=1\r\n", "<\r\nOK\r\n", ">AT+CIPSEND\r\n", "<\r\nOK\r\n\r\n>"}
	head := "command:+CIPMODE result:OK transaction:+CIPMODE command:+CIPSEND result:OK transaction:+CIPSEND prompt:+CIPSEND"
	for _, tt := range []struct {
		name string
		at   []int64 // times of the chunks after enter, ms after the prompt
		rest []string
		want string
	}{
		{"one plus at a time", []int64{100, 105, 110, 200, 210}, []string{">+", ">+", ">+", "<\r\n+QUITT\r\n", ">AT\r\n"},
			"command:+++ urc:+QUITT command:AT transaction:AT"},
		{"+++ then data at once", []int64{100, 105}, []string{">+++", ">x"},
			"payload:passthrough payload:passthrough"},
		{"a pause between the pluses", []int64{100, 105, 200}, []string{">+", ">+", ">+"},
			"payload:passthrough payload:passthrough"},
		{"server data inside the guard time", []int64{100, 110, 150, 160}, []string{">+++", "<hello", ">AT\r\n", "<\r\nOK\r\n"},
			"payload:passthrough command:+++ command:AT result:OK transaction:AT"},
		{"+++ at the end of the capture", []int64{100}, []string{">+++"},
			"command:+++"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cs := scriptEvery(30*ms, enter...)
			base := cs[len(cs)-1].t
			for i, p := range tt.rest {
				dir := formats.ToDevice
				if p[0] == '<' {
					dir = formats.ToHost
				}
				cs = append(cs, chunk{base + tt.at[i]*ms, dir, []byte(p[1:])})
			}
			evs := decodeAll(nil, cs)
			checkCoverage(t, evs, cs)
			if got, want := kinds(evs), head+" "+tt.want; got != want {
				t.Errorf("events:\n got %s\nwant %s\n%s", got, want, render(evs))
			}
		})
	}
}

func TestDecoderErrors(t *testing.T) {
	evs := decodeAll(&at.DecoderOptions{MaxData: 16}, script("<+WS_DATA:0,1099511627776,abc\r\n"))
	if !errors.Is(evs[0].Err, at.ErrDataTooLong) {
		t.Errorf("huge +WS_DATA: err %v", evs[0].Err)
	}
	evs = decodeAll(nil, script(">AT+GMR\r\n"))
	if tx := evs[len(evs)-1].Tx; tx == nil || !errors.Is(tx.Err, at.ErrNoResult) || tx.ResultSeq != -1 {
		t.Errorf("unanswered command: %+v", evs[len(evs)-1])
	}
	evs = decodeAll(nil, script(">AT+X \r\n"))
	var pe *at.ParseError
	if !errors.As(evs[0].Err, &pe) || evs[0].Cmd != nil {
		t.Errorf("bad command line: %+v", evs[0])
	}
	// <fin> is read on the development line only.
	for _, fw := range []at.Firmware{at.FirmwareRelease, at.FirmwareAuto} {
		evs = decodeAll(&at.DecoderOptions{Firmware: fw}, script(">AT+WSSEND=0,1,2,500,0\r\n", "<\r\nOK\r\n\r\n>", ">x", "<\r\nSEND OK\r\n"))
		m := find(evs, at.EvWSMessage, "").Msg
		if want := map[at.Firmware]int{at.FirmwareRelease: 1, at.FirmwareAuto: 0}[fw]; m.Fin != want || m.Opcode != 2 || m.Result != "SEND OK" {
			t.Errorf("firmware %d: message %+v, want fin %d", fw, m, want)
		}
	}
	evs = decodeAll(&at.DecoderOptions{DataFormat: [3]at.WSDataFormat{{Mask: 33}}}, script("<+WS_DATA:0,1,abc\r\n"))
	if !errors.Is(evs[0].Err, at.ErrUndelimited) || string(evs[0].Data) != "abc" {
		t.Errorf("undelimited: %+v", evs[0])
	}
	if m := evs[1].Msg; m == nil || m.Opcode != 1 || m.Fin != -1 || string(m.Data) != "abc" {
		t.Errorf("undelimited message: %+v", evs[1].Msg)
	}
}

func TestDecoderTransaction(t *testing.T) {
	evs := decodeAll(nil, []chunk{
		{10, formats.ToDevice, []byte("AT+WSOPEN=0,\"ws://h\"\r\n")},
		{20, formats.ToHost, []byte("AT+WSOPEN=0,\"ws://h\"\r\n")},
		{30, formats.ToHost, []byte("+WS_DATA:1,1,x\r\n+WS_CONNECTED:0\r\n")},
		{45, formats.ToHost, []byte("\r\nOK\r\n")},
	})
	tx := find(evs, at.EvTransaction, "").Tx
	if tx.Result != "OK" || tx.Sent != 10 || tx.Done != 45 || tx.Latency != 35 || tx.Busy {
		t.Errorf("transaction %+v", tx)
	}
	if len(tx.Unsolicited) != 2 || len(tx.Response) != 1 {
		t.Fatalf("transaction lists: %+v", tx)
	}
	if e := evs[tx.Response[0]]; e.Kind != at.EvEcho {
		t.Errorf("response %s", e.String())
	}
	if e := evs[tx.Unsolicited[1]]; e.Name != "+WS_CONNECTED" || e.Link != 0 {
		t.Errorf("unsolicited %s", e.String())
	}
	if e := evs[tx.ResultSeq]; e.Kind != at.EvResult || e.Time != 45 {
		t.Errorf("result %s", e.String())
	}
	if e := evs[tx.CmdSeq]; e.Cmd == nil || e.Cmd.Name != "+WSOPEN" {
		t.Errorf("command %s", e.String())
	}
}

// TestDecoderBounded: a silent device and a host that keeps typing do not
// make the decoder hold more and more.
func TestDecoderBounded(t *testing.T) {
	d := at.NewDecoder(nil)
	var early int
	for i := 0; i < 200; i++ {
		for _, e := range d.Feed(int64(i), formats.ToDevice, []byte("AT\r\n")) {
			if e.Kind == at.EvTransaction && errors.Is(e.Tx.Err, at.ErrNoResult) {
				early++
			}
		}
	}
	if early != 200-64 {
		t.Errorf("%d commands given up before Flush, want %d", early, 200-64)
	}
	// Hostile device: a huge +WS_DATA announcement and an endless line.
	d = at.NewDecoder(&at.DecoderOptions{MaxData: 1024, MaxResponseLine: 512})
	evs := d.Feed(0, formats.ToHost, []byte("+WS_DATA:0,1099511627776,"))
	junk := bytes.Repeat([]byte("x"), 100_000)
	evs = append(evs, d.Feed(1, formats.ToHost, junk)...)
	evs = append(evs, d.Flush()...)
	for _, e := range evs {
		if len(e.Raw) > 1024 {
			t.Fatalf("event of %d bytes: the decoder held too much", len(e.Raw))
		}
	}
}

func TestDecoderIgnoresOtherDirections(t *testing.T) {
	d := at.NewDecoder(nil)
	if evs := d.Feed(0, formats.ToServer, []byte("AT\r\n")); evs != nil {
		t.Errorf("ToServer chunk gave %v", evs)
	}
	if evs := d.Feed(0, formats.ToHost, nil); evs != nil {
		t.Errorf("empty chunk gave %v", evs)
	}
}

func TestEventKindNames(t *testing.T) {
	for k := at.EvCommand; k <= at.EvLinkState; k++ {
		got, err := at.ParseEventKind(k.String())
		if err != nil || got != k {
			t.Errorf("ParseEventKind(%q) = %v, %v", k.String(), got, err)
		}
	}
	if _, err := at.ParseEventKind("nope"); err == nil {
		t.Error("ParseEventKind accepted nope")
	}
	if at.EventKind(99).String() != "kind(99)" || at.LinkState(9).String() != "linkstate(9)" {
		t.Error("names of unknown values")
	}
}

// TestDecoderCorpus decodes generated realistic traffic: every byte is
// placed, nothing is unparsed, every command is answered.
func TestDecoderCorpus(t *testing.T) {
	var cs []chunk
	for _, c := range atcorpus.Generate(7, 300_000) {
		cs = append(cs, chunk{c.Time, c.Dir, c.Data})
	}
	evs := decodeAll(nil, cs)
	checkCoverage(t, evs, cs)
	var txs, msgs int
	for _, e := range evs {
		switch e.Kind {
		case at.EvUnparsed:
			t.Fatalf("unparsed: %s", e.String())
		case at.EvTransaction:
			txs++
			if e.Tx.Result == "" {
				t.Fatalf("unanswered: %s", e.String())
			}
		case at.EvWSMessage:
			msgs++
		}
	}
	if txs < 100 || msgs < 100 {
		t.Errorf("only %d transactions and %d messages", txs, msgs)
	}
}
