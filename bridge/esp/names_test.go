package esp

import (
	"net/netip"
	"os"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/atbridge/atbridge/internal/rig"
)

// The bytes below are typed from DOC-TCP ("AT+CIPDOMAIN", "AT+CIPDNS",
// "AT+PING") and docs/esp-at-surface.md §3.7, not from the emulator.

// startEmuDNS boots an emulator whose AT+CIPDNS servers are reached on the
// port of a real DNS server on loopback that knows names.
func startEmuDNS(t *testing.T, opts *Options, names map[string][]netip.Addr) (*emuHost, *rig.DNSServer, *rig.Records) {
	t.Helper()
	dns := rig.StartDNS(t, names)
	sink := &rig.Records{}
	if opts == nil {
		opts = &Options{}
	}
	opts.Record = sink.Add
	opts.Log = rig.Logger(t)
	opts.RestartDelay = 20 * time.Millisecond
	em := New(opts)
	em.dnsPort = dns.Port
	h := serveEmu(t, em)
	h.Expect("\r\nready\r\n")
	return h, dns, sink
}

var testNames = map[string][]netip.Addr{
	"echo.test":  {netip.MustParseAddr("127.0.0.1")},
	"board.test": {netip.MustParseAddr("10.1.2.3"), netip.MustParseAddr("10.1.2.4")},
	"v6.test":    {netip.MustParseAddr("2001:db8::1")},
}

// TestEmuCIPDOMAIN resolves through the host's resolver (AT+CIPDNS=0),
// then through a configured server: the name AT+CIPSTART dials goes
// through the same server.
func TestEmuCIPDOMAIN(t *testing.T) {
	h, dns, sink := startEmuDNS(t, nil, testNames)
	h.Cmd(`AT+CIPDOMAIN="localhost"`, "+CIPDOMAIN:\"127.0.0.1\"\r\n\r\nOK\r\n")
	h.Cmd(`AT+CIPDOMAIN="localhost",2,500`, "+CIPDOMAIN:\"127.0.0.1\"\r\n\r\nOK\r\n")
	h.Cmd(`AT+CIPDOMAIN="127.0.0.1"`, "+CIPDOMAIN:\"127.0.0.1\"\r\n\r\nOK\r\n")
	if dns.Queries() != 0 {
		t.Fatalf("AT+CIPDNS=0 asked the configured server %d times", dns.Queries())
	}

	h.Cmd(`AT+CIPDNS=1,"127.0.0.1"`, "\r\nOK\r\n")
	h.Cmd(`AT+CIPDOMAIN="echo.test"`, "+CIPDOMAIN:\"127.0.0.1\"\r\n\r\nOK\r\n")
	h.Cmd(`AT+CIPDOMAIN="v6.test",3`, "+CIPDOMAIN:\"2001:db8::1\"\r\n\r\nOK\r\n")
	h.Cmd(`AT+CIPDOMAIN="v6.test",1`, "+CIPDOMAIN:\"2001:db8::1\"\r\n\r\nOK\r\n")
	h.Cmd(`AT+CIPDOMAIN="v6.test",2`, "\r\nERROR\r\n")
	h.Cmd(`AT+CIPDOMAIN="nowhere.test"`, "\r\nERROR\r\n")
	if dns.Queries() == 0 {
		t.Fatal("AT+CIPDNS=1 did not ask the configured server")
	}
	// The 4th parameter (show_all_ip) is the development line's.
	h.Cmd(`AT+CIPDOMAIN="board.test",1,0,1`, "\r\nERROR\r\n")

	srv := newTCPServer(t)
	h.Cmd("AT+CIPSTART=\"TCP\",\"echo.test\","+strconv.Itoa(srv.port), "CONNECT\r\n\r\nOK\r\n")
	h.Cmd("AT+CIPCLOSE", "CLOSED\r\n\r\nOK\r\n")

	for _, bad := range []string{
		`AT+CIPDOMAIN=localhost`,        // not quoted
		`AT+CIPDOMAIN="localhost",4`,    // ip network 1..3
		`AT+CIPDOMAIN="localhost",1,-1`, // timeout 0..60000
		`AT+CIPDOMAIN="localhost",1,60001`,
		`AT+CIPDOMAIN=""`,
		`AT+CIPDOMAIN`,
		`AT+CIPDOMAIN?`,
	} {
		h.Cmd(bad, "\r\nERROR\r\n")
	}
	h.Cmd("AT+SYSLOG=1", "\r\nOK\r\n")
	h.Cmd(`AT+CIPDOMAIN="localhost",4`, "ERR CODE:0x01070001\r\n\r\nERROR\r\n")
	h.Cmd(`AT+CIPDOMAIN=localhost`, "ERR CODE:0x01050000\r\n\r\nERROR\r\n")
	checkDecodes(t, sink, "+CIPDOMAIN", "+CIPDNS", "+CIPSTART")
}

// TestEmuCIPDOMAINShowAll is the development line's show_all_ip: one line
// per address.
func TestEmuCIPDOMAINShowAll(t *testing.T) {
	h, _, _ := startEmuDNS(t, &Options{Firmware: FirmwareDev}, testNames)
	h.Cmd(`AT+CIPDNS=1,"127.0.0.1"`, "\r\nOK\r\n")
	h.Send("AT+CIPDOMAIN=\"board.test\",1,0,1\r\n")
	h.Expect("AT+CIPDOMAIN=\"board.test\",1,0,1\r\n")
	h.ExpectAnyOrder("+CIPDOMAIN:\"10.1.2.3\"\r\n", "+CIPDOMAIN:\"10.1.2.4\"\r\n")
	h.Expect("\r\nOK\r\n")
	h.Cmd(`AT+CIPDOMAIN="board.test",1,0,0`, "+CIPDOMAIN:\"10.1.2.3\"\r\n\r\nOK\r\n")
}

// TestEmuCIPDNS sets, checks and stores the DNS servers: with
// AT+SYSSTORE=1 (the default) they survive AT+RST, with AT+SYSSTORE=0 a
// change lasts until the next boot.
func TestEmuCIPDNS(t *testing.T) {
	h := startEmu(t, nil)
	def := `+CIPDNS:0,"208.67.222.222","114.114.114.114","8.8.8.8"` + "\r\n\r\nOK\r\n"
	h.Cmd("AT+CIPDNS?", def)
	h.Cmd("AT+CIPDNS=1", "\r\nOK\r\n")
	h.Cmd("AT+CIPDNS?", `+CIPDNS:1,"208.67.222.222","114.114.114.114","8.8.8.8"`+"\r\n\r\nOK\r\n")
	for _, bad := range []string{
		`AT+CIPDNS=2`,
		`AT+CIPDNS=1,"8.8.8.8","8.8.8.8"`, // "cannot be set to the same server"
		`AT+CIPDNS=1,"dns.google"`,
		`AT+CIPDNS=1,8`,
		`AT+CIPDNS=1,"1.1.1.1","8.8.8.8","9.9.9.9","8.8.4.4"`,
		`AT+CIPDNS`,
	} {
		h.Cmd(bad, "\r\nERROR\r\n")
	}
	h.Cmd(`AT+CIPDNS=1,"1.1.1.1","240c::6666"`, "\r\nOK\r\n")
	set := `+CIPDNS:1,"1.1.1.1","240c::6666"` + "\r\n\r\nOK\r\n"
	h.Cmd("AT+CIPDNS?", set)
	h.Cmd("AT+RST", "\r\nOK\r\n")
	h.Expect("\r\nready\r\n")
	h.Cmd("AT+CIPDNS?", set)

	h.Cmd("AT+SYSSTORE=0", "\r\nOK\r\n")
	h.Cmd("AT+CIPDNS=0", "\r\nOK\r\n")
	h.Cmd("AT+CIPDNS?", def)
	h.Cmd("AT+RST", "\r\nOK\r\n")
	h.Expect("\r\nready\r\n")
	h.Cmd("AT+CIPDNS?", set)
	h.Cmd("AT+RESTORE", "\r\nOK\r\n")
	h.Expect("\r\nready\r\n")
	h.Cmd("AT+CIPDNS?", def)
}

var pingReply = regexp.MustCompile(`^\+PING:([1-9][0-9]*)\r\n\r\nOK\r\n$`)

// ping sends AT+PING and returns the reply after the echo.
func (h *emuHost) ping(host string) string {
	h.t.Helper()
	cmd := `AT+PING="` + host + `"` + "\r\n"
	h.Send(cmd)
	h.Expect(cmd)
	return h.readUntilResult()
}

// readUntilResult waits for a final OK or ERROR and consumes up to it.
func (h *emuHost) readUntilResult() string {
	h.t.Helper()
	end := regexp.MustCompile(`\r\n(OK|ERROR)\r\n`)
	deadline := time.Now().Add(rig.Timeout)
	for n := 1; time.Now().Before(deadline); n++ {
		b, _ := h.WaitLen(n, time.Until(deadline))
		if loc := end.FindIndex(b); loc != nil {
			s := string(b[:loc[1]])
			h.Consume(loc[1])
			return s
		}
	}
	h.t.Fatalf("no OK or ERROR after %q", h.Received())
	return ""
}

// TestEmuPING pings loopback by each method the machine allows (the
// fallback forced too), a name, and hosts that do not answer.
func TestEmuPING(t *testing.T) {
	h, _, sink := startEmuDNS(t, nil, testNames)
	if got := h.ping("127.0.0.1"); !pingReply.MatchString(got) {
		t.Fatalf("AT+PING 127.0.0.1 (auto): got %q", got)
	}
	h.Cmd(`AT+CIPDNS=1,"127.0.0.1"`, "\r\nOK\r\n")
	if got := h.ping("echo.test"); !pingReply.MatchString(got) {
		t.Fatalf("AT+PING echo.test: got %q", got)
	}
	h.Cmd(`AT+PING="nowhere.test"`, "+PING:TIMEOUT\r\n\r\nERROR\r\n")
	// IPv6 needs AT+CIPV6=1.
	h.Cmd(`AT+PING="::1"`, "+PING:TIMEOUT\r\n\r\nERROR\r\n")
	for _, bad := range []string{`AT+PING=127.0.0.1`, `AT+PING=""`, `AT+PING="127.0.0.1",1`, `AT+PING`, `AT+PING?`} {
		h.Cmd(bad, "\r\nERROR\r\n")
	}
	checkDecodes(t, sink, "+PING")

	for _, m := range []pingMethod{pingDgram, pingRaw, pingTCPOnly} {
		t.Run(m.String(), func(t *testing.T) {
			ip := netip.MustParseAddr("127.0.0.1")
			_, used, err := ping(t.Context(), ip, m)
			if used != m {
				if os.Getuid() == 0 && m == pingRaw {
					// root may always open a raw ICMP socket.
					t.Fatalf("asked %v, the system allowed only %v", m, used)
				}
				t.Skipf("%v is not allowed here (fell back to %v)", m, used)
			}
			if err != nil {
				t.Fatalf("ping %v by %v: %v", ip, m, err)
			}
			em := New(&Options{Log: rig.Logger(t), RestartDelay: 20 * time.Millisecond})
			em.pingVia = m
			h := serveEmu(t, em)
			h.Expect("\r\nready\r\n")
			if got := h.ping("127.0.0.1"); !pingReply.MatchString(got) {
				t.Fatalf("AT+PING by %v: got %q", m, got)
			}
		})
	}
}

// TestEmuPINGNoReply pings an address nobody answers (TEST-NET-1,
// RFC 5737): +PING:TIMEOUT after at most the echo's timeout.
func TestEmuPINGNoReply(t *testing.T) {
	if rtt, m, err := ping(t.Context(), netip.MustParseAddr("192.0.2.1"), pingAuto); err == nil {
		t.Skipf("this machine's network answers 192.0.2.1 (in %v by %v): no address stays silent here", rtt, m)
	}
	h := startEmu(t, nil)
	start := time.Now()
	h.Cmd(`AT+PING="192.0.2.1"`, "+PING:TIMEOUT\r\n\r\nERROR\r\n")
	if d := time.Since(start); d > pingTimeout+2*time.Second {
		t.Fatalf("+PING:TIMEOUT took %v", d)
	}
}
