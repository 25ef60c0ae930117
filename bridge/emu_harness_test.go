package bridge

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// expectTimeout bounds how long a test waits for the emulator's bytes. It
// is a hang guard, not a speed assertion.
const expectTimeout = 10 * time.Second

// emuHost is the host app's side of an emulator under test: it writes to
// and reads from the slave side of a real pty opened through OpenPort.
type emuHost struct {
	t    testing.TB
	f    *os.File
	em   *Emulator
	port Port

	mu   sync.Mutex
	cond *sync.Cond
	buf  []byte
	pos  int
	rerr error
	keep bool // keep everything read (tests that compare with a recording)
}

// testLogger sends the emulator's log lines to t.Log.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tLogWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tLogWriter struct{ t testing.TB }

func (w tLogWriter) Write(b []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

// startEmu runs an emulator on a fresh pty: port and connects a host to it.
// It consumes the boot banner.
func startEmu(t testing.TB, opts *EmulatorOptions) *emuHost {
	t.Helper()
	if opts == nil {
		opts = &EmulatorOptions{}
	}
	if opts.Log == nil {
		opts.Log = testLogger(t)
	}
	if opts.RestartDelay == 0 {
		opts.RestartDelay = 20 * time.Millisecond
	}
	link := filepath.Join(t.TempDir(), "esp")
	ctx, cancel := context.WithCancel(context.Background())
	p, err := OpenPort(ctx, "pty:"+link, nil)
	if err != nil {
		t.Fatalf("OpenPort: %v", err)
	}
	em := NewEmulator(opts)
	served := make(chan error, 1)
	go func() { served <- em.Serve(ctx, p) }()
	f, err := os.OpenFile(link, os.O_RDWR, 0)
	if err != nil {
		cancel()
		<-served
		p.Close()
		t.Fatalf("opening the pty link: %v", err)
	}
	h := &emuHost{t: t, f: f, em: em, port: p}
	h.cond = sync.NewCond(&h.mu)
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
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
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
		p.Close()
		f.Close()
		<-readDone
	})
	h.expect("\r\nready\r\n")
	return h
}

// send writes s as the host app would.
func (h *emuHost) send(s string) {
	h.t.Helper()
	if _, err := h.f.Write([]byte(s)); err != nil {
		h.t.Fatalf("host write: %v", err)
	}
}

// waitLen waits until n unread bytes are there and returns them without
// consuming; on timeout it returns what there is and false.
func (h *emuHost) waitLen(n int, d time.Duration) ([]byte, bool) {
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

// expect consumes exactly want from the emulator's output.
func (h *emuHost) expect(want string) {
	h.t.Helper()
	got, ok := h.waitLen(len(want), expectTimeout)
	if !ok || string(got[:len(want)]) != want {
		h.t.Fatalf("host got\n  %q\nwant\n  %q", got, want)
	}
	h.consume(len(want))
}

// expectAnyOrder consumes the pieces in some order: for URCs whose place
// relative to a result the firmware does not fix.
func (h *emuHost) expectAnyOrder(pieces ...string) {
	h.t.Helper()
	total := 0
	for _, p := range pieces {
		total += len(p)
	}
	got, ok := h.waitLen(total, expectTimeout)
	if ok {
		if matchPermutation(string(got[:total]), pieces) {
			h.consume(total)
			return
		}
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

// expectQuiet checks that nothing arrives for d.
func (h *emuHost) expectQuiet(d time.Duration) {
	h.t.Helper()
	if got, ok := h.waitLen(1, d); ok {
		h.t.Fatalf("unexpected output %q", got)
	}
}

func (h *emuHost) consume(n int) {
	h.mu.Lock()
	h.pos += n
	if h.pos > 1<<20 && !h.keep { // long benchmarks: forget what was read
		h.buf = append(h.buf[:0], h.buf[h.pos:]...)
		h.pos = 0
	}
	h.mu.Unlock()
}

// drain waits for n more bytes and discards them without looking.
func (h *emuHost) drain(n int) {
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
func (h *emuHost) cmd(line, reply string) {
	h.t.Helper()
	h.send(line + "\r\n")
	h.expect(line + "\r\n" + reply)
}

// runTranscript plays a transcript file: lines "> [t] QUOTED" are sent,
// "< [t] QUOTED" expected exactly, and consecutive "<~ QUOTED" lines are
// expected in any order. vars replaces $NAME in the quoted strings.
func runTranscript(t *testing.T, h *emuHost, path string, vars map[string]string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var group []string
	flush := func() {
		if len(group) > 0 {
			h.expectAnyOrder(group...)
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
		rest = strings.TrimSpace(rest)
		if rest != "" && rest[0] != '"' { // optional timestamp
			_, rest, _ = strings.Cut(rest, " ")
		}
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
			h.send(s)
		case "<":
			flush()
			h.expect(s)
		case "<~":
			group = append(group, s)
		default:
			t.Fatalf("%s:%d: unknown direction %q", path, n, op)
		}
	}
	flush()
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
}

var errNotFound = errors.New("not found")

// must is a tiny helper for setup steps.
func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

var _ = fmt.Sprintf
var _ = io.EOF
