package port

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/internal/rig"
)

// serialServer is a stand-in for ser2net in raw mode: it accepts one
// connection on 127.0.0.1 and hands it to the test.
func serialServer(t *testing.T) (addr string, conns <-chan net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan net.Conn, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err == nil {
			ch <- c
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		select {
		case c := <-ch:
			c.Close()
		default:
		}
	})
	return ln.Addr().String(), ch
}

func TestTCPPort(t *testing.T) {
	addr, conns := serialServer(t)
	line := capture.LineSettings{Baud: 921600}
	p, err := Open(context.Background(), "tcp:"+addr, &Options{Line: line})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	srv := <-conns
	defer srv.Close()

	if p.Name() != "tcp:"+addr {
		t.Errorf("Name() = %q", p.Name())
	}
	if want := LineDefaults(line); p.Line() != want {
		t.Errorf("Line() = %s, want %s", p.Line(), want)
	}
	want := rig.AllBytes()
	if _, err := p.Write(want); err != nil {
		t.Fatal(err)
	}
	if got := rig.ReadN(t, srv, len(want)); !bytes.Equal(got, want) {
		t.Fatal("port to server: bytes changed")
	}
	if _, err := srv.Write(want); err != nil {
		t.Fatal(err)
	}
	if got := rig.ReadN(t, p, len(want)); !bytes.Equal(got, want) {
		t.Fatal("server to port: bytes changed")
	}
	// Settings are remembered, nothing goes to the server.
	l2 := capture.LineSettings{Baud: 9600, DataBits: 7, Parity: capture.ParityEven, StopBits: capture.Stop2}
	if err := p.SetLine(l2); err != nil {
		t.Fatal(err)
	}
	if p.Line() != l2 {
		t.Errorf("Line() = %s after SetLine(%s)", p.Line(), l2)
	}
	srv.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if n, _ := srv.Read(make([]byte, 1)); n != 0 {
		t.Error("SetLine sent bytes to the serial server")
	}

	// The server hanging up is the device lost.
	srv.Close()
	if _, err := p.Read(make([]byte, 1)); !errors.Is(err, ErrLost) {
		t.Fatalf("read after server hang-up: %v, want ErrLost", err)
	}
}

func TestTCPPortCloseUnblocksRead(t *testing.T) {
	addr, conns := serialServer(t)
	p, err := Open(context.Background(), "tcp:"+addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := <-conns
	defer srv.Close()
	done := make(chan error, 1)
	go func() {
		_, err := p.Read(make([]byte, 1))
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	p.Close()
	p.Close()
	select {
	case err := <-done:
		if !errors.Is(err, ErrClosed) {
			t.Fatalf("read: %v, want ErrClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not unblock Read")
	}
	// The server sees the connection end.
	srv.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := srv.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Errorf("server read: %v, want EOF", err)
	}
}

func TestTCPPortRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, err = Open(context.Background(), "tcp:"+addr, nil)
	if err == nil || !strings.Contains(err.Error(), "is the serial server running") {
		t.Fatalf("error %v does not say what to check", err)
	}
}

func TestTCPPortReadOnly(t *testing.T) {
	addr, conns := serialServer(t)
	p, err := Open(context.Background(), "tcp:"+addr, &Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	(<-conns).Close()
	if _, err := p.Write([]byte("AT\r\n")); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("write: %v, want ErrReadOnly", err)
	}
}

func TestReopen(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // the "device" is gone for now

	type result struct {
		p   Port
		err error
	}
	res := make(chan result, 1)
	go func() {
		p, err := Reopen(context.Background(), "tcp:"+addr, &Options{RetryInterval: 10 * time.Millisecond})
		res <- result{p, err}
	}()
	time.Sleep(50 * time.Millisecond) // a few refused attempts
	ln, err = net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("cannot listen on %s again: %v", addr, err)
	}
	defer ln.Close()
	select {
	case r := <-res:
		if r.err != nil {
			t.Fatalf("reopen: %v", r.err)
		}
		r.p.Close()
	case <-time.After(10 * time.Second):
		t.Fatal("Reopen did not connect after the server came back")
	}

	// Errors that waiting cannot fix end it at once; ctx ends the rest.
	if _, err := Reopen(context.Background(), "tcp:nowhere", nil); err == nil {
		t.Error("bad spec: no error")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	ln.Close()
	if _, err := Reopen(ctx, "tcp:"+addr, &Options{RetryInterval: 5 * time.Millisecond}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("reopen until deadline: %v, want DeadlineExceeded", err)
	}
}

func TestOpenBadLine(t *testing.T) {
	for _, l := range []capture.LineSettings{
		{Baud: -1},
		{Baud: 9600, DataBits: 9},
		{Baud: 9600, Parity: 'X'},
		{Baud: 9600, StopBits: 7},
		{Baud: 9600, Flow: 9},
	} {
		_, err := Open(context.Background(), "tcp:127.0.0.1:1", &Options{Line: l})
		if err == nil || !strings.Contains(err.Error(), "invalid line settings") {
			t.Errorf("%+v: %v, want invalid line settings", l, err)
		}
	}
}
