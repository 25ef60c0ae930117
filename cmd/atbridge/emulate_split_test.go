package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// emulateCLI is `atbridge emulate --port pty:...` run in the test, with
// the host app's end of its pty.
type emulateCLI struct {
	t      *testing.T
	f      *os.File
	got    []byte
	cancel context.CancelFunc
	done   chan int
	stderr *lockedBuffer
}

// startEmulateCLI runs emulate with extra flags and opens its pty.
func startEmulateCLI(t *testing.T, flags ...string) *emulateCLI {
	t.Helper()
	link := filepath.Join(t.TempDir(), "esp")
	ctx, cancel := context.WithCancel(context.Background())
	c := &emulateCLI{t: t, cancel: cancel, done: make(chan int, 1), stderr: &lockedBuffer{}}
	go func() {
		c.done <- run(ctx, append([]string{"emulate", "--port", "pty:" + link}, flags...), &env{
			stdin: strings.NewReader(""), stdout: io.Discard, stderr: c.stderr,
			getenv: func(string) string { return "" }, isTerminal: func(any) bool { return false },
		})
	}()
	t.Cleanup(func() {
		cancel()
		if c.f != nil {
			c.f.Close()
		}
	})
	var err error
	for i := 0; ; i++ {
		if c.f, err = os.OpenFile(link, os.O_RDWR, 0); err == nil {
			break
		}
		select {
		case code := <-c.done:
			t.Fatalf("emulate exited with %d: %s", code, c.stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
		if i > 500 {
			t.Fatalf("the pty link never appeared: %s", c.stderr.String())
		}
	}
	c.read("\r\nready\r\n")
	return c
}

// read expects exactly want next.
func (c *emulateCLI) read(want string) {
	c.t.Helper()
	buf := make([]byte, 1024)
	_ = c.f.SetReadDeadline(time.Now().Add(10 * time.Second))
	for len(c.got) < len(want) {
		n, err := c.f.Read(buf)
		c.got = append(c.got, buf[:n]...)
		if err != nil {
			c.t.Fatalf("reading the pty: %v; got %q, want %q", err, c.got, want)
		}
	}
	if !bytes.Equal(c.got, []byte(want)) {
		c.t.Fatalf("got %q, want %q", c.got, want)
	}
	c.got = nil
}

func (c *emulateCLI) send(s string) {
	c.t.Helper()
	if _, err := c.f.Write([]byte(s)); err != nil {
		c.t.Fatal(err)
	}
}

// stop ends emulate and checks its exit code.
func (c *emulateCLI) stop() {
	c.t.Helper()
	c.cancel()
	if code := <-c.done; code != exitOK {
		c.t.Fatalf("exit %d: %s", code, c.stderr.String())
	}
}

// TestEmulateSplitDeliveries: --split-deliveries 4 cuts a 10-byte reply into
// +IPD pieces of 4, 4 and 2 bytes (docs/esp-at-surface.md §3.6 framing).
func TestEmulateSplitDeliveries(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		buf := make([]byte, 10)
		if _, err := io.ReadFull(c, buf); err != nil {
			return
		}
		time.Sleep(50 * time.Millisecond) // after SEND OK
		_, _ = c.Write(buf)
		_, _ = io.Copy(io.Discard, c)
	}()
	c := startEmulateCLI(t, "--split-deliveries", "4")
	start := fmt.Sprintf(`AT+CIPSTART="TCP","127.0.0.1",%d`, ln.Addr().(*net.TCPAddr).Port)
	c.send(start + "\r\n")
	c.read(start + "\r\nCONNECT\r\n\r\nOK\r\n")
	c.send("AT+CIPSEND=10\r\n")
	c.read("AT+CIPSEND=10\r\n\r\nOK\r\n\r\n>")
	c.send("0123456789")
	c.read("\r\nRecv 10 bytes\r\n\r\nSEND OK\r\n\r\n+IPD,4:0123\r\n+IPD,4:4567\r\n+IPD,2:89")
	c.stop()
}

// TestEmulateServerFlags: with --server-port-offset a host app's
// AT+CIPSERVER=1 (port 333) listens on 333+offset at --server-bind.
func TestEmulateServerFlags(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	real := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	c := startEmulateCLI(t, "--server-bind", "127.0.0.1", "--server-port-offset", fmt.Sprint(real-333))
	c.send("AT+CIPMUX=1\r\n")
	c.read("AT+CIPMUX=1\r\n\r\nOK\r\n")
	c.send("AT+CIPSERVER=1\r\n")
	c.read("AT+CIPSERVER=1\r\n\r\nOK\r\n")
	conn, err := net.DialTimeout("tcp4", fmt.Sprintf("127.0.0.1:%d", real), 5*time.Second)
	if err != nil {
		t.Fatalf("the emulated server does not listen on 333+offset: %v", err)
	}
	defer conn.Close()
	c.read("0,CONNECT\r\n")
	if _, err := conn.Write([]byte("hi")); err != nil {
		t.Fatal(err)
	}
	c.read("\r\n+IPD,0,2:hi")
	c.stop()
}

// TestEmulateLogPort: --log-port is the board's console; --panic-on
// crashes the board there while the AT side only sees it restart.
func TestEmulateLogPort(t *testing.T) {
	logLink := filepath.Join(t.TempDir(), "log")
	c := startEmulateCLI(t, "--log-port", "pty:"+logLink, "--panic-on", "AT+GMR")
	lf, err := os.OpenFile(logLink, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer lf.Close()
	c.send("AT+GMR\r\n")
	c.read("AT+GMR\r\n\r\nready\r\n")
	var got []byte
	buf := make([]byte, 4096)
	_ = lf.SetReadDeadline(time.Now().Add(10 * time.Second))
	for !bytes.Contains(got, []byte("rst:0xc (SW_CPU_RESET)")) {
		n, err := lf.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			t.Fatalf("reading the log pty: %v; got %q", err, got)
		}
	}
	if !bytes.Contains(got, []byte("Guru Meditation Error: Core  0 panic'ed")) {
		t.Fatalf("no panic on the console: %q", got)
	}
	c.stop()
}
