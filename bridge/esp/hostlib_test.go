package esp

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/atbridge/atbridge/formats/at"
)

// The two host libraries of esp-at-surface.md §8, their init and Wi-Fi
// calls replayed as they send them and parsed as they parse the replies:
// JAndrassy/WiFiEspAT (§8.1, echo off after ATE0) and
// Adafruit_CircuitPython_ESP_ATcontrol (§8.2).

// readReply consumes everything up to and including the first "\r\nOK\r\n"
// or "\r\nERROR\r\n" and returns it.
func readReply(h *emuHost) string {
	h.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	n := 1
	for time.Now().Before(deadline) {
		got, _ := h.WaitLen(n, time.Second)
		s := string(got)
		for _, end := range []string{"\r\nOK\r\n", "\r\nERROR\r\n"} {
			if i := strings.Index(s, end); i >= 0 {
				h.Consume(i + len(end))
				return s[:i+len(end)]
			}
		}
		n = len(got) + 1
	}
	h.t.Fatal("no OK or ERROR within 5 s")
	return ""
}

// otherHelpersCmd sends a command that another part of issue 13 adds to
// the emulator (TCP/IP: AT+CIPRECVMODE, AT+CIPSSLCCONF). Without it the
// emulator must answer ERROR as for any unknown command; with it, OK.
func otherHelpersCmd(h *emuHost, line string, echo bool) {
	h.t.Helper()
	cmd, err := at.ParseCommand([]byte(line))
	if err != nil {
		h.t.Fatal(err)
	}
	h.Send(line + "\r\n")
	want := "\r\nERROR\r\n"
	if _, ok := h.em.commandTable()[cmd.Name]; ok {
		want = "\r\nOK\r\n"
	}
	got := readReply(h)
	if echo {
		got = strings.TrimPrefix(got, line+"\r\n")
	}
	if !strings.HasSuffix(got, want) {
		h.t.Fatalf("%s: got %q, want a reply ending %q", line, got, want)
	}
}

// weaTokens splits a line after prefix as WiFiEspAT does (strtok with the
// delimiters `,:")`).
func weaTokens(line, prefix string) []string {
	return strings.FieldsFunc(strings.TrimPrefix(line, prefix), func(r rune) bool { return strings.ContainsRune(`,:")`, r) })
}

func TestHostWiFiEspAT(t *testing.T) {
	h := startEmu(t, nil)
	// EspAtDrv.reset()
	h.Cmd("AT+RST", "\r\nOK\r\n\r\nready\r\n")
	h.Cmd("ATE0", "\r\nOK\r\n") // ATE0 itself is echoed
	send := func(line, reply string) {
		t.Helper()
		h.Send(line + "\r\n")
		h.Expect(reply)
	}
	send("AT+CIPMUX=1", "\r\nOK\r\n")
	otherHelpersCmd(h, "AT+CIPRECVMODE=1", false)
	send("AT+SYSSTORE=0", "\r\nOK\r\n")
	h.Send("AT+CWMODE?\r\n")
	if r := readReply(h); !strings.HasPrefix(r, "+CWMODE") || r[8]-'0' != 1 {
		t.Fatalf("AT+CWMODE? = %q, WiFiEspAT reads buffer[8]", r)
	}
	// WiFi.begin(ssid, pass), persistence off.
	send("AT+CWMODE=1", "\r\nOK\r\n")
	h.Send(`AT+CWJAP="espressif","1234567890"` + "\r\n")
	if r := readReply(h); r != "WIFI CONNECTED\r\nWIFI GOT IP\r\n\r\nOK\r\n" {
		t.Fatalf("AT+CWJAP = %q", r)
	}
	// Scan.
	send("AT+CWLAPOPT=1,31", "\r\nOK\r\n")
	h.Send("AT+CWLAP\r\n")
	r := readReply(h)
	var ssids []string
	for _, l := range strings.Split(strings.TrimSuffix(r, "\r\n\r\nOK\r\n"), "\r\n") {
		if !strings.HasPrefix(l, "+CWLAP:(") {
			t.Fatalf("scan line %q", l)
		}
		tok := weaTokens(l, "+CWLAP:(")
		if len(tok) != 10 { // ecn, ssid, rssi, 6 MAC bytes, channel
			t.Fatalf("scan line %q: %d tokens %q", l, len(tok), tok)
		}
		for _, i := range []int{0, 2, 9} {
			if _, err := strconv.Atoi(tok[i]); err != nil {
				t.Fatalf("scan line %q: token %d %q is not a number", l, i, tok[i])
			}
		}
		ssids = append(ssids, tok[1])
	}
	if strings.Join(ssids, " ") != "espressif atbridge-guest neighbour" {
		t.Errorf("scanned %q", ssids)
	}
	// Queries.
	h.Send("AT+CWJAP?\r\n")
	if tok := weaTokens(readReply(h), `+CWJAP:"`); len(tok) < 9 || tok[0] != "espressif" || tok[1] != "ac" || tok[7] != "6" || tok[8] != "-45" {
		t.Errorf("AT+CWJAP? tokens %q", tok)
	}
	send("AT+CIPSTAMAC?", "+CIPSTAMAC:\"24:0a:c4:00:be:ef\"\r\n\r\nOK\r\n")
	send("AT+CIPSTA?", "+CIPSTA:ip:\"192.168.4.2\"\r\n+CIPSTA:gateway:\"192.168.4.1\"\r\n+CIPSTA:netmask:\"255.255.255.0\"\r\n\r\nOK\r\n")
	send("AT+CWHOSTNAME?", "+CWHOSTNAME:espressif\r\n\r\nOK\r\n")
	send("?", "\r\nERROR\r\n") // its timeout probe
	send("AT+CWDHCP_CUR=1,1", "\r\nERROR\r\n")
	send("AT+CIPDNS_CUR=0", "\r\nERROR\r\n")
	send("AT+CWDHCP=1,1", "\r\nOK\r\n")
	send("AT+CWAUTOCONN=0", "\r\nOK\r\n")
	send("AT+SLEEP=0", "\r\nOK\r\n")
	send("AT+CWQAP", "\r\nOK\r\nWIFI DISCONNECT\r\n")
	send("AT+GSLP=0", "0\r\n\r\nOK\r\n") // its "reset"
	h.Expect("\r\nready\r\n")            // auto-connect is off
	h.ExpectQuiet(50 * time.Millisecond)
}

func TestHostESPATcontrol(t *testing.T) {
	h := startEmu(t, nil)
	// atResponse: reads until the buffer ends in OK\r\n or ERROR\r\n.
	ask := func(cmd string) string {
		t.Helper()
		h.Send(cmd + "\r\n")
		return readReply(h)
	}
	if r := ask("AT"); r != "AT\r\n\r\nOK\r\n" {
		t.Fatalf("AT = %q", r)
	}
	if r := ask("ATE0"); r != "ATE0\r\n\r\nOK\r\n" {
		t.Fatalf("ATE0 = %q", r)
	}
	h.Send("AT+UART_CUR=115200,8,1,0,0\r\n") // written raw, reply flushed
	time.Sleep(250 * time.Millisecond)
	if r := readReply(h); r != "\r\nOK\r\n" {
		t.Fatalf("AT+UART_CUR = %q", r)
	}
	if r := ask("AT"); r != "\r\nOK\r\n" {
		t.Fatalf("AT = %q", r)
	}
	if r := ask("AT+GMR"); !strings.Contains(r, "AT version:") {
		t.Fatalf("AT+GMR = %q", r)
	}
	if r := ask("AT+CIPMUX?"); !strings.HasPrefix(r, "+CIPMUX:") || r[8:9] != "0" {
		t.Fatalf("AT+CIPMUX? = %q (must be 0)", r)
	}
	if r := ask("AT+CIPSSLSIZE=4096"); r != "\r\nERROR\r\n" {
		t.Fatalf("AT+CIPSSLSIZE = %q, the library expects it to fail on ESP32", r)
	}
	otherHelpersCmd(h, "AT+CIPSSLCCONF?", false)
	state := func() string {
		t.Helper()
		r := ask("AT+CWSTATE?")
		if !strings.HasPrefix(r, "+CWSTATE:") {
			t.Fatalf("AT+CWSTATE? = %q", r)
		}
		return r[9:10] // int(state_info[0][9:10])
	}
	if s := state(); s != "0" {
		t.Fatalf("state %s before a join", s)
	}
	// connect(secrets)
	if r := ask("AT+CIPSTATE?"); r != "\r\nOK\r\n" {
		t.Fatalf("AT+CIPSTATE? = %q", r)
	}
	if r := ask("AT+CWMODE?"); !strings.HasPrefix(r, "+CWMODE:1\r\n") {
		t.Fatalf("AT+CWMODE? = %q", r)
	}
	if r := ask(`AT+CWJAP="espressif","1234567890"`); !strings.Contains(r, "WIFI CONNECTED\r\n") || !strings.Contains(r, "WIFI GOT IP\r\n") {
		t.Fatalf("AT+CWJAP = %q", r)
	}
	if s := state(); s != "2" {
		t.Fatalf("state %s after the join", s)
	}
	if r := ask(`AT+CIPSNTPCFG=1,530,"pool.ntp.org"`); r != "\r\nOK\r\n" {
		t.Fatalf("AT+CIPSNTPCFG = %q", r)
	}
	r := ask("AT+CIFSR")
	var ip string
	for _, l := range strings.Split(r, "\r\n") {
		if strings.HasPrefix(l, `+CIFSR:STAIP,"`) {
			ip = l[14 : len(l)-1]
		}
	}
	if ip != "192.168.4.2" {
		t.Fatalf("AT+CIFSR = %q: ip %q", r, ip)
	}
	r = ask("AT+CWLAP")
	n := 0
	for _, l := range strings.Split(r, "\r\n") {
		if strings.HasPrefix(l, "+CWLAP:(") {
			if f := strings.Split(l[8:len(l)-1], ","); len(f) != 11 {
				t.Errorf("scan line %q: %d fields", l, len(f))
			}
			n++
		}
	}
	if n != 3 {
		t.Errorf("AT+CWLAP = %q: %d APs", r, n)
	}
	h.Send("AT+CWQAP\r\n")
	h.Expect("\r\nOK\r\nWIFI DISCONNECT\r\n")
}
