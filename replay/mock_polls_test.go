package replay

import (
	"strings"
	"testing"

	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/internal/session"
)

// pollSession is a host polling AT+CIPRECVLEN? until passive data comes
// (WiFiEspAT's available()): two empty polls, the announcement, a third
// poll that sees the data, then the read.
const pollSession = `@echo on
@firmware release
< 0.000 "\r\nready\r\n"
> 0.100 "AT+CIPRECVLEN?\r\n"
< 0.101 "AT+CIPRECVLEN?\r\n+CIPRECVLEN:0,0,0,0,0\r\n\r\nOK\r\n"
> 0.110 "AT+CIPRECVLEN?\r\n"
< 0.111 "AT+CIPRECVLEN?\r\n+CIPRECVLEN:0,0,0,0,0\r\n\r\nOK\r\n"
< 0.115 "\r\n+IPD,0,5\r\n"
> 0.120 "AT+CIPRECVLEN?\r\n"
< 0.121 "AT+CIPRECVLEN?\r\n+CIPRECVLEN:5,0,0,0,0\r\n\r\nOK\r\n"
> 0.130 "AT+CIPRECVDATA=0,5\r\n"
< 0.131 "AT+CIPRECVDATA=0,5\r\n+CIPRECVDATA:5,hello\r\nOK\r\n"
`

func pollScript(t *testing.T) *Script {
	t.Helper()
	ss, err := session.Parse(strings.NewReader(pollSession))
	if err != nil {
		t.Fatal(err)
	}
	s, err := FromRecords(capture.Header{}, ss.Records())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestMockPollsMore: a host that polls three times once the data is there
// (recorded: once) gets the last recorded answer for the extra polls, with
// no miss.
func TestMockPollsMore(t *testing.T) {
	h, m, wait := startMock(t, pollScript(t), "")
	for range 2 {
		h.until(h.send("AT+CIPRECVLEN?\r\n"), "+CIPRECVLEN:0,0,0,0,0\r\n\r\nOK\r\n")
	}
	h.until(0, "+IPD,0,5\r\n")
	for range 3 {
		h.until(h.send("AT+CIPRECVLEN?\r\n"), "+CIPRECVLEN:5,0,0,0,0\r\n\r\nOK\r\n")
	}
	h.until(h.send("AT+CIPRECVDATA=0,5\r\n"), "+CIPRECVDATA:5,hello\r\nOK\r\n")
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	st := m.Stats()
	if len(st.Misses) > 0 || !st.Finished || st.Polls != 2 {
		t.Errorf("misses %v, finished %v, polls %d (want 2)", st.Misses, st.Finished, st.Polls)
	}
}

// TestMockPollsFewer: a host that polls once and, seeing nothing, waits
// for the announcement and reads at once: the skipped polls' answers are
// not sent, the announcement still is.
func TestMockPollsFewer(t *testing.T) {
	h, m, wait := startMock(t, pollScript(t), "")
	h.until(h.send("AT+CIPRECVLEN?\r\n"), "+CIPRECVLEN:0,0,0,0,0\r\n\r\nOK\r\n")
	from := h.send("AT+CIPRECVDATA=0,5\r\n")
	got := h.until(from, "+CIPRECVDATA:5,hello\r\nOK\r\n")
	if !strings.Contains(got, "+IPD,0,5\r\n") || strings.Contains(got, "+CIPRECVLEN") {
		t.Errorf("after skipping two polls: %q", got)
	}
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	st := m.Stats()
	if len(st.Misses) > 0 || !st.Finished || st.Polls != 2 {
		t.Errorf("misses %v, finished %v, polls %d (want 2)", st.Misses, st.Finished, st.Polls)
	}
}

// TestMockPollsStrict: strict matching counts every poll.
func TestMockPollsStrict(t *testing.T) {
	h, m, _ := startMock(t, pollScript(t), "match strict")
	for range 3 {
		h.until(h.send("AT+CIPRECVLEN?\r\n"), "\r\nOK\r\n")
	}
	h.until(h.send("AT+CIPRECVLEN?\r\n"), "ERROR\r\n")
	if st := m.Stats(); len(st.Misses) != 1 || st.Polls != 0 {
		t.Errorf("misses %v, polls %d", st.Misses, st.Polls)
	}
}
