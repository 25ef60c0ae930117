//go:build linux || darwin

package port_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/atbridge/atbridge/bridge/port"
	"github.com/atbridge/atbridge/capture"
)

// A pty: port stands in for the ESP32's USB serial adapter: the host app
// opens the link like /dev/ttyUSB0 (here through Open too), and what it
// writes arrives byte for byte.
func ExampleOpen() {
	dir, err := os.MkdirTemp("", "atbridge-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	link := filepath.Join(dir, "esp")

	ctx := context.Background()
	esp, err := port.Open(ctx, "pty:"+link, nil) // 115200 8N1 by default
	if err != nil {
		fmt.Println(err)
		return
	}
	defer esp.Close()

	app, err := port.Open(ctx, link, &port.Options{
		Line: capture.LineSettings{Baud: 921600},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer app.Close()

	app.Write([]byte("AT+GMR\r\n"))
	buf := make([]byte, 8)
	io.ReadFull(esp, buf)
	fmt.Printf("%q\n", buf)
	fmt.Println(<-esp.(port.LineNotifier).LineChanges())
	// Output:
	// "AT+GMR\r\n"
	// 921600 8N1
}
