package esp

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/atbridge/atbridge/bridge/port"
	"github.com/atbridge/atbridge/formats/esplog"
	"github.com/atbridge/atbridge/internal/rig"
)

// logReader decodes what arrives on the log UART's pty.
type logReader struct {
	mu    sync.Mutex
	lines []esplog.Line
}

func (r *logReader) waitKind(t *testing.T, k esplog.Kind, from int) int {
	t.Helper()
	deadline := time.Now().Add(rig.Timeout)
	for time.Now().Before(deadline) {
		r.mu.Lock()
		for i := from; i < len(r.lines); i++ {
			if r.lines[i].Kind == k {
				r.mu.Unlock()
				return i
			}
		}
		r.mu.Unlock()
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("no %v line on the log UART after line %d", k, from)
	return 0
}

func (r *logReader) line(i int) esplog.Line {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lines[i]
}

// startLogUART opens a real pty for the log UART through port.Open and
// decodes its other end with formats/esplog.
func openLogUART(t *testing.T) (port.Port, *logReader) {
	t.Helper()
	link := filepath.Join(t.TempDir(), "log")
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	p, err := port.Open(ctx, "pty:"+link, nil)
	rig.Must(t, err)
	t.Cleanup(func() { p.Close() })
	f, err := os.OpenFile(link, os.O_RDWR, 0)
	rig.Must(t, err)
	r := &logReader{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		var d esplog.Decoder
		buf := make([]byte, 1024)
		for {
			n, err := f.Read(buf)
			if n > 0 {
				ls := d.Feed(buf[:n])
				r.mu.Lock()
				r.lines = append(r.lines, ls...)
				r.mu.Unlock()
			}
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() { f.Close(); <-done })
	return p, r
}

// TestEmuLogUART: the console shows each boot with its cause, the events,
// and with PanicOn a panic the AT side never sees, then a restart.
func TestEmuLogUART(t *testing.T) {
	lp, logs := openLogUART(t)
	h := startEmu(t, &Options{LogUART: lp, PanicOn: "+GMR"})
	i := logs.waitKind(t, esplog.KindBoot, 0)
	if l := logs.line(i); l.Reset != "POWERON_RESET" {
		t.Fatalf("first boot: %+v", l)
	}
	j := logs.waitKind(t, esplog.KindLog, i)
	if l := logs.line(j); l.Tag != "boot" || l.Level != 'I' {
		t.Fatalf("after the reset line: %+v", l)
	}

	h.Cmd("AT+RST", "\r\nOK\r\n")
	h.Expect("\r\nready\r\n")
	i = logs.waitKind(t, esplog.KindBoot, i+1)
	if l := logs.line(i); l.Reset != "SW_CPU_RESET" {
		t.Fatalf("after AT+RST: %+v", l)
	}

	// The crash: the AT UART echoes the command, then nothing until ready.
	h.Send("AT+GMR\r\n")
	h.Expect("AT+GMR\r\n")
	p := logs.waitKind(t, esplog.KindPanic, i+1)
	if l := logs.line(p); l.Cause != "LoadProhibited" {
		t.Fatalf("panic line: %+v", l)
	}
	if l := logs.line(logs.waitKind(t, esplog.KindBacktrace, p)); len(l.PCs) != 3 {
		t.Fatalf("backtrace: %+v", l)
	}
	r := logs.waitKind(t, esplog.KindReboot, p)
	h.Expect("\r\nready\r\n")
	if l := logs.line(logs.waitKind(t, esplog.KindBoot, r)); l.Reset != "SW_CPU_RESET" {
		t.Fatalf("after the panic: %+v", l)
	}
	h.Cmd("AT", "\r\nOK\r\n")
}

// TestEmuLogUARTNobodyReads: a console nobody reads never holds up the AT
// side.
func TestEmuLogUARTNobodyReads(t *testing.T) {
	link := filepath.Join(t.TempDir(), "log")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	lp, err := port.Open(ctx, "pty:"+link, nil)
	rig.Must(t, err)
	defer lp.Close()
	h := startEmu(t, &Options{LogUART: lp})
	for range 80 { // 80 banners fill a pty's buffer several times over
		h.Cmd("AT+RST", "\r\nOK\r\n")
		h.Expect("\r\nready\r\n")
	}
}

// TestEmuPanicKinds: each PanicKind prints its failure as ESP-IDF does,
// and the reset after it has the ROM reason that failure gives.
func TestEmuPanicKinds(t *testing.T) {
	want := map[string]struct {
		kind   esplog.Kind
		reset  string
		detail string
	}{
		"":               {esplog.KindPanic, "SW_CPU_RESET", "LoadProhibited"},
		"loadprohibited": {esplog.KindPanic, "SW_CPU_RESET", "LoadProhibited"},
		"abort":          {esplog.KindAbort, "SW_CPU_RESET", "abort()"},
		"assert":         {esplog.KindAbort, "SW_CPU_RESET", "at_ws_task at_ws_cmd.c:412 (link->state == WS_CONNECTED)"},
		"task-wdt":       {esplog.KindWatchdog, "SW_CPU_RESET", ""},
		"int-wdt":        {esplog.KindPanic, "SW_CPU_RESET", "Interrupt wdt timeout on CPU0"},
		"brownout":       {esplog.KindBrownout, "RTCWDT_BROWN_OUT_RESET", ""},
	}
	if len(want) != len(PanicKinds)+1 {
		t.Fatalf("PanicKinds %v: test them all", PanicKinds)
	}
	for kind, w := range want {
		t.Run(kind, func(t *testing.T) {
			lp, logs := openLogUART(t)
			h := startEmu(t, &Options{LogUART: lp, PanicOn: "+GMR", PanicKind: kind})
			i := logs.waitKind(t, esplog.KindBoot, 0)
			h.Send("AT+GMR\r\n")
			h.Expect("AT+GMR\r\n")
			f := logs.waitKind(t, w.kind, i+1)
			if l := logs.line(f); w.detail != "" && l.Cause != w.detail {
				t.Errorf("%v line %q: cause %q, want %q", w.kind, l.Text, l.Cause, w.detail)
			}
			h.Expect("\r\nready\r\n")
			if l := logs.line(logs.waitKind(t, esplog.KindBoot, f)); l.Reset != w.reset {
				t.Errorf("reset %q after %s, want %s", l.Reset, kind, w.reset)
			}
			// The next reset is an ordinary one again.
			h.Cmd("AT+RST", "\r\nOK\r\n")
			h.Expect("\r\nready\r\n")
		})
	}
}
