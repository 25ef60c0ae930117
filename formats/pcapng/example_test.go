package pcapng_test

import (
	"bytes"
	"fmt"
	"sort"
	"time"

	"github.com/atbridge/atbridge/formats"
	"github.com/atbridge/atbridge/formats/pcapng"
)

// The seed exchange of esp-at.md section 5 as serial chunks: the export
// has the raw reads, one AT unit per command, response, prompt, payload
// and message, and a WebSocket flow (TCP handshake, HTTP upgrade, the
// client's masked "test" and the server's echo).
func ExampleNewWriter() {
	var out bytes.Buffer
	x, err := pcapng.NewWriter(&out, &pcapng.Options{Start: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)})
	if err != nil {
		panic(err)
	}
	ms := int64(time.Millisecond)
	for _, c := range []struct {
		t   int64
		dir formats.Dir
		s   string
	}{
		{0, formats.ToDevice, "AT+WSOPEN=0,\"ws://192.168.200.249:8765\"\r\n"},
		{2, formats.ToHost, "AT+WSOPEN=0,\"ws://192.168.200.249:8765\"\r\n"},
		{150, formats.ToHost, "+WS_CONNECTED:0\r\n\r\nOK\r\n"},
		{1000, formats.ToDevice, "AT+WSSEND=0,4\r\n"},
		{1002, formats.ToHost, "AT+WSSEND=0,4\r\n\r\nOK\r\n\r\n>"},
		{1010, formats.ToDevice, "test"},
		{1015, formats.ToHost, "\r\nSEND OK\r\n"},
		{1030, formats.ToHost, "+WS_DATA:0,4,test\r\n"},
	} {
		if err := x.Chunk(c.t*ms, 0, c.dir, []byte(c.s)); err != nil {
			panic(err)
		}
	}
	if err := x.Close(); err != nil {
		panic(err)
	}
	st := x.Stats()
	var names []string
	for n := range st.ByIface {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Printf("%s: %d packets\n", n, st.ByIface[n])
	}
	// Output:
	// uart-at: 12 packets
	// uart-raw-to_device: 3 packets
	// uart-raw-to_host: 5 packets
	// ws-link0: 7 packets
}
