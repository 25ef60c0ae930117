package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestEmulateAPs: --aps FILE is the list AT+CWLAP shows and AT+CWJAP joins.
func TestEmulateAPs(t *testing.T) {
	dir := t.TempDir()
	link := filepath.Join(dir, "esp")
	aps := filepath.Join(dir, "aps.json")
	if err := os.WriteFile(aps, []byte(`[{"ssid":"home","password":"secret123","bssid":"7C:8B:CA:3E:D7:5B","channel":11,"rssi":-55},{"ssid":"cafe","rssi":-70}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"emulate", "--port", "pty:" + link, "--aps", aps}, &env{
			stdin: strings.NewReader(""), stdout: io.Discard, stderr: &stderr,
			getenv: func(string) string { return "" }, isTerminal: func(any) bool { return false },
		})
	}()
	var f *os.File
	for i := 0; ; i++ {
		var err error
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
	read("\r\nready\r\n")
	for _, x := range []struct{ cmd, reply string }{
		{"AT+CWLAPOPT=1,31", "\r\nOK\r\n"},
		{"AT+CWLAP", "+CWLAP:(3,\"home\",-55,\"7c:8b:ca:3e:d7:5b\",11)\r\n+CWLAP:(0,\"cafe\",-70,\"02:00:00:00:00:02\",1)\r\n\r\nOK\r\n"},
		{`AT+CWJAP="espressif","1234567890"`, "+CWJAP:3\r\n\r\nERROR\r\n"},
		{`AT+CWJAP="home","secret12"`, "+CWJAP:2\r\n\r\nERROR\r\n"},
		{`AT+CWJAP="home","secret123"`, "WIFI CONNECTED\r\nWIFI GOT IP\r\n\r\nOK\r\n"},
	} {
		if _, err := f.Write([]byte(x.cmd + "\r\n")); err != nil {
			t.Fatal(err)
		}
		read(x.cmd + "\r\n" + x.reply)
	}
	cancel()
	if code := <-done; code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
}
