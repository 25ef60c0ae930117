package esp

import (
	"strings"
	"testing"
	"time"
)

// The expected bytes below are written from Wi-Fi_AT_Commands.rst and
// esp-at-surface.md §2 (line formats from LIB-WIFI's strings).

func TestEmuCWLAP(t *testing.T) {
	h := startEmu(t, nil)
	// Default mask 0x7FF: 11 fields, strongest first.
	h.Cmd("AT+CWLAP", ""+
		"+CWLAP:(3,\"espressif\",-45,\"ac:0b:fb:d8:cf:9a\",6,0,0,4,4,7,0)\r\n"+
		"+CWLAP:(0,\"atbridge-guest\",-62,\"ac:0b:fb:d8:cf:9b\",1,0,0,0,0,7,0)\r\n"+
		"+CWLAP:(7,\"neighbour\",-81,\"7c:8b:ca:3e:d7:5b\",11,0,0,4,4,7,0)\r\n\r\nOK\r\n")
	h.Cmd("AT+CWLAPOPT=1,31", "\r\nOK\r\n") // what WiFiEspAT sends
	h.Cmd(`AT+CWLAP="neighbour"`, "+CWLAP:(7,\"neighbour\",-81,\"7c:8b:ca:3e:d7:5b\",11)\r\n\r\nOK\r\n")
	h.Cmd(`AT+CWLAP=,"AC:0B:FB:D8:CF:9B"`, "+CWLAP:(0,\"atbridge-guest\",-62,\"ac:0b:fb:d8:cf:9b\",1)\r\n\r\nOK\r\n")
	h.Cmd(`AT+CWLAP=,,6`, "+CWLAP:(3,\"espressif\",-45,\"ac:0b:fb:d8:cf:9a\",6)\r\n\r\nOK\r\n")
	h.Cmd(`AT+CWLAP="espressif","ac:0b:fb:d8:cf:9a",6,0,400,1000`, "+CWLAP:(3,\"espressif\",-45,\"ac:0b:fb:d8:cf:9a\",6)\r\n\r\nOK\r\n")
	h.Cmd(`AT+CWLAP=,,,,,,2050`, "+CWLAP:(0,\"atbridge-guest\",-62,\"ac:0b:fb:d8:cf:9b\",1)\r\n+CWLAP:(7,\"neighbour\",-81,\"7c:8b:ca:3e:d7:5b\",11)\r\n\r\nOK\r\n") // bits 1 and 11
	h.Cmd(`AT+CWLAP="nobody"`, "\r\nOK\r\n")
	h.Cmd("AT+CWLAPOPT=,6,-70", "\r\nOK\r\n") // ssid and rssi only, weaker than -70 dBm hidden
	h.Cmd("AT+CWLAP", "+CWLAP:(\"espressif\",-45)\r\n+CWLAP:(\"atbridge-guest\",-62)\r\n\r\nOK\r\n")
	h.Cmd("AT+CWLAPOPT=0,2047,-100,1", "\r\nOK\r\n") // OPEN only
	h.Cmd("AT+CWLAP", "+CWLAP:(0,\"atbridge-guest\",-62,\"ac:0b:fb:d8:cf:9b\",1,0,0,0,0,7,0)\r\n\r\nOK\r\n")
	h.Cmd("AT+SYSLOG=1", "\r\nOK\r\n")
	for _, x := range [][2]string{
		{"AT+CWLAPOPT=1,2048", "0x01070001"},
		{"AT+CWLAPOPT=1,31,-101", "0x01070002"},
		{"AT+CWLAPOPT=1,31,-100,65536", "0x01070003"},
		{"AT+CWLAPOPT=2,31", "0x01070000"},
		{"AT+CWLAPOPT=1", "0x01060000"},
		{`AT+CWLAPOPT=1,"31"`, "0x01050001"},
		{"AT+CWLAP=x", "0x01050000"},
		{`AT+CWLAP=,"ac:0b"`, "0x01070001"},
		{`AT+CWLAP=,,15`, "0x01070002"},
		{`AT+CWLAP=,,,2`, "0x01070003"},
		{`AT+CWLAP=,,,,1501`, "0x01070004"},
	} {
		h.Cmd(x[0], "ERR CODE:"+x[1]+"\r\n\r\nERROR\r\n")
	}
	h.Cmd("AT+CWLAPOPT?", "\r\nERROR\r\n") // no query form
	h.Cmd("AT+CWMODE=2", "\r\nOK\r\n")
	h.Cmd("AT+CWLAP", "ERR CODE:0x010a0000\r\n\r\nERROR\r\n") // no station
}

func TestEmuCWJAPList(t *testing.T) {
	aps := []AccessPoint{
		{SSID: `my "home", 2.4`, Password: "secret123", BSSID: "7c:8b:ca:3e:d7:5b", Channel: 11, RSSI: -55, ECN: 3},
		{SSID: "twin", Password: "pw-one-1", BSSID: "02:00:00:00:00:01", Channel: 1, RSSI: -70, ECN: 3},
		{SSID: "twin", Password: "pw-two-2", BSSID: "02:00:00:00:00:02", Channel: 6, RSSI: -60, ECN: 4},
		{SSID: "open", BSSID: "02:00:00:00:00:03", Channel: 3, RSSI: -40, ECN: 0},
	}
	h := startEmu(t, &Options{AccessPoints: aps})
	// Escapes in the command; raw in AT+CWJAP? and AT+CWSTATE? (LIB-WIFI "%s").
	h.Cmd(`AT+CWJAP="my \"home\"\, 2.4","secret123"`, "WIFI CONNECTED\r\nWIFI GOT IP\r\n\r\nOK\r\n")
	h.Cmd("AT+CWJAP?", "+CWJAP:\"my \"home\", 2.4\",\"7c:8b:ca:3e:d7:5b\",11,-55,0,1,3,0,1\r\n\r\nOK\r\n")
	h.Cmd("AT+CWSTATE?", "+CWSTATE:2,\"my \"home\", 2.4\"\r\n\r\nOK\r\n")
	h.Cmd(`AT+CWJAP="espressif","1234567890"`, "WIFI DISCONNECT\r\n+CWJAP:3\r\n\r\nERROR\r\n") // not in this list
	h.Cmd("AT+CWSTATE?", "+CWSTATE:4,\"espressif\"\r\n\r\nOK\r\n")
	h.Cmd(`AT+CWJAP="twin","pw-two-2"`, "WIFI CONNECTED\r\nWIFI GOT IP\r\n\r\nOK\r\n") // the stronger twin
	h.Cmd("AT+CWJAP?", "+CWJAP:\"twin\",\"02:00:00:00:00:02\",6,-60,0,1,3,0,1\r\n\r\nOK\r\n")
	h.Cmd(`AT+CWJAP="twin","pw-two-2","02:00:00:00:00:01"`, "WIFI DISCONNECT\r\n+CWJAP:2\r\n\r\nERROR\r\n")
	h.Cmd(`AT+CWJAP="twin","pw-one-1","02:00:00:00:00:01",1,7,10,1,30,3`, "WIFI CONNECTED\r\nWIFI GOT IP\r\n\r\nOK\r\n")
	h.Cmd("AT+CWJAP?", "+CWJAP:\"twin\",\"02:00:00:00:00:01\",1,-70,1,7,10,1,3\r\n\r\nOK\r\n")
	h.Cmd("AT+CWRECONNCFG?", "+CWRECONNCFG:7,0\r\n\r\nOK\r\n") // CWJAP's reconn_interval
	h.Cmd(`AT+CWJAP="open","anything"`, "WIFI DISCONNECT\r\nWIFI CONNECTED\r\nWIFI GOT IP\r\n\r\nOK\r\n")
	h.Cmd(`AT+CWJAP="open","",,1`, "WIFI DISCONNECT\r\n+CWJAP:3\r\n\r\nERROR\r\n") // pci_en=1 skips OPEN
	h.Cmd("AT+SYSLOG=1", "\r\nOK\r\n")
	h.Cmd(`AT+CWJAP="twin","nope"`, "+CWJAP:2\r\nERR CODE:0x010a0000\r\n\r\nERROR\r\n")
	for _, x := range [][2]string{
		{`AT+CWJAP=twin,"pw"`, "0x01050000"},
		{`AT+CWJAP="twin",pw`, "0x01050001"},
		{`AT+CWJAP="` + strings.Repeat("s", 33) + `","pw"`, "0x01070000"},
		{`AT+CWJAP="twin","` + strings.Repeat("p", 64) + `"`, "0x01070001"}, // 63 on release
		{`AT+CWJAP="twin","pw","02:00"`, "0x01070002"},
		{`AT+CWJAP="twin","pw",,2`, "0x01070003"},
		{`AT+CWJAP="twin","pw",,,7201`, "0x01070004"},
		{`AT+CWJAP="twin","pw",,,,0`, "0x01070005"},
		{`AT+CWJAP="twin","pw",,,,,2`, "0x01070006"},
		{`AT+CWJAP="twin","pw",,,,,,2`, "0x01070007"},
		{`AT+CWJAP="twin","pw",,,,,,,4`, "0x01070008"},
		{`AT+CWJAP="a","b",,,,,,,,1`, "0x01060000"},
	} {
		h.Cmd(x[0], "ERR CODE:"+x[1]+"\r\n\r\nERROR\r\n")
	}
	h.Cmd(`AT+CWJAP="open",""`, "WIFI CONNECTED\r\nWIFI GOT IP\r\n\r\nOK\r\n")
	h.Cmd("AT+CWMODE=2", "\r\nOK\r\nWIFI DISCONNECT\r\n")
	h.Cmd(`AT+CWJAP="twin","pw-one-1"`, "ERR CODE:0x010a0000\r\n\r\nERROR\r\n") // station mode off
	// Back into station mode with auto_connect: the configured AP joins.
	h.Cmd("AT+CWMODE=1", "\r\nOK\r\n")
	h.Expect("WIFI CONNECTED\r\nWIFI GOT IP\r\n")
	h.Cmd("AT+CWMODE=0", "\r\nOK\r\nWIFI DISCONNECT\r\n")
	h.Cmd("AT+CWMODE=1,0", "\r\nOK\r\n") // auto_connect 0: stays off
	h.ExpectQuiet(50 * time.Millisecond)
	h.Cmd("AT+CWMODE=1,2", "ERR CODE:0x01070001\r\n\r\nERROR\r\n")
}

// TestEmuCWJAPFailOption: Options.CWJAPFail fails every join with its code.
func TestEmuCWJAPFailOption(t *testing.T) {
	h := startEmu(t, &Options{CWJAPFail: 1})
	h.Cmd(`AT+CWJAP="espressif","1234567890"`, "+CWJAP:1\r\n\r\nERROR\r\n")
	h.Cmd("AT+CWJAP?", "No AP\r\n\r\nOK\r\n")
}

func TestEmuWiFiSettings(t *testing.T) {
	h := startEmu(t, nil)
	h.Cmd("AT+CWAUTOCONN?", "+CWAUTOCONN:1\r\n\r\nOK\r\n")
	h.Cmd("AT+CWRECONNCFG=1,100", "\r\nOK\r\n")
	h.Cmd("AT+CWRECONNCFG?", "+CWRECONNCFG:1,100\r\n\r\nOK\r\n")
	h.Cmd("AT+CWHOSTNAME?", "+CWHOSTNAME:espressif\r\n\r\nOK\r\n")
	h.Cmd(`AT+CWHOSTNAME="my_test"`, "\r\nOK\r\n")
	h.Cmd("AT+CWHOSTNAME?", "+CWHOSTNAME:my_test\r\n\r\nOK\r\n")
	h.Cmd("AT+CIFSR", "+CIFSR:STAIP,\"0.0.0.0\"\r\n+CIFSR:STAMAC,\"24:0a:c4:00:be:ef\"\r\n\r\nOK\r\n")
	h.Cmd(`AT+CWJAP="espressif","1234567890"`, "WIFI CONNECTED\r\nWIFI GOT IP\r\n\r\nOK\r\n")
	h.Cmd("AT+CIPSTA?", "+CIPSTA:ip:\"192.168.4.2\"\r\n+CIPSTA:gateway:\"192.168.4.1\"\r\n+CIPSTA:netmask:\"255.255.255.0\"\r\n\r\nOK\r\n")
	h.Cmd("AT+CWSAP?", "\r\nERROR\r\n") // station mode only
	h.Cmd("AT+CWMODE=3", "\r\nOK\r\n")
	h.Cmd("AT+CIFSR", "+CIFSR:APIP,\"192.168.4.1\"\r\n+CIFSR:APMAC,\"24:0a:c4:00:be:f0\"\r\n+CIFSR:STAIP,\"192.168.4.2\"\r\n+CIFSR:STAMAC,\"24:0a:c4:00:be:ef\"\r\n\r\nOK\r\n")
	h.Cmd(`AT+CWSAP="ESP","1234567890",5,3`, "\r\nOK\r\n") // the doc's example
	h.Cmd("AT+CWSAP?", "+CWSAP:\"ESP\",\"1234567890\",5,3,4,0\r\n\r\nOK\r\n")
	h.Cmd(`AT+CWSAP="free","ignored",1,0,10,1`, "\r\nOK\r\n")
	h.Cmd("AT+CWSAP?", "+CWSAP:\"free\",\"\",1,0,10,1\r\n\r\nOK\r\n")
	h.Cmd("AT+CWMODE=2", "\r\nOK\r\nWIFI DISCONNECT\r\n")
	h.Cmd("AT+CIFSR", "+CIFSR:APIP,\"192.168.4.1\"\r\n+CIFSR:APMAC,\"24:0a:c4:00:be:f0\"\r\n\r\nOK\r\n")
	h.Cmd(`AT+CIPAP="192.168.5.1"`, "\r\nOK\r\n")
	h.Cmd("AT+CIPAP?", "+CIPAP:ip:\"192.168.5.1\"\r\n+CIPAP:gateway:\"192.168.5.1\"\r\n+CIPAP:netmask:\"255.255.255.0\"\r\n\r\nOK\r\n")
	h.Cmd("AT+CWDHCP?", "+CWDHCP:1\r\n\r\nOK\r\n")
	h.Cmd("AT+CWDHCP=1,2", "\r\nOK\r\n")
	h.Cmd("AT+CWDHCP?", "+CWDHCP:3\r\n\r\nOK\r\n")
	h.Cmd(`AT+CIPSTA="192.168.6.100","192.168.6.1","255.255.255.0"`, "\r\nOK\r\n")
	h.Cmd("AT+CWDHCP?", "+CWDHCP:2\r\n\r\nOK\r\n")
	h.Cmd("AT+CWDHCP=1,1", "\r\nOK\r\n") // station DHCP back: the static address goes
	h.Cmd("AT+CIPSTA?", "+CIPSTA:ip:\"0.0.0.0\"\r\n+CIPSTA:gateway:\"0.0.0.0\"\r\n+CIPSTA:netmask:\"0.0.0.0\"\r\n\r\nOK\r\n")
	h.Cmd("AT+SLEEP?", "+SLEEP:1\r\n\r\nOK\r\n")
	h.Cmd("AT+SLEEP=0", "\r\nOK\r\n")
	h.Cmd("AT+SYSLOG=1", "\r\nOK\r\n")
	for _, x := range [][2]string{
		{`AT+CWHOSTNAME="x"`, "0x010a0000"}, // station mode off
		{"AT+SLEEP=1", "0x010a0000"},        // modem sleep needs station-only mode
		{"AT+SLEEP=2", "0x010a0000"},        // no light sleep with a softAP
		{"AT+SLEEP=4", "0x01070000"},
		{`AT+CWSAP="x","short",1,3`, "0x01070001"},
		{`AT+CWSAP="x","longenough",15,3`, "0x01070002"},
		{`AT+CWSAP="x","longenough",1,1`, "0x01070003"},
		{`AT+CWSAP="x","longenough",1,3,11`, "0x01070004"},
		{`AT+CWSAP="x","longenough",1,3,1,2`, "0x01070005"},
		{`AT+CWSAP="","longenough",1,3`, "0x01070000"},
		{`AT+CWSAP="x","longenough",1`, "0x01060000"},
		{`AT+CIPSTAMAC="15:fe:35:98:d3:7b"`, "0x01070000"}, // multicast bit
		{`AT+CIPSTAMAC="ff:ff:ff:ff:ff:ff"`, "0x01070000"},
		{`AT+CIPSTAMAC="24:0a:c4:00:be:f0"`, "0x01070000"}, // the softAP's
		{`AT+CIPSTAMAC=1`, "0x01050000"},
		{`AT+CIPSTA="1.2.3"`, "0x01070000"},
		{`AT+CIPSTA="1.2.3.4","1.2.3.1"`, "0x01060000"},
		{`AT+CIPSTA="1.2.3.4","1.2.3.1",255`, "0x01050002"},
		{"AT+CWDHCP=2,1", "0x01070000"},
		{"AT+CWDHCP=1,4", "0x01070001"},
		{"AT+CWAUTOCONN=2", "0x01070000"},
		{"AT+CWRECONNCFG=7201,0", "0x01070000"},
		{"AT+CWRECONNCFG=1,1001", "0x01070001"},
		{"AT+CWRECONNCFG=1,1,1", "0x01060000"}, // reconnect_now is dev only
		{"AT+SYSSTORE=2", "0x01070000"},
	} {
		h.Cmd(x[0], "ERR CODE:"+x[1]+"\r\n\r\nERROR\r\n")
	}
	h.Cmd("AT+CWMODE=0", "\r\nOK\r\n")
	h.Cmd("AT+CIFSR", "\r\nOK\r\n")
	h.Cmd("AT+SLEEP=3", "\r\nOK\r\n") // allowed, without effect, in null mode
}

func TestEmuCWRECONNCFGDev(t *testing.T) {
	h := startEmu(t, &Options{Firmware: FirmwareDev})
	h.Cmd("AT+CWRECONNCFG=1,1,1", "\r\nOK\r\n")
	h.Cmd(`AT+CWJAP="espressif","`+strings.Repeat("p", 64)+`"`, "+CWJAP:2\r\n\r\nERROR\r\n") // 64 bytes pass the parser on dev
}
