//go:build linux || darwin

package bridge

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/atbridge/atbridge/bridge/port"
	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/formats"
	"github.com/atbridge/atbridge/internal/rig"
)

// TestProxyFastPathHandsOver checks that two pty ports are forwarded by the
// single polling loop, and that after the device is lost the two pumps take
// over, with the reopened device forwarded again.
func TestProxyFastPathHandsOver(t *testing.T) {
	r := startProxyRig(t, &rigOptions{proxy: ProxyOptions{RetryInterval: 20 * time.Millisecond}})
	r.host.Expect("\r\nready\r\n")
	r.host.Cmd("AT", "\r\nOK\r\n")
	if !r.px.inLoop.Load() {
		t.Fatal("two pty ports are not forwarded by the polling loop")
	}
	r.emu.stop()
	r.waitEvent(capture.EvPortLost, capture.PortDevice, 1)
	for deadline := time.Now().Add(rig.Timeout); r.px.inLoop.Load(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the polling loop did not stop after the device was lost")
		}
	}
	p, err := port.Open(context.Background(), "pty:"+r.devLink, nil)
	rig.Must(t, err)
	r.waitEvent(capture.EvPortReopened, capture.PortDevice, 1)
	r.emu = serveRigEmu(t, p, nil)
	r.host.Expect("\r\nready\r\n")
	r.host.Cmd("AT", "\r\nOK\r\n")
	r.stop()
	if got := chunkBytes(r.records(), formats.ToDevice); !bytes.Equal(got, []byte("AT\r\nAT\r\n")) {
		t.Errorf("capture to_device %q", got)
	}
}

// TestReadMoreTakesWhatIsThere checks the bulk read: it takes only what
// has arrived, never waits, and loses nothing.
func TestReadMoreTakesWhatIsThere(t *testing.T) {
	link := t.TempDir() + "/p"
	pt, err := port.Open(context.Background(), "pty:"+link, nil)
	rig.Must(t, err)
	defer pt.Close()
	cl, err := port.Open(context.Background(), link, nil)
	rig.Must(t, err)
	defer cl.Close()
	fp := pt.(port.Descriptor)
	buf := make([]byte, 64<<10)
	take := func() int {
		var n int
		start := time.Now()
		rig.Must(t, fp.HoldFD(func(fd, _ int) { n = readMore(fd, buf, nil) }))
		if d := time.Since(start); d > time.Second {
			t.Fatalf("readMore waited %v", d)
		}
		for _, c := range buf[:n] {
			if c != 'x' {
				t.Fatalf("readMore read %q", c)
			}
		}
		return n
	}
	if n := take(); n != 0 {
		t.Fatalf("readMore took %d bytes from an empty pty", n)
	}
	const total = 100000
	wrote := make(chan error, 1)
	go func() {
		_, err := cl.Write(bytes.Repeat([]byte{'x'}, total))
		wrote <- err
	}()
	got := 0
	for deadline := time.Now().Add(rig.Timeout); got < total; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("took %d of %d bytes", got, total)
		}
		got += take()
	}
	rig.Must(t, <-wrote)
	if got != total {
		t.Errorf("took %d bytes, want %d", got, total)
	}
}
