//go:build linux || darwin

package port

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/internal/rig"
)

// Serial port tests run against the host app's side of a pty: port, opened
// through the same code as a real /dev/ttyUSB0.

func TestCloseUnblocksRead(t *testing.T) {
	onEachSide(t, func(t *testing.T, p Port) {
		expectReadEnds(t, p, ErrClosed, "close", func() {
			if err := p.Close(); err != nil {
				t.Fatalf("close: %v", err)
			}
			if err := p.Close(); err != nil {
				t.Fatalf("second close: %v", err)
			}
		})
	})
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	regular := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(regular, []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		spec string
		want []string
	}{
		{"pty:" + regular, []string{"pty:" + regular, "exists and is a regular file", "refusing"}},
		{"pty:" + dir, []string{"is a directory"}},
		{filepath.Join(dir, "ttyUSB9"), []string{"open " + filepath.Join(dir, "ttyUSB9"), "no such device", "is it plugged in?", "ls " + filepath.Join(dir, "ttyUSB*")}},
		{"serial:" + regular, []string{"not a serial device"}},
		{"pty:", []string{"empty path"}},
		{"tcp:nowhere", []string{"want tcp:HOST:PORT"}},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			p, err := Open(context.Background(), tt.spec, nil)
			if err == nil {
				p.Close()
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
	if b, _ := os.ReadFile(regular); string(b) != "keep me" {
		t.Fatalf("regular file changed: %q", b)
	}
	_, err := Open(context.Background(), filepath.Join(dir, "ttyUSB9"), nil)
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing device error %v does not wrap ErrNotExist", err)
	}
}

func TestReadOnly(t *testing.T) {
	host, client, link := openPtyPair(t, &Options{ReadOnly: true})
	if _, err := host.Write([]byte("x")); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("pty write: %v, want ErrReadOnly", err)
	}
	client.Close()
	ro, err := Open(context.Background(), link, &Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if _, err := ro.Write([]byte("x")); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("serial write: %v, want ErrReadOnly", err)
	}
	if err := ro.(Controller).SetControl(capture.LineDTR); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("serial SetControl: %v, want ErrReadOnly", err)
	}
	if err := ro.SetLine(capture.LineSettings{Baud: 9600}); err != nil {
		t.Fatalf("SetLine on a read-only port: %v", err)
	}
}

func TestSerialPortLostWhenPtyGoes(t *testing.T) {
	host, client, _ := openPtyPair(t, nil)
	expectReadEnds(t, client, ErrLost, "the pty went away", func() { host.Close() })
}

func TestSerialReopenAfterLoss(t *testing.T) {
	host, client, link := openPtyPair(t, nil)
	host.Close()
	if _, err := client.Read(make([]byte, 1)); !errors.Is(err, ErrLost) {
		t.Fatalf("read: %v, want ErrLost", err)
	}
	client.Close()

	type result struct {
		p   Port
		err error
	}
	res := make(chan result, 1)
	go func() {
		p, err := Reopen(context.Background(), link, &Options{RetryInterval: 10 * time.Millisecond})
		res <- result{p, err}
	}()
	time.Sleep(50 * time.Millisecond)
	host2, err := Open(context.Background(), "pty:"+link, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer host2.Close()
	select {
	case r := <-res:
		if r.err != nil {
			t.Fatalf("reopen: %v", r.err)
		}
		defer r.p.Close()
		if _, err := r.p.Write([]byte("AT\r\n")); err != nil {
			t.Fatal(err)
		}
		if got := rig.ReadN(t, host2, 4); string(got) != "AT\r\n" {
			t.Fatalf("read %q after reopen", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Reopen did not return after the device came back")
	}
}

func TestCloseUnblocksWrite(t *testing.T) {
	onEachSide(t, func(t *testing.T, p Port) {
		done := make(chan error, 1)
		go func() {
			_, err := p.Write(make([]byte, 4<<20)) // far more than the tty buffers hold
			done <- err
		}()
		select {
		case err := <-done:
			t.Fatalf("write of 4 MiB nobody reads returned early: %v", err)
		case <-time.After(100 * time.Millisecond):
		}
		p.Close()
		expectErrSoon(t, done, ErrClosed, "write", "Close")
	})
}

// onEachSide runs f as a subtest on each end of a fresh pty pair: the pty:
// port and the serial device opened on its link.
func onEachSide(t *testing.T, f func(t *testing.T, p Port)) {
	for _, side := range []string{"pty", "serial"} {
		t.Run(side, func(t *testing.T) {
			host, client, _ := openPtyPair(t, nil)
			p := host
			if side == "serial" {
				p = client
			}
			f(t, p)
		})
	}
}

// expectReadEnds starts a Read on p, lets it block, calls end, and checks
// that the Read returns an error wrapping want and that a Write then fails
// the same way. what names what end does, for messages.
func expectReadEnds(t *testing.T, p Port, want error, what string, end func()) {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		_, err := p.Read(make([]byte, 10))
		done <- err
	}()
	time.Sleep(50 * time.Millisecond) // let Read block
	end()
	expectErrSoon(t, done, want, "read", what)
	if _, err := p.Write([]byte("AT\r\n")); !errors.Is(err, want) {
		t.Fatalf("write after %s: %v, want %v", what, err, want)
	}
}

// expectErrSoon waits (10 s at most) for the error of a call that was
// blocked until after and checks that it wraps want.
func expectErrSoon(t *testing.T, done <-chan error, want error, call, after string) {
	t.Helper()
	select {
	case err := <-done:
		if !errors.Is(err, want) {
			t.Fatalf("%s after %s: %v, want %v", call, after, err, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("%s still blocked 10 s after %s", call, after)
	}
}
