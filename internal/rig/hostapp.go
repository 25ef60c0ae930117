package rig

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// HostApp is a test host app on a pty slave: a reader goroutine collects
// every byte that arrives, and the Expect methods consume them in order.
type HostApp struct {
	t        testing.TB
	f        *os.File
	readDone chan struct{}

	mu   sync.Mutex
	cond *sync.Cond
	buf  []byte
	pos  int
	rerr error
	sent []byte
	// Keep keeps every byte read and sent, for tests that compare with a
	// recording; without it, long benchmarks forget what they consumed
	// and sent is not kept.
	Keep bool
}

// NewHostApp starts reading f; Close stops it. The app keeps everything.
func NewHostApp(t testing.TB, f *os.File) *HostApp {
	h := &HostApp{t: t, f: f, readDone: make(chan struct{}), Keep: true}
	h.cond = sync.NewCond(&h.mu)
	go func() {
		defer close(h.readDone)
		b := make([]byte, 65536)
		for {
			n, err := f.Read(b)
			h.mu.Lock()
			h.buf = append(h.buf, b[:n]...)
			if err != nil {
				h.rerr = err
			}
			h.cond.Broadcast()
			h.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	return h
}

// Close closes the pty slave and waits for the reader.
func (h *HostApp) Close() {
	h.f.Close()
	<-h.readDone
}

// Received returns everything read so far (all of it only with Keep).
func (h *HostApp) Received() []byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	return bytes.Clone(h.buf)
}

// Send writes s as the host app would.
func (h *HostApp) Send(s string) {
	h.t.Helper()
	if h.Keep {
		h.mu.Lock()
		h.sent = append(h.sent, s...)
		h.mu.Unlock()
	}
	if _, err := h.f.Write([]byte(s)); err != nil {
		h.t.Fatalf("host write: %v", err)
	}
}

// WaitLen waits until n unread bytes are there and returns the unread
// bytes without consuming them; on timeout it returns them and false.
func (h *HostApp) WaitLen(n int, d time.Duration) ([]byte, bool) {
	timer := time.AfterFunc(d, func() {
		h.mu.Lock()
		h.cond.Broadcast()
		h.mu.Unlock()
	})
	defer timer.Stop()
	deadline := time.Now().Add(d)
	h.mu.Lock()
	defer h.mu.Unlock()
	for len(h.buf)-h.pos < n && h.rerr == nil && time.Now().Before(deadline) {
		h.cond.Wait()
	}
	got := bytes.Clone(h.buf[h.pos:])
	return got, len(got) >= n
}

// Consume marks n unread bytes as read.
func (h *HostApp) Consume(n int) {
	h.mu.Lock()
	h.pos += n
	if h.pos > 1<<20 && !h.Keep { // long benchmarks: forget what was read
		h.buf = append(h.buf[:0], h.buf[h.pos:]...)
		h.pos = 0
	}
	h.mu.Unlock()
}

// Expect consumes exactly want.
func (h *HostApp) Expect(want string) {
	h.t.Helper()
	got, ok := h.WaitLen(len(want), Timeout)
	if !ok || string(got[:len(want)]) != want {
		h.t.Fatalf("host got\n  %q\nwant\n  %q", got, want)
	}
	h.Consume(len(want))
}

// ExpectAnyOrder consumes the pieces in some order: for URCs whose place
// relative to a result the firmware does not fix.
func (h *HostApp) ExpectAnyOrder(pieces ...string) {
	h.t.Helper()
	total := 0
	for _, p := range pieces {
		total += len(p)
	}
	got, ok := h.WaitLen(total, Timeout)
	if ok && matchPermutation(string(got[:total]), pieces) {
		h.Consume(total)
		return
	}
	h.t.Fatalf("host got\n  %q\nwant these in any order\n  %q", got, pieces)
}

func matchPermutation(s string, pieces []string) bool {
	if len(pieces) == 0 {
		return s == ""
	}
	for i, p := range pieces {
		if strings.HasPrefix(s, p) {
			rest := append(append([]string(nil), pieces[:i]...), pieces[i+1:]...)
			if matchPermutation(s[len(p):], rest) {
				return true
			}
		}
	}
	return false
}

// ExpectIgnoring consumes want, with any number of copies of the URC
// ignore (written atomically, so never inside another write) around it, and
// returns how many copies it skipped.
func (h *HostApp) ExpectIgnoring(want, ignore string) int {
	h.t.Helper()
	n := len(want)
	for {
		got, ok := h.WaitLen(n, Timeout)
		s := strings.ReplaceAll(string(got), ignore, "")
		if s == want {
			h.Consume(len(got))
			return strings.Count(string(got), ignore)
		}
		// A read may end inside a copy of ignore: leave that part out.
		t := s
		for k := len(ignore) - 1; k > 0; k-- {
			if strings.HasSuffix(t, ignore[:k]) {
				t = t[:len(t)-k]
				break
			}
		}
		if !ok || !strings.HasPrefix(want, s) && !strings.HasPrefix(want, t) {
			h.t.Fatalf("host got\n  %q\nwant (ignoring %q)\n  %q", got, ignore, want)
		}
		n = len(got) + 1
	}
}

// ExpectQuiet checks that nothing arrives for d.
func (h *HostApp) ExpectQuiet(d time.Duration) {
	h.t.Helper()
	if got, ok := h.WaitLen(1, d); ok {
		h.t.Fatalf("unexpected output %q", got)
	}
}

// Drain waits for n more bytes and discards them without looking.
func (h *HostApp) Drain(n int) {
	h.t.Helper()
	for n > 0 {
		step := min(n, 1<<16)
		if _, ok := h.WaitLen(step, Timeout); !ok {
			h.t.Fatalf("drain: %d bytes missing", n)
		}
		h.Consume(step)
		n -= step
	}
}

// Cmd sends an AT command line and expects its echo followed by reply.
func (h *HostApp) Cmd(line, reply string) {
	h.t.Helper()
	h.Send(line + "\r\n")
	h.Expect(line + "\r\n" + reply)
}

// Play runs a script: "> QUOTED" is sent, "< QUOTED" expected exactly,
// consecutive "<~ QUOTED" lines expected in any order; vars replaces $NAME.
func (h *HostApp) Play(t *testing.T, path string, vars map[string]string) {
	t.Helper()
	f, err := os.Open(path)
	Must(t, err)
	defer f.Close()
	var group []string
	flush := func() {
		if len(group) > 0 {
			h.ExpectAnyOrder(group...)
			group = nil
		}
	}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		op, rest, _ := strings.Cut(line, " ")
		s, err := strconv.Unquote(strings.TrimSpace(rest))
		if err != nil {
			t.Fatalf("%s:%d: %v", path, n, err)
		}
		for k, v := range vars {
			s = strings.ReplaceAll(s, "$"+k, v)
		}
		switch op {
		case ">":
			flush()
			h.Send(s)
		case "<":
			flush()
			h.Expect(s)
		case "<~":
			group = append(group, s)
		default:
			t.Fatalf("%s:%d: unknown direction %q", path, n, op)
		}
	}
	flush()
	Must(t, sc.Err())
}

// Sent returns everything sent with Send (only with Keep).
func (h *HostApp) Sent() []byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	return bytes.Clone(h.sent)
}

// Write writes b to the pty as it is, without keeping it in Sent: for a
// stream written from another goroutine, which must not call t.Fatal.
func (h *HostApp) Write(b []byte) (int, error) { return h.f.Write(b) }
