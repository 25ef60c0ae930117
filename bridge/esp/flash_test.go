package esp

import (
	"testing"
	"time"

	"github.com/atbridge/atbridge/internal/rig"
)

// The settings below are those Basic_AT_Commands.rst AT+SYSSTORE lists as
// saved with AT+SYSSTORE=1 (and AT+UART_DEF, AT+CWAUTOCONN, saved always);
// setFlashed changes each away from its factory value, and the queries
// read them back.
var flashedSets = []string{
	"AT+CWMODE=3",
	"AT+SYSMSG=3",
	`AT+CWSAP="atb-soft","softpass1",6,3,2,1`,
	`AT+CIPSTA="10.1.2.3","10.1.2.254","255.255.0.0"`,
	`AT+CIPAP="192.168.9.1","192.168.9.1","255.255.255.0"`,
	`AT+CIPSTAMAC="1a:fe:35:98:d3:7b"`,
	`AT+CIPAPMAC="18:fe:35:98:d3:7c"`,
	"AT+CWRECONNCFG=5,100",
}

// flashedQueries are the replies after flashedSets (the CWJAP? line comes
// from the join, and CWRECONNCFG's interval is CWJAP's reconn_interval).
var flashedQueries = [][2]string{
	{"AT+CWMODE?", "+CWMODE:3\r\n\r\nOK\r\n"},
	{"AT+SYSMSG?", "+SYSMSG:3\r\n\r\nOK\r\n"},
	{"AT+CWSAP?", "+CWSAP:\"atb-soft\",\"softpass1\",6,3,2,1\r\n\r\nOK\r\n"},
	{"AT+CIPSTA?", "+CIPSTA:ip:\"10.1.2.3\"\r\n+CIPSTA:gateway:\"10.1.2.254\"\r\n+CIPSTA:netmask:\"255.255.0.0\"\r\n\r\nOK\r\n"},
	{"AT+CIPAP?", "+CIPAP:ip:\"192.168.9.1\"\r\n+CIPAP:gateway:\"192.168.9.1\"\r\n+CIPAP:netmask:\"255.255.255.0\"\r\n\r\nOK\r\n"},
	{"AT+CIPSTAMAC?", "+CIPSTAMAC:\"1a:fe:35:98:d3:7b\"\r\n\r\nOK\r\n"},
	{"AT+CIPAPMAC?", "+CIPAPMAC:\"18:fe:35:98:d3:7c\"\r\n\r\nOK\r\n"},
	{"AT+CWDHCP?", "+CWDHCP:0\r\n\r\nOK\r\n"}, // both static addresses turned DHCP off
	{"AT+CWRECONNCFG?", "+CWRECONNCFG:5,100\r\n\r\nOK\r\n"},
	{"AT+CWJAP?", "+CWJAP:\"espressif\",\"ac:0b:fb:d8:cf:9a\",6,-45,0,5,3,0,1\r\n\r\nOK\r\n"},
	{"AT+UART_DEF?", "+UART_DEF:115200,8,1,0,2\r\n\r\nOK\r\n"},
	{"AT+CWAUTOCONN?", "+CWAUTOCONN:1\r\n\r\nOK\r\n"},
}

// factoryQueries are the same queries on a board with factory settings
// (the ESP32 default softAP SSID is ESP_ and the softAP MAC's last bytes).
var factoryQueries = [][2]string{
	{"AT+CWMODE?", "+CWMODE:1\r\n\r\nOK\r\n"},
	{"AT+SYSMSG?", "+SYSMSG:0\r\n\r\nOK\r\n"},
	{"AT+CIPSTA?", "+CIPSTA:ip:\"0.0.0.0\"\r\n+CIPSTA:gateway:\"0.0.0.0\"\r\n+CIPSTA:netmask:\"0.0.0.0\"\r\n\r\nOK\r\n"},
	{"AT+CIPAP?", "+CIPAP:ip:\"192.168.4.1\"\r\n+CIPAP:gateway:\"192.168.4.1\"\r\n+CIPAP:netmask:\"255.255.255.0\"\r\n\r\nOK\r\n"},
	{"AT+CIPSTAMAC?", "+CIPSTAMAC:\"24:0a:c4:00:be:ef\"\r\n\r\nOK\r\n"},
	{"AT+CIPAPMAC?", "+CIPAPMAC:\"24:0a:c4:00:be:f0\"\r\n\r\nOK\r\n"},
	{"AT+CWDHCP?", "+CWDHCP:3\r\n\r\nOK\r\n"},
	{"AT+CWRECONNCFG?", "+CWRECONNCFG:0,0\r\n\r\nOK\r\n"},
	{"AT+CWJAP?", "No AP\r\n\r\nOK\r\n"},
	{"AT+CWSTATE?", "+CWSTATE:0,\"\"\r\n\r\nOK\r\n"},
	{"AT+CWMODE=2", "\r\nOK\r\n"}, // CWSAP? needs the softAP
	{"AT+CWSAP?", "+CWSAP:\"ESP_00BEF0\",\"\",1,0,4,0\r\n\r\nOK\r\n"},
}

func setFlashed(h *emuHost) {
	h.t.Helper()
	for _, s := range flashedSets {
		h.Cmd(s, "\r\nOK\r\n")
	}
	h.Cmd(`AT+CWJAP="espressif","1234567890",,,5`, "WIFI CONNECTED\r\nWIFI GOT IP\r\n\r\nOK\r\n")
	h.Cmd("AT+UART_DEF=115200,8,1,0,2", "\r\nOK\r\n")
}

func queries(h *emuHost, qs [][2]string) {
	h.t.Helper()
	for _, q := range qs {
		h.Cmd(q[0], q[1])
	}
}

// TestEmuFlashAcrossRST: with AT+SYSSTORE=1 (the default) the settings
// survive AT+RST, the saved AP auto-joins after ready; AT+RESTORE brings
// the factory settings back.
func TestEmuFlashAcrossRST(t *testing.T) {
	h := startEmu(t, nil)
	h.Cmd("AT+SYSSTORE?", "+SYSSTORE:1\r\n\r\nOK\r\n")
	setFlashed(h)
	h.Cmd("AT+CWHOSTNAME=\"my_test\"", "\r\nOK\r\n")  // never saved
	h.Cmd("AT+UART_CUR=115200,8,1,0,1", "\r\nOK\r\n") // never saved
	h.Cmd("AT+RST", "\r\nOK\r\n")
	h.Expect("\r\nready\r\nWIFI CONNECTED\r\nWIFI GOT IP\r\n")
	queries(h, flashedQueries)
	h.Cmd("AT+CWHOSTNAME?", "+CWHOSTNAME:espressif\r\n\r\nOK\r\n")
	h.Cmd("AT+UART_CUR?", "+UART_CUR:115200,8,1,0,2\r\n\r\nOK\r\n") // the UART boots with UART_DEF
	h.Cmd("AT+RESTORE", "\r\nOK\r\n")
	h.Expect("\r\nready\r\n")
	queries(h, factoryQueries)
	h.Cmd("AT+UART_DEF?", "+UART_DEF:115200,8,1,0,0\r\n\r\nOK\r\n")
	h.ExpectQuiet(50 * time.Millisecond)
}

// TestEmuFlashSysstore0: with AT+SYSSTORE=0 the same settings change the
// running state only; AT+RST brings the factory ones back, except
// AT+UART_DEF, AT+CWAUTOCONN and AT+SYSSTORE itself, which are always saved.
func TestEmuFlashSysstore0(t *testing.T) {
	h := startEmu(t, nil)
	h.Cmd("AT+SYSSTORE=0", "\r\nOK\r\n")
	h.Cmd("AT+SYSSTORE?", "+SYSSTORE:0\r\n\r\nOK\r\n")
	setFlashed(h)
	queries(h, flashedQueries) // queries read RAM
	h.Cmd("AT+CWAUTOCONN=0", "\r\nOK\r\n")
	h.Cmd("AT+RST", "\r\nOK\r\n")
	h.Expect("\r\nready\r\n")
	queries(h, factoryQueries)
	h.Cmd("AT+SYSSTORE?", "+SYSSTORE:0\r\n\r\nOK\r\n")
	h.Cmd("AT+UART_DEF?", "+UART_DEF:115200,8,1,0,2\r\n\r\nOK\r\n")
	h.Cmd("AT+CWAUTOCONN?", "+CWAUTOCONN:0\r\n\r\nOK\r\n")
	h.ExpectQuiet(50 * time.Millisecond)
}

// TestEmuFlashAcrossServe: the flash outlives Serve: a new Serve boots
// with what the last one saved.
func TestEmuFlashAcrossServe(t *testing.T) {
	em := New(&Options{Log: rig.Logger(t), RestartDelay: 20 * time.Millisecond})
	h := serveEmu(t, em)
	h.Expect("\r\nready\r\n")
	setFlashed(h)
	h.Cmd("AT+SYSSTORE=0", "\r\nOK\r\n")
	h.Cmd("AT+CWMODE=1", "\r\nOK\r\n") // RAM only: the flash keeps 3
	h.stop()

	h = serveEmu(t, em)
	h.Expect("\r\nready\r\nWIFI CONNECTED\r\nWIFI GOT IP\r\n")
	queries(h, flashedQueries)
	h.Cmd("AT+CWAUTOCONN=0", "\r\nOK\r\n")
	h.stop()

	h = serveEmu(t, em)
	h.Expect("\r\nready\r\n") // auto-connect off: no join
	h.ExpectQuiet(50 * time.Millisecond)
	h.Cmd("AT+CWSTATE?", "+CWSTATE:0,\"\"\r\n\r\nOK\r\n")
	h.Cmd("AT+CWJAP", "WIFI CONNECTED\r\nWIFI GOT IP\r\n\r\nOK\r\n") // the saved AP is configured
}

// TestEmuGSLP: AT+GSLP=<ms> prints the time and OK, the board sleeps
// (input lost) and wakes as from a reset.
func TestEmuGSLP(t *testing.T) {
	h := startEmu(t, nil)
	h.Cmd(`AT+CWJAP="espressif","1234567890"`, "WIFI CONNECTED\r\nWIFI GOT IP\r\n\r\nOK\r\n")
	h.Cmd("ATE0", "\r\nOK\r\n")
	h.Send("AT+GSLP=300\r\n")
	h.Expect("300\r\n\r\nOK\r\n")
	time.Sleep(50 * time.Millisecond) // past the OK, the board is asleep
	h.Send("AT\r\n")                  // lost
	h.ExpectQuiet(150 * time.Millisecond)
	h.Expect("\r\nready\r\nWIFI CONNECTED\r\nWIFI GOT IP\r\n")
	h.Cmd("AT+GSLP=0", "0\r\n\r\nOK\r\n") // echo is back on after the wake
	h.Expect("\r\nready\r\nWIFI CONNECTED\r\nWIFI GOT IP\r\n")
	h.Cmd("AT+SYSLOG=1", "\r\nOK\r\n")
	h.Cmd("AT+GSLP=-1", "ERR CODE:0x01070000\r\n\r\nERROR\r\n")
	h.Cmd("AT+GSLP=2147483648", "ERR CODE:0x01070000\r\n\r\nERROR\r\n")
	h.Cmd(`AT+GSLP="1"`, "ERR CODE:0x01050000\r\n\r\nERROR\r\n")
	h.Cmd("AT+GSLP=1,2", "ERR CODE:0x01060000\r\n\r\nERROR\r\n")
	h.Cmd("AT+GSLP", "\r\nERROR\r\n") // no execute form
}
