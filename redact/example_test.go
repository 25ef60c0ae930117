package redact_test

import (
	"fmt"

	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/formats"
	"github.com/atbridge/atbridge/redact"
)

// A Wi-Fi password, cut across two chunks by the host and echoed by the
// device in one, comes out masked in both directions, with its length and
// escapes kept.
func Example() {
	r := redact.New(nil)
	in := []capture.Record{
		{Kind: capture.KindChunk, Time: 1, Dir: formats.ToDevice, Data: []byte(`AT+CWJAP="home","se\"cr`)},
		{Kind: capture.KindChunk, Time: 2, Dir: formats.ToDevice, Data: []byte("et\"\r\n")},
		{Kind: capture.KindChunk, Time: 3, Dir: formats.ToHost, Data: []byte("AT+CWJAP=\"home\",\"se\\\"cret\"\r\nWIFI CONNECTED\r\n\r\nOK\r\n")},
	}
	var out []capture.Record
	for i := range in {
		out = append(out, r.Add(&in[i])...)
	}
	out = append(out, r.Flush()...)
	for _, rec := range out {
		fmt.Printf("%s %q\n", rec.Dir, rec.Data)
	}
	fmt.Println(redact.Summary(r.Counts()))
	// Output:
	// to_device "AT+CWJAP=\"home\",\"**\\***"
	// to_device "**\"\r\n"
	// to_host "AT+CWJAP=\"home\",\"**\\*****\"\r\nWIFI CONNECTED\r\n\r\nOK\r\n"
	// cwjap-password=1,echo=1
}
