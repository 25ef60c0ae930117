package esp

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/formats/at"
	"github.com/atbridge/atbridge/internal/rig"
)

// tcpServer is a TCP echo server on 127.0.0.1 that keeps its connections,
// in accept order, so a test can push data or close one from the server
// side.
type tcpServer struct {
	*rig.ConnServer
	t    testing.TB
	port int
}

func newTCPServer(t testing.TB) *tcpServer {
	cs := rig.StartConnServer(t, "tcp4", func(c net.Conn) { _, _ = io.Copy(c, c) })
	return &tcpServer{ConnServer: cs, t: t, port: cs.Addr().(*net.TCPAddr).Port}
}

// localPort is the emulator's port of the i-th connection.
func (s *tcpServer) localPort(i int) int {
	return s.Conn(i).RemoteAddr().(*net.TCPAddr).Port
}

// closedPort returns a loopback port nobody listens on.
func closedPort(t *testing.T) int {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	rig.Must(t, err)
	p := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return p
}

// startEmuRecorded is startEmu with a recording, for checkDecodes.
func startEmuRecorded(t *testing.T) (*emuHost, *rig.Records) {
	sink := &rig.Records{}
	return startEmu(t, &Options{Record: sink.Add}), sink
}

// checkDecodes feeds what the emulator recorded on its serial side (what the
// host sent and saw, with times) to the capture decoder: nothing may be
// unparsed, and every name in want must appear as a command.
func checkDecodes(t *testing.T, sink *rig.Records, want ...string) {
	t.Helper()
	d := at.NewDecoder(nil)
	var evs []at.Event
	for _, r := range sink.All() {
		if r.Kind == capture.KindChunk {
			evs = append(evs, d.Feed(r.Time, r.Dir, r.Data)...)
		}
	}
	evs = append(evs, d.Flush()...)
	seen := map[string]bool{}
	for _, e := range evs {
		if e.Kind == at.EvUnparsed {
			t.Errorf("decoder: unparsed %s", e.String())
		}
		if e.Kind == at.EvTransaction || e.Kind == at.EvCommand {
			seen[e.Name] = true
		}
	}
	for _, w := range want {
		if !seen[w] {
			t.Errorf("decoder: no %s command", w)
		}
	}
}

// sendTCP runs AT+CIPSEND=<args> with data and expects the echo server's
// reply as ipd (SEND OK and +IPD may come in either order).
func sendTCP(h *emuHost, args, data, ipd string) {
	h.t.Helper()
	h.Cmd("AT+CIPSEND="+args, "\r\nOK\r\n\r\n>")
	h.Send(data)
	h.Expect(fmt.Sprintf("\r\nRecv %d bytes\r\n", len(data)))
	h.ExpectAnyOrder("\r\nSEND OK\r\n", ipd)
}

func TestEmuTCPSingle(t *testing.T) {
	srv := newTCPServer(t)
	h, sink := startEmuRecorded(t)
	joinWiFi(h)
	start := fmt.Sprintf(`AT+CIPSTART="TCP","127.0.0.1",%d`, srv.port)
	h.Cmd("AT+CIPMUX?", "+CIPMUX:0\r\n\r\nOK\r\n")
	h.Cmd("AT+CIPSTATUS", "STATUS:2\r\n\r\nOK\r\n")
	h.Cmd(start, "CONNECT\r\n\r\nOK\r\n")
	h.Cmd(start, "ALREADY CONNECTED\r\n\r\nERROR\r\n")
	h.Cmd("AT+CIPMUX=1", "\r\nERROR\r\n") // a connection is open
	h.Cmd("AT+CIPMUX=0", "\r\nERROR\r\n")
	sendTCP(h, "4", "test", "\r\n+IPD,4:test")
	bin := "a\r\nb\x00\xff\r\n+IPD,1:\r\nOK\r\n"
	sendTCP(h, strconv.Itoa(len(bin)), bin, fmt.Sprintf("\r\n+IPD,%d:%s", len(bin), bin))

	h.Cmd("AT+CIPDINFO?", "+CIPDINFO:false\r\n\r\nOK\r\n")
	h.Cmd("AT+CIPDINFO=1", "\r\nOK\r\n")
	h.Cmd("AT+CIPDINFO?", "+CIPDINFO:true\r\n\r\nOK\r\n")
	sendTCP(h, "2", "hi", fmt.Sprintf("\r\n+IPD,2,\"127.0.0.1\",%d:hi", srv.port))
	h.Cmd("AT+CIPDINFO=0", "\r\nOK\r\n")

	lp := srv.localPort(0)
	h.Cmd("AT+CIPSTATUS", fmt.Sprintf("STATUS:3\r\n+CIPSTATUS:0,\"TCP\",\"127.0.0.1\",%d,%d,0\r\n\r\nOK\r\n", srv.port, lp))
	h.Cmd("AT+CIPSTATE?", fmt.Sprintf("+CIPSTATE:0,\"TCP\",\"127.0.0.1\",%d,%d,0\r\n\r\nOK\r\n", srv.port, lp))
	// Set forms that belong to AT+CIPMUX=1 are refused.
	h.Cmd("AT+CIPSEND=0,4", "\r\nERROR\r\n")
	h.Cmd("AT+CIPCLOSE=0", "\r\nERROR\r\n")
	h.Cmd("AT+CIPCLOSE", "CLOSED\r\n\r\nOK\r\n")
	h.Cmd("AT+CIPCLOSE", "\r\nERROR\r\n")
	h.Cmd("AT+CIPSEND=4", "\r\nERROR\r\n") // no prompt without a link
	h.Cmd("AT+CIPSTATUS", "STATUS:4\r\n\r\nOK\r\n")
	h.Cmd("AT+CIPSTATE?", "\r\nOK\r\n")

	// The server closes: CLOSED, and the link is free again.
	h.Cmd(start, "CONNECT\r\n\r\nOK\r\n")
	srv.Conn(1).Close()
	h.Expect("CLOSED\r\n")
	h.Cmd("AT+CIPCLOSE", "\r\nERROR\r\n")
	h.Cmd(start, "CONNECT\r\n\r\nOK\r\n")
	h.Cmd("AT+CIPMUX=0", "\r\nERROR\r\n")
	h.Cmd("AT+CIPCLOSE", "CLOSED\r\n\r\nOK\r\n")
	h.ExpectQuiet(50 * time.Millisecond)
	checkDecodes(t, sink, "+CIPSTART", "+CIPSEND", "+CIPCLOSE", "+CIPSTATUS")

	var notes []string
	for _, r := range sink.All() {
		if r.Kind == capture.KindEvent && strings.HasPrefix(r.Event.Text, "tcp link") {
			notes = append(notes, r.Event.Text)
		}
	}
	want := []string{
		fmt.Sprintf("tcp link 0 connected to 127.0.0.1:%d (local port %d)", srv.port, lp),
		"tcp link 0 closed by AT+CIPCLOSE",
	}
	if len(notes) < 2 || notes[0] != want[0] || notes[1] != want[1] {
		t.Errorf("recorded events %q, want them to start with %q", notes, want)
	}
}

func TestEmuTCPMulti(t *testing.T) {
	srv := newTCPServer(t)
	h, sink := startEmuRecorded(t)
	joinWiFi(h)
	start := func(id int) string { return fmt.Sprintf(`AT+CIPSTART=%d,"TCP","127.0.0.1",%d`, id, srv.port) }
	h.Cmd("AT+CIPMUX=1", "\r\nOK\r\n")
	h.Cmd("AT+CIPMUX?", "+CIPMUX:1\r\n\r\nOK\r\n")
	h.Cmd(fmt.Sprintf(`AT+CIPSTART="TCP","127.0.0.1",%d`, srv.port), "\r\nERROR\r\n") // needs a link id
	h.Cmd(fmt.Sprintf(`AT+CIPSTART=5,"TCP","127.0.0.1",%d`, srv.port), "\r\nERROR\r\n")
	h.Cmd(start(0), "0,CONNECT\r\n\r\nOK\r\n")
	h.Cmd(start(3)+",60", "3,CONNECT\r\n\r\nOK\r\n")
	h.Cmd(start(3), "ALREADY CONNECTED\r\n\r\nERROR\r\n")
	h.Cmd("AT+CIPMODE=1", "\r\nERROR\r\n") // passthrough is single-link only
	h.Cmd("AT+CIPSEND=4", "\r\nERROR\r\n") // a link id is needed
	h.Cmd("AT+CIPSEND=1,4", "\r\nERROR\r\n")
	sendTCP(h, "3,4", "t\r\n3", "\r\n+IPD,3,4:t\r\n3")
	sendTCP(h, "0,3", "abc", "\r\n+IPD,0,3:abc")
	h.Cmd("AT+CIPDINFO=1", "\r\nOK\r\n")
	sendTCP(h, "3,1", "z", fmt.Sprintf("\r\n+IPD,3,1,\"127.0.0.1\",%d:z", srv.port))
	h.Cmd("AT+CIPDINFO=0", "\r\nOK\r\n")
	h.Cmd("AT+CIPSTATUS", fmt.Sprintf("STATUS:3\r\n+CIPSTATUS:0,\"TCP\",\"127.0.0.1\",%d,%d,0\r\n+CIPSTATUS:3,\"TCP\",\"127.0.0.1\",%d,%d,0\r\n\r\nOK\r\n",
		srv.port, srv.localPort(0), srv.port, srv.localPort(1)))

	// A large message from the server arrives as several +IPD of at most
	// tcpRecvChunk bytes.
	big := bytes.Repeat([]byte("0123456789abcdef\r\n"), 400) // 7200 bytes
	_, err := srv.Conn(1).Write(big)
	rig.Must(t, err)
	var got []byte
	ipd := regexp.MustCompile(`^\r\n\+IPD,3,(\d+):`)
	for len(got) < len(big) {
		head, _ := h.WaitLen(16, rig.Timeout)
		m := ipd.FindSubmatch(head)
		if m == nil {
			t.Fatalf("want +IPD,3, got %q", head)
		}
		n, _ := strconv.Atoi(string(m[1]))
		if n < 1 || n > tcpRecvChunk {
			t.Fatalf("+IPD of %d bytes", n)
		}
		h.Consume(len(m[0]))
		data, ok := h.WaitLen(n, rig.Timeout)
		if !ok {
			t.Fatalf("+IPD data missing: %q", data)
		}
		got = append(got, data[:n]...)
		h.Consume(n)
	}
	if !bytes.Equal(got, big) {
		t.Fatalf("received %d bytes, not what the server sent", len(got))
	}

	h.Cmd("AT+CIPCLOSE", "\r\nERROR\r\n") // needs a link id
	h.Cmd("AT+CIPCLOSE=0", "0,CLOSED\r\n\r\nOK\r\n")
	h.Cmd("AT+CIPCLOSE=0", "\r\nERROR\r\n")
	srv.Conn(1).Close()
	h.Expect("3,CLOSED\r\n")
	h.Cmd("AT+CIPCLOSE=3", "\r\nERROR\r\n")
	h.Cmd(start(1), "1,CONNECT\r\n\r\nOK\r\n")
	h.Cmd(start(4), "4,CONNECT\r\n\r\nOK\r\n")
	h.Cmd("AT+CIPCLOSE=5", "1,CLOSED\r\n4,CLOSED\r\n\r\nOK\r\n")
	h.Cmd("AT+CIPCLOSE=5", "\r\nOK\r\n")
	h.Cmd("AT+CIPMUX=0", "\r\nOK\r\n")
	h.ExpectQuiet(50 * time.Millisecond)
	checkDecodes(t, sink, "+CIPSTART", "+CIPSEND", "+CIPCLOSE", "+CIPMUX")
}

func TestEmuTCPErrors(t *testing.T) {
	srv := newTCPServer(t)
	h := startEmu(t, &Options{NetworkTimeout: 2 * time.Second})
	closed := closedPort(t)
	h.Cmd(fmt.Sprintf(`AT+CIPSTART="TCP","127.0.0.1",%d`, closed), "\r\nERROR\r\nCLOSED\r\n") // §3.2: ERROR, then CLOSED
	for _, bad := range []string{
		fmt.Sprintf(`AT+CIPSTART="TCPv6","::1",%d`, srv.port),        // needs AT+CIPV6=1
		fmt.Sprintf(`AT+CIPSTART="UDP","127.0.0.1",%d,,1`, srv.port), // a mode needs the local port
		fmt.Sprintf(`AT+CIPSTART="TCP","127.0.0.1",%d,0,"",60001`, srv.port),
		fmt.Sprintf(`AT+CIPSTART="RAW","127.0.0.1",%d`, srv.port),
		`AT+CIPSTART="TCP","127.0.0.1",0`,
		`AT+CIPSTART="TCP","127.0.0.1",65536`,
		`AT+CIPSTART="TCP","",80`,
		`AT+CIPSTART=TCP,"127.0.0.1",80`,
		fmt.Sprintf(`AT+CIPSTART="TCP","127.0.0.1",%d,7201`, srv.port),
		fmt.Sprintf(`AT+CIPSTART=0,"TCP","127.0.0.1",%d`, srv.port), // a link id under AT+CIPMUX=0
		"AT+CIPSTART?", "AT+CIPSEND=0", "AT+CIPSEND=8193", "AT+CIPSEND", "AT+CIPMUX=2", "AT+CIPMODE=2", "AT+CIPDINFO=2",
	} {
		h.Cmd(bad, "\r\nERROR\r\n")
	}
	h.Cmd("AT+CIPMUX=1", "\r\nOK\r\n")
	h.Cmd(fmt.Sprintf(`AT+CIPSTART=2,"TCP","127.0.0.1",%d`, closed), "\r\nERROR\r\n2,CLOSED\r\n")
	h.Cmd("AT+CIPMUX=0", "\r\nOK\r\n")
	h.Cmd("AT+CIPMODE=1", "\r\nOK\r\n")
	h.Cmd("AT+CIPMUX=1", "\r\nERROR\r\n") // passthrough is single-link only
	h.Cmd("AT+CIPSEND", "\r\nERROR\r\n")  // passthrough without a link
	h.Cmd("AT+CIPMODE=0", "\r\nOK\r\n")
	// Off the network (AT+CWQAP), nothing connects; joining again does.
	joinWiFi(h)
	h.Cmd("AT+CWQAP", "\r\nOK\r\nWIFI DISCONNECT\r\n")
	h.Cmd(fmt.Sprintf(`AT+CIPSTART="TCP","127.0.0.1",%d`, srv.port), "\r\nERROR\r\n")
	h.Cmd("AT+CIPSTATUS", "STATUS:5\r\n\r\nOK\r\n")
	joinWiFi(h)
	h.Cmd(fmt.Sprintf(`AT+CIPSTART="TCP","127.0.0.1",%d,0,"192.168.4.2"`, srv.port), "CONNECT\r\n\r\nOK\r\n")
	// A restart drops the link without a URC and resets the settings.
	h.Cmd("AT+RST", "\r\nOK\r\n")
	h.Expect("\r\nready\r\nWIFI CONNECTED\r\nWIFI GOT IP\r\n")
	h.Cmd("AT+CIPCLOSE", "\r\nERROR\r\n")
	h.Cmd("AT+CIPMODE?", "+CIPMODE:0\r\n\r\nOK\r\n")
	h.ExpectQuiet(50 * time.Millisecond)
}

func TestEmuTCPSendCancelAndBusy(t *testing.T) {
	srv := newTCPServer(t)
	h, sink := startEmuRecorded(t)
	h.Cmd(fmt.Sprintf(`AT+CIPSTART="TCP","127.0.0.1",%d`, srv.port), "CONNECT\r\n\r\nOK\r\n")
	// "+++" as a chunk of its own cancels the data entry; what came before
	// it is dropped.
	h.Cmd("AT+CIPSEND=5", "\r\nOK\r\n\r\n>")
	h.Send("ab")
	time.Sleep(30 * time.Millisecond)
	h.Send("+++")
	h.Expect("\r\nSEND Canceled\r\n")
	// "+++" inside a longer chunk is data.
	sendTCP(h, "5", "x+++y", "\r\n+IPD,5:x+++y")
	// Bytes beyond the length: busy p..., the first ones are sent.
	h.Cmd("AT+CIPSEND=2", "\r\nOK\r\n\r\n>")
	h.Send("hi!!")
	h.ExpectAnyOrder("\r\nbusy p...\r\n", "\r\nRecv 2 bytes\r\n", "\r\nSEND OK\r\n", "\r\n+IPD,2:hi")
	h.Cmd("AT+CIPCLOSE", "CLOSED\r\n\r\nOK\r\n")
	h.ExpectQuiet(50 * time.Millisecond)
	checkDecodes(t, sink, "+CIPSEND")
}

func TestEmuTCPPassthrough(t *testing.T) {
	srv := newTCPServer(t)
	h, sink := startEmuRecorded(t)
	quiet := 100 * time.Millisecond // well over the 20 ms guard time
	h.Cmd("AT+CIPMODE=1", "\r\nOK\r\n")
	h.Cmd("AT+CIPMODE?", "+CIPMODE:1\r\n\r\nOK\r\n")
	h.Cmd(fmt.Sprintf(`AT+CIPSTART="TCP","127.0.0.1",%d`, srv.port), "CONNECT\r\n\r\nOK\r\n")
	h.Cmd("AT+CIPSEND=4", "\r\nERROR\r\n") // the length form is for normal mode
	h.Cmd("AT+CIPSEND", "\r\nOK\r\n\r\n>")
	// Raw both ways, no echo, no +IPD; command lines are data.
	h.Send("hello\r\nAT\r\n")
	h.Expect("hello\r\nAT\r\n")
	// "+++" right after other data is data.
	time.Sleep(quiet)
	h.Send("ab")
	h.Send("+++")
	h.Expect("ab+++")
	srv.Conn(0).Write([]byte("from server\r\n"))
	h.Expect("from server\r\n")
	// "+++" alone leaves passthrough silently; the link stays up.
	time.Sleep(quiet)
	h.Send("+++")
	time.Sleep(quiet)
	h.ExpectQuiet(quiet)
	h.Cmd("AT", "\r\nOK\r\n")
	srv.Conn(0).Write([]byte("late"))
	h.Expect("\r\n+IPD,4:late")
	// Again, with +QUITT on.
	h.Cmd("AT+SYSMSG=1", "\r\nOK\r\n")
	h.Cmd("AT+CIPSEND", "\r\nOK\r\n\r\n>")
	h.Send("again")
	h.Expect("again")
	time.Sleep(quiet)
	h.Send("+++")
	h.Expect("\r\n+QUITT\r\n")
	h.Cmd("AT+CIPCLOSE", "CLOSED\r\n\r\nOK\r\n")
	h.Cmd("AT+CIPSEND", "\r\nERROR\r\n") // no link
	h.ExpectQuiet(50 * time.Millisecond)
	checkDecodes(t, sink, "+CIPMODE", "+CIPSTART", "+CIPSEND", "+++", "+CIPCLOSE")
}

// TestEmuTCPPassthroughExits: "+++" followed at once by more bytes is data;
// the pluses may come one by one (less than 20 ms apart); a server close in
// passthrough prints nothing (AT+SYSMSG bit 2 off) and input is dropped
// until "+++". The capture decoder, which follows the same timing rules,
// must place every byte of the session.
func TestEmuTCPPassthroughExits(t *testing.T) {
	srv := newTCPServer(t)
	h, sink := startEmuRecorded(t)
	h.Cmd("AT+CIPMODE=1", "\r\nOK\r\n")
	h.Cmd(fmt.Sprintf(`AT+CIPSTART="TCP","127.0.0.1",%d`, srv.port), "CONNECT\r\n\r\nOK\r\n")
	h.Cmd("AT+CIPSEND", "\r\nOK\r\n\r\n>")
	time.Sleep(100 * time.Millisecond)
	h.Send("+++")
	h.Send("x")
	h.Expect("+++x")
	time.Sleep(100 * time.Millisecond)
	for range 3 {
		h.Send("+")
		time.Sleep(2 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	h.Cmd("AT", "\r\nOK\r\n")

	h.Cmd("AT+CIPSEND", "\r\nOK\r\n\r\n>")
	srv.Conn(0).Close()
	time.Sleep(50 * time.Millisecond)
	h.Send("lost")
	time.Sleep(100 * time.Millisecond)
	h.Send("+++")
	time.Sleep(100 * time.Millisecond)
	h.ExpectQuiet(50 * time.Millisecond)
	h.Cmd("AT+CIPSTATUS", "STATUS:4\r\n\r\nOK\r\n")
	checkDecodes(t, sink, "+++", "AT", "+CIPSTATUS")
}
