package esp_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"

	"github.com/atbridge/atbridge/bridge/esp"
)

// pipeLine is an in-memory serial line for the example: the emulator reads
// what the host writes and the other way round.
type pipeLine struct {
	io.Reader
	io.Writer
}

// readUntil reads from r until the bytes read end with suffix.
func readUntil(r io.Reader, suffix string) string {
	var got []byte
	b := make([]byte, 256)
	for !bytes.HasSuffix(got, []byte(suffix)) {
		n, err := r.Read(b)
		got = append(got, b[:n]...)
		if err != nil {
			break
		}
	}
	return string(got)
}

// An emulator run in-process on a pair of pipes, as a proxy or a test would
// run it. The host sees the boot banner, then the echo and the result.
func ExampleEmulator() {
	hostR, devW, _ := os.Pipe() // device -> host
	devR, hostW, _ := os.Pipe() // host -> device
	ctx, cancel := context.WithCancel(context.Background())
	em := esp.New(nil)
	done := make(chan error, 1)
	go func() { done <- em.Serve(ctx, pipeLine{devR, devW}) }()

	fmt.Printf("%q\n", readUntil(hostR, "ready\r\n"))
	hostW.Write([]byte("AT+CWMODE?\r\n"))
	fmt.Printf("%q\n", readUntil(hostR, "OK\r\n"))

	hostW.Close() // the host goes away: Serve returns
	fmt.Println(<-done != nil)
	cancel()
	devW.Close()
	hostR.Close()
	devR.Close()
	// Output:
	// "\r\nready\r\n"
	// "AT+CWMODE?\r\n+CWMODE:1\r\n\r\nOK\r\n"
	// true
}
