package esp

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestEmuCMDList: AT+CMD? prints one +CMD:<index>,"AT<name>",<t>,<q>,<s>,<e>
// line per command (Basic_AT_Commands.rst AT+CMD).
func TestEmuCMDList(t *testing.T) {
	h := startEmu(t, nil)
	h.Send("AT+CMD?\r\n")
	got, _ := h.WaitLen(1, time.Second)
	deadline := time.Now().Add(5 * time.Second)
	for !strings.HasSuffix(string(got), "\r\nOK\r\n") && time.Now().Before(deadline) {
		got, _ = h.WaitLen(len(got)+1, time.Second)
	}
	h.Consume(len(got))
	lines := strings.Split(strings.TrimSuffix(strings.TrimPrefix(string(got), "AT+CMD?\r\n"), "\r\n\r\nOK\r\n"), "\r\n")
	want := map[string]bool{
		`"AT+RST",0,0,0,1`:        true,
		`"AT+CWJAP",0,1,1,1`:      true,
		`"AT+SYSSTORE",0,1,1,0`:   true,
		`"AT+CWMODE",1,1,1,0`:     true,
		`"AT+CWLAP",0,0,1,1`:      true,
		`"AT+CIPSNTPCFG",0,1,1,0`: true,
		`"AT",0,0,0,1`:            true,
	}
	for i, l := range lines {
		prefix := "+CMD:" + strconv.Itoa(i) + ","
		if !strings.HasPrefix(l, prefix) {
			t.Fatalf("line %d = %q, want prefix %q", i, l, prefix)
		}
		delete(want, strings.TrimPrefix(l, prefix))
	}
	if len(want) > 0 {
		t.Errorf("missing: %v in\n%s", want, got)
	}
}

// TestEmuUARTFlow: AT+UART_CUR? reads the flow-control number back as set
// (at_uart_cmd.c prints uart_get_hw_flow_ctrl: 1 RTS, 2 CTS, 3 both).
func TestEmuUARTFlow(t *testing.T) {
	h := startEmu(t, nil)
	for _, flow := range []string{"1", "2", "3", "0"} {
		h.Cmd("AT+UART_CUR=115200,8,1,0,"+flow, "\r\nOK\r\n")
		h.Cmd("AT+UART_CUR?", "+UART_CUR:115200,8,1,0,"+flow+"\r\n\r\nOK\r\n")
	}
	h.Cmd("AT+UART_CUR=115200,7,3,2,0", "\r\nOK\r\n")
	h.Cmd("AT+UART_CUR?", "+UART_CUR:115200,7,3,2,0\r\n\r\nOK\r\n")
	h.Cmd("AT+UART_DEF?", "+UART_DEF:115200,8,1,0,0\r\n\r\nOK\r\n")
	h.Cmd("AT+UART=115200,8,1,0,1", "\r\nOK\r\n") // at_uart_cmd.c: AT+UART sets as UART_DEF
	h.Cmd("AT+UART?", "+UART:115200,8,1,0,1\r\n\r\nOK\r\n")
	h.Cmd("AT+UART_DEF?", "+UART_DEF:115200,8,1,0,1\r\n\r\nOK\r\n")
	h.Cmd("AT+SYSLOG=1", "\r\nOK\r\n")
	h.Cmd("AT+UART_CUR=115200,8,1,0,4", "ERR CODE:0x01070004\r\n\r\nERROR\r\n")
	h.Cmd("AT+UART_CUR=79,8,1,0,0", "ERR CODE:0x01070000\r\n\r\nERROR\r\n")
	h.Cmd("AT+UART_CUR=115200,8,1,0", "ERR CODE:0x01060000\r\n\r\nERROR\r\n")
}

// TestEmuUnknownLines: unknown commands, a bare "?" (what WiFiEspAT sends
// to provoke an answer) and the AT 1.x names of esp-at-surface.md §9 item 4
// answer ERROR, with ERR CODE under AT+SYSLOG=1.
func TestEmuUnknownLines(t *testing.T) {
	h := startEmu(t, nil)
	old := []string{"AT+CWDHCP_CUR=1,1", "AT+CIPDNS_CUR=0", "AT+CWMODE_CUR=1", "AT+CIPSSLSIZE=4096", "AT+CEHOSTNAME?", "AT+SNTPTIME?", "AT+CWJAP_CUR=\"a\",\"b\""}
	h.Cmd("?", "\r\nERROR\r\n")
	for _, c := range old {
		h.Cmd(c, "\r\nERROR\r\n")
	}
	h.Cmd("AT+SYSLOG=1", "\r\nOK\r\n")
	h.Cmd("?", "ERR CODE:0x01030000\r\n\r\nERROR\r\n")
	for _, c := range old {
		h.Cmd(c, "ERR CODE:0x01090000\r\n\r\nERROR\r\n")
	}
	h.Cmd("AT+SYSMSG=8", "ERR CODE:0x01070000\r\n\r\nERROR\r\n")
	h.Cmd("AT+SYSMSG=4", "\r\nOK\r\n")
	h.Cmd("AT+SYSMSG?", "+SYSMSG:4\r\n\r\nOK\r\n")
}

// TestEmuSNTPTimezone: both <timezone> forms of TCP-IP_AT_Commands.rst
// AT+CIPSNTPCFG, the query printing the whole hours (the doc: 015 is
// UTC+00:15, "timezone is 0 in the response").
func TestEmuSNTPTimezone(t *testing.T) {
	fixed := time.Date(2021, 10, 19, 9, 47, 56, 0, time.UTC)
	h := startEmu(t, &Options{Now: func() time.Time { return fixed }})
	for _, x := range []struct{ tz, query, time string }{
		{"8", "8", "Tue Oct 19 17:47:56 2021"},
		{"800", "8", "Tue Oct 19 17:47:56 2021"},
		{"530", "5", "Tue Oct 19 15:17:56 2021"}, // the doc's example
		{"015", "0", "Tue Oct 19 10:02:56 2021"},
		{"15", "0", "Tue Oct 19 10:02:56 2021"},
		{"-1230", "-12", "Mon Oct 18 21:17:56 2021"},
		{"-5", "-5", "Tue Oct 19 04:47:56 2021"},
		{"-13", "0", "Tue Oct 19 09:34:56 2021"},
		{"1245", "12", "Tue Oct 19 22:32:56 2021"},
		{"+1400", "14", "Tue Oct 19 23:47:56 2021"},
	} {
		h.Cmd("AT+CIPSNTPCFG=1,"+x.tz+`,"pool.ntp.org"`, "\r\nOK\r\n")
		if x.tz == "8" {
			h.Expect("+TIME_UPDATED\r\n")
		}
		h.Cmd("AT+CIPSNTPCFG?", "+CIPSNTPCFG:1,"+x.query+",\"pool.ntp.org\"\r\n\r\nOK\r\n")
		h.Cmd("AT+CIPSNTPTIME?", "+CIPSNTPTIME:"+x.time+"\r\nOK\r\n")
	}
	h.Cmd("AT+SYSLOG=1", "\r\nOK\r\n")
	for _, bad := range []string{"1460", "-1300", "1500", "0860", "99999"} {
		h.Cmd("AT+CIPSNTPCFG=1,"+bad, "ERR CODE:0x01070001\r\n\r\nERROR\r\n")
	}
	h.Cmd(`AT+CIPSNTPCFG=1,"8"`, "ERR CODE:0x01050001\r\n\r\nERROR\r\n")
}
