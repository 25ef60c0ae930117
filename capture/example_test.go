package capture_test

import (
	"bytes"
	"fmt"
	"io"
	"time"

	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/formats"
)

func Example() {
	var file bytes.Buffer
	w, err := capture.NewWriter(&file, capture.Header{
		Tool:  "example",
		Start: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC),
		Ports: []capture.PortInfo{{Name: "pty:/tmp/esp", Role: "host"}},
	}, nil)
	if err != nil {
		panic(err)
	}
	w.WriteChunk(1000, capture.PortHost, formats.ToDevice, []byte("AT\r\n"))
	w.WriteChunk(2500, capture.PortHost, formats.ToHost, []byte("AT\r\n\r\nOK\r\n"))
	w.WriteEvent(3000, capture.Event{Type: capture.EvMarker, Text: "done"})
	if err := w.Close(); err != nil {
		panic(err)
	}

	r, err := capture.NewReader(&file, nil)
	if err != nil {
		panic(err)
	}
	defer r.Close()
	fmt.Println(r.Header().Tool, r.Header().Start.Format(time.RFC3339))
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			panic(err)
		}
		switch rec.Kind {
		case capture.KindChunk:
			fmt.Printf("%d %s %q\n", rec.Time, rec.Dir, rec.Data)
		case capture.KindEvent:
			fmt.Printf("%d %s %q\n", rec.Time, rec.Event.Type, rec.Event.Text)
		}
	}
	// Output:
	// example 2026-11-25T12:00:00Z
	// 1000 to_device "AT\r\n"
	// 2500 to_host "AT\r\n\r\nOK\r\n"
	// 3000 marker "done"
}
