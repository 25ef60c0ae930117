package pcapng_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/atbridge/atbridge/formats"
	"github.com/atbridge/atbridge/formats/pcapng"
)

// logPorts are a recorder's three ports, the third the ESP32's log UART.
var logPorts = []pcapng.Port{{Name: "host app", Role: "host"}, {Name: "/dev/ttyUSB0", Role: "device", Adapter: "USB 0403:6001, FTDI FT232R USB UART"}, {Name: "/dev/ttyUSB1", Role: "log"}}

// logInput is a board's console output in awkward pieces, with AT traffic
// and line events between them.
func logInput(t *testing.T, x *pcapng.Writer) {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(x.Chunk(1e6, 0, formats.ToDevice, []byte("AT\r\n")))
	must(x.Log(2e6, 2, []byte("I (1234) wifi: conn")))
	must(x.Log(3e6, 2, []byte("ected\r\n\x1b[0;33mW (1300) websocket_client: slow\x1b[0m\r\nrst:0xc (SW_CPU_RESET),bo")))
	must(x.Chunk(4e6, 1, formats.ToHost, []byte("AT\r\n\r\nOK\r\n")))
	must(x.Log(5e6, 2, []byte("ot:0x13 (SPI_FAST_FLASH_BOOT)\r\nGuru Meditation Error: Core  0 panic'ed (LoadProhibited). Exception was unhandled.\r\n")))
	must(x.Event(6e6, pcapng.Event{Kind: pcapng.EvBreak, Name: "break", Port: 1, Dir: formats.ToHost, Count: 1}))
	must(x.Event(7e6, pcapng.Event{Kind: pcapng.EvLineErrors, Name: "line_errors", Port: 2, Dir: formats.ToHost, Text: "overrun", Count: 2}))
	must(x.Log(8e6, 2, []byte("E (9000) app: no newline")))
}

func TestPcapngLog(t *testing.T) {
	var buf bytes.Buffer
	x, err := pcapng.NewWriter(&buf, &pcapng.Options{Start: pcapStart, Ports: logPorts})
	if err != nil {
		t.Fatal(err)
	}
	logInput(t, x)
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := parsePcapng(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	const iface = "esp32-log /dev/ttyUSB1"
	type line struct {
		at            int64
		text, comment string
	}
	want := []line{
		{2e6, "<14>I (1234) wifi: connected", ""},
		{3e6, "<12>W (1300) websocket_client: slow", "warning websocket_client"},
		{3e6, "<13>rst:0xc (SW_CPU_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)", "reset: SW_CPU_RESET (rst:0xc, boot: SPI_FAST_FLASH_BOOT)"},
		{5e6, "<10>Guru Meditation Error: Core  0 panic'ed (LoadProhibited). Exception was unhandled.", "panic: LoadProhibited on core 0"},
		{7e6, "[line_errors: 2 overrun errors to_host on port 2]\n", "line_errors: 2 overrun errors to_host on port 2"},
		{8e6, "<11>E (9000) app: no newline", "error app"},
	}
	got := f.on(iface)
	if len(got) != len(want) {
		t.Fatalf("%d packets on %s, want %d", len(got), iface, len(want))
	}
	for i, p := range got {
		d, err := parsePDU(p.data)
		if err != nil {
			t.Fatal(err)
		}
		w := want[i]
		if string(d.payload) != w.text || p.comment != w.comment || p.ts != uint64(pcapStart.UnixNano())+uint64(w.at) || d.dir != 1 {
			t.Errorf("packet %d: %q %q at %d dir %d, want %q %q at %d", i, d.payload, p.comment, p.ts-uint64(pcapStart.UnixNano()), d.dir, w.text, w.comment, w.at)
		}
		if wd := "syslog"; strings.HasPrefix(w.text, "[") {
			wd = "data-text-lines"
			if d.dissector != wd {
				t.Errorf("packet %d: dissector %q, want %q", i, d.dissector, wd)
			}
		} else if d.dissector != wd {
			t.Errorf("packet %d: dissector %q, want %q", i, d.dissector, wd)
		}
	}
	// Log bytes are not AT traffic: no other interface shows them, and the
	// log port's line errors are not RTAC packets of the AT UART.
	for _, p := range f.pkts {
		if n := f.ifaceName(p); n != iface && (bytes.Contains(p.data, []byte("wifi")) || strings.Contains(p.comment, "overrun") && n != "atbridge-events") {
			t.Errorf("log traffic on %s: %q %q", n, p.data, p.comment)
		}
	}
	if rt := f.on("uart-raw-to_host"); len(rt) != 2 || rt[1].data[8] != 9 || !strings.Contains(rt[1].comment, "BREAK to_host on port 1") {
		t.Errorf("raw to_host: %d packets, want the read and a break: %+v", len(rt), rt)
	}
	for _, ifc := range f.ifaces {
		switch {
		case ifc.name == iface:
			if ifc.link != 252 || !strings.Contains(ifc.desc, "log (console) UART on port 2 /dev/ttyUSB1") {
				t.Errorf("log interface %+v", ifc)
			}
		case strings.HasPrefix(ifc.name, "uart-raw"):
			if ifc.comment != "port 1 /dev/ttyUSB0: USB 0403:6001, FTDI FT232R USB UART" {
				t.Errorf("%s comment %q, want the adapter", ifc.name, ifc.comment)
			}
		}
	}
	if !strings.Contains(f.comment, "esp32-log NAME") {
		t.Errorf("section comment does not explain the log interface: %s", f.comment)
	}
}

// TestPcapngLogViews: the log view alone as classic pcap, and a --link
// export that leaves it out.
func TestPcapngLogViews(t *testing.T) {
	var buf bytes.Buffer
	x, err := pcapng.NewWriter(&buf, &pcapng.Options{Start: pcapStart, Ports: logPorts, Classic: true, Views: pcapng.ViewLog})
	if err != nil {
		t.Fatal(err)
	}
	logInput(t, x)
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	link, pkts, err := parsePcap(buf.Bytes())
	if err != nil || link != 252 || len(pkts) != 6 {
		t.Fatalf("classic log view: link %d, %d packets, %v", link, len(pkts), err)
	}
	if v, err := pcapng.ParseView("log"); err != nil || v != pcapng.ViewLog {
		t.Errorf("ParseView(log) = %v, %v", v, err)
	}
	buf.Reset()
	x, err = pcapng.NewWriter(&buf, &pcapng.Options{Start: pcapStart, Ports: logPorts, Links: []int{0}})
	if err != nil {
		t.Fatal(err)
	}
	logInput(t, x)
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := parsePcapng(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	for _, ifc := range f.ifaces {
		if strings.HasPrefix(ifc.name, "esp32-log") {
			t.Errorf("--link export has %s", ifc.name)
		}
	}
}
