//go:build linux || darwin

package bridge

import (
	"bytes"
	"context"
	"encoding/hex"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/atbridge/atbridge/bridge/port"
	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/formats"
	"github.com/atbridge/atbridge/internal/rig"
)

// A bench at a distance, both ways: pyserial (Debian's python3-serial,
// unchanged) is the remote host app on --host rfc2217-listen:ADDR; the
// ESP32 (the emulator on a pty) sits behind Debian's ser2net in RFC 2217
// mode, reached as rfc2217://HOST:PORT. pyserial's 57600 baud is followed
// through the proxy to ser2net and onto the device's pty, and the capture
// holds exactly the bytes each side sent.
func TestProxyRFC2217BothWays(t *testing.T) {
	py := rig.PySerial(t)
	dir := t.TempDir()
	devLink := filepath.Join(dir, "dev")
	devPort, err := port.Open(context.Background(), "pty:"+devLink, nil)
	rig.Must(t, err)
	t.Cleanup(func() { devPort.Close() })
	server, _ := rig.Ser2net(t, devLink)
	listen := rig.FreeTCPAddr(t)

	path := filepath.Join(dir, "remote.atcap")
	hostSpec, devSpec := "rfc2217-listen:"+listen, "rfc2217://"+server
	w, err := capture.Create(path, capture.Header{Tool: "test", Ports: []capture.PortInfo{{Name: hostSpec, Role: "host"}, {Name: devSpec, Role: "device"}}}, nil)
	rig.Must(t, err)
	px, err := OpenProxy(context.Background(), &ProxyOptions{Host: hostSpec, Device: devSpec, Recorder: w, Log: rig.Logger(t)})
	rig.Must(t, err)
	emu := serveRigEmu(t, devPort, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- px.Run(ctx) }()

	script := `
import sys, serial
s = serial.serial_for_url("rfc2217://" + sys.argv[1], baudrate=57600, timeout=10)
got = b""
for cmd in (b"AT\r\n", b"AT+GMR\r\n", b"ATE0\r\n", b"AT+CIPSTATUS\r\n"):
    s.write(cmd)
    s.flush()
    buf = b""
    while not (buf.endswith(b"OK\r\n") or buf.endswith(b"ERROR\r\n")):
        c = s.read(1)
        if not c:
            sys.exit("no answer to %r, got %r" % (cmd, buf))
        buf += c
    got += buf
print(got.hex())
s.close()
`
	cmd := exec.Command(py, "-c", script, listen)
	cmd.Stderr = rig.LogWriter{T: t}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("pyserial through the proxy: %v", err)
	}
	got, err := hex.DecodeString(strings.TrimSpace(string(out)))
	rig.Must(t, err)
	waitFor(t, func() bool { return devPort.Line().Baud == 57600 })

	cancel()
	rig.Must(t, <-done)
	emu.stop()
	rig.Must(t, w.Close())
	recs := readCapture(t, path)
	if want := "AT\r\nAT+GMR\r\nATE0\r\nAT+CIPSTATUS\r\n"; string(chunkBytes(recs, formats.ToDevice)) != want {
		t.Errorf("to_device %q, want %q", chunkBytes(recs, formats.ToDevice), want)
	}
	// The device's ready banner may come before pyserial connects; what
	// pyserial read is the end of what the capture holds.
	toHost := chunkBytes(recs, formats.ToHost)
	if !bytes.HasSuffix(toHost, got) || !bytes.Contains(got, []byte("AT version:")) {
		t.Errorf("pyserial read %q; the capture's to_host ends %q", got, toHost[max(0, len(toHost)-len(got)):])
	}
	var followed bool
	for _, r := range recs {
		if r.Kind == capture.KindEvent && r.Event.Type == capture.EvLineSettings && r.Event.Line.Baud == 57600 && r.Port == 0 {
			followed = true
		}
	}
	if !followed {
		t.Error("no line settings event for pyserial's 57600 on the host port")
	}
}

// The RFC 2217 server going away is an unplug: the proxy says so, keeps
// the host app's port, reconnects when the server is back and records the
// gap, and the session goes on.
func TestProxyRFC2217ServerRestart(t *testing.T) {
	dir := t.TempDir()
	devLink := filepath.Join(dir, "dev")
	devPort, err := port.Open(context.Background(), "pty:"+devLink, nil)
	rig.Must(t, err)
	t.Cleanup(func() { devPort.Close() })
	server, kill := rig.Ser2net(t, devLink)

	path := filepath.Join(dir, "restart.atcap")
	reopened := make(chan struct{}, 1)
	w, err := capture.Create(path, capture.Header{Tool: "test"}, nil)
	rig.Must(t, err)
	px, err := OpenProxy(context.Background(), &ProxyOptions{Host: "pty:" + filepath.Join(dir, "host"), Device: "rfc2217://" + server,
		Recorder: w, RetryInterval: 50 * time.Millisecond, Log: rig.Logger(t),
		Observe: func(r *capture.Record) {
			if r.Kind == capture.KindEvent && r.Event.Type == capture.EvPortReopened {
				reopened <- struct{}{}
			}
		}})
	rig.Must(t, err)
	emu := serveRigEmu(t, devPort, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- px.Run(ctx) }()
	f, err := os.OpenFile(filepath.Join(dir, "host"), os.O_RDWR, 0)
	rig.Must(t, err)
	host := rig.NewHostApp(t, f)
	defer host.Close()

	host.Expect("\r\nready\r\n")
	host.Cmd("AT", "\r\nOK\r\n")
	kill()
	time.Sleep(200 * time.Millisecond) // a few failed reconnects
	rig.Ser2netAt(t, devLink, server)
	select { // bytes sent before that are dropped, as into an unplugged adapter
	case <-reopened:
		// The event is queued just before the new connection is put in
		// place; bytes in between are recorded as not delivered.
		time.Sleep(100 * time.Millisecond)
	case <-time.After(rig.Timeout):
		t.Fatal("the proxy did not reconnect to the restarted server")
	}
	host.Cmd("AT", "\r\nOK\r\n")
	cancel()
	rig.Must(t, <-done)
	emu.stop()
	rig.Must(t, w.Close())
	recs := readCapture(t, path)
	if countEvents(recs, capture.EvPortLost) != 1 || countEvents(recs, capture.EvPortReopened) != 1 {
		t.Errorf("lost %d, reopened %d; want 1 each", countEvents(recs, capture.EvPortLost), countEvents(recs, capture.EvPortReopened))
	}
	if got := string(chunkBytes(recs, formats.ToDevice)); got != "AT\r\nAT\r\n" {
		t.Errorf("to_device %q", got)
	}
}

// The server's MODEMSTATE and LINESTATE notifications (RFC 2217 §3,
// NOTIFY-MODEMSTATE and NOTIFY-LINESTATE, written here byte for byte from
// the RFC, as ser2net sends them for a real UART; a pty has no modem lines
// or line errors to make ser2net send any) become the capture's
// control_lines, break and line_errors events on the device port.
func TestProxyRFC2217Notifications(t *testing.T) {
	srv := rig.StartConnServer(t, "tcp", func(c net.Conn) {
		buf := make([]byte, 512)
		n, _ := c.Read(buf) // the client's WILL COM-PORT-OPTION
		if !bytes.Contains(buf[:n], []byte{255, 251, 44}) {
			t.Errorf("client's first bytes % x: no IAC WILL COM-PORT-OPTION", buf[:n])
			return
		}
		c.Write([]byte{255, 253, 44}) // IAC DO COM-PORT-OPTION
		time.Sleep(100 * time.Millisecond)
		c.Write([]byte{255, 250, 44, 107, 0x30, 255, 240}) // MODEMSTATE: CTS, DSR
		time.Sleep(100 * time.Millisecond)
		c.Write([]byte{255, 250, 44, 106, 0x18, 255, 240}) // LINESTATE: break, framing error
		c.Write([]byte("\r\nready\r\n"))
		io.Copy(io.Discard, c)
	})
	dir := t.TempDir()
	path := filepath.Join(dir, "notify.atcap")
	w, err := capture.Create(path, capture.Header{Tool: "test"}, nil)
	rig.Must(t, err)
	var seen atomic.Int32
	px, err := OpenProxy(context.Background(), &ProxyOptions{Host: "pty:" + filepath.Join(dir, "host"), Device: "rfc2217://" + srv.Addr().String(),
		Recorder: w, ControlPoll: 10 * time.Millisecond, Log: rig.Logger(t),
		Observe: func(r *capture.Record) {
			if r.Kind == capture.KindEvent && r.Event.Type == capture.EvLineErrors {
				seen.Add(1)
			}
		}})
	rig.Must(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- px.Run(ctx) }()
	waitFor(t, func() bool { return seen.Load() > 0 })
	cancel()
	rig.Must(t, <-done)
	rig.Must(t, w.Close())
	var lines []capture.ControlLines
	var breaks, framing int64
	for _, r := range readCapture(t, path) {
		if r.Kind != capture.KindEvent || r.Port != 1 {
			continue
		}
		switch r.Event.Type {
		case capture.EvControlLines:
			lines = append(lines, r.Event.Control)
		case capture.EvBreak:
			breaks += r.Event.Count
		case capture.EvLineErrors:
			if r.Event.Text == "framing" {
				framing += r.Event.Count
			}
		}
	}
	if len(lines) == 0 || lines[len(lines)-1] != capture.LineCTS|capture.LineDSR {
		t.Errorf("device control lines recorded: %v, want the last to be CTS DSR", lines)
	}
	if breaks != 1 || framing != 1 {
		t.Errorf("BREAKs %d, framing errors %d; want 1 each", breaks, framing)
	}
}

// A remote host app's BREAK and purge (pyserial's send_break and
// reset_input_buffer through rfc2217-listen) reach an RFC 2217 device as
// SET-CONTROL BREAK ON / BREAK OFF and PURGE-DATA, and are recorded.
func TestProxyRFC2217BreakAndPurge(t *testing.T) {
	py := rig.PySerial(t)
	got := make(chan []byte, 64)
	srv := rig.StartConnServer(t, "tcp", func(c net.Conn) {
		c.Write([]byte{255, 253, 44}) // IAC DO COM-PORT-OPTION
		buf := make([]byte, 512)
		for {
			n, err := c.Read(buf)
			if n > 0 {
				got <- append([]byte(nil), buf[:n]...)
			}
			if err != nil {
				return
			}
		}
	})
	dir := t.TempDir()
	w, err := capture.Create(filepath.Join(dir, "b.atcap"), capture.Header{Tool: "test"}, nil)
	rig.Must(t, err)
	listen := rig.FreeTCPAddr(t)
	var notes atomic.Int32
	px, err := OpenProxy(context.Background(), &ProxyOptions{Host: "rfc2217-listen:" + listen, Device: "rfc2217://" + srv.Addr().String(),
		Recorder: w, Log: rig.Logger(t),
		Observe: func(r *capture.Record) {
			if r.Kind == capture.KindEvent && r.Event.Type == capture.EvNote && strings.HasSuffix(r.Event.Text, "sent to the device") {
				notes.Add(1)
			}
		}})
	rig.Must(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- px.Run(ctx) }()
	script := `
import sys, serial
s = serial.serial_for_url("rfc2217://" + sys.argv[1], baudrate=115200, timeout=5)
s.send_break(0.05)
s.reset_input_buffer()
s.close()
`
	cmd := exec.Command(py, "-c", script, listen)
	cmd.Stdout, cmd.Stderr = rig.LogWriter{T: t}, rig.LogWriter{T: t}
	rig.Must(t, cmd.Run())
	var all []byte
	want := [][]byte{{255, 250, 44, 5, 5, 255, 240}, {255, 250, 44, 5, 6, 255, 240}, {255, 250, 44, 12, 1, 255, 240}}
	deadline := time.After(rig.Timeout)
	for !(bytes.Contains(all, want[0]) && bytes.Contains(all, want[1]) && bytes.Contains(all, want[2])) {
		select {
		case b := <-got:
			all = append(all, b...)
		case <-deadline:
			t.Fatalf("the device's server got % x; want BREAK ON, BREAK OFF and PURGE-DATA 1", all)
		}
	}
	if i, j := bytes.Index(all, want[0]), bytes.Index(all, want[1]); i > j {
		t.Errorf("BREAK OFF before BREAK ON: % x", all)
	}
	waitFor(t, func() bool { return notes.Load() >= 2 }) // pyserial may purge at open too
	cancel()
	rig.Must(t, <-done)
	rig.Must(t, w.Close())
}
