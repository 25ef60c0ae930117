package replay

import (
	"bytes"
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/formats"
)

const gmrAnswer = "AT version:5.0.1.0(3258eee - ESP32 - Mar  9 2026 12:00:00)\r\n\r\nOK\r\n"

// smallScript is a boot, AT+GMR, and an AT+WSSEND with its echo from the
// server; resultDelay is AT+GMR's latency.
func smallScript(t testing.TB, resultDelay time.Duration) *Script {
	t.Helper()
	return smallScriptSend(t, resultDelay, time.Millisecond)
}

// smallScriptSend is smallScript with the device taking sendDelay from the
// payload to SEND OK.
func smallScriptSend(t testing.TB, resultDelay, sendDelay time.Duration) *Script {
	t.Helper()
	ms := func(n float64) int64 { return int64(n * 1e6) }
	c := func(at int64, dir formats.Dir, s string) capture.Record {
		return capture.Record{Kind: capture.KindChunk, Time: at, Dir: dir, Data: []byte(s)}
	}
	recs := []capture.Record{
		c(0, formats.ToHost, "\r\nready\r\n"),
		c(ms(100), formats.ToDevice, "AT+GMR\r\n"),
		c(ms(101), formats.ToHost, "AT+GMR\r\n"),
		c(ms(101)+int64(resultDelay), formats.ToHost, gmrAnswer),
		c(ms(300), formats.ToDevice, "AT+WSSEND=0,4\r\n"),
		c(ms(301), formats.ToHost, "AT+WSSEND=0,4\r\n\r\nOK\r\n\r\n>"),
		c(ms(302), formats.ToDevice, "test"),
		c(ms(302)+int64(sendDelay), formats.ToHost, "\r\nSEND OK\r\n"),
		c(ms(304)+int64(sendDelay), formats.ToHost, "+WS_DATA:0,4,test\r\n"),
	}
	s, err := FromRecords(capture.Header{}, recs)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// host is a test host app on one end of a pipe.
type host struct {
	t   *testing.T
	c   net.Conn
	got []byte
}

// until reads until want appears in what came since from, or fails.
func (h *host) until(from int, want string) string {
	h.t.Helper()
	buf := make([]byte, 1024)
	_ = h.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for !bytes.Contains(h.got[from:], []byte(want)) {
		n, err := h.c.Read(buf)
		h.got = append(h.got, buf[:n]...)
		if err != nil {
			h.t.Fatalf("waiting for %q: %v; got %q", want, err, h.got[from:])
		}
	}
	return string(h.got[from:])
}

// send writes s and returns the offset of what comes back after it.
func (h *host) send(s string) int {
	h.t.Helper()
	from := len(h.got)
	if _, err := h.c.Write([]byte(s)); err != nil {
		h.t.Fatal(err)
	}
	return from
}

// quiet checks nothing more comes within d.
func (h *host) quiet(d time.Duration) {
	h.t.Helper()
	buf := make([]byte, 64)
	_ = h.c.SetReadDeadline(time.Now().Add(d))
	if n, _ := h.c.Read(buf); n > 0 {
		h.t.Errorf("unexpected output %q", buf[:n])
	}
}

func startMock(t *testing.T, s *Script, rules string) (*host, *Mock, func() error) {
	t.Helper()
	r, err := ParseRules(strings.NewReader(rules))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	c, m, wait := mockPair(t, ctx, s, &MockOptions{Rules: r})
	h := &host{t: t, c: c}
	h.until(0, "ready\r\n")
	return h, m, wait
}

// finish plays the rest of smallScript so the mock ends.
func (h *host) finish() {
	h.t.Helper()
	from := h.send("AT+WSSEND=0,4\r\n")
	h.until(from, ">")
	from = h.send("test")
	h.until(from, "+WS_DATA:0,4,test\r\n")
}

func TestFaults(t *testing.T) {
	s := smallScript(t, time.Millisecond)
	t.Run("delay", func(t *testing.T) {
		h, _, wait := startMock(t, s, "fault delay AT+GMR 150ms")
		start := time.Now()
		h.until(h.send("AT+GMR\r\n"), "OK\r\n")
		if d := time.Since(start); d < 150*time.Millisecond {
			t.Errorf("answer after %v, want at least 150ms", d)
		}
		h.finish()
		if err := wait(); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("drop", func(t *testing.T) {
		h, m, wait := startMock(t, s, "fault drop #1")
		from := h.send("AT+GMR\r\n")
		h.until(from, "AT+GMR\r\n")
		h.quiet(100 * time.Millisecond)
		h.finish()
		if err := wait(); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(h.got), "AT version") || len(m.Stats().Misses) > 0 {
			t.Errorf("dropped answer sent or miss: %q %v", h.got, m.Stats().Misses)
		}
	})
	t.Run("busy then retry", func(t *testing.T) {
		h, m, wait := startMock(t, s, "fault busy AT+GMR")
		if got := h.until(h.send("AT+GMR\r\n"), "busy p...\r\n"); got != "AT+GMR\r\n\r\nbusy p...\r\n" {
			t.Errorf("busy answer %q", got)
		}
		if got := h.until(h.send("AT+GMR\r\n"), "OK\r\n"); got != "AT+GMR\r\n"+gmrAnswer {
			t.Errorf("retry answer %q", got)
		}
		h.finish()
		if err := wait(); err != nil || len(m.Stats().Misses) > 0 {
			t.Fatal(err, m.Stats().Misses)
		}
	})
	t.Run("inject", func(t *testing.T) {
		h, _, wait := startMock(t, s, "fault inject AT+GMR +WS_DISCONNECTED:0")
		if got := h.until(h.send("AT+GMR\r\n"), "+WS_DISCONNECTED:0\r\n"); got != "AT+GMR\r\n"+gmrAnswer+"+WS_DISCONNECTED:0\r\n" {
			t.Errorf("got %q", got)
		}
		h.finish()
		wait()
	})
	t.Run("timed inject", func(t *testing.T) {
		h, _, wait := startMock(t, s, "fault inject @50ms +WS_CLOSED:0")
		h.until(0, "+WS_CLOSED:0\r\n")
		h.until(h.send("AT+GMR\r\n"), "OK\r\n")
		h.finish()
		wait()
	})
	t.Run("garbage", func(t *testing.T) {
		h, _, wait := startMock(t, s, "fault garbage AT+GMR 8")
		got := h.until(h.send("AT+GMR\r\n"), "OK\r\n")
		if len(got) != len("AT+GMR\r\n")+8+len(gmrAnswer) || !strings.HasSuffix(got, gmrAnswer) {
			t.Errorf("got %q", got)
		}
		h.finish()
		wait()
	})
	t.Run("corrupt +WS_DATA length", func(t *testing.T) {
		h, _, wait := startMock(t, s, "fault corrupt-wsdata #1 +1")
		h.until(h.send("AT+GMR\r\n"), "OK\r\n")
		from := h.send("AT+WSSEND=0,4\r\n")
		h.until(from, ">")
		if got := h.until(h.send("test"), "test\r\n"); !strings.HasSuffix(got, "+WS_DATA:0,5,test\r\n") {
			t.Errorf("got %q", got)
		}
		wait()
	})
	t.Run("out of order with order any", func(t *testing.T) {
		h, m, wait := startMock(t, s, "order any")
		from := h.send("AT+WSSEND=0,4\r\n")
		h.until(from, ">")
		h.until(h.send("test"), "SEND OK\r\n")
		h.until(h.send("AT+GMR\r\n"), "OK\r\n")
		if err := wait(); err != nil {
			t.Fatal(err)
		}
		if st := m.Stats(); len(st.Misses) > 0 || st.Answered != 2 {
			t.Errorf("%+v", st)
		}
	})
	t.Run("in order a skipped command is a miss", func(t *testing.T) {
		h, m, _ := startMock(t, s, "")
		if got := h.until(h.send("AT+WSSEND=0,4\r\n"), "ERROR\r\n"); got != "AT+WSSEND=0,4\r\n\r\nERROR\r\n" {
			t.Errorf("got %q", got)
		}
		st := m.Stats()
		if len(st.Misses) != 1 || st.Misses[0].Tx != 0 || st.Misses[0].ClosestN != 2 {
			t.Errorf("%+v", st.Misses)
		}
		h.c.Close()
	})
	t.Run("payload miss", func(t *testing.T) {
		h, m, wait := startMock(t, s, "match strict")
		h.until(h.send("AT+GMR\r\n"), "OK\r\n")
		h.until(h.send("AT+WSSEND=0,4\r\n"), ">")
		if got := h.until(h.send("tost"), "ERROR\r\n"); got != "\r\nERROR\r\n" {
			t.Errorf("got %q", got)
		}
		wait()
		if st := m.Stats(); len(st.Misses) != 1 || st.Misses[0].What != "payload" || st.Misses[0].Expected != "test" {
			t.Errorf("%+v", st.Misses)
		}
	})
}

// TestSlowdown: a device whose AT+GMR takes 100 ms instead of 1 ms fails
// --max-slowdown 2x at that transaction only.
func TestSlowdown(t *testing.T) {
	a, b := smallScript(t, time.Millisecond), smallScript(t, 100*time.Millisecond)
	rep := Compare(a, b, &Rules{MaxSlowdown: 2})
	if rep.Equal || rep.Summary.Slower != 1 || rep.Transactions[0].Status != StatusSlower || rep.Transactions[1].Status != StatusEqual {
		t.Errorf("%+v", rep.Transactions)
	}
	var txt strings.Builder
	rep.WriteText(&txt)
	if !strings.Contains(txt.String(), "! #1 AT+GMR: SLOWER") || !strings.Contains(txt.String(), "(50.50x)") {
		t.Errorf("text report:\n%s", txt.String())
	}
	if Compare(a, b, &Rules{}).Equal != true {
		t.Error("without --max-slowdown latency must not fail")
	}
}

// TestReplayAgainstDelayedMock: the same through Run, with the mock's
// delay fault as the slow device.
func TestReplayAgainstDelayedMock(t *testing.T) {
	// AT+WSSEND takes 50 ms on the recorded device, so that scheduling
	// noise under -race (a few ms) cannot make it twice as slow too.
	s := smallScriptSend(t, 20*time.Millisecond, 50*time.Millisecond)
	r, _ := ParseRules(strings.NewReader("fault delay AT+GMR 100ms\nmax-slowdown 2x"))
	ctx := context.Background()
	dev, _, wait := mockPair(t, ctx, s, &MockOptions{Rules: r, Timing: TimingRecorded})
	got, err := Run(ctx, dev, s, nil)
	if err != nil {
		t.Fatal(err)
	}
	wait()
	rep := Compare(s, got, r)
	if rep.Summary.Slower != 1 || rep.Transactions[0].Status != StatusSlower {
		var b strings.Builder
		rep.WriteText(&b)
		t.Errorf("report:\n%s", b.String())
	}
}
