package capture_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/formats"
)

// logHeader is a recorder's header with the ESP32's log UART as port 2,
// the AT UART behind an FTDI adapter.
func logHeader() capture.Header {
	return capture.Header{Tool: "atbridge test", Start: exportStart, Ports: []capture.PortInfo{
		{Name: "pty:/tmp/host", Role: "host"},
		{Name: "/dev/ttyUSB0", Role: "device", Adapter: capture.Adapter{VID: 0x0403, PID: 0x6001, Manufacturer: "FTDI", Product: "FT232R USB UART", Serial: "A50285BI", Driver: "ftdi_sio", LatencyTimerMS: 16}},
		{Name: "/dev/ttyUSB1", Role: "log"},
	}}
}

// writeLogSession records a failing session: AT traffic on ports 0/1, the
// board's log on port 2 (a line split across reads, a warning with colour
// escapes, a panic with its backtrace, the reset after it), a BREAK and
// framing errors on the AT UART, and a ring recorder's trigger.
func writeLogSession(t testing.TB, w *capture.Writer) {
	t.Helper()
	recs := []capture.Record{
		{Kind: capture.KindChunk, Time: 1e6, Port: capture.PortHost, Dir: formats.ToDevice, Data: []byte("AT+GMR\r\n")},
		{Kind: capture.KindChunk, Time: 2e6, Port: capture.PortDevice, Dir: formats.ToHost, Data: []byte("AT+GMR\r\nAT version:2.2.0.0\r\n\r\nOK\r\n")},
		{Kind: capture.KindChunk, Time: 3e6, Port: capture.PortLog, Dir: formats.ToHost, Data: []byte("I (1234) wifi: conn")},
		{Kind: capture.KindChunk, Time: 4e6, Port: capture.PortLog, Dir: formats.ToHost, Data: []byte("ected\r\n\x1b[0;33mW (1300) websocket_client: Connection timed out\x1b[0m\r\n")},
		{Kind: capture.KindChunk, Time: 5e6, Port: capture.PortHost, Dir: formats.ToDevice, Data: []byte("AT+WSSEND=0,4\r\n")},
		{Kind: capture.KindChunk, Time: 6e6, Port: capture.PortLog, Dir: formats.ToHost, Data: []byte("Guru Meditation Error: Core  0 panic'ed (LoadProhibited). Exception was unhandled.\r\n\r\nBacktrace: 0x400d1234:0x3ffb5f30 0x400d5678:0x3ffb5f50\r\n\r\nRebooting...\r\n")},
		{Kind: capture.KindEvent, Time: 7e6, Port: capture.PortDevice, Dir: formats.ToHost, Event: capture.Event{Type: capture.EvBreak, Count: 1}},
		{Kind: capture.KindEvent, Time: 7e6, Port: capture.PortDevice, Dir: formats.ToHost, Event: capture.Event{Type: capture.EvLineErrors, Text: "framing", Count: 3}},
		{Kind: capture.KindChunk, Time: 8e6, Port: capture.PortLog, Dir: formats.ToHost, Data: []byte("ets Jul 29 2019 12:21:46\r\n\r\nrst:0xc (SW_CPU_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)\r\n")},
		{Kind: capture.KindEvent, Time: 8e6, Event: capture.Event{Type: capture.EvTrigger, Text: "reset on the log UART: SW_CPU_RESET"}},
		{Kind: capture.KindChunk, Time: 9e6, Port: capture.PortDevice, Dir: formats.ToHost, Data: []byte("ready\r\n")},
		{Kind: capture.KindChunk, Time: 10e6, Port: capture.PortLog, Dir: formats.ToHost, Data: []byte("E (310) esp-at: AT+ uart init fail\r\n")},
	}
	for i := range recs {
		if err := w.Write(&recs[i]); err != nil {
			t.Fatal(err)
		}
	}
}

func logCapture(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "log.atcap")
	w, err := capture.Create(path, logHeader(), &capture.WriterOptions{FlushInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	writeLogSession(t, w)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestExportLogTshark exports a capture with a log port and reads it with
// tshark as installed: the log port is its own interface, each line is a
// syslog message whose text tshark shows, resets and panics are named in
// packet comments, the log bytes reach no AT interface, and the AT UART's
// BREAK and framing errors are RTAC events with comments.
func TestExportLogTshark(t *testing.T) {
	tsharkPath(t)
	in := logCapture(t)
	out := filepath.Join(t.TempDir(), "log.pcapng")
	exportFile(t, in, out, nil)
	if lines := tshark(t, out, "-q", "-z", "expert,error"); len(lines) > 0 {
		t.Errorf("expert errors:\n%s", strings.Join(lines, "\n"))
	}
	const iface = "esp32-log /dev/ttyUSB1"
	msgs := tshark(t, out, "-Y", `frame.interface_name == "`+iface+`"`, "-T", "fields", "-e", "syslog.msg")
	want := []string{
		"I (1234) wifi: connected",
		"W (1300) websocket_client: Connection timed out",
		"Guru Meditation Error: Core  0 panic'ed (LoadProhibited). Exception was unhandled.",
		"Backtrace: 0x400d1234:0x3ffb5f30 0x400d5678:0x3ffb5f50", "Rebooting...",
		"ets Jul 29 2019 12:21:46", "rst:0xc (SW_CPU_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)",
		"E (310) esp-at: AT+ uart init fail",
	}
	if strings.Join(msgs, "\n") != strings.Join(want, "\n") {
		t.Errorf("log lines as tshark shows them:\n%s\nwant:\n%s", strings.Join(msgs, "\n"), strings.Join(want, "\n"))
	}
	// The text is in the packet list too, without any preference.
	if info := strings.Join(tshark(t, out, "-Y", `syslog.level == 3`, "-T", "fields", "-e", "_ws.col.Info"), "\n"); !strings.Contains(info, "E (310) esp-at: AT+ uart init fail") {
		t.Errorf("error line's Info column: %q", info)
	}
	desc := tshark(t, out, "-Y", `frame.interface_name == "`+iface+`"`, "-T", "fields", "-E", "occurrence=f", "-e", "frame.interface_description")
	if len(desc) == 0 || !strings.Contains(desc[0], "log (console) UART") {
		t.Errorf("log interface description %q", desc)
	}
	comments := strings.Join(tshark(t, out, "-Y", "frame.comment", "-T", "fields", "-e", "frame.interface_name", "-e", "frame.comment"), "\n")
	for _, c := range []string{
		iface + "\treset: SW_CPU_RESET (rst:0xc, boot: SPI_FAST_FLASH_BOOT)",
		iface + "\tpanic: LoadProhibited on core 0",
		iface + "\tbacktrace: 0x400d1234 0x400d5678",
		iface + "\twarning websocket_client",
		iface + "\terror esp-at",
		"uart-raw-to_host\tbreak: BREAK to_host on port 1 (1)",
		"uart-raw-to_host\tline_errors: 3 framing errors to_host on port 1",
		"atbridge-events\tbreak: BREAK to_host on port 1 (1)",
		"atbridge-events\tline_errors: 3 framing errors to_host on port 1",
		"atbridge-events\ttrigger: reset on the log UART: SW_CPU_RESET",
	} {
		if !strings.Contains(comments, c) {
			t.Errorf("no packet comment %q in:\n%s", c, comments)
		}
	}
	if rt := tshark(t, out, "-Y", "rtacser.eventtype == 9 || rtacser.eventtype == 7", "-T", "fields", "-e", "rtacser.eventtype"); strings.Join(rt, ",") != "0x09,0x07" {
		t.Errorf("RTAC break and framing events: %q", rt)
	}
	// The log is not AT traffic: the AT interfaces never see it.
	if leak := tshark(t, out, "-Y", `!(frame.interface_name == "`+iface+`") && (frame contains "wifi" || frame contains "Guru")`); len(leak) > 0 {
		t.Errorf("log bytes outside the log interface:\n%s", strings.Join(leak, "\n"))
	}
	if cmds := tshark(t, out, "-Y", "at.cmd && frame.p2p_dir == 0", "-T", "fields", "-e", "at.cmd"); len(cmds) != 2 {
		t.Errorf("AT commands %q, want AT+GMR and AT+WSSEND", cmds)
	}
	// The adapter's facts are in the serial interfaces' comments.
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte("port 1 /dev/ttyUSB0: USB 0403:6001, FTDI FT232R USB UART, serial number A50285BI, driver ftdi_sio, latency timer 16 ms")) {
		t.Error("no adapter facts in the interface comments")
	}
}

// TestExportLogNoRole: a capture whose header does not describe port 2
// still exports port 2 as the log UART, not as AT traffic.
func TestExportLogNoRole(t *testing.T) {
	var buf bytes.Buffer
	w, err := capture.NewWriter(&buf, capture.Header{Tool: "t", Start: exportStart}, &capture.WriterOptions{FlushInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	writeLogSession(t, w)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := capture.NewReader(&buf, nil)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	st, err := capture.Export(t.Context(), r, &out, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := st.Pcap.ByIface["esp32-log port 2"]; n != 8 {
		t.Errorf("%d packets on esp32-log port 2, want 8 lines: %v", n, st.Pcap.ByIface)
	}
}
