package esp

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atbridge/atbridge/bridge/port"
	"github.com/atbridge/atbridge/formats"
	"github.com/atbridge/atbridge/internal/rig"
	"github.com/atbridge/atbridge/internal/session"
)

// emuHost is the host app's side of an emulator under test: it writes to
// and reads from the slave side of a real pty opened through port.Open. It
// forgets what it consumed (long benchmarks) unless keep is set.
type emuHost struct {
	*rig.HostApp
	t    testing.TB
	em   *Emulator
	port port.Port
	stop func() // ends the Serve; idempotent
}

// startEmu runs an emulator on a fresh pty: port and connects a host to it.
// It consumes the boot banner.
func startEmu(t testing.TB, opts *Options) *emuHost {
	t.Helper()
	if opts == nil {
		opts = &Options{}
	}
	if opts.Log == nil {
		opts.Log = rig.Logger(t)
	}
	if opts.RestartDelay == 0 {
		opts.RestartDelay = 20 * time.Millisecond
	}
	h := serveEmu(t, New(opts))
	h.Expect("\r\nready\r\n")
	return h
}

// serveEmu runs em.Serve on a fresh pty and connects a host to it, leaving
// the boot banner unread; stop (or the test's end) ends that Serve, so a
// test can boot the same Emulator again on a new port.
func serveEmu(t testing.TB, em *Emulator) *emuHost {
	t.Helper()
	link := filepath.Join(t.TempDir(), "esp")
	ctx, cancel := context.WithCancel(context.Background())
	p, err := port.Open(ctx, "pty:"+link, nil)
	if err != nil {
		cancel()
		t.Fatalf("port.Open: %v", err)
	}
	served := make(chan error, 1)
	go func() { served <- em.Serve(ctx, p) }()
	f, err := os.OpenFile(link, os.O_RDWR, 0)
	if err != nil {
		cancel()
		<-served
		p.Close()
		t.Fatalf("opening the pty link: %v", err)
	}
	h := &emuHost{HostApp: rig.NewHostApp(t, f), t: t, em: em, port: p}
	h.Keep = false
	var once sync.Once
	h.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-served; err != nil {
				t.Errorf("Serve: %v", err)
			}
			p.Close()
			h.Close()
		})
	}
	t.Cleanup(h.stop)
	return h
}

// runSession plays a session file (internal/session format) against a new
// emulator: ">" steps are sent, and each run of consecutive "<" steps is
// expected as exact bytes. Where the run holds a URC (+WS_*, +TIME_UPDATED,
// WIFI ...), whose place relative to a result the firmware does not fix,
// its chunks may arrive in any order. "@firmware" picks the firmware;
// "@echo off" is refused (the board boots with echo on). vars replaces text
// in every step, e.g. a golden's server address with a test server's.
func runSession(t *testing.T, path string, vars map[string]string, opts *Options) {
	t.Helper()
	s, err := session.ParseFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if s.Meta["echo"] == "off" {
		t.Fatalf("%s: sessions rig.Must start with echo on, as the board boots", path)
	}
	o := Options{}
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
			h.ExpectAnyOrder(run...)
		} else {
			h.Expect(all)
		}
		run = nil
	}
	for _, st := range steps {
		if st.Dir == formats.ToDevice {
			flush()
			h.Send(subst(st.Data))
		} else {
			run = append(run, subst(st.Data))
		}
	}
	flush()
	h.ExpectQuiet(50 * time.Millisecond)
}
