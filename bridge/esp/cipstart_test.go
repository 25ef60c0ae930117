package esp

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/atbridge/atbridge/internal/rig"
)

// Expected bytes below are typed from docs/esp-at-surface.md §3.2-§3.8.

// sendData runs a send command with data and expects its Recv line, then
// SEND OK and the echo (in either order).
func sendData(h *emuHost, cmd, data, recv, ipd string) {
	h.t.Helper()
	h.Cmd(cmd, "\r\nOK\r\n\r\n>")
	h.Send(data)
	h.Expect(recv)
	h.ExpectAnyOrder("\r\nSEND OK\r\n", ipd)
}

func TestEmuUDPClient(t *testing.T) {
	echo := rig.NewUDPEcho(t, "udp4")
	other := rig.NewUDPEcho(t, "udp4")
	h, sink := startEmuRecorded(t)
	joinWiFi(h)
	// Mode 0: a fixed remote; one +IPD per datagram.
	h.Cmd(fmt.Sprintf(`AT+CIPSTART="UDP","127.0.0.1",%d`, echo.Port), "CONNECT\r\n\r\nOK\r\n")
	sendData(h, "AT+CIPSEND=5", "hello", "\r\nRecv 5 bytes\r\n", "\r\n+IPD,5:hello")
	h.Cmd("AT+CIPDINFO=1", "\r\nOK\r\n")
	sendData(h, "AT+CIPSEND=2", "hi", "\r\nRecv 2 bytes\r\n", fmt.Sprintf("\r\n+IPD,2,\"127.0.0.1\",%d:hi", echo.Port))
	h.Cmd("AT+CIPCLOSE", "CLOSED\r\n\r\nOK\r\n")

	// Mode 2 with a local port: AT+CIPSEND to another remote, whose reply
	// is heard and becomes the remote.
	lp := closedPortUDP(t)
	h.Cmd("AT+CIPMUX=1", "\r\nOK\r\n")
	h.Cmd(fmt.Sprintf(`AT+CIPSTART=1,"UDP","127.0.0.1",%d,%d,2`, echo.Port, lp), "1,CONNECT\r\n\r\nOK\r\n")
	h.Cmd("AT+CIPSTATE?", fmt.Sprintf("+CIPSTATE:1,\"UDP\",\"127.0.0.1\",%d,%d,0\r\n\r\nOK\r\n", echo.Port, lp))
	sendData(h, fmt.Sprintf(`AT+CIPSEND=1,3,"127.0.0.1",%d`, other.Port), "abc", "\r\nRecv 3 bytes\r\n",
		fmt.Sprintf("\r\n+IPD,1,3,\"127.0.0.1\",%d:abc", other.Port))
	h.Cmd("AT+CIPSTATE?", fmt.Sprintf("+CIPSTATE:1,\"UDP\",\"127.0.0.1\",%d,%d,0\r\n\r\nOK\r\n", other.Port, lp))
	sendData(h, "AT+CIPSEND=1,1", "z", "\r\nRecv 1 bytes\r\n", fmt.Sprintf("\r\n+IPD,1,1,\"127.0.0.1\",%d:z", other.Port))
	// Mode 1: changes once, then other senders are dropped.
	lp2 := closedPortUDP(t)
	h.Cmd(fmt.Sprintf(`AT+CIPSTART=2,"UDP","127.0.0.1",%d,%d,1,"",5000`, echo.Port, lp2), "2,CONNECT\r\n\r\nOK\r\n")
	sendData(h, fmt.Sprintf(`AT+CIPSEND=2,1,"127.0.0.1",%d`, other.Port), "q", "\r\nRecv 1 bytes\r\n",
		fmt.Sprintf("\r\n+IPD,2,1,\"127.0.0.1\",%d:q", other.Port))
	h.Cmd(fmt.Sprintf(`AT+CIPSEND=2,1,"127.0.0.1",%d`, echo.Port), "\r\nOK\r\n\r\n>")
	h.Send("w")
	h.Expect("\r\nRecv 1 bytes\r\n\r\nSEND OK\r\n")
	h.ExpectQuiet(100 * time.Millisecond) // the echo's reply is from a third sender
	// A UDP link closes with CIPCLOSE, as a TCP link.
	h.Cmd("AT+CIPCLOSE=5", "1,CLOSED\r\n2,CLOSED\r\n\r\nOK\r\n")
	h.ExpectQuiet(50 * time.Millisecond)
	checkDecodes(t, sink, "+CIPSTART", "+CIPSEND", "+CIPCLOSE")
}

// closedPortUDP returns a free loopback UDP port.
func closedPortUDP(t *testing.T) int {
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	rig.Must(t, err)
	p := c.LocalAddr().(*net.UDPAddr).Port
	c.Close()
	return p
}

func TestEmuTCPFiveLinks(t *testing.T) {
	srv := newTCPServer(t)
	h, sink := startEmuRecorded(t)
	h.Cmd("AT+CIPSTATUS", "STATUS:1\r\n\r\nOK\r\n") // before any join (§10.4)
	h.Cmd("AT+CIPMUX=1", "\r\nOK\r\n")
	for i := range tcpLinks {
		h.Cmd(fmt.Sprintf(`AT+CIPSTARTEX="TCP","127.0.0.1",%d`, srv.port), fmt.Sprintf("%d,CONNECT\r\n\r\nOK\r\n", i))
	}
	h.Cmd(fmt.Sprintf(`AT+CIPSTARTEX="TCP","127.0.0.1",%d`, srv.port), "\r\nERROR\r\n")
	for i := range tcpLinks {
		d := strconv.Itoa(i)
		sendTCP(h, d+",1", d, "\r\n+IPD,"+d+",1:"+d)
	}
	h.Cmd("AT+CIPCLOSE=5", "0,CLOSED\r\n1,CLOSED\r\n2,CLOSED\r\n3,CLOSED\r\n4,CLOSED\r\n\r\nOK\r\n")
	h.Cmd("AT+CIPSTATUS", "STATUS:4\r\n\r\nOK\r\n")
	// Per-link TLS settings under AT+CIPMUX=1; 5 sets them all.
	h.Cmd(`AT+CIPSSLCSNI=5,"all.invalid"`, "\r\nOK\r\n")
	h.Cmd(`AT+CIPSSLCSNI=2,"two.invalid"`, "\r\nOK\r\n")
	h.Cmd(`AT+CIPSSLCSNI="x"`, "\r\nERROR\r\n") // a link id is needed
	h.Cmd("AT+CIPSSLCSNI?", "+CIPSSLCSNI:0,\"all.invalid\"\r\n+CIPSSLCSNI:1,\"all.invalid\"\r\n+CIPSSLCSNI:2,\"two.invalid\"\r\n"+
		"+CIPSSLCSNI:3,\"all.invalid\"\r\n+CIPSSLCSNI:4,\"all.invalid\"\r\n\r\nOK\r\n")
	// The docs' forms with empty fields and the <timeout> last; a local IP.
	h.Cmd(fmt.Sprintf(`AT+CIPSTART=0,"TCP","127.0.0.1",%d,,,5000`, srv.port), "0,CONNECT\r\n\r\nOK\r\n")
	h.Cmd(fmt.Sprintf(`AT+CIPSTART=1,"TCP","127.0.0.1",%d,10,"127.0.0.1",5000`, srv.port), "1,CONNECT\r\n\r\nOK\r\n")
	h.Cmd(fmt.Sprintf(`AT+CIPSTART=2,"TCP","127.0.0.1",%d,,,5000,1`, srv.port), "\r\nERROR\r\n") // too many fields
	h.Cmd("AT+CIPCLOSE=5", "0,CLOSED\r\n1,CLOSED\r\n\r\nOK\r\n")
	checkDecodes(t, sink, "+CIPSTARTEX", "+CIPSEND", "+CIPCLOSE", "+CIPSSLCSNI")
}

func TestEmuSSLClient(t *testing.T) {
	pki := rig.NewPKI(t)
	_, port := rig.NewTLSEcho(t, pki.ServerTLS)
	h, sink := startEmuRecordedOpts(t, &Options{PKIDir: pki.Dir})
	start := fmt.Sprintf(`AT+CIPSTART="SSL","127.0.0.1",%d`, port)
	h.Cmd("AT+CIPSSLCCONF?", "+CIPSSLCCONF:0,0,0,0\r\n\r\nOK\r\n")
	// Without the client certificate the server refuses the handshake.
	h.Cmd(start, "\r\nERROR\r\nCLOSED\r\n")
	h.Cmd("AT+CIPSSLCCONF=3,1,0", "NO PRVT_KEY FOUND\r\n\r\nERROR\r\n")
	h.Cmd("AT+CIPSSLCCONF=3,0,0", "\r\nOK\r\n")
	h.Cmd("AT+CIPSSLCCONF?", "+CIPSSLCCONF:0,3,0,0\r\n\r\nOK\r\n")
	h.Cmd(`AT+CIPSSLCSNI="esp-server.invalid"`, "\r\nOK\r\n")
	h.Cmd("AT+CIPSSLCSNI?", "+CIPSSLCSNI:0,\"esp-server.invalid\"\r\n\r\nOK\r\n")
	h.Cmd(`AT+CIPSSLCALPN=1,"echo"`, "\r\nOK\r\n")
	h.Cmd("AT+CIPSSLCALPN?", "+CIPSSLCALPN:0,\"echo\"\r\n\r\nOK\r\n")
	h.Cmd("AT+CIPSSLCCIPHER=1,0xC02B", "\r\nOK\r\n") // ECDHE-ECDSA-AES128-GCM-SHA256
	h.Cmd("AT+CIPSSLCCIPHER?", "+CIPSSLCCIPHER:0,0xC02B\r\n\r\nOK\r\n")
	h.Cmd("AT+CIPSSLCCIPHER=1,0x1234", "\r\nERROR\r\n")
	h.Cmd(`AT+CIPSSLCPSK="k","hint"`, "\r\nOK\r\n")
	h.Cmd("AT+CIPSSLCPSK?", "+CIPSSLCPSK:0,\"k\",\"hint\"\r\n\r\nOK\r\n")
	h.Cmd(`AT+CIPSSLCPSKHEX="0g","h"`, "\r\nERROR\r\n")
	h.Cmd(start, "CONNECT\r\n\r\nOK\r\n")
	sendTCP(h, "6", "secret", "\r\n+IPD,6:secret")
	h.Cmd("AT+CIPSTATUS", fmt.Sprintf("STATUS:3\r\n+CIPSTATUS:0,\"SSL\",\"127.0.0.1\",%d,%d,0\r\n\r\nOK\r\n", port, h.em.tcp[0].local))
	h.Cmd("AT+CIPCLOSE", "CLOSED\r\n\r\nOK\r\n")
	// The wrong CA: the server's chain does not verify.
	h.Cmd("AT+CIPSSLCCONF=3,0,1", "\r\nOK\r\n")
	h.Cmd(start, "\r\nERROR\r\nCLOSED\r\n")
	// A host name check against the certificate's name.
	h.Cmd("AT+CIPSSLCCONF=3,0,0", "\r\nOK\r\n")
	h.Cmd(`AT+CIPSSLCCN="other.invalid"`, "\r\nOK\r\n")
	h.Cmd(start, "\r\nERROR\r\nCLOSED\r\n")
	h.Cmd(`AT+CIPSSLCCN="esp-server.invalid"`, "\r\nOK\r\n")
	h.Cmd(start, "CONNECT\r\n\r\nOK\r\n")
	// Passthrough over SSL.
	h.Cmd("AT+CIPMODE=1", "\r\nOK\r\n")
	h.Cmd("AT+CIPSEND", "\r\nOK\r\n\r\n>")
	h.Send("raw tls")
	h.Expect("raw tls")
	time.Sleep(100 * time.Millisecond)
	h.Send("+++")
	time.Sleep(100 * time.Millisecond)
	h.Cmd("AT+CIPMODE=0", "\r\nOK\r\n")
	h.Cmd("AT+CIPCLOSE", "CLOSED\r\n\r\nOK\r\n")
	h.ExpectQuiet(50 * time.Millisecond)
	checkDecodes(t, sink, "+CIPSSLCCONF", "+CIPSTART", "+CIPSEND")
}

// startEmuRecordedOpts is startEmuRecorded with options.
func startEmuRecordedOpts(t *testing.T, o *Options) (*emuHost, *rig.Records) {
	sink := &rig.Records{}
	o.Record = sink.Add
	return startEmu(t, o), sink
}

func TestEmuUDPPassthrough(t *testing.T) {
	echo := rig.NewUDPEcho(t, "udp4")
	h, sink := startEmuRecorded(t)
	h.Cmd("AT+CIPMODE=1", "\r\nOK\r\n")
	h.Cmd(fmt.Sprintf(`AT+CIPSTART="UDP","127.0.0.1",%d,%d,2`, echo.Port, closedPortUDP(t)), "\r\nERROR\r\n") // mode 0 only
	h.Cmd(fmt.Sprintf(`AT+CIPSTART="UDP","127.0.0.1",%d`, echo.Port), "CONNECT\r\n\r\nOK\r\n")
	h.Cmd("AT+CIPSEND", "\r\nOK\r\n\r\n>")
	h.Send("datagram")
	h.Expect("datagram")
	time.Sleep(100 * time.Millisecond)
	h.Send("+++")
	time.Sleep(100 * time.Millisecond)
	h.Cmd("AT+CIPCLOSE", "CLOSED\r\n\r\nOK\r\n")
	h.ExpectQuiet(50 * time.Millisecond)
	checkDecodes(t, sink, "+CIPSTART", "+CIPSEND", "+++")
}

func TestEmuIPv6(t *testing.T) {
	ln, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Skipf("no ::1 on this machine: %v", err)
	}
	ln.Close()
	cs := rig.StartConnServer(t, "tcp6", func(c net.Conn) { buf := make([]byte, 64); n, _ := c.Read(buf); c.Write(buf[:n]) })
	_ = cs
	udp := rig.NewUDPEcho(t, "udp6")
	h := startEmu(t, nil)
	port := cs.Addr().(*net.TCPAddr).Port
	h.Cmd(fmt.Sprintf(`AT+CIPSTART="TCPv6","::1",%d`, port), "\r\nERROR\r\n")
	h.Cmd("AT+CIPV6=1", "\r\nOK\r\n")
	h.Cmd("AT+CIPV6?", "+CIPV6:1\r\n\r\nOK\r\n")
	h.Cmd(fmt.Sprintf(`AT+CIPSTART="TCPv6","::1",%d`, port), "CONNECT\r\n\r\nOK\r\n")
	sendTCP(h, "2", "v6", "\r\n+IPD,2:v6")
	h.Cmd("AT+CIPCLOSE", "CLOSED\r\n\r\nOK\r\n")
	h.Cmd(fmt.Sprintf(`AT+CIPSTART="UDPv6","::1",%d`, udp.Port), "CONNECT\r\n\r\nOK\r\n")
	h.Cmd("AT+CIPDINFO=1", "\r\nOK\r\n")
	sendTCP(h, "2", "u6", fmt.Sprintf("\r\n+IPD,2,\"::1\",%d:u6", udp.Port))
	h.Cmd("AT+CIPCLOSE", "CLOSED\r\n\r\nOK\r\n")
}

func TestEmuCIPSENDEX(t *testing.T) {
	srv := newTCPServer(t)
	h, sink := startEmuRecorded(t)
	h.Cmd(fmt.Sprintf(`AT+CIPSTART="TCP","127.0.0.1",%d`, srv.port), "CONNECT\r\n\r\nOK\r\n")
	// Ends at `\0` before the length; \\0 is a literal \0, \x is x.
	sendData(h, "AT+CIPSENDEX=20", `a\\0b\xc\0`, "\r\nRecv 10 bytes\r\n", "\r\n+IPD,6:a\\0bxc")
	// Ends at the length.
	sendData(h, "AT+CIPSENDEX=3", "xyz", "\r\nRecv 3 bytes\r\n", "\r\n+IPD,3:xyz")
	h.Cmd("AT+CIPSENDEX=0", "\r\nERROR\r\n")
	h.Cmd("AT+CIPSENDEX=8193", "\r\nERROR\r\n")
	h.Cmd(`AT+CIPSEND=4,"127.0.0.1",1`, "\r\nERROR\r\n") // remote fields are for UDP links
	h.Cmd("AT+CIPCLOSE", "CLOSED\r\n\r\nOK\r\n")
	h.Cmd("AT+CIPSENDEX=3", "\r\nERROR\r\n")
	checkDecodes(t, sink, "+CIPSENDEX")
}

// TestEmuIPDSizes: at most 2920 bytes per +IPD (§3.6); with
// SplitDeliveries, pieces of that many bytes.
func TestEmuIPDSizes(t *testing.T) {
	for _, split := range []int{0, 1000} {
		t.Run(strconv.Itoa(split), func(t *testing.T) {
			srv := newTCPServer(t)
			h := startEmu(t, &Options{SplitDeliveries: split})
			h.Cmd(fmt.Sprintf(`AT+CIPSTART="TCP","127.0.0.1",%d`, srv.port), "CONNECT\r\n\r\nOK\r\n")
			big := bytes.Repeat([]byte("x"), 3*2920)
			_, err := srv.Conn(0).Write(big)
			rig.Must(t, err)
			limit := 2920
			if split > 0 {
				limit = split
			}
			ipd := regexp.MustCompile(`^\r\n\+IPD,(\d+):`)
			total, maxSeen := 0, 0
			for total < len(big) {
				head, _ := h.WaitLen(12, rig.Timeout)
				m := ipd.FindSubmatch(head)
				if m == nil {
					t.Fatalf("want +IPD, got %q", head)
				}
				n, _ := strconv.Atoi(string(m[1]))
				if n < 1 || n > limit {
					t.Fatalf("+IPD of %d bytes (limit %d)", n, limit)
				}
				h.Consume(len(m[0]))
				if _, ok := h.WaitLen(n, rig.Timeout); !ok {
					t.Fatal("+IPD data missing")
				}
				h.Consume(n)
				total += n
				maxSeen = max(maxSeen, n)
			}
			if split > 0 && maxSeen != split {
				t.Errorf("largest piece %d, want %d", maxSeen, split)
			}
			h.Cmd("AT+CIPCLOSE", "CLOSED\r\n\r\nOK\r\n")
		})
	}
}

// TestEmuWSSplitDeliveries: SplitDeliveries cuts a WebSocket message into
// several +WS_DATA pieces (esp-at.md: +WS_DATA:<id>,<len>,<data>\r\n each).
func TestEmuWSSplitDeliveries(t *testing.T) {
	srv := rig.NewWSEchoServer(t, nil)
	h, sink := startEmuRecordedOpts(t, &Options{SplitDeliveries: 4})
	joinWiFi(h)
	h.Cmd(fmt.Sprintf("AT+WSOPEN=0,%q", srv.URL), "+WS_CONNECTED:0\r\n\r\nOK\r\n")
	h.Cmd("AT+WSSEND=0,10", "\r\nOK\r\n\r\n>")
	h.Send("0123456789")
	h.ExpectAnyOrder("\r\nSEND OK\r\n", "+WS_DATA:0,4,0123\r\n+WS_DATA:0,4,4567\r\n+WS_DATA:0,2,89\r\n")
	h.Cmd("AT+WSCLOSE=0", "\r\nOK\r\n")
	time.Sleep(100 * time.Millisecond)
	checkDecodes(t, sink, "+WSOPEN", "+WSSEND")
}

func TestEmuCIPSENDL(t *testing.T) {
	got := make(chan []byte, 1)
	srv := rig.StartConnServer(t, "tcp4", func(c net.Conn) {
		b, _ := io.ReadAll(c)
		got <- b
	})
	port := srv.Addr().(*net.TCPAddr).Port
	h, sink := startEmuRecorded(t)
	h.Cmd("AT+CIPSENDLCFG?", "+CIPSENDLCFG:1024,2920\r\n\r\nOK\r\n")
	h.Cmd("AT+CIPSENDLCFG=100,100", "\r\nOK\r\n")
	h.Cmd("AT+CIPSENDLCFG=99", "\r\nERROR\r\n")
	h.Cmd("AT+CIPSENDLCFG?", "+CIPSENDLCFG:100,100\r\n\r\nOK\r\n")
	h.Cmd(fmt.Sprintf(`AT+CIPSTART="TCP","127.0.0.1",%d`, port), "CONNECT\r\n\r\nOK\r\n")
	data := bytes.Repeat([]byte("L"), 250)
	h.Cmd("AT+CIPSENDL=250", "\r\nOK\r\n\r\n>")
	h.Send(string(data))
	h.Expect("+CIPSENDL:100,250\r\n+CIPSENDL:200,250\r\n\r\nSEND OK\r\n")
	// "+++" alone cancels.
	h.Cmd("AT+CIPSENDL=1000", "\r\nOK\r\n\r\n>")
	time.Sleep(30 * time.Millisecond)
	h.Send("+++")
	h.Expect("\r\nSEND CANCELLED\r\n")
	h.Cmd("AT+CIPCLOSE", "CLOSED\r\n\r\nOK\r\n")
	if b := <-got; !bytes.Equal(b, data) {
		t.Errorf("server got %d bytes, want the 250 sent", len(b))
	}
	checkDecodes(t, sink, "+CIPSENDL", "+CIPSENDLCFG")
}
