package bridge

import (
	"bytes"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// expectTimeout bounds how long a test waits for the emulator's bytes. It
// is a hang guard, not a speed assertion.
const expectTimeout = 10 * time.Second

// hostApp is a test host app on a pty slave: a reader goroutine collects
// every byte that arrives, and the expect methods consume them in order.
type hostApp struct {
	t        testing.TB
	f        *os.File
	readDone chan struct{}

	mu   sync.Mutex
	cond *sync.Cond
	buf  []byte
	pos  int
	rerr error
	sent []byte
	// keep keeps every byte read and sent, for tests that compare with a
	// recording; without it, long benchmarks forget what they consumed
	// and sent is not kept.
	keep bool
}

// newHostApp starts reading f; close stops it. The app keeps everything.
func newHostApp(t testing.TB, f *os.File) *hostApp {
	h := &hostApp{t: t, f: f, readDone: make(chan struct{}), keep: true}
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

// close closes the pty slave and waits for the reader.
func (h *hostApp) close() {
	h.f.Close()
	<-h.readDone
}

// received returns everything read so far (all of it only with keep).
func (h *hostApp) received() []byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	return bytes.Clone(h.buf)
}

// send writes s as the host app would.
func (h *hostApp) send(s string) {
	h.t.Helper()
	if h.keep {
		h.mu.Lock()
		h.sent = append(h.sent, s...)
		h.mu.Unlock()
	}
	if _, err := h.f.Write([]byte(s)); err != nil {
		h.t.Fatalf("host write: %v", err)
	}
}

// waitLen waits until n unread bytes are there and returns the unread
// bytes without consuming them; on timeout it returns them and false.
func (h *hostApp) waitLen(n int, d time.Duration) ([]byte, bool) {
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

func (h *hostApp) consume(n int) {
	h.mu.Lock()
	h.pos += n
	if h.pos > 1<<20 && !h.keep { // long benchmarks: forget what was read
		h.buf = append(h.buf[:0], h.buf[h.pos:]...)
		h.pos = 0
	}
	h.mu.Unlock()
}

// expect consumes exactly want.
func (h *hostApp) expect(want string) {
	h.t.Helper()
	got, ok := h.waitLen(len(want), expectTimeout)
	if !ok || string(got[:len(want)]) != want {
		h.t.Fatalf("host got\n  %q\nwant\n  %q", got, want)
	}
	h.consume(len(want))
}

// expectAnyOrder consumes the pieces in some order: for URCs whose place
// relative to a result the firmware does not fix.
func (h *hostApp) expectAnyOrder(pieces ...string) {
	h.t.Helper()
	total := 0
	for _, p := range pieces {
		total += len(p)
	}
	got, ok := h.waitLen(total, expectTimeout)
	if ok && matchPermutation(string(got[:total]), pieces) {
		h.consume(total)
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

// expectIgnoring consumes want, with any number of copies of the URC
// ignore (written atomically, so never inside another write) around it, and
// returns how many copies it skipped.
func (h *hostApp) expectIgnoring(want, ignore string) int {
	h.t.Helper()
	n := len(want)
	for {
		got, ok := h.waitLen(n, expectTimeout)
		s := strings.ReplaceAll(string(got), ignore, "")
		if s == want {
			h.consume(len(got))
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

// expectQuiet checks that nothing arrives for d.
func (h *hostApp) expectQuiet(d time.Duration) {
	h.t.Helper()
	if got, ok := h.waitLen(1, d); ok {
		h.t.Fatalf("unexpected output %q", got)
	}
}

// drain waits for n more bytes and discards them without looking.
func (h *hostApp) drain(n int) {
	h.t.Helper()
	for n > 0 {
		step := min(n, 1<<16)
		if _, ok := h.waitLen(step, expectTimeout); !ok {
			h.t.Fatalf("drain: %d bytes missing", n)
		}
		h.consume(step)
		n -= step
	}
}

// cmd sends an AT command line and expects its echo followed by reply.
func (h *hostApp) cmd(line, reply string) {
	h.t.Helper()
	h.send(line + "\r\n")
	h.expect(line + "\r\n" + reply)
}
