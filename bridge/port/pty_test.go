//go:build linux || darwin

package port

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/internal/rig"
)

// openPtyPair opens a pty: port in a temporary directory and a client on its
// link through Open, the code a real /dev/ttyUSB0 goes through.
func openPtyPair(t testing.TB, opts *Options) (host, client Port, link string) {
	t.Helper()
	link = filepath.Join(t.TempDir(), "esp")
	host, err := Open(context.Background(), "pty:"+link, opts)
	if err != nil {
		t.Fatalf("open pty: %v", err)
	}
	t.Cleanup(func() { host.Close() })
	client, err = Open(context.Background(), link, nil)
	if err != nil {
		t.Fatalf("open client: %v", err)
	}
	t.Cleanup(func() { client.Close() })
	return host, client, link
}

func TestPtyAllByteValuesBothWays(t *testing.T) {
	host, client, _ := openPtyPair(t, nil)
	want := rig.AllBytes()
	for _, dir := range []struct {
		name string
		w    io.Writer
		r    io.Reader
	}{{"host app to port", client, host}, {"port to host app", host, client}} {
		t.Run(dir.name, func(t *testing.T) {
			if _, err := dir.w.Write(want); err != nil {
				t.Fatal(err)
			}
			if got := rig.ReadN(t, dir.r, len(want)); !bytes.Equal(got, want) {
				t.Fatalf("bytes changed on the way:\n got %x\nwant %x", got, want)
			}
		})
	}
}

func TestPtyLargeTransfersBothWaysAtOnce(t *testing.T) {
	host, client, _ := openPtyPair(t, nil)
	const size = 1 << 20
	mk := func(seed byte) []byte {
		b := make([]byte, size)
		for i := range b {
			b[i] = byte(i*7) ^ seed
		}
		return b
	}
	up, down := mk(0x55), mk(0xaa)
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	for _, w := range []struct {
		p    Port
		data []byte
	}{{client, up}, {host, down}} {
		wg.Go(func() {
			if _, err := w.p.Write(w.data); err != nil {
				errs <- err
			}
		})
	}
	upBuf := make([]byte, size)
	wg.Go(func() {
		if _, err := io.ReadFull(host, upBuf); err != nil {
			errs <- err
		}
	})
	gotDown := rig.ReadN(t, client, size)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if !bytes.Equal(upBuf, up) {
		t.Error("host app to port: data differs")
	}
	if !bytes.Equal(gotDown, down) {
		t.Error("port to host app: data differs")
	}
}

func TestPtyLink(t *testing.T) {
	dir := t.TempDir()
	link := filepath.Join(dir, "esp")
	if err := os.Symlink("/dev/pts/nonexistent-stale", link); err != nil {
		t.Fatal(err)
	}
	p, err := Open(context.Background(), "pty:"+link, nil)
	if err != nil {
		t.Fatalf("stale link not replaced: %v", err)
	}
	target, err := os.Readlink(link)
	if err != nil || !strings.HasPrefix(target, "/dev/") || target == "/dev/pts/nonexistent-stale" {
		t.Fatalf("link points to %q (%v), want the pty's slave", target, err)
	}
	if _, err := os.Stat(link); err != nil {
		t.Fatalf("link does not resolve: %v", err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(link); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("link still there after Close: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Fatalf("left behind in the directory: %v", entries)
	}
}

func TestPtyClientReopens(t *testing.T) {
	host, client, link := openPtyPair(t, nil)
	for round := range 3 {
		msg := []byte("AT+GMR\r\n")
		msg = append(msg, byte('0'+round))
		if _, err := client.Write(msg); err != nil {
			t.Fatal(err)
		}
		if got := rig.ReadN(t, host, len(msg)); !bytes.Equal(got, msg) {
			t.Fatalf("round %d: port read %q, want %q", round, got, msg)
		}
		reply := []byte("OK\r\n")
		if _, err := host.Write(reply); err != nil {
			t.Fatalf("round %d: port write: %v", round, err)
		}
		if got := rig.ReadN(t, client, len(reply)); !bytes.Equal(got, reply) {
			t.Fatalf("round %d: host app read %q", round, got)
		}
		if err := client.Close(); err != nil {
			t.Fatal(err)
		}
		var err error
		if client, err = Open(context.Background(), link, nil); err != nil {
			t.Fatalf("round %d: reopen: %v", round, err)
		}
	}
	client.Close()
	// With no host app on the link, the port's Read waits rather than
	// failing; Close ends it.
	done := make(chan error, 1)
	go func() {
		_, err := host.Read(make([]byte, 1))
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("read with no host app returned %v, want it to wait", err)
	case <-time.After(200 * time.Millisecond):
	}
	host.Close()
	if err := <-done; !errors.Is(err, ErrClosed) {
		t.Fatalf("read after close: %v", err)
	}
}

// waitLineChange waits for the pty port to report want.

func waitLineChange(t *testing.T, ch <-chan capture.LineSettings, want capture.LineSettings) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	var last capture.LineSettings
	for {
		select {
		case l, ok := <-ch:
			if !ok {
				t.Fatal("LineChanges closed")
			}
			if l == want {
				return
			}
			last = l
		case <-deadline:
			t.Fatalf("LineChanges never reported %+v (%s); last %+v (%s)", want, want, last, last)
		}
	}
}

func TestPtyReportsHostLineChanges(t *testing.T) {
	host, client, _ := openPtyPair(t, nil)
	ln, ok := host.(LineNotifier)
	if !ok {
		t.Fatal("pty port is not a LineNotifier")
	}
	// Linux ptys force CS8 and clear PARENB (see framingFromTermios):
	// data bits read as 8 there, parity comes from INPCK/PARODD.
	dataBits := func(b uint8) uint8 {
		if runtime.GOOS == "linux" {
			return 8
		}
		return b
	}
	tests := []capture.LineSettings{
		{Baud: 9600, DataBits: 7, Parity: capture.ParityEven, StopBits: capture.Stop2, Flow: capture.FlowRTSCTS},
		{Baud: 57600, DataBits: 8, Parity: capture.ParityOdd, StopBits: capture.Stop1},
		{Baud: 250000, DataBits: 8, Parity: capture.ParityNone, StopBits: capture.Stop1, Flow: capture.FlowXONXOFF},
		{Baud: 115200, DataBits: 8, Parity: capture.ParityNone, StopBits: capture.Stop1},
	}
	for _, l := range tests {
		t.Run(l.String(), func(t *testing.T) {
			if err := client.SetLine(l); err != nil {
				t.Fatalf("client SetLine: %v", err)
			}
			want := l
			want.DataBits = dataBits(l.DataBits)
			waitLineChange(t, ln.LineChanges(), want)
			if got := host.Line(); got != want {
				t.Errorf("Line() = %s, want %s", got, want)
			}
		})
	}
}

func TestPtySetLineIsReadBackByHostApp(t *testing.T) {
	host, _, link := openPtyPair(t, nil)
	for _, baud := range []int{9600, 921600, 250000} {
		l := capture.LineSettings{Baud: baud, DataBits: 8, Parity: capture.ParityNone, StopBits: capture.Stop2, Flow: capture.FlowRTSCTS}
		if err := host.SetLine(l); err != nil {
			t.Fatal(err)
		}
		got := termiosOfLink(t, link)
		if got != l {
			t.Errorf("host app reads %s, want %s", got, l)
		}
		if host.Line() != l {
			t.Errorf("Line() = %s, want %s", host.Line(), l)
		}
	}
	// Our own SetLine is not reported as a host app change.
	select {
	case l := <-host.(LineNotifier).LineChanges():
		t.Errorf("own SetLine reported as a change: %s", l)
	case <-time.After(3 * DefaultLinePoll):
	}
}

// termiosOfLink reads the termios of the link as a host app would, with no

// changes (O_NONBLOCK so a missing carrier never blocks).

func termiosOfLink(t *testing.T, link string) capture.LineSettings {
	t.Helper()
	f, err := os.OpenFile(link, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var l capture.LineSettings
	if err := withFd(f, func(fd int) (err error) {
		l, err = getLine(fd, true)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return l
}

// Closing the pty: port is, for the host app, the adapter unplugged: its

// blocked Read fails with ErrLost, and so do later Writes.

// Through a real pty: the host app sees the paced bytes exactly.

func TestPacedWriterThroughPty(t *testing.T) {
	if testing.Short() {
		t.Skip("takes 0.5 s")
	}
	host, client, _ := openPtyPair(t, nil)
	line := capture.LineSettings{Baud: 19200, DataBits: 8, Parity: capture.ParityNone, StopBits: capture.Stop1}
	pw := NewPacedWriter(host, func() capture.LineSettings { return line })
	data := rig.AllBytes()
	data = append(append(data, data...), data...)
	data = append(data, data[:192]...) // 960 bytes: 0.5 s at 19200
	start := time.Now()
	errc := make(chan error, 1)
	go func() {
		_, err := pw.Write(data)
		errc <- err
	}()
	got := rig.ReadN(t, client, len(data))
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < 495*time.Millisecond {
		t.Errorf("took %v, want at least 0.5 s", took)
	}
	if !bytes.Equal(got, data) {
		t.Error("data changed on the way")
	}
}

// Before any host app sets it, the slave is raw: a program that just opens

// the link (cat, a script without termios calls) sees bytes exactly.

func TestPtySlaveStartsRaw(t *testing.T) {
	link := filepath.Join(t.TempDir(), "esp")
	host, err := Open(context.Background(), "pty:"+link, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer host.Close()
	if want := (capture.LineSettings{Baud: 115200, DataBits: 8, Parity: capture.ParityNone, StopBits: capture.Stop1}); host.Line() != want {
		t.Errorf("Line() = %s, want the default %s", host.Line(), want)
	}
	f, err := os.OpenFile(link, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	err = withFd(f, func(fd int) error {
		tio, err := getTermios(fd)
		if err != nil {
			return err
		}
		if tio.Lflag&(unix.ECHO|unix.ICANON|unix.ISIG|unix.IEXTEN) != 0 {
			t.Errorf("lflag %#x: echo, canonical mode or signals on", tio.Lflag)
		}
		if tio.Iflag&(unix.ICRNL|unix.INLCR|unix.IGNCR|unix.IXON|unix.ISTRIP) != 0 {
			t.Errorf("iflag %#x: input translation on", tio.Iflag)
		}
		if tio.Oflag&unix.OPOST != 0 {
			t.Errorf("oflag %#x: output processing on", tio.Oflag)
		}
		if speedOf(tio) != 115200 {
			t.Errorf("speed %d, want 115200", speedOf(tio))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Nothing written by the host app comes back (no echo).
	if _, err := f.Write([]byte("AT\r\n")); err != nil {
		t.Fatal(err)
	}
	if got := rig.ReadN(t, host, 4); string(got) != "AT\r\n" {
		t.Fatalf("port read %q", got)
	}
	if err := f.SetReadDeadline(time.Now().Add(100 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if n, _ := f.Read(make([]byte, 16)); n != 0 {
		t.Errorf("host app got %d bytes back: echo is on", n)
	}
}

// Unplug and replug, played with ptys: the device side goes away, the

// serial port reports ErrLost, Reopen waits (the path is gone:

// ENOENT) and succeeds once the device is back.

// Close also ends a Write that the other side holds back by not reading:

// the reason real serial ports do not use go.bug.st/serial's blocking

// Write on Linux and macOS.
