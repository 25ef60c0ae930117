package esp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/atbridge/atbridge/internal/rig"
)

func TestEmuBasicCommands(t *testing.T) {
	h := startEmu(t, nil)
	h.Cmd("AT", "\r\nOK\r\n")
	h.Cmd("AT+SYSLOG?", "+SYSLOG:0\r\n\r\nOK\r\n")
	h.Cmd("AT+NOPE", "\r\nERROR\r\n")
	h.Cmd("AT+SYSLOG=1", "\r\nOK\r\n")
	h.Cmd("AT+NOPE", "ERR CODE:0x01090000\r\n\r\nERROR\r\n")
	h.Cmd("AT+WSCFG?", "\r\nERROR\r\n") // missing form: plain ERROR
	h.Cmd("AT+SYSLOG=0", "\r\nOK\r\n")
	h.Cmd("AT+CWMODE=1", "\r\nOK\r\n")
	h.Cmd("AT+CWMODE?", "+CWMODE:1\r\n\r\nOK\r\n")
	h.Cmd("AT+CWSTATE?", "+CWSTATE:0,\"\"\r\n\r\nOK\r\n")
	h.Cmd(`AT+CWJAP="espressif","1234567890"`, "WIFI CONNECTED\r\nWIFI GOT IP\r\n\r\nOK\r\n")
	h.Cmd("AT+CWSTATE?", "+CWSTATE:2,\"espressif\"\r\n\r\nOK\r\n")
	h.Cmd("AT+CIFSR", "+CIFSR:STAIP,\"192.168.4.2\"\r\n+CIFSR:STAMAC,\"24:0a:c4:00:be:ef\"\r\n\r\nOK\r\n")
	h.Cmd(`AT+CWJAP="espressif","wrong-password"`, "WIFI DISCONNECT\r\n+CWJAP:2\r\n\r\nERROR\r\n")
	h.Cmd("AT+CWJAP?", "No AP\r\n\r\nOK\r\n")
	h.Cmd("AT+CWJAP", "+CWJAP:2\r\n\r\nERROR\r\n") // reuses the wrong password
	h.Cmd(`AT+CWJAP="espressif","1234567890"`, "WIFI CONNECTED\r\nWIFI GOT IP\r\n\r\nOK\r\n")
	h.Cmd(`AT+CWJAP?`, "+CWJAP:\"espressif\",\"ac:0b:fb:d8:cf:9a\",6,-45,0,1,3,0,1\r\n\r\nOK\r\n")
	h.Cmd("AT+CWJAP", "WIFI DISCONNECT\r\nWIFI CONNECTED\r\nWIFI GOT IP\r\n\r\nOK\r\n")
	h.Cmd("AT+CWQAP", "\r\nOK\r\nWIFI DISCONNECT\r\n")
	// Echo off: nothing but the result.
	h.Cmd("ATE0", "\r\nOK\r\n")
	h.Send("AT\r\n")
	h.Expect("\r\nOK\r\n")
	h.Send("ATE1\r\n")
	h.Expect("\r\nOK\r\n")
	h.Cmd("AT", "\r\nOK\r\n")
}

func TestEmuGMR(t *testing.T) {
	for _, fw := range []Firmware{FirmwareRelease, FirmwareDev} {
		t.Run(fw.String(), func(t *testing.T) {
			h := startEmu(t, &Options{Firmware: fw, Version: "atbridge test"})
			at := "5.0.1.0(3258eee - ESP32 - Mar  9 2026 12:00:00)"
			if fw == FirmwareDev {
				at = "5.0.1.0-dev(32ff6e1 - ESP32 - Jul 24 2026 12:00:00)"
			}
			h.Cmd("AT+GMR", "AT version:"+at+"\r\nSDK version:atbridge test emulator\r\ncompile time(atbridge):Jan  1 2026 00:00:00\r\nBin version:"+fw.String()+"(atbridge emulate)\r\n\r\nOK\r\n")
		})
	}
}

func TestEmuLineLimit(t *testing.T) {
	h := startEmu(t, nil)
	// 254 bytes plus CRLF is the longest accepted line.
	long := "AT+NOPE=" + strings.Repeat("1", 246)
	h.Cmd(long, "\r\nERROR\r\n")
	// 255 bytes without a terminator reset the buffer silently; what
	// follows is a new line.
	junk := strings.Repeat("x", 255)
	h.Send(junk)
	h.Expect(junk)
	h.Cmd("AT", "\r\nOK\r\n")
	// Binary garbage ending in CRLF is not a command.
	h.Send("\x00\xff\x01garbage\r\n")
	h.Expect("\x00\xff\x01garbage\r\n\r\nERROR\r\n")
	h.Cmd("AT+SYSLOG=1", "\r\nOK\r\n")
	h.Cmd("at", "ERR CODE:0x01030000\r\n\r\nERROR\r\n")
}

func TestEmuBusy(t *testing.T) {
	h := startEmu(t, nil)
	// A prompt holds the command busy: the line typed after the announced
	// bytes is answered busy p... (here within the same write).
	h.Cmd("AT+WSHEAD=5", "\r\nOK\r\n\r\n>")
	h.Send("a:b")
	h.ExpectQuiet(100 * time.Millisecond) // fewer bytes than announced: it waits
	h.Send("cdAT\r\n")
	h.ExpectAnyOrder("\r\nbusy p...\r\n", "\r\nOK\r\n")
	h.Cmd("AT+WSHEAD?", "+WSHEAD:0,\"a:bcd\"\r\n\r\nOK\r\n")
	h.Cmd("AT+SYSLOG=1", "\r\nOK\r\n")
	h.Cmd("AT+WSHEAD=3", "\r\nOK\r\n\r\n>")
	h.Send("k:v" + "zz")
	h.ExpectAnyOrder("ERR CODE:0x010b0000\r\n\r\nbusy p...\r\n", "\r\nOK\r\n")
}

func TestEmuBytesAfterCommandInOneWrite(t *testing.T) {
	h := startEmu(t, nil)
	// Payload sent with the command, before the prompt, is lost with
	// busy p...; the prompt then waits for its bytes.
	h.Send("AT+WSHEAD=3\r\nk:v")
	h.Expect("AT+WSHEAD=3\r\n")
	h.ExpectAnyOrder("\r\nbusy p...\r\n", "\r\nOK\r\n\r\n>")
	h.Send("k:v")
	h.Expect("\r\nOK\r\n")
	// A malformed line does not go busy: what follows is parsed.
	h.Send("XY\r\nAT\r\n")
	h.Expect("XY\r\n\r\nERROR\r\nAT\r\n\r\nOK\r\n")
}

func TestEmuRestart(t *testing.T) {
	h := startEmu(t, nil)
	h.Cmd(`AT+CWJAP="ap","pw"`, "WIFI CONNECTED\r\nWIFI GOT IP\r\n\r\nOK\r\n")
	// Inside a prompt AT+RST is payload, not a restart.
	h.Cmd("AT+WSHEAD=10", "\r\nOK\r\n\r\n>")
	h.Send("x:AT+RST\r\n")
	h.Expect("\r\nERROR\r\n") // a header may not end in CRLF
	h.Cmd("AT+WSHEAD=3", "\r\nOK\r\n\r\n>")
	h.Send("a:b")
	h.Expect("\r\nOK\r\n")
	h.Cmd("ATE0", "\r\nOK\r\n")
	h.Send("AT+RST\r\n")
	h.Expect("\r\nOK\r\n\r\nready\r\nWIFI CONNECTED\r\nWIFI GOT IP\r\n")
	// Echo is back on after the reboot, headers are gone.
	h.Cmd("AT+WSHEAD?", "\r\nOK\r\n")
	h.Cmd("AT+RESTORE", "\r\nOK\r\n")
	h.Expect("\r\nready\r\n")
	h.Cmd("AT+CWSTATE?", "+CWSTATE:0,\"\"\r\n\r\nOK\r\n")
}

func TestEmuSNTP(t *testing.T) {
	fixed := time.Date(2021, 10, 18, 12, 12, 27, 0, time.UTC)
	h := startEmu(t, &Options{Now: func() time.Time { return fixed }})
	h.Cmd(`AT+CIPSNTPCFG=1,8,"cn.ntp.org.cn","ntp.sjtu.edu.cn"`, "\r\nOK\r\n")
	h.Expect("+TIME_UPDATED\r\n")
	h.Cmd("AT+CIPSNTPTIME?", "+CIPSNTPTIME:Mon Oct 18 20:12:27 2021\r\nOK\r\n")
	h.Cmd("AT+CIPSNTPCFG?", "+CIPSNTPCFG:1,8,\"cn.ntp.org.cn\",\"ntp.sjtu.edu.cn\"\r\n\r\nOK\r\n")
	h.Cmd("AT+CIPSNTPCFG=1,-0330", "\r\nOK\r\n")
	h.Cmd("AT+CIPSNTPTIME?", "+CIPSNTPTIME:Mon Oct 18 08:42:27 2021\r\nOK\r\n")
	fixed = time.Date(2021, 10, 5, 1, 2, 3, 0, time.UTC)
	h.Cmd("AT+CIPSNTPCFG=1,0", "\r\nOK\r\n")
	h.Cmd("AT+CIPSNTPTIME?", "+CIPSNTPTIME:Tue Oct  5 01:02:03 2021\r\nOK\r\n")
	for _, bad := range []string{"AT+CIPSNTPCFG=1,1460", "AT+CIPSNTPCFG=2", "AT+CIPSNTPCFG=1,0860"} {
		h.Cmd(bad, "\r\nERROR\r\n")
	}
}

// TestEmuSYSTIMESTAMP sets the clock as DOC-BASIC's example does
// (1565853509 is "2019-08-15 15:18:29" at UTC+8), then lets SNTP replace
// it; AT+CIPSNTPINTV keeps its interval.
func TestEmuSYSTIMESTAMP(t *testing.T) {
	fixed := time.Date(2021, 10, 18, 12, 12, 27, 0, time.UTC)
	h := startEmu(t, &Options{Now: func() time.Time { return fixed }})
	h.Cmd("AT+CIPSNTPCFG=0,8", "\r\nOK\r\n")
	h.Cmd("AT+SYSTIMESTAMP=1565853509", "\r\nOK\r\n")
	h.Cmd("AT+SYSTIMESTAMP?", "+SYSTIMESTAMP:1565853509\r\n\r\nOK\r\n")
	h.Cmd("AT+CIPSNTPTIME?", "+CIPSNTPTIME:Thu Aug 15 15:18:29 2019\r\nOK\r\n")
	h.Cmd("AT+CIPSNTPINTV?", "+CIPSNTPINTV:3600\r\n\r\nOK\r\n")
	h.Cmd("AT+CIPSNTPINTV=15", "\r\nOK\r\n")
	for _, bad := range []string{"AT+CIPSNTPINTV=14", "AT+CIPSNTPINTV=4294968", "AT+SYSTIMESTAMP=-1", `AT+SYSTIMESTAMP="1"`} {
		h.Cmd(bad, "\r\nERROR\r\n")
	}
	h.Cmd("AT+CIPSNTPCFG=1,8", "\r\nOK\r\n")
	h.Expect("+TIME_UPDATED\r\n")
	h.Cmd("AT+SYSTIMESTAMP?", fmt.Sprintf("+SYSTIMESTAMP:%d\r\n\r\nOK\r\n", fixed.Unix()))
	h.Cmd("AT+CIPSNTPINTV?", "+CIPSNTPINTV:15\r\n\r\nOK\r\n")
}

// TestEmuServeTwice: a second Serve boots afresh; the AP joined during the
// first is kept and joins at boot.
func TestEmuServeTwice(t *testing.T) {
	em := New(&Options{Log: rig.Logger(t)})
	serve := func(steps ...string) { // banner, then pairs of input and output
		t.Helper()
		dev, hr, hw := pipeLine(t)
		done := make(chan error, 1)
		go func() { done <- em.Serve(context.Background(), dev) }()
		read := func(want string) {
			t.Helper()
			got := make([]byte, 0, len(want))
			b := make([]byte, 256)
			_ = hr.SetReadDeadline(time.Now().Add(rig.Timeout))
			for len(got) < len(want) {
				n, err := hr.Read(b)
				got = append(got, b[:n]...)
				if err != nil {
					break
				}
			}
			if string(got) != want {
				t.Fatalf("got %q, want %q", got, want)
			}
		}
		read(steps[0])
		for i := 1; i+1 < len(steps); i += 2 {
			_, _ = hw.Write([]byte(steps[i]))
			read(steps[i+1])
		}
		hw.Close()
		if err := <-done; !errors.Is(err, io.EOF) {
			t.Errorf("Serve = %v, want io.EOF", err)
		}
		dev.w.Close()
	}
	serve("\r\nready\r\n", "ATE0\r\n", "ATE0\r\n\r\nOK\r\n", "AT+CWJAP=\"ap\",\"pw\"\r\n", "WIFI CONNECTED\r\nWIFI GOT IP\r\n\r\nOK\r\n")
	serve("\r\nready\r\nWIFI CONNECTED\r\nWIFI GOT IP\r\n", "AT+CWSTATE?\r\n", "AT+CWSTATE?\r\n+CWSTATE:2,\"ap\"\r\n\r\nOK\r\n")
}
