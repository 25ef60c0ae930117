//go:build linux || darwin

package port

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/internal/rig"
)

// awaitLine waits for the pty's host app (ser2net here) to put want into
// its termios.
func awaitLine(t *testing.T, p Port, want capture.LineSettings) {
	t.Helper()
	ch := p.(LineNotifier).LineChanges()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case l := <-ch:
			if l == want {
				return
			}
		case <-deadline:
			t.Fatalf("line settings %v never reached the device side (now %v)", want, p.Line())
		}
	}
}

// Debian's ser2net in RFC 2217 mode in front of a pty: the settings we
// open with and change to reach the pty's termios through the server (as
// ser2net applies them to a real UART), and every byte value crosses
// both ways unchanged, IAC included. Killing the server is ErrLost.
func TestRFC2217ThroughSer2net(t *testing.T) {
	dev := filepath.Join(t.TempDir(), "esp")
	devPort, err := Open(context.Background(), "pty:"+dev, nil)
	rig.Must(t, err)
	t.Cleanup(func() { devPort.Close() })
	addr, kill := rig.Ser2net(t, dev)

	open := capture.LineSettings{Baud: 9600, DataBits: 8, Parity: capture.ParityNone, StopBits: capture.Stop1}
	p, err := Open(context.Background(), "rfc2217://"+addr, &Options{Line: open})
	rig.Must(t, err)
	t.Cleanup(func() { p.Close() })
	awaitLine(t, devPort, open)

	all := rig.AllBytes()
	for i := 0; i < 3; i++ {
		rig.Must(t, writeAll(p, all))
		if got := rig.ReadN(t, devPort, len(all)); !bytes.Equal(got, all) {
			t.Fatalf("client to device: got %d bytes, not the 256 values in order:\n% x", len(got), got)
		}
		rig.Must(t, writeAll(devPort, all))
		if got := rig.ReadN(t, p, len(all)); !bytes.Equal(got, all) {
			t.Fatalf("device to client: got %d bytes, not the 256 values in order:\n% x", len(got), got)
		}
	}

	// A change (AT+UART_CUR followed by the proxy) in RFC 2217 terms. A
	// Linux pty keeps no data size or parity enable (the kernel's
	// pty_set_termios forces CS8 and clears PARENB), so the pty shows the
	// speed, the odd-parity bit, stop bits and flow control; the server's
	// answers, what it would put into a UART, must carry all of it.
	next := capture.LineSettings{Baud: 921600, DataBits: 8, Parity: capture.ParityOdd, StopBits: capture.Stop2, Flow: capture.FlowRTSCTS}
	rig.Must(t, p.SetLine(next))
	awaitLine(t, devPort, next)
	if got := p.Line(); got != next {
		t.Errorf("Line() = %v after SetLine(%v)", got, next)
	}
	seven := capture.LineSettings{Baud: 115200, DataBits: 7, Parity: capture.ParityEven, StopBits: capture.Stop1}
	rig.Must(t, p.SetLine(seven))
	rig.Must(t, writeAll(devPort, []byte("x"))) // something for Read to return after the answers
	rig.ReadN(t, p, 1)
	c := p.(*rfc2217Client)
	c.smu.Lock()
	acked := c.acked
	c.smu.Unlock()
	if seven.Flow = 0; acked != seven {
		t.Errorf("ser2net answered %v to SetLine(%v)", acked, seven)
	}

	kill()
	buf := make([]byte, 64)
	done := make(chan error, 1)
	go func() {
		for {
			if _, err := p.Read(buf); err != nil {
				done <- err
				return
			}
		}
	}()
	select {
	case err := <-done:
		if !errors.Is(err, ErrLost) || !strings.Contains(err.Error(), "rfc2217://"+addr) {
			t.Errorf("read after the server died: %v, want ErrLost naming the port", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("read still blocked 10 s after the server died")
	}
}

func writeAll(w io.Writer, b []byte) error {
	_, err := w.Write(b)
	return err
}

// A server that does not speak RFC 2217 (a raw TCP serial server) gets a
// one-line error that says what to use instead, within the negotiation
// time, and no retrying forever.
func TestRFC2217RawServer(t *testing.T) {
	srv := rig.StartConnServer(t, "tcp", func(c net.Conn) { io.Copy(io.Discard, c) }).Addr().String()
	start := time.Now()
	_, err := Open(context.Background(), "rfc2217://"+srv, nil)
	if err == nil || !strings.Contains(err.Error(), "tcp:HOST:PORT") {
		t.Fatalf("open against a raw server: %v, want an error pointing at tcp:HOST:PORT", err)
	}
	if d := time.Since(start); d > rfc2217Negotiate+2*time.Second {
		t.Errorf("took %v to give up", d)
	}
}

// pyserial's RFC 2217 client (Debian's python3-serial), unchanged, as a
// remote host app through rfc2217-listen: its settings arrive as line
// changes, its DTR and RTS read back as our DSR and CTS, its BREAK is
// counted, and every byte value crosses both ways.
func TestRFC2217ListenPyserial(t *testing.T) {
	py := rig.PySerial(t)
	p, err := Open(context.Background(), "rfc2217-listen:127.0.0.1:0", nil)
	rig.Must(t, err)
	t.Cleanup(func() { p.Close() })
	addr := p.(*rfc2217Listen).Addr().String()

	script := `
import sys, serial, time
s = serial.serial_for_url("rfc2217://" + sys.argv[1], baudrate=57600, parity=serial.PARITY_EVEN, stopbits=serial.STOPBITS_TWO, timeout=10)
s.dtr = False
s.rts = True
s.write(bytes(range(256)))
s.flush()
got = s.read(256)
sys.stdout.write("echo-ok\n" if got == bytes(range(256)) else "echo-bad %d %s\n" % (len(got), got.hex()))
s.send_break(0.05)
s.write(b"AT\r\n")
s.flush()
got = s.read(6)
sys.stdout.write("reply %r\n" % got)
s.close()
`
	cmd := exec.Command(py, "-c", script, addr)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, rig.LogWriter{T: t}
	rig.Must(t, cmd.Start())
	t.Cleanup(func() { cmd.Process.Kill() })

	want := capture.LineSettings{Baud: 57600, DataBits: 8, Parity: capture.ParityEven, StopBits: capture.Stop2}
	ch := p.(LineNotifier).LineChanges()
	got := rig.ReadN(t, p, 256) // pyserial has configured the port before it writes
	if !bytes.Equal(got, rig.AllBytes()) {
		t.Fatalf("from pyserial: % x", got)
	}
	var last capture.LineSettings
	for len(ch) > 0 {
		last = <-ch
	}
	if last != want || p.Line() != want {
		t.Errorf("line settings from pyserial: last change %v, Line() %v, want %v", last, p.Line(), want)
	}
	c, err := p.(Controller).Control()
	rig.Must(t, err)
	if c != capture.LineCTS {
		t.Errorf("control lines with pyserial's DTR off, RTS on: %v, want CTS only (its RTS across a null modem)", c)
	}
	rig.Must(t, writeAll(p, rig.AllBytes()))
	if got := rig.ReadN(t, p, 4); string(got) != "AT\r\n" {
		t.Fatalf("from pyserial after the BREAK: %q", got)
	}
	counts, err := p.(LineCounter).LineCounts()
	rig.Must(t, err)
	if counts.Break != 1 {
		t.Errorf("BREAKs counted: %d, want 1", counts.Break)
	}
	rig.Must(t, writeAll(p, []byte("\r\nOK\r\n")))
	if err := cmd.Wait(); err != nil {
		t.Fatalf("pyserial: %v\n%s", err, out.String())
	}
	if want := "echo-ok\nreply b'\\r\\nOK\\r\\n'\n"; out.String() != want {
		t.Errorf("pyserial printed %q, want %q", out.String(), want)
	}
}
