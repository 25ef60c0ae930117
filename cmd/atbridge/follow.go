package main

import (
	"context"
	"fmt"
	"io"

	"github.com/atbridge/atbridge/bridge"
	"github.com/atbridge/atbridge/bridge/port"
	"github.com/atbridge/atbridge/capture"
)

// followedPort is a serial port opened with the line flags that follows
// AT+UART_CUR and AT+UART_DEF as the proxy does (bridge.FollowUART): mock
// and replay are one end of the conversation, so they switch after the OK
// passes, as the device does. Each switch is reported on stderr and, once
// rec is set, recorded as an EvLineSettings event on port 0.
type followedPort struct {
	*bridge.UARTFollower
	rec *capture.Writer // set by the caller once the recording exists
}

// openFollowed opens spec at line. facesDevice is true for replay (the
// device is on the port), false for mock (the host app is).
func openFollowed(ctx context.Context, stderr io.Writer, cmd, spec string, line capture.LineSettings, facesDevice bool) (*followedPort, error) {
	p, err := port.Open(ctx, spec, &port.Options{Line: line})
	if err != nil {
		return nil, err
	}
	fp := &followedPort{}
	fp.UARTFollower = bridge.FollowUART(p, facesDevice, func(l capture.LineSettings, why string, err error) {
		if err != nil {
			fmt.Fprintf(stderr, "atbridge %s: %s asked for %s but %s cannot switch: %v\n", cmd, why, l, spec, err)
			if fp.rec != nil {
				_ = fp.rec.WriteEvent(fp.rec.Now(), capture.Event{Type: capture.EvNote, Text: fmt.Sprintf("could not switch %s to %s: %v", spec, l, err)})
			}
			return
		}
		fmt.Fprintf(stderr, "atbridge %s: %s now at %s (%s)\n", cmd, spec, l, why)
		if fp.rec != nil {
			_ = fp.rec.WriteEvent(fp.rec.Now(), capture.Event{Type: capture.EvLineSettings, Line: l, Text: why})
		}
	})
	return fp, nil
}
