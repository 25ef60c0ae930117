package bridge

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
)

// tcpServer is a TCP echo server on 127.0.0.1 that keeps its connections,
// in accept order, so a test can push data or close one from the server
// side.
type tcpServer struct {
	*connServer
	t    testing.TB
	port int
}

func newTCPServer(t testing.TB) *tcpServer {
	cs := startConnServer(t, "tcp4", func(c net.Conn) { _, _ = io.Copy(c, c) })
	return &tcpServer{connServer: cs, t: t, port: cs.ln.Addr().(*net.TCPAddr).Port}
}

// conn waits for the i-th accepted connection.
func (s *tcpServer) conn(i int) net.Conn {
	s.t.Helper()
	deadline := time.Now().Add(expectTimeout)
	for {
		s.mu.Lock()
		if i < len(s.conns) {
			c := s.conns[i]
			s.mu.Unlock()
			return c
		}
		s.mu.Unlock()
		if time.Now().After(deadline) {
			s.t.Fatalf("connection %d never arrived", i)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// localPort is the emulator's port of the i-th connection.
func (s *tcpServer) localPort(i int) int {
	return s.conn(i).RemoteAddr().(*net.TCPAddr).Port
}

// closedPort returns a loopback port nobody listens on.
func closedPort(t *testing.T) int {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	must(t, err)
	p := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return p
}

// startEmuRecorded is startEmu with a recording, for checkDecodes.
func startEmuRecorded(t *testing.T) (*emuHost, *recordSink) {
	sink := &recordSink{}
	return startEmu(t, &EmulatorOptions{Record: sink.add}), sink
}

// checkDecodes feeds what the emulator recorded on its serial side (what the
// host sent and saw, with times) to the capture decoder: nothing may be
// unparsed, and every name in want must appear as a command.
func checkDecodes(t *testing.T, sink *recordSink, want ...string) {
	t.Helper()
	d := at.NewDecoder(nil)
	var evs []at.Event
	for _, r := range sink.all() {
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
	h.cmd("AT+CIPSEND="+args, "\r\nOK\r\n\r\n>")
	h.send(data)
	h.expect(fmt.Sprintf("\r\nRecv %d bytes\r\n", len(data)))
	h.expectAnyOrder("\r\nSEND OK\r\n", ipd)
}

func TestEmuTCPSingle(t *testing.T) {
	srv := newTCPServer(t)
	h, sink := startEmuRecorded(t)
	joinWiFi(h)
	start := fmt.Sprintf(`AT+CIPSTART="TCP","127.0.0.1",%d`, srv.port)
	h.cmd("AT+CIPMUX?", "+CIPMUX:0\r\n\r\nOK\r\n")
	h.cmd("AT+CIPSTATUS", "STATUS:2\r\n\r\nOK\r\n")
	h.cmd(start, "CONNECT\r\n\r\nOK\r\n")
	h.cmd(start, "ALREADY CONNECTED\r\n\r\nERROR\r\n")
	h.cmd("AT+CIPMUX=1", "\r\nERROR\r\n") // a connection is open
	h.cmd("AT+CIPMUX=0", "\r\nERROR\r\n")
	sendTCP(h, "4", "test", "\r\n+IPD,4:test")
	bin := "a\r\nb\x00\xff\r\n+IPD,1:\r\nOK\r\n"
	sendTCP(h, strconv.Itoa(len(bin)), bin, fmt.Sprintf("\r\n+IPD,%d:%s", len(bin), bin))

	h.cmd("AT+CIPDINFO?", "+CIPDINFO:false\r\n\r\nOK\r\n")
	h.cmd("AT+CIPDINFO=1", "\r\nOK\r\n")
	h.cmd("AT+CIPDINFO?", "+CIPDINFO:true\r\n\r\nOK\r\n")
	sendTCP(h, "2", "hi", fmt.Sprintf("\r\n+IPD,2,\"127.0.0.1\",%d:hi", srv.port))
	h.cmd("AT+CIPDINFO=0", "\r\nOK\r\n")

	lp := srv.localPort(0)
	h.cmd("AT+CIPSTATUS", fmt.Sprintf("STATUS:3\r\n+CIPSTATUS:0,\"TCP\",\"127.0.0.1\",%d,%d,0\r\n\r\nOK\r\n", srv.port, lp))
	h.cmd("AT+CIPSTATE?", fmt.Sprintf("+CIPSTATE:0,\"TCP\",\"127.0.0.1\",%d,%d,0\r\n\r\nOK\r\n", srv.port, lp))
	// Set forms that belong to AT+CIPMUX=1 are refused.
	h.cmd("AT+CIPSEND=0,4", "\r\nERROR\r\n")
	h.cmd("AT+CIPCLOSE=0", "\r\nERROR\r\n")
	h.cmd("AT+CIPCLOSE", "CLOSED\r\n\r\nOK\r\n")
	h.cmd("AT+CIPCLOSE", "\r\nERROR\r\n")
	h.cmd("AT+CIPSEND=4", "\r\nERROR\r\n") // no prompt without a link
	h.cmd("AT+CIPSTATUS", "STATUS:4\r\n\r\nOK\r\n")
	h.cmd("AT+CIPSTATE?", "\r\nOK\r\n")

	// The server closes: CLOSED, and the link is free again.
	h.cmd(start, "CONNECT\r\n\r\nOK\r\n")
	srv.conn(1).Close()
	h.expect("CLOSED\r\n")
	h.cmd("AT+CIPCLOSE", "\r\nERROR\r\n")
	h.cmd(start, "CONNECT\r\n\r\nOK\r\n")
	h.cmd("AT+CIPMUX=0", "\r\nERROR\r\n")
	h.cmd("AT+CIPCLOSE", "CLOSED\r\n\r\nOK\r\n")
	h.expectQuiet(50 * time.Millisecond)
	checkDecodes(t, sink, "+CIPSTART", "+CIPSEND", "+CIPCLOSE", "+CIPSTATUS")

	var notes []string
	for _, r := range sink.all() {
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
	h.cmd("AT+CIPMUX=1", "\r\nOK\r\n")
	h.cmd("AT+CIPMUX?", "+CIPMUX:1\r\n\r\nOK\r\n")
	h.cmd(fmt.Sprintf(`AT+CIPSTART="TCP","127.0.0.1",%d`, srv.port), "\r\nERROR\r\n") // needs a link id
	h.cmd(fmt.Sprintf(`AT+CIPSTART=5,"TCP","127.0.0.1",%d`, srv.port), "\r\nERROR\r\n")
	h.cmd(start(0), "0,CONNECT\r\n\r\nOK\r\n")
	h.cmd(start(3)+",60", "3,CONNECT\r\n\r\nOK\r\n")
	h.cmd(start(3), "ALREADY CONNECTED\r\n\r\nERROR\r\n")
	h.cmd("AT+CIPMODE=1", "\r\nERROR\r\n") // passthrough is single-link only
	h.cmd("AT+CIPSEND=4", "\r\nERROR\r\n") // a link id is needed
	h.cmd("AT+CIPSEND=1,4", "\r\nERROR\r\n")
	sendTCP(h, "3,4", "t\r\n3", "\r\n+IPD,3,4:t\r\n3")
	sendTCP(h, "0,3", "abc", "\r\n+IPD,0,3:abc")
	h.cmd("AT+CIPDINFO=1", "\r\nOK\r\n")
	sendTCP(h, "3,1", "z", fmt.Sprintf("\r\n+IPD,3,1,\"127.0.0.1\",%d:z", srv.port))
	h.cmd("AT+CIPDINFO=0", "\r\nOK\r\n")
	h.cmd("AT+CIPSTATUS", fmt.Sprintf("STATUS:3\r\n+CIPSTATUS:0,\"TCP\",\"127.0.0.1\",%d,%d,0\r\n+CIPSTATUS:3,\"TCP\",\"127.0.0.1\",%d,%d,0\r\n\r\nOK\r\n",
		srv.port, srv.localPort(0), srv.port, srv.localPort(1)))

	// A large message from the server arrives as several +IPD of at most
	// tcpRecvChunk bytes.
	big := bytes.Repeat([]byte("0123456789abcdef\r\n"), 400) // 7200 bytes
	_, err := srv.conn(1).Write(big)
	must(t, err)
	var got []byte
	ipd := regexp.MustCompile(`^\r\n\+IPD,3,(\d+):`)
	for len(got) < len(big) {
		head, _ := h.waitLen(16, expectTimeout)
		m := ipd.FindSubmatch(head)
		if m == nil {
			t.Fatalf("want +IPD,3, got %q", head)
		}
		n, _ := strconv.Atoi(string(m[1]))
		if n < 1 || n > tcpRecvChunk {
			t.Fatalf("+IPD of %d bytes", n)
		}
		h.consume(len(m[0]))
		data, ok := h.waitLen(n, expectTimeout)
		if !ok {
			t.Fatalf("+IPD data missing: %q", data)
		}
		got = append(got, data[:n]...)
		h.consume(n)
	}
	if !bytes.Equal(got, big) {
		t.Fatalf("received %d bytes, not what the server sent", len(got))
	}

	h.cmd("AT+CIPCLOSE", "\r\nERROR\r\n") // needs a link id
	h.cmd("AT+CIPCLOSE=0", "0,CLOSED\r\n\r\nOK\r\n")
	h.cmd("AT+CIPCLOSE=0", "\r\nERROR\r\n")
	srv.conn(1).Close()
	h.expect("3,CLOSED\r\n")
	h.cmd("AT+CIPCLOSE=3", "\r\nERROR\r\n")
	h.cmd(start(1), "1,CONNECT\r\n\r\nOK\r\n")
	h.cmd(start(4), "4,CONNECT\r\n\r\nOK\r\n")
	h.cmd("AT+CIPCLOSE=5", "1,CLOSED\r\n4,CLOSED\r\n\r\nOK\r\n")
	h.cmd("AT+CIPCLOSE=5", "\r\nOK\r\n")
	h.cmd("AT+CIPMUX=0", "\r\nOK\r\n")
	h.expectQuiet(50 * time.Millisecond)
	checkDecodes(t, sink, "+CIPSTART", "+CIPSEND", "+CIPCLOSE", "+CIPMUX")
}

func TestEmuTCPErrors(t *testing.T) {
	srv := newTCPServer(t)
	h := startEmu(t, &EmulatorOptions{NetworkTimeout: 2 * time.Second})
	closed := closedPort(t)
	h.cmd(fmt.Sprintf(`AT+CIPSTART="TCP","127.0.0.1",%d`, closed), "CLOSED\r\n\r\nERROR\r\n")
	for _, bad := range []string{
		fmt.Sprintf(`AT+CIPSTART="UDP","127.0.0.1",%d`, srv.port),
		fmt.Sprintf(`AT+CIPSTART="SSL","127.0.0.1",%d`, srv.port),
		`AT+CIPSTART="TCP","127.0.0.1",0`,
		`AT+CIPSTART="TCP","127.0.0.1",65536`,
		`AT+CIPSTART="TCP","",80`,
		`AT+CIPSTART=TCP,"127.0.0.1",80`,
		fmt.Sprintf(`AT+CIPSTART="TCP","127.0.0.1",%d,7201`, srv.port),
		fmt.Sprintf(`AT+CIPSTART=0,"TCP","127.0.0.1",%d`, srv.port), // a link id under AT+CIPMUX=0
		"AT+CIPSTART?", "AT+CIPSEND=0", "AT+CIPSEND=8193", "AT+CIPSEND", "AT+CIPMUX=2", "AT+CIPMODE=2", "AT+CIPDINFO=2",
	} {
		h.cmd(bad, "\r\nERROR\r\n")
	}
	h.cmd("AT+CIPMUX=1", "\r\nOK\r\n")
	h.cmd(fmt.Sprintf(`AT+CIPSTART=2,"TCP","127.0.0.1",%d`, closed), "2,CLOSED\r\n\r\nERROR\r\n")
	h.cmd("AT+CIPMUX=0", "\r\nOK\r\n")
	h.cmd("AT+CIPMODE=1", "\r\nOK\r\n")
	h.cmd("AT+CIPMUX=1", "\r\nERROR\r\n") // passthrough is single-link only
	h.cmd("AT+CIPSEND", "\r\nERROR\r\n")  // passthrough without a link
	h.cmd("AT+CIPMODE=0", "\r\nOK\r\n")
	// Off the network (AT+CWQAP), nothing connects; joining again does.
	joinWiFi(h)
	h.cmd("AT+CWQAP", "\r\nOK\r\nWIFI DISCONNECT\r\n")
	h.cmd(fmt.Sprintf(`AT+CIPSTART="TCP","127.0.0.1",%d`, srv.port), "\r\nERROR\r\n")
	h.cmd("AT+CIPSTATUS", "STATUS:5\r\n\r\nOK\r\n")
	joinWiFi(h)
	h.cmd(fmt.Sprintf(`AT+CIPSTART="TCP","127.0.0.1",%d,0,"192.168.4.2"`, srv.port), "CONNECT\r\n\r\nOK\r\n")
	// A restart drops the link without a URC and resets the settings.
	h.cmd("AT+RST", "\r\nOK\r\n")
	h.expect("\r\nready\r\nWIFI CONNECTED\r\nWIFI GOT IP\r\n")
	h.cmd("AT+CIPCLOSE", "\r\nERROR\r\n")
	h.cmd("AT+CIPMODE?", "+CIPMODE:0\r\n\r\nOK\r\n")
	h.expectQuiet(50 * time.Millisecond)
}

func TestEmuTCPSendCancelAndBusy(t *testing.T) {
	srv := newTCPServer(t)
	h, sink := startEmuRecorded(t)
	h.cmd(fmt.Sprintf(`AT+CIPSTART="TCP","127.0.0.1",%d`, srv.port), "CONNECT\r\n\r\nOK\r\n")
	// "+++" as a chunk of its own cancels the data entry; what came before
	// it is dropped.
	h.cmd("AT+CIPSEND=5", "\r\nOK\r\n\r\n>")
	h.send("ab")
	time.Sleep(30 * time.Millisecond)
	h.send("+++")
	h.expect("\r\nSEND Canceled\r\n")
	// "+++" inside a longer chunk is data.
	sendTCP(h, "5", "x+++y", "\r\n+IPD,5:x+++y")
	// Bytes beyond the length: busy p..., the first ones are sent.
	h.cmd("AT+CIPSEND=2", "\r\nOK\r\n\r\n>")
	h.send("hi!!")
	h.expectAnyOrder("\r\nbusy p...\r\n", "\r\nRecv 2 bytes\r\n", "\r\nSEND OK\r\n", "\r\n+IPD,2:hi")
	h.cmd("AT+CIPCLOSE", "CLOSED\r\n\r\nOK\r\n")
	h.expectQuiet(50 * time.Millisecond)
	checkDecodes(t, sink, "+CIPSEND")
}

func TestEmuTCPPassthrough(t *testing.T) {
	srv := newTCPServer(t)
	h, sink := startEmuRecorded(t)
	quiet := 100 * time.Millisecond // well over the 20 ms guard time
	h.cmd("AT+CIPMODE=1", "\r\nOK\r\n")
	h.cmd("AT+CIPMODE?", "+CIPMODE:1\r\n\r\nOK\r\n")
	h.cmd(fmt.Sprintf(`AT+CIPSTART="TCP","127.0.0.1",%d`, srv.port), "CONNECT\r\n\r\nOK\r\n")
	h.cmd("AT+CIPSEND=4", "\r\nERROR\r\n") // the length form is for normal mode
	h.cmd("AT+CIPSEND", "\r\nOK\r\n\r\n>")
	// Raw both ways, no echo, no +IPD; command lines are data.
	h.send("hello\r\nAT\r\n")
	h.expect("hello\r\nAT\r\n")
	// "+++" right after other data is data.
	time.Sleep(quiet)
	h.send("ab")
	h.send("+++")
	h.expect("ab+++")
	srv.conn(0).Write([]byte("from server\r\n"))
	h.expect("from server\r\n")
	// "+++" alone leaves passthrough silently; the link stays up.
	time.Sleep(quiet)
	h.send("+++")
	time.Sleep(quiet)
	h.expectQuiet(quiet)
	h.cmd("AT", "\r\nOK\r\n")
	srv.conn(0).Write([]byte("late"))
	h.expect("\r\n+IPD,4:late")
	// Again, with +QUITT on.
	h.cmd("AT+SYSMSG=1", "\r\nOK\r\n")
	h.cmd("AT+CIPSEND", "\r\nOK\r\n\r\n>")
	h.send("again")
	h.expect("again")
	time.Sleep(quiet)
	h.send("+++")
	h.expect("\r\n+QUITT\r\n")
	h.cmd("AT+CIPCLOSE", "CLOSED\r\n\r\nOK\r\n")
	h.cmd("AT+CIPSEND", "\r\nERROR\r\n") // no link
	h.expectQuiet(50 * time.Millisecond)
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
	h.cmd("AT+CIPMODE=1", "\r\nOK\r\n")
	h.cmd(fmt.Sprintf(`AT+CIPSTART="TCP","127.0.0.1",%d`, srv.port), "CONNECT\r\n\r\nOK\r\n")
	h.cmd("AT+CIPSEND", "\r\nOK\r\n\r\n>")
	time.Sleep(100 * time.Millisecond)
	h.send("+++")
	h.send("x")
	h.expect("+++x")
	time.Sleep(100 * time.Millisecond)
	for range 3 {
		h.send("+")
		time.Sleep(2 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	h.cmd("AT", "\r\nOK\r\n")

	h.cmd("AT+CIPSEND", "\r\nOK\r\n\r\n>")
	srv.conn(0).Close()
	time.Sleep(50 * time.Millisecond)
	h.send("lost")
	time.Sleep(100 * time.Millisecond)
	h.send("+++")
	time.Sleep(100 * time.Millisecond)
	h.expectQuiet(50 * time.Millisecond)
	h.cmd("AT+CIPSTATUS", "STATUS:4\r\n\r\nOK\r\n")
	checkDecodes(t, sink, "+++", "AT", "+CIPSTATUS")
}
