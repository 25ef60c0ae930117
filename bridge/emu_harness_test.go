package bridge

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atbridge/atbridge/formats"
	"github.com/atbridge/atbridge/internal/session"
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

// expectIgnoring consumes want, with any number of copies of the URC
// ignore (written atomically, so never inside another write) around it, and
// returns how many copies it skipped.
func (h *emuHost) expectIgnoring(want, ignore string) int {
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

// runSession plays a session file (internal/session format) against a new
// emulator: ">" steps are sent, and each run of consecutive "<" steps is
// expected as exact bytes. Where the run holds a URC (+WS_*, +TIME_UPDATED,
// WIFI ...), whose place relative to a result the firmware does not fix,
// its chunks may arrive in any order. "@firmware" picks the firmware;
// "@echo off" is refused (the board boots with echo on). vars replaces text
// in every step, e.g. a golden's server address with a test server's.
func runSession(t *testing.T, path string, vars map[string]string, opts *EmulatorOptions) {
	t.Helper()
	s, err := session.ParseFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if s.Meta["echo"] == "off" {
		t.Fatalf("%s: sessions must start with echo on, as the board boots", path)
	}
	o := EmulatorOptions{}
	if opts != nil {
		o = *opts
	}
	if fw := s.Meta["firmware"]; fw == "dev" || fw == "development" {
		o.Firmware = FirmwareDev
	}
	h := startEmu(t, &o) // consumes the boot banner
	steps := s.Steps
	if len(steps) > 0 && steps[0].Dir == formats.ToHost && strings.HasPrefix(string(steps[0].Data), "\r\nready\r\n") {
		rest := steps[0].Data[len("\r\nready\r\n"):]
		steps = steps[1:]
		if len(rest) > 0 {
			steps = append([]session.Step{{Dir: formats.ToHost, Data: rest}}, steps...)
		}
	}
	subst := func(b []byte) string {
		x := string(b)
		for k, v := range vars {
			x = strings.ReplaceAll(x, k, v)
		}
		return x
	}
	var run []string
	flush := func() {
		if len(run) == 0 {
			return
		}
		all := strings.Join(run, "")
		urc := false
		for _, c := range run {
			for _, p := range []string{"+WS_", "+TIME_UPDATED", "WIFI "} {
				urc = urc || strings.HasPrefix(c, p)
			}
		}
		if urc && len(run) <= 6 {
			h.expectAnyOrder(run...)
		} else {
			h.expect(all)
		}
		run = nil
	}
	for _, st := range steps {
		if st.Dir == formats.ToDevice {
			flush()
			h.send(subst(st.Data))
		} else {
			run = append(run, subst(st.Data))
		}
	}
	flush()
	h.expectQuiet(50 * time.Millisecond)
}

// must is a tiny helper for setup steps.
func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
