package esp

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/atbridge/atbridge/internal/rig"
)

// The bytes below are typed from DOC-TCP ("AT+CIPSERVER",
// "AT+CIPSERVERMAXCONN", "AT+CIPSTO", "AT+CIPSTATUS") and
// docs/esp-at-surface.md §3.5, not from the emulator. The clients are
// real TCP and TLS connections from the test to the emulated server.

// dialServer connects a client to the emulator's server at port.
func dialServer(t *testing.T, port int) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), rig.Timeout)
	rig.Must(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

// readN reads exactly n bytes from c within the test timeout.
func readN(t *testing.T, c net.Conn, n int) string {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(rig.Timeout))
	b := make([]byte, n)
	if _, err := io.ReadFull(c, b); err != nil {
		t.Fatalf("client read: %v (got %q)", err, b)
	}
	return string(b)
}

// expectEOF checks that the emulator closed c.
func expectEOF(t *testing.T, c net.Conn) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(rig.Timeout))
	if n, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatalf("want the connection closed, read %d bytes", n)
	}
}

func TestEmuServerTCP(t *testing.T) {
	port := closedPort(t)
	h, sink := startEmuRecorded(t)
	open := fmt.Sprintf("AT+CIPSERVER=1,%d", port)
	h.Cmd(open, "\r\nERROR\r\n") // "only when multiple connections are activated"
	h.Cmd("AT+CIPMUX=1", "\r\nOK\r\n")
	h.Cmd("AT+CIPSERVER?", "+CIPSERVER:0\r\n\r\nOK\r\n")
	h.Cmd("AT+CIPSERVERMAXCONN?", "+CIPSERVERMAXCONN:5\r\n\r\nOK\r\n")
	h.Cmd("AT+CIPSTO?", "+CIPSTO:180\r\n\r\nOK\r\n")
	h.Cmd("AT+CIPSERVERMAXCONN=2", "\r\nOK\r\n")
	h.Cmd(open, "\r\nOK\r\n")
	h.Cmd("AT+CIPSERVER?", fmt.Sprintf("+CIPSERVER:1,%d,\"TCP\",0,0\r\n\r\nOK\r\n", port))
	h.Cmd(fmt.Sprintf("AT+CIPSERVER=1,%d", closedPort(t)), "\r\nERROR\r\n") // one server at most
	h.Cmd("AT+CIPSERVERMAXCONN=3", "\r\nERROR\r\n")                         // "before creating a server"
	h.Cmd("AT+CIPMUX=0", "\r\nERROR\r\n")

	a := dialServer(t, port)
	h.Expect("0,CONNECT\r\n")
	_, err := a.Write([]byte("hello\r\nOK\r\n"))
	rig.Must(t, err)
	h.Expect("\r\n+IPD,0,11:hello\r\nOK\r\n")
	h.Cmd("AT+CIPSEND=0,3", "\r\nOK\r\n\r\n>")
	h.Send("abc")
	h.Expect("\r\nRecv 3 bytes\r\n\r\nSEND OK\r\n")
	if got := readN(t, a, 3); got != "abc" {
		t.Fatalf("client A got %q", got)
	}
	b := dialServer(t, port)
	h.Expect("1,CONNECT\r\n")
	aPort, bPort := a.LocalAddr().(*net.TCPAddr).Port, b.LocalAddr().(*net.TCPAddr).Port
	h.Cmd("AT+CIPSTATUS", fmt.Sprintf("STATUS:3\r\n"+
		"+CIPSTATUS:0,\"TCP\",\"127.0.0.1\",%d,%d,1\r\n"+
		"+CIPSTATUS:1,\"TCP\",\"127.0.0.1\",%d,%d,1\r\n\r\nOK\r\n", aPort, port, bPort, port))
	h.Cmd("AT+CIPSTATE?", fmt.Sprintf("+CIPSTATE:0,\"TCP\",\"127.0.0.1\",%d,%d,1\r\n"+
		"+CIPSTATE:1,\"TCP\",\"127.0.0.1\",%d,%d,1\r\n\r\nOK\r\n", aPort, port, bPort, port))

	// A third client is over AT+CIPSERVERMAXCONN=2: refused, no URC.
	c := dialServer(t, port)
	expectEOF(t, c)
	h.ExpectQuiet(100 * time.Millisecond)

	a.Close()
	h.Expect("0,CLOSED\r\n")
	h.Cmd("AT+CIPCLOSE=1", "1,CLOSED\r\n\r\nOK\r\n")
	expectEOF(t, b)

	// A freed id is taken again, lowest first.
	d := dialServer(t, port)
	h.Expect("0,CONNECT\r\n")
	h.Cmd("AT+CIPSERVER=0", "\r\nOK\r\n")
	h.Cmd("AT+CIPSERVER?", "+CIPSERVER:0\r\n\r\nOK\r\n")
	if _, err := net.DialTimeout("tcp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), rig.Timeout); err == nil {
		t.Fatal("the server still accepts after AT+CIPSERVER=0")
	}
	// AT+CIPSERVER=0 keeps the clients: d still works.
	_, err = d.Write([]byte("x"))
	rig.Must(t, err)
	h.Expect("\r\n+IPD,0,1:x")
	h.Cmd("AT+CIPCLOSE=0", "0,CLOSED\r\n\r\nOK\r\n")
	checkDecodes(t, sink, "+CIPSERVER", "+CIPSERVERMAXCONN", "+CIPSTO", "+CIPSEND", "+CIPSTATUS")
}

// TestEmuServerCloseAll: AT+CIPSERVER=0,1 closes every client, each with
// its CLOSED; under AT+SYSMSG bit 1 clients arrive as +LINK_CONN.
func TestEmuServerCloseAll(t *testing.T) {
	port := closedPort(t)
	h := startEmu(t, nil)
	h.Cmd("AT+CIPMUX=1", "\r\nOK\r\n")
	h.Cmd(fmt.Sprintf("AT+CIPSERVER=1,%d", port), "\r\nOK\r\n")
	a := dialServer(t, port)
	h.Expect("0,CONNECT\r\n")
	h.Cmd("AT+SYSMSG=2", "\r\nOK\r\n")
	b := dialServer(t, port)
	h.Expect(fmt.Sprintf("+LINK_CONN:0,1,\"TCP\",1,\"127.0.0.1\",%d,%d\r\n", b.LocalAddr().(*net.TCPAddr).Port, port))
	h.Cmd("AT+CIPSERVER=0,1", "0,CLOSED\r\n1,CLOSED\r\n\r\nOK\r\n")
	expectEOF(t, a)
	expectEOF(t, b)
	for _, bad := range []string{
		"AT+CIPSERVER=0,1,\"TCP\"", // "<type> and <CA enable> must be omitted"
		"AT+CIPSERVER=2",
		"AT+CIPSERVER=1,0",
		"AT+CIPSERVER=1,70000",
		"AT+CIPSERVER=1,333,\"UDP\"",
		"AT+CIPSERVER=1,333,\"TCPv6\"", // needs AT+CIPV6=1
		"AT+CIPSERVER=1,333,\"SSL\"",   // no --pki: no server certificate
		"AT+CIPSERVER=1,333,\"TCP\",2",
		"AT+CIPSERVERMAXCONN=0",
		"AT+CIPSERVERMAXCONN=6",
		"AT+CIPSTO=7201",
		"AT+CIPSTO=-1",
	} {
		h.Cmd(bad, "\r\nERROR\r\n")
	}
}

// TestEmuServerCIPSTO: a client idle for AT+CIPSTO seconds is closed;
// traffic either way restarts the timer.
func TestEmuServerCIPSTO(t *testing.T) {
	port := closedPort(t)
	h := startEmu(t, nil)
	h.Cmd("AT+CIPMUX=1", "\r\nOK\r\n")
	h.Cmd(fmt.Sprintf("AT+CIPSERVER=1,%d", port), "\r\nOK\r\n")
	h.Cmd("AT+CIPSTO=1", "\r\nOK\r\n")
	h.Cmd("AT+CIPSTO?", "+CIPSTO:1\r\n\r\nOK\r\n")
	start := time.Now()
	a := dialServer(t, port)
	h.Expect("0,CONNECT\r\n")
	time.Sleep(600 * time.Millisecond)
	_, err := a.Write([]byte("ping"))
	rig.Must(t, err)
	h.Expect("\r\n+IPD,0,4:ping")
	h.Expect("0,CLOSED\r\n")
	if d := time.Since(start); d < 1500*time.Millisecond {
		t.Fatalf("closed after %v: the client's data did not restart the 1 s timer", d)
	}
	expectEOF(t, a)

	h.Cmd("AT+CIPSTO=0", "\r\nOK\r\n") // never
	b := dialServer(t, port)
	h.Expect("0,CONNECT\r\n")
	h.ExpectQuiet(1500 * time.Millisecond)
	b.Close()
	h.Expect("0,CLOSED\r\n")
}

// TestEmuServerSSL: an SSL server with CA enable 1 takes a client whose
// certificate chains to server_ca and never announces one without.
func TestEmuServerSSL(t *testing.T) {
	pki := rig.NewPKI(t)
	port := closedPort(t)
	h := startEmu(t, &Options{PKIDir: pki.Dir})
	h.Cmd("AT+CIPMUX=1", "\r\nOK\r\n")
	h.Cmd(fmt.Sprintf("AT+CIPSERVER=1,%d,\"SSL\",1", port), "\r\nOK\r\n")
	h.Cmd("AT+CIPSERVER?", fmt.Sprintf("+CIPSERVER:1,%d,\"SSL\",1,0\r\n\r\nOK\r\n", port))
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))

	noCert := pki.ClientTLS.Clone()
	noCert.Certificates = nil
	if c, err := tls.Dial("tcp4", addr, noCert); err == nil {
		// TLS 1.2: the refusal of a missing certificate shows at the first read.
		_ = c.SetReadDeadline(time.Now().Add(rig.Timeout))
		if _, err := c.Read(make([]byte, 1)); err == nil {
			t.Fatal("a client without a certificate was served")
		}
		c.Close()
	}
	h.ExpectQuiet(100 * time.Millisecond)

	c, err := tls.Dial("tcp4", addr, pki.ClientTLS)
	rig.Must(t, err)
	defer c.Close()
	if v := c.ConnectionState().Version; v != tls.VersionTLS12 {
		t.Errorf("TLS version %x, want 1.2 as ESP-IDF's mbedTLS", v)
	}
	h.Expect("0,CONNECT\r\n")
	_, err = c.Write([]byte("secret"))
	rig.Must(t, err)
	h.Expect("\r\n+IPD,0,6:secret")
	h.Cmd("AT+CIPSEND=0,2", "\r\nOK\r\n\r\n>")
	h.Send("ok")
	h.Expect("\r\nRecv 2 bytes\r\n\r\nSEND OK\r\n")
	_ = c.SetReadDeadline(time.Now().Add(rig.Timeout))
	got := make([]byte, 2)
	if _, err := io.ReadFull(c, got); err != nil || string(got) != "ok" {
		t.Fatalf("client read %q, %v", got, err)
	}
	h.Cmd("AT+CIPSTATE?", fmt.Sprintf("+CIPSTATE:0,\"SSL\",\"127.0.0.1\",%d,%d,1\r\n\r\nOK\r\n", c.LocalAddr().(*net.TCPAddr).Port, port))
	h.Cmd("AT+CIPSERVER=0,1", "0,CLOSED\r\n\r\nOK\r\n")
}

// TestEmuServerPortOffset: the host app asks for the default port 333;
// the emulator listens on 333+offset and shows 333.
func TestEmuServerPortOffset(t *testing.T) {
	real := closedPort(t)
	h := startEmu(t, &Options{ServerPortOffset: real - defaultServerPort})
	h.Cmd("AT+CIPMUX=1", "\r\nOK\r\n")
	h.Cmd("AT+CIPSERVER=1", "\r\nOK\r\n")
	h.Cmd("AT+CIPSERVER?", "+CIPSERVER:1,333,\"TCP\",0,0\r\n\r\nOK\r\n")
	a := dialServer(t, real)
	h.Expect("0,CONNECT\r\n")
	h.Cmd("AT+CIPSTATE?", fmt.Sprintf("+CIPSTATE:0,\"TCP\",\"127.0.0.1\",%d,333,1\r\n\r\nOK\r\n", a.LocalAddr().(*net.TCPAddr).Port))
	// A reboot stops the server and drops its clients, with no URC.
	h.Cmd("AT+RST", "\r\nOK\r\n")
	h.Expect("\r\nready\r\n")
	expectEOF(t, a)
	if _, err := net.DialTimeout("tcp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(real)), rig.Timeout); err == nil {
		t.Fatal("the server survived AT+RST")
	}
}
