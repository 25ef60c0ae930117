package bridge

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/atbridge/atbridge/bridge/esp"

	"github.com/atbridge/atbridge/bridge/port"
	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/formats"
	"github.com/atbridge/atbridge/internal/rig"
)

// TestProxyEndToEnd plays the seed scenario through host app <-> pty <->
// proxy <-> pty <-> emulator, against both echo servers, and checks that
// what the host sent, what the emulator received, and what the capture
// holds are the same bytes, and the same for the other direction.
func TestProxyEndToEnd(t *testing.T) {
	for name, start := range rig.WSEchoServers {
		t.Run(name, func(t *testing.T) {
			uri := start(t)
			r := startProxyRig(t, nil)
			r.host.Expect("\r\nready\r\n")
			r.host.Play(t, "testdata/proxy/seed.txt", map[string]string{"URI": uri})
			// All of it must be recorded before the proxy stops: the host
			// saw the last reply, so the proxy read it.
			r.stop()
			recs := r.records()

			sent := r.host.Sent()
			hostGot := r.host.Received()
			checkSame(t, "host sent / emulator received", sent, r.emu.serial(formats.ToDevice))
			checkSame(t, "host sent / capture to_device", sent, chunkBytes(recs, formats.ToDevice))
			checkSame(t, "emulator sent / host received", r.emu.serial(formats.ToHost), hostGot)
			checkSame(t, "host received / capture to_host", hostGot, chunkBytes(recs, formats.ToHost))
			for _, rec := range recs {
				if rec.Kind == capture.KindChunk && rec.Port != map[formats.Dir]uint8{formats.ToDevice: capture.PortHost, formats.ToHost: capture.PortDevice}[rec.Dir] {
					t.Fatalf("chunk %v on port %d", rec.Dir, rec.Port)
				}
			}
			if n := countEvents(recs, capture.EvPortOpened); n != 2 {
				t.Errorf("%d port_opened events, want 2", n)
			}
			if n := countEvents(recs, capture.EvBytesLost); n != 0 {
				t.Errorf("%d bytes_lost events, want 0", n)
			}
		})
	}
}

func checkSame(t *testing.T, what string, a, b []byte) {
	t.Helper()
	if !bytes.Equal(a, b) {
		t.Errorf("%s differ:\n  %q\n  %q", what, a, b)
	}
}

func countEvents(recs []capture.Record, typ capture.EventType) int {
	n := 0
	for _, r := range recs {
		if r.Kind == capture.KindEvent && r.Event.Type == typ {
			n++
		}
	}
	return n
}

// TestProxyDeviceUnplug closes the device's pty (as pulling the USB
// adapter does) and makes it again at the same path: the host side stays
// open, the loss and the reopen are recorded, and traffic carries on.
func TestProxyDeviceUnplug(t *testing.T) {
	r := startProxyRig(t, &rigOptions{proxy: ProxyOptions{RetryInterval: 20 * time.Millisecond}})
	r.host.Expect("\r\nready\r\n")
	r.host.Cmd("AT", "\r\nOK\r\n")

	r.emu.stop()
	lost := r.waitEvent(capture.EvPortLost, capture.PortDevice, 1)
	t.Logf("lost: %s", lost.Event.Text)
	// Bytes the host sends into the void are recorded, not forwarded.
	r.host.Send("AT\r\n")
	for deadline := time.Now().Add(rig.Timeout); r.px.Stats().ToDevice < 8; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the proxy did not read the host's second AT")
		}
	}

	p, err := port.Open(context.Background(), "pty:"+r.devLink, nil)
	rig.Must(t, err)
	r.waitEvent(capture.EvPortReopened, capture.PortDevice, 1)
	first := r.emu
	r.emu = serveRigEmu(t, p, nil)
	r.host.Expect("\r\nready\r\n")
	r.host.Cmd("AT+GMR", "")
	r.host.WaitLen(1, 200*time.Millisecond)
	r.stop()
	recs := r.records()
	if n := countEvents(recs, capture.EvPortLost); n != 1 {
		t.Errorf("%d port_lost events, want 1", n)
	}
	if n := countEvents(recs, capture.EvPortReopened); n != 1 {
		t.Errorf("%d port_reopened events, want 1", n)
	}
	wantToDev := "AT\r\nAT\r\nAT+GMR\r\n"
	checkSame(t, "capture to_device", []byte(wantToDev), chunkBytes(recs, formats.ToDevice))
	checkSame(t, "emulators received", []byte("AT\r\nAT+GMR\r\n"), append(first.serial(formats.ToDevice), r.emu.serial(formats.ToDevice)...))
	// The order: lost before reopened, and the unforwarded AT between.
	var order []string
	for _, rec := range recs {
		switch {
		case rec.Kind == capture.KindEvent && (rec.Event.Type == capture.EvPortLost || rec.Event.Type == capture.EvPortReopened):
			order = append(order, rec.Event.Type.String())
		case rec.Kind == capture.KindChunk && rec.Dir == formats.ToDevice:
			order = append(order, string(rec.Data))
		}
	}
	if got := fmt.Sprint(order); got != "[AT\r\n port_lost AT\r\n port_reopened AT+GMR\r\n]" {
		t.Errorf("order %q", got)
	}
}

// TestProxyFollowsUARTCur switches both ports after the device's OK to
// AT+UART_CUR, and the device port after the host app's termios change.
func TestProxyFollowsUARTCur(t *testing.T) {
	r := startProxyRig(t, &rigOptions{proxy: ProxyOptions{LinePoll: 10 * time.Millisecond}})
	r.host.Expect("\r\nready\r\n")
	r.host.Cmd("AT+UART_CUR=921600,8,1,0,3", "\r\nOK\r\n")
	want := capture.LineSettings{Baud: 921600, DataBits: 8, Parity: capture.ParityNone, StopBits: capture.Stop1, Flow: capture.FlowRTSCTS}
	for _, port := range []uint8{capture.PortHost, capture.PortDevice} {
		ev := r.waitEvent(capture.EvLineSettings, port, 1)
		if ev.Event.Line != want || ev.Event.Text != "AT+UART_CUR" {
			t.Errorf("port %d: %v by %q, want %v by AT+UART_CUR", port, ev.Event.Line, ev.Event.Text, want)
		}
	}
	if got := r.px.dev.current().Line(); got != want {
		t.Errorf("device port now %v, want %v", got, want)
	}
	if got := r.px.host.current().Line(); got != want {
		t.Errorf("host port now %v, want %v", got, want)
	}
	// A refused command switches nothing.
	r.host.Cmd("AT+UART_CUR=115200,9,1,0,0", "\r\nERROR\r\n")

	// The host app changes its termios (as a program calling tcsetattr).
	client, err := port.Open(context.Background(), filepath.Join(r.dir, "host"), &port.Options{Line: capture.LineSettings{Baud: 921600, Flow: capture.FlowRTSCTS}})
	rig.Must(t, err)
	defer client.Close()
	l57 := capture.LineSettings{Baud: 57600, DataBits: 8, Parity: capture.ParityEven, StopBits: capture.Stop1}
	rig.Must(t, client.SetLine(l57))
	ev := r.waitEvent(capture.EvLineSettings, capture.PortDevice, 2)
	if ev.Event.Line.Baud != 57600 || ev.Event.Line.Parity != capture.ParityEven || ev.Event.Text != "termios (host app)" {
		t.Errorf("device switched to %v by %q, want 57600 8E1 by the host's termios", ev.Event.Line, ev.Event.Text)
	}
	if got := r.px.dev.current().Line(); got.Baud != 57600 || got.Parity != capture.ParityEven {
		t.Errorf("device port now %v", got)
	}
	r.waitEvent(capture.EvLineSettings, capture.PortHost, 2)
}

// TestUARTWatch checks the matcher on its own, cut at every byte.
func TestUARTWatch(t *testing.T) {
	tests := []struct {
		name     string
		toDev    string
		toHost   string
		want     string
		switched bool
	}{
		{"cur", "AT+UART_CUR=921600,8,1,0,3\r\n", "AT+UART_CUR=921600,8,1,0,3\r\n\r\nOK\r\n", "921600 8N1 rtscts", true},
		{"def odd 2 stop", "AT+UART_DEF=9600,7,3,1,0\r\n", "\r\nOK\r\n", "9600 7O2", true},
		{"1.5 stop even", "AT+UART_CUR=230400,8,2,2,0\r\n", "\r\nOK\r\n", "230400 8E1.5", true},
		{"error", "AT+UART_CUR=921600,8,1,0,3\r\n", "\r\nERROR\r\n", "", false},
		{"out of range", "AT+UART_CUR=921600,9,1,0,3\r\n", "\r\nOK\r\n", "", false},
		{"other command", "AT+GMR\r\n", "\r\nOK\r\n", "", false},
		{"query", "AT+UART_CUR?\r\n", "+UART_CUR:115200,8,1,0,0\r\n\r\nOK\r\n", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for cut := 1; cut <= len(tc.toHost); cut++ {
				var u uartWatch
				u.feed(formats.ToDevice, []byte(tc.toDev))
				var got capture.LineSettings
				switched := false
				for _, part := range [][]byte{[]byte(tc.toHost[:cut]), []byte(tc.toHost[cut:])} {
					if l, why, ok := u.feed(formats.ToHost, part); ok {
						got, switched = l, true
						if why == "" {
							t.Fatal("no reason")
						}
					}
				}
				if switched != tc.switched || (switched && got.String() != tc.want) {
					t.Fatalf("cut %d: switched=%v to %v, want %v %q", cut, switched, got, tc.switched, tc.want)
				}
			}
		})
	}
}

// TestProxyMarkers checks Mark and Note land in the capture.
func TestProxyMarkers(t *testing.T) {
	r := startProxyRig(t, nil)
	r.host.Expect("\r\nready\r\n")
	r.px.Mark("pressed the reset button")
	r.stop()
	found := false
	for _, rec := range r.records() {
		if rec.Kind == capture.KindEvent && rec.Event.Type == capture.EvMarker && rec.Event.Text == "pressed the reset button" {
			found = true
		}
	}
	if !found {
		t.Error("marker not recorded")
	}
}

// TestProxyFullDuplexSaturation pushes 4 MiB through an echoing device
// while reading the echo at the same time: nothing deadlocks, every byte
// comes back, and the capture holds both directions byte-exact.
func TestProxyFullDuplexSaturation(t *testing.T) {
	r := startProxyRig(t, &rigOptions{echo: true})
	data := make([]byte, 4<<20)
	for i := range data {
		data[i] = byte(i*7 + i>>9)
	}
	go func() {
		for off := 0; off < len(data); off += 4096 {
			if _, err := r.host.Write(data[off:min(off+4096, len(data))]); err != nil {
				return
			}
		}
	}()
	got, ok := r.host.WaitLen(len(data), 60*time.Second)
	if !ok {
		t.Fatalf("echo stalled at %d of %d bytes", len(got), len(data))
	}
	r.stop()
	recs := r.records()
	checkSame(t, "echo", data, got[:len(data)])
	if !bytes.Equal(chunkBytes(recs, formats.ToDevice), data) || !bytes.Equal(chunkBytes(recs, formats.ToHost), data) {
		t.Error("capture differs from the traffic")
	}
	if st := r.px.Stats(); st.Queue.LostBytes != 0 || st.ToDevice != int64(len(data)) || st.ToHost != int64(len(data)) {
		t.Errorf("stats %+v", st)
	}
}

// TestProxyHostSerialUnplug: the host side is a serial device (here the
// slave of a pty the test owns, as a USB-UART wired to the host's UART);
// pulling it is recorded, the device side stays up, and the proxy carries
// on once it is back.
func TestProxyHostSerialUnplug(t *testing.T) {
	dir := t.TempDir()
	hostDev := filepath.Join(dir, "hostuart")
	hostApp, err := port.Open(context.Background(), "pty:"+hostDev, nil)
	rig.Must(t, err)
	path := filepath.Join(dir, "h.atcap")
	w, err := capture.Create(path, capture.Header{Tool: "test"}, nil)
	rig.Must(t, err)
	px, err := OpenProxy(context.Background(), &ProxyOptions{Host: hostDev, Device: EmulateSpec, Recorder: w,
		RetryInterval: 20 * time.Millisecond, Log: rig.Logger(t), Emulator: &esp.Options{Log: rig.Logger(t)}})
	rig.Must(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- px.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	if got := rig.ReadN(t, hostApp, len("\r\nready\r\n")); string(got) != "\r\nready\r\n" {
		t.Fatalf("banner %q", got)
	}
	_, err = hostApp.Write([]byte("AT\r\n"))
	rig.Must(t, err)
	if got := rig.ReadN(t, hostApp, len("AT\r\n\r\nOK\r\n")); string(got) != "AT\r\n\r\nOK\r\n" {
		t.Fatalf("got %q", got)
	}
	hostApp.Close() // unplugged
	waitFor(t, func() bool { return px.host.current() == nil })
	hostApp, err = port.Open(context.Background(), "pty:"+hostDev, nil)
	rig.Must(t, err)
	defer hostApp.Close()
	waitFor(t, func() bool { return px.host.current() != nil })
	_, err = hostApp.Write([]byte("AT\r\n"))
	rig.Must(t, err)
	if got := rig.ReadN(t, hostApp, len("AT\r\n\r\nOK\r\n")); string(got) != "AT\r\n\r\nOK\r\n" {
		t.Fatalf("after replug: got %q", got)
	}
	cancel()
	rig.Must(t, <-done)
	done <- nil
	rig.Must(t, w.Close())
	recs := readCapture(t, path)
	var order []string
	for _, r := range recs {
		if r.Kind == capture.KindEvent && r.Port == capture.PortHost && (r.Event.Type == capture.EvPortLost || r.Event.Type == capture.EvPortReopened) {
			order = append(order, r.Event.Type.String())
		}
	}
	if fmt.Sprint(order) != "[port_lost port_reopened]" {
		t.Errorf("host port events %v", order)
	}
	if got := string(chunkBytes(recs, formats.ToDevice)); got != "AT\r\nAT\r\n" {
		t.Errorf("to_device %q", got)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(rig.Timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestProxyTCPDevice: the device behind a serial server (tcp:HOST:PORT, as
// ser2net or esp-link); the server dropping the connection is a loss, and
// the proxy reconnects.
func TestProxyTCPDevice(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	rig.Must(t, err)
	defer ln.Close()
	conns := make(chan net.Conn, 2)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				close(conns)
				return
			}
			conns <- c
		}
	}()
	dir := t.TempDir()
	path := filepath.Join(dir, "tcp.atcap")
	w, err := capture.Create(path, capture.Header{Tool: "test"}, nil)
	rig.Must(t, err)
	px, err := OpenProxy(context.Background(), &ProxyOptions{Host: "pty:" + filepath.Join(dir, "host"), Device: "tcp:" + ln.Addr().String(),
		Recorder: w, RetryInterval: 20 * time.Millisecond, Log: rig.Logger(t)})
	rig.Must(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- px.Run(ctx) }()
	f, err := os.OpenFile(filepath.Join(dir, "host"), os.O_RDWR, 0)
	rig.Must(t, err)
	host := rig.NewHostApp(t, f)
	defer host.Close()

	serve := func(c net.Conn) (stop func()) {
		ectx, ecancel := context.WithCancel(context.Background())
		served := make(chan struct{})
		go func() {
			defer close(served)
			_ = esp.New(&esp.Options{Log: rig.Logger(t)}).Serve(ectx, c)
		}()
		return func() {
			ecancel()
			<-served
			c.Close()
		}
	}
	stop1 := serve(<-conns)
	host.Expect("\r\nready\r\n")
	host.Cmd("AT", "\r\nOK\r\n")
	stop1() // the serial server drops the connection
	c2, ok := <-conns
	if !ok {
		t.Fatal("the proxy did not reconnect")
	}
	stop2 := serve(c2)
	host.Expect("\r\nready\r\n")
	host.Cmd("AT", "\r\nOK\r\n")
	cancel()
	rig.Must(t, <-done)
	stop2()
	rig.Must(t, w.Close())
	recs := readCapture(t, path)
	if countEvents(recs, capture.EvPortLost) != 1 || countEvents(recs, capture.EvPortReopened) != 1 {
		t.Errorf("lost %d, reopened %d; want 1 each", countEvents(recs, capture.EvPortLost), countEvents(recs, capture.EvPortReopened))
	}
	if got := string(chunkBytes(recs, formats.ToDevice)); got != "AT\r\nAT\r\n" {
		t.Errorf("to_device %q", got)
	}
}
