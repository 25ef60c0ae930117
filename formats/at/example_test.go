package at_test

import (
	"fmt"

	"github.com/atbridge/atbridge/formats"
	"github.com/atbridge/atbridge/formats/at"
)

// The seed exchange of esp-at.md section 5, fed as the chunks a proxy reads.
func ExampleDecoder() {
	d := at.NewDecoder(nil)
	var evs []at.Event
	feed := func(ms int64, dir formats.Dir, s string) {
		evs = append(evs, d.Feed(ms*1e6, dir, []byte(s))...)
	}
	feed(0, formats.ToDevice, "AT+WSSEND=0,4\r\n")
	feed(2, formats.ToHost, "AT+WSSEND=0,4\r\n\r\nOK\r\n\r\n>")
	feed(10, formats.ToDevice, "test")
	feed(15, formats.ToHost, "\r\nSEND OK\r\n+WS_DATA:0,4,test\r\n")
	evs = append(evs, d.Flush()...)
	for _, e := range evs {
		switch e.Kind {
		case at.EvTransaction:
			fmt.Printf("%s %s -> %s in %d ms\n", e.Kind, e.Name, e.Tx.Result, e.Tx.Latency/1e6)
		case at.EvWSMessage:
			fmt.Printf("%s %s link %d %q\n", e.Kind, e.Dir, e.Link, e.Data)
		default:
			fmt.Printf("%s %s %q\n", e.Kind, e.Dir, e.Raw)
		}
	}
	// Output:
	// command to_device "AT+WSSEND=0,4\r\n"
	// echo to_host "AT+WSSEND=0,4\r\n"
	// result to_host "\r\nOK\r\n"
	// prompt to_host "\r\n>"
	// payload to_device "test"
	// result to_host "\r\nSEND OK\r\n"
	// ws_message to_server link 0 "test"
	// transaction +WSSEND -> SEND OK in 15 ms
	// urc to_host "+WS_DATA:0,4,test\r\n"
	// ws_message to_client link 0 "test"
}

// Decode suits a scan that looks at each batch of events once: here,
// counting results and WebSocket messages without keeping any event.
func ExampleDecoder_Decode() {
	d := at.NewDecoder(nil)
	results := map[string]int{}
	var msgs, size int
	count := func(evs []at.Event) {
		for i := range evs {
			e := &evs[i] // valid until the next Decode, Feed or Flush
			switch e.Kind {
			case at.EvResult:
				results[e.Name]++ // strings may be kept
			case at.EvWSMessage:
				msgs++
				size += len(e.Data)
			}
		}
	}
	for range 3 {
		count(d.Decode(0, formats.ToDevice, []byte("AT+WSSEND=0,4\r\n")))
		count(d.Decode(0, formats.ToHost, []byte("AT+WSSEND=0,4\r\n\r\nOK\r\n\r\n>")))
		count(d.Decode(0, formats.ToDevice, []byte("test")))
		count(d.Decode(0, formats.ToHost, []byte("\r\nSEND OK\r\n+WS_DATA:0,2,ok\r\n")))
	}
	count(d.Flush())
	fmt.Println(results, msgs, "messages,", size, "bytes")
	// Output:
	// map[OK:3 SEND OK:3] 6 messages, 18 bytes
}
