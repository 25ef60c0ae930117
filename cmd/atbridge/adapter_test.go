package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/formats"
)

// lineEventCapture writes a capture recorded through an FTDI adapter with
// its default 16 ms latency timer, in which the OS reported a BREAK, a
// framing error burst and a change of the modem lines.
func lineEventCapture(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "lines.atcap")
	ftdi := capture.Adapter{VID: 0x0403, PID: 0x6001, Manufacturer: "FTDI", Product: "FT232R USB UART", Serial: "A10K5XYZ", Driver: "ftdi_sio", LatencyTimerMS: 16}
	w, err := capture.Create(path, capture.Header{
		Tool:  "atbridge test",
		Start: time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC),
		Ports: []capture.PortInfo{
			{Name: "/dev/ttyUSB0", Role: "host", Adapter: ftdi},
			{Name: "/dev/ttyACM0", Role: "device", Adapter: capture.Adapter{VID: 0x303a, PID: 0x1001, Product: "USB JTAG/serial debug unit", Driver: "cdc_acm"}},
		},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []capture.Record{
		{Kind: capture.KindChunk, Time: 1e6, Port: capture.PortHost, Dir: formats.ToDevice, Data: []byte("AT\r\n")},
		{Kind: capture.KindChunk, Time: 3e6, Port: capture.PortDevice, Dir: formats.ToHost, Data: []byte("\r\nOK\r\n")},
		{Kind: capture.KindEvent, Time: 4e6, Port: capture.PortHost, Event: capture.Event{Type: capture.EvControlLines, Control: capture.LineDSR | capture.LineCTS}},
		{Kind: capture.KindEvent, Time: 5e6, Port: capture.PortHost, Dir: formats.ToDevice, Event: capture.Event{Type: capture.EvBreak, Count: 1}},
		{Kind: capture.KindEvent, Time: 6e6, Port: capture.PortDevice, Dir: formats.ToHost, Event: capture.Event{Type: capture.EvLineErrors, Text: "framing", Count: 3}},
		{Kind: capture.KindEvent, Time: 7e6, Port: capture.PortDevice, Dir: formats.ToHost, Event: capture.Event{Type: capture.EvLineErrors, Text: "overrun", Count: 1}},
	} {
		if err := w.Write(&r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestAdapterFactsShown(t *testing.T) {
	path := lineEventCapture(t)
	out, errOut, code := execCLI(t, "", "show", path)
	if code != exitOK {
		t.Fatalf("show: exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		"#   adapter: USB 0403:6001, FTDI FT232R USB UART, serial number A10K5XYZ, driver ftdi_sio, latency timer 16 ms (delays every short read by up to that much",
		"#   adapter: USB 303a:1001, USB JTAG/serial debug unit, driver cdc_acm\n",
		"control_lines: port 0 CTS|DSR",
		"BREAK: 1 on port 0",
		"LINE ERRORS: 3 framing errors on port 1",
		"LINE ERRORS: 1 UART overruns on port 1",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %q:\n%s", want, out)
		}
	}

	out, _, _ = execCLI(t, "", "show", "--json", path)
	var hdr struct {
		Ports []struct {
			Adapter map[string]any `json:"adapter"`
		} `json:"ports"`
	}
	first, _, _ := strings.Cut(out, "\n")
	if err := json.Unmarshal([]byte(first), &hdr); err != nil {
		t.Fatalf("show --json header: %v\n%s", err, first)
	}
	if a := hdr.Ports[0].Adapter; a["vid"] != "0403" || a["pid"] != "6001" || a["latency_timer_ms"] != 16.0 || a["driver"] != "ftdi_sio" {
		t.Errorf("show --json adapter of port 0 = %v", a)
	}

	out, errOut, code = execCLI(t, "", "stats", path)
	if code != exitOK {
		t.Fatalf("stats: exit %d: %s", code, errOut)
	}
	for _, want := range []string{"port ", "host", "/dev/ttyUSB0", "USB 0403:6001", "1 control line change, 1 BREAK",
		"errors: framing 3, overrun 1"} {
		if !strings.Contains(out, want) {
			t.Errorf("stats lacks %q:\n%s", want, out)
		}
	}
	out, _, _ = execCLI(t, "", "stats", "--json", path)
	var st struct {
		Ports []struct {
			Role       string           `json:"role"`
			Breaks     int64            `json:"breaks"`
			LineErrors map[string]int64 `json:"line_errors"`
			Adapter    map[string]any   `json:"adapter"`
		} `json:"ports"`
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatal(err)
	}
	if len(st.Ports) != 2 || st.Ports[0].Breaks != 1 || st.Ports[1].LineErrors["framing"] != 3 || st.Ports[1].Adapter["driver"] != "cdc_acm" {
		t.Errorf("stats --json ports = %+v", st.Ports)
	}
}

func TestLatencyWarning(t *testing.T) {
	ftdi := capture.Adapter{VID: 0x0403, PID: 0x6001, Driver: "ftdi_sio", LatencyTimerMS: 16}
	got := latencyWarning("device", "/dev/ttyUSB3", ftdi)
	for _, want := range []string{"the device port /dev/ttyUSB3 has a 16 ms USB latency timer", "latencies in this capture are inflated",
		"echo 1 | sudo tee /sys/bus/usb-serial/devices/ttyUSB3/latency_timer", "setserial /dev/ttyUSB3 low_latency"} {
		if !strings.Contains(got, want) {
			t.Errorf("warning lacks %q: %s", want, got)
		}
	}
	if strings.Contains(got, "\n") {
		t.Errorf("warning is more than one line: %q", got)
	}
	ftdi.LatencyTimerMS = 1
	if got := latencyWarning("device", "/dev/ttyUSB3", ftdi); got != "" {
		t.Errorf("1 ms timer warned: %s", got)
	}
	if got := latencyWarning("host", "/dev/ttyACM0", capture.Adapter{Driver: "cdc_acm"}); got != "" {
		t.Errorf("CDC ACM adapter (no timer) warned: %s", got)
	}
}
