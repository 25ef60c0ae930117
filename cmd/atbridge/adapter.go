package main

import (
	"fmt"
	"io"
	"path/filepath"

	"github.com/atbridge/atbridge/bridge/port"
	"github.com/atbridge/atbridge/capture"
)

// fillAdapters records in each port of a capture header what the OS says
// about the USB adapter behind it, and warns on w about an adapter whose
// latency timer will inflate every latency the capture measures.
func fillAdapters(w io.Writer, name string, ports []capture.PortInfo) {
	for i := range ports {
		a, ok := port.AdapterOf(ports[i].Name)
		if !ok {
			continue
		}
		ports[i].Adapter = a
		if msg := latencyWarning(ports[i].Role, ports[i].Name, a); msg != "" {
			fmt.Fprintf(w, "atbridge %s: %s\n", name, msg)
		}
	}
}

// latencyWarning is the one-line warning for an adapter with a long latency
// timer (16 ms is FTDI's default: every short read waits up to that long),
// "" when there is nothing to say.
func latencyWarning(role, spec string, a capture.Adapter) string {
	if a.LatencyTimerMS < 16 {
		return ""
	}
	dev := filepath.Base(spec)
	if real, err := filepath.EvalSymlinks(spec); err == nil {
		dev = filepath.Base(real)
	}
	return fmt.Sprintf("the %s port %s has a %d ms USB latency timer: replies arrive up to %d ms late and latencies in this capture are inflated; "+
		"set it to 1 ms with: echo 1 | sudo tee /sys/bus/usb-serial/devices/%s/latency_timer (or: setserial %s low_latency)",
		role, spec, a.LatencyTimerMS, a.LatencyTimerMS, dev, spec)
}
