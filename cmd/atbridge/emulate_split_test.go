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
	link := filepath.Join(t.TempDir(), "esp")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"emulate", "--port", "pty:" + link, "--split-deliveries", "4"}, &env{
			stdin: strings.NewReader(""), stdout: io.Discard, stderr: &stderr,
			getenv: func(string) string { return "" }, isTerminal: func(any) bool { return false },
		})
	}()
	var f *os.File
	for i := 0; ; i++ {
		if f, err = os.OpenFile(link, os.O_RDWR, 0); err == nil {
			break
		}
		select {
		case code := <-done:
			t.Fatalf("emulate exited with %d: %s", code, stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
		if i > 500 {
			t.Fatalf("the pty link never appeared: %s", stderr.String())
		}
	}
	defer f.Close()
	var got []byte
	read := func(want string) {
		t.Helper()
		buf := make([]byte, 1024)
		_ = f.SetReadDeadline(time.Now().Add(10 * time.Second))
		for len(got) < len(want) {
			n, err := f.Read(buf)
			got = append(got, buf[:n]...)
			if err != nil {
				t.Fatalf("reading the pty: %v; got %q, want %q", err, got, want)
			}
		}
		if !bytes.Equal(got, []byte(want)) {
			t.Fatalf("got %q, want %q", got, want)
		}
		got = nil
	}
	send := func(s string) {
		t.Helper()
		if _, err := f.Write([]byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	read("\r\nready\r\n")
	start := fmt.Sprintf(`AT+CIPSTART="TCP","127.0.0.1",%d`, ln.Addr().(*net.TCPAddr).Port)
	send(start + "\r\n")
	read(start + "\r\nCONNECT\r\n\r\nOK\r\n")
	send("AT+CIPSEND=10\r\n")
	read("AT+CIPSEND=10\r\n\r\nOK\r\n\r\n>")
	send("0123456789")
	read("\r\nRecv 10 bytes\r\n\r\nSEND OK\r\n\r\n+IPD,4:0123\r\n+IPD,4:4567\r\n+IPD,2:89")
	cancel()
	if code := <-done; code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
}
