package bridge_test

import (
	"context"
	"log"
	"os/signal"
	"syscall"

	"github.com/atbridge/atbridge/bridge"
	"github.com/atbridge/atbridge/capture"
)

// A PC host app opens /tmp/esp as its serial port; the ESP32 is on a
// USB-UART. Everything is recorded until Ctrl-C, with the WebSocket frames
// of the board's connections to 10.0.0.5 through a tap on this PC's 8765.
func ExampleOpenProxy() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT)
	defer stop()
	rec, err := capture.Create("session.atcap", capture.Header{Tool: "example", Ports: []capture.PortInfo{
		{Name: "pty:/tmp/esp", Role: "host"}, {Name: "/dev/ttyUSB0", Role: "device"}}}, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer rec.Close()
	px, err := bridge.OpenProxy(ctx, &bridge.ProxyOptions{
		Host:     "pty:/tmp/esp",
		Device:   "/dev/ttyUSB0",
		Line:     capture.LineSettings{Baud: 921600, Flow: capture.FlowRTSCTS},
		Recorder: rec,
		Taps:     []bridge.TapConfig{{Listen: "0.0.0.0:8765", Upstream: "ws://10.0.0.5:8765"}},
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := px.Run(ctx); err != nil {
		log.Print(err)
	}
	st := px.Stats()
	log.Printf("%d bytes to the device, %d to the host, %d not recorded", st.ToDevice, st.ToHost, st.Queue.LostBytes)
}
