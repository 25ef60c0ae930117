package esp

import (
	"bytes"
	"fmt"
	"math/rand"
	"net"
	"regexp"
	"strconv"
	"testing"

	"github.com/atbridge/atbridge/internal/rig"
)

// The bytes below are typed from DOC-TCP (AT+CIPRECVTYPE, AT+CIPRECVDATA,
// AT+CIPRECVLEN) and docs/esp-at-surface.md §3.6, not from the emulator.

// readPassive reads one AT+CIPRECVDATA reply: +CIPRECVDATA:<n>,<n bytes>
// then \r\nOK\r\n, and returns the bytes.
func readPassive(t *testing.T, h *emuHost) []byte {
	t.Helper()
	re := regexp.MustCompile(`^\+CIPRECVDATA:(\d+),`)
	head, _ := h.WaitLen(len("+CIPRECVDATA:1,"), rig.Timeout)
	m := re.FindSubmatch(head)
	for m == nil && len(head) < 24 {
		head, _ = h.WaitLen(len(head)+1, rig.Timeout)
		m = re.FindSubmatch(head)
	}
	if m == nil {
		t.Fatalf("want +CIPRECVDATA:<n>, got %q", head)
	}
	n, _ := strconv.Atoi(string(m[1]))
	h.Consume(len(m[0]))
	got, ok := h.WaitLen(n+len("\r\nOK\r\n"), rig.Timeout)
	if !ok {
		t.Fatalf("+CIPRECVDATA:%d: data or OK missing", n)
	}
	data := append([]byte(nil), got[:n]...)
	if string(got[n:n+6]) != "\r\nOK\r\n" {
		t.Fatalf("after %d bytes want \\r\\nOK\\r\\n, got %q", n, got[n:n+6])
	}
	h.Consume(n + 6)
	return data
}

// TestEmuPassiveDownload reads a 200 KB download in passive mode under
// AT+CIPMUX=1, byte for byte: one announcement with the total buffered,
// a fresh one after each read that leaves bytes behind, and CLOSED held
// until the last byte is read.
func TestEmuPassiveDownload(t *testing.T) {
	payload := make([]byte, 200_000)
	rand.New(rand.NewSource(13)).Read(payload)
	copy(payload[1000:], "\r\nOK\r\n\r\nERROR\r\n+IPD,0,5:")
	srv := rig.StartConnServer(t, "tcp4", func(c net.Conn) {
		_, _ = c.Write(payload)
		c.Close()
	})
	port := srv.Addr().(*net.TCPAddr).Port
	h, sink := startEmuRecorded(t)
	h.Cmd("AT+CIPMUX=1", "\r\nOK\r\n")
	h.Cmd("AT+CIPRECVTYPE=5,1", "\r\nOK\r\n")
	h.Cmd("AT+CIPRECVMODE?", "+CIPRECVMODE:1\r\n\r\nOK\r\n")
	h.Cmd("AT+CIPRECVDATA=0,100", "\r\nERROR\r\n") // link 0 is not connected
	h.Cmd(fmt.Sprintf(`AT+CIPSTART=0,"TCP","127.0.0.1",%d`, port), "0,CONNECT\r\n\r\nOK\r\n")
	announce := regexp.MustCompile(`^\r\n\+IPD,0,(\d+)\r\n`)
	waitAnnounce := func() int {
		t.Helper()
		head, _ := h.WaitLen(len("\r\n+IPD,0,1\r\n"), rig.Timeout)
		m := announce.FindSubmatch(head)
		for m == nil && len(head) < 20 {
			head, _ = h.WaitLen(len(head)+1, rig.Timeout)
			m = announce.FindSubmatch(head)
		}
		if m == nil {
			t.Fatalf("want \\r\\n+IPD,0,<len>\\r\\n, got %q", head)
		}
		h.Consume(len(m[0]))
		n, _ := strconv.Atoi(string(m[1]))
		return n
	}
	// The announcement carries what was buffered then; AT+CIPRECVLEN? what
	// is buffered now (more may have arrived, up to the receive window).
	lenRe := regexp.MustCompile(`^AT\+CIPRECVLEN\?\r\n\+CIPRECVLEN:(\d+),0,0,0,0\r\n\r\nOK\r\n`)
	var got []byte
	for len(got) < len(payload) {
		announced := waitAnnounce()
		if announced < 1 || announced > rxWindow+tcpRecvChunk {
			t.Fatalf("announced %d bytes, want 1..%d (the receive window holds the rest back)", announced, rxWindow+tcpRecvChunk)
		}
		h.Send("AT+CIPRECVLEN?\r\n")
		head, _ := h.WaitLen(len("AT+CIPRECVLEN?\r\n+CIPRECVLEN:1,0,0,0,0\r\n\r\nOK\r\n"), rig.Timeout)
		m := lenRe.FindSubmatch(head)
		for m == nil && len(head) < 60 {
			head, _ = h.WaitLen(len(head)+1, rig.Timeout)
			m = lenRe.FindSubmatch(head)
		}
		if m == nil {
			t.Fatalf("want +CIPRECVLEN:<n>,0,0,0,0, got %q", head)
		}
		h.Consume(len(m[0]))
		buffered, _ := strconv.Atoi(string(m[1]))
		if buffered < announced {
			t.Fatalf("AT+CIPRECVLEN? says %d after %d were announced", buffered, announced)
		}
		h.Send("AT+CIPRECVDATA=0,2048\r\n")
		h.Expect("AT+CIPRECVDATA=0,2048\r\n")
		piece := readPassive(t, h)
		if len(piece) < min(2048, buffered) || len(piece) > 2048 {
			t.Fatalf("read %d bytes with %d buffered, want %d..2048", len(piece), buffered, min(2048, buffered))
		}
		got = append(got, piece...)
	}
	if !bytes.Equal(got, payload) {
		t.Fatal("the passive download differs from what the server sent")
	}
	h.Expect("0,CLOSED\r\n")
	h.Cmd("AT+CIPRECVLEN?", "+CIPRECVLEN:0,0,0,0,0\r\n\r\nOK\r\n")
	checkDecodes(t, sink, "+CIPRECVDATA", "+CIPRECVLEN", "+CIPRECVTYPE")
}

// TestEmuPassiveSingle covers AT+CIPMUX=0: AT+CIPRECVMODE=1, the
// announcement without a link id, AT+CIPDINFO's address in
// +CIPRECVDATA, "no data" as ERROR, and AT+CIPRECVMODE=0 back to +IPD.
func TestEmuPassiveSingle(t *testing.T) {
	srv := newTCPServer(t)
	h, sink := startEmuRecorded(t)
	h.Cmd("AT+CIPRECVMODE=1", "\r\nOK\r\n")
	h.Cmd("AT+CIPRECVTYPE?", "+CIPRECVTYPE:1\r\n\r\nOK\r\n")
	h.Cmd("AT+CIPRECVMODE=2", "\r\nERROR\r\n")
	h.Cmd("AT+CIPDINFO=1", "\r\nOK\r\n")
	h.Cmd(fmt.Sprintf(`AT+CIPSTART="TCP","127.0.0.1",%d`, srv.port), "CONNECT\r\n\r\nOK\r\n")
	h.Cmd("AT+CIPRECVDATA=10", "\r\nERROR\r\n") // no data yet
	sendTCP(h, "4", "ping", "\r\n+IPD,4\r\n")
	h.Cmd("AT+CIPRECVLEN?", "+CIPRECVLEN:4\r\n\r\nOK\r\n")
	h.Cmd("AT+CIPRECVDATA=3", fmt.Sprintf("+CIPRECVDATA:3,\"127.0.0.1\",%d,pin\r\nOK\r\n\r\n+IPD,1\r\n", srv.port))
	h.Cmd("AT+CIPRECVDATA=10", fmt.Sprintf("+CIPRECVDATA:1,\"127.0.0.1\",%d,g\r\nOK\r\n", srv.port))
	h.Cmd("AT+CIPRECVMODE=0", "\r\nOK\r\n")
	h.Cmd("AT+CIPDINFO=0", "\r\nOK\r\n")
	sendTCP(h, "2", "ok", "\r\n+IPD,2:ok")
	h.Cmd("AT+CIPCLOSE", "CLOSED\r\n\r\nOK\r\n")
	checkDecodes(t, sink, "+CIPRECVDATA", "+CIPRECVMODE")
}
