package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/formats"
)

// logReportCapture writes a failing session with the ESP32's log UART on
// port 2: warnings and errors from two tags, a panic, its backtrace and
// the reset after it, the AT side's "ready" (split across reads), a
// brownout reset later, and one more reset.
func logReportCapture(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "log.atcap")
	w, err := capture.Create(path, capture.Header{Tool: "atbridge test", Start: goldenStart, MonoBase: 1, Ports: []capture.PortInfo{
		{Name: "pty:/tmp/host", Role: "host"}, {Name: "pty:/tmp/esp", Role: "device"}, {Name: "pty:/tmp/esp-log", Role: "log"},
	}}, &capture.WriterOptions{FlushInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	chunk := func(ms int64, port uint8, s string) {
		dir := formats.ToHost
		if port == capture.PortHost {
			dir = formats.ToDevice
		}
		if err := w.WriteChunk(ms*1e6, port, dir, []byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	chunk(10, 2, "I (310) wifi: wifi driver task: 3ffc1e4c\r\nW (320) wifi: <script>alert(1)</script> pmf ")
	chunk(12, 2, "disabled\r\n")
	chunk(100, 0, "AT+GMR\r\n")
	chunk(110, 1, "AT+GMR\r\nAT version:2.2.0.0\r\n\r\nOK\r\n")
	chunk(200, 2, "\x1b[0;31mE (1200) websocket_client: Connection timed out\x1b[0m\r\nE (1300) websocket_client: Error transport_poll_write\r\n")
	chunk(300, 0, "AT+WSSEND=0,4\r\n")
	chunk(310, 2, "Guru Meditation Error: Core  0 panic'ed (LoadProhibited). Exception was unhandled.\r\n\r\nBacktrace: 0x400d1234:0x3ffb5f30 0x400d5678:0x3ffb5f50\r\n\r\nRebooting...\r\n")
	chunk(320, 2, "ets Jul 29 2019 12:21:46\r\n\r\nrst:0xc (SW_CPU_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)\r\n")
	chunk(890, 1, "\r\nrea")
	chunk(900, 1, "dy\r\n")
	chunk(5000, 2, "Brownout detector was triggered\r\n\r\nets Jul 29 2019 12:21:46\r\n\r\nrst:0xf (BROWNOUT_RST),boot:0x13 (SPI_FAST_FLASH_BOOT)\r\n")
	chunk(9000, 2, "rst:0xc (SW_CPU_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)\r\nW (40) wifi: again")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestReportLog: a capture with a log UART gets a log lane on the
// timeline with each reset and panic marked with its reason, and a
// section counting resets by reason and warnings and errors by tag; the
// board's text never becomes markup.
func TestReportLog(t *testing.T) {
	_, page := writeReport(t, logReportCapture(t))
	for _, want := range []string{
		`<g id="log-lane">`, `>ESP32 log</text>`,
		`class="log-mark log-reset"`, `class="log-mark log-panic"`, `class="log-mark log-brownout"`,
		`>reset: SW_CPU_RESET</text>`, `>panic: LoadProhibited</text>`, `<title>reset: BROWNOUT_RST at 5s: rst:0xf (BROWNOUT_RST),boot:0x13 (SPI_FAST_FLASH_BOOT) (AT UART silent for 4.1s before; no ready after)</title>`,
		// The reset is tied to the AT side: the silence since AT+GMR's reply, then "ready".
		`<td class="mono">reset: SW_CPU_RESET</td><td class="mono">rst:0xc (SW_CPU_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)</td><td>AT UART silent for 210ms before; ready 580ms after</td>`,
		`<title>panic: LoadProhibited at 310ms: Guru Meditation Error: Core  0 panic&#39;ed (LoadProhibited). Exception was unhandled.</title>`,
		`class="log-errors"`, `class="log-warnings"`,
		`<section id="esp32-log">`, `<p>14 lines from the board's log UART.</p>`,
		`<tr><td class="mono">reset: SW_CPU_RESET</td><td>2</td><td class="mono">&#43;0.320000</td><td class="mono">&#43;9.000000</td></tr>`,
		`<tr><td class="mono">reset: BROWNOUT_RST</td><td>1</td>`,
		`<tr><td class="mono">panic: LoadProhibited</td><td>1</td>`,
		`<tr><td class="mono">brownout</td><td>1</td>`,
		`<tr><td class="mono">websocket_client</td><td>2</td><td>0</td><td class="mono">E (1300) websocket_client: Error transport_poll_write</td></tr>`,
		`<tr><td class="mono">wifi</td><td>0</td><td>2</td><td class="mono">W (40) wifi: again</td></tr>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	if strings.Contains(page, "<script>alert") {
		t.Error("log text became markup")
	}
	// Backtraces and info lines are not marks.
	if n := strings.Count(page, `class="log-mark `); n != 5 {
		t.Errorf("%d reset/crash marks, want 5 (panic, 3 resets, brownout)", n)
	}
}

// TestReportNoLog: a capture without a log UART has no log lane or section.
func TestReportNoLog(t *testing.T) {
	t.Chdir("../..")
	_, page := writeReport(t, "testdata/secrets.atcap")
	if strings.Contains(page, `id="log-lane"`) || strings.Contains(page, `id="esp32-log"`) {
		t.Error("a log lane or section with no log UART")
	}
}

// TestReportLogInBrowser opens the log report in headless Chromium: the
// script still finishes, the log lane and its marks are in the rendered
// page with their reasons, and the log section's tables are there.
func TestReportLogInBrowser(t *testing.T) {
	chromiumPath(t)
	out, _ := writeReport(t, logReportCapture(t))
	dom := dumpDOM(t, "file://"+out)
	if !strings.Contains(dom, `data-ready="1"`) {
		t.Fatalf("the script did not finish:\n%.2000s", dom)
	}
	for _, want := range []string{`id="log-lane"`, `class="log-mark log-panic"`, ">panic: LoadProhibited</text>", `id="log-resets"`, `id="log-tags"`, "reset: BROWNOUT_RST"} {
		if !strings.Contains(dom, want) {
			t.Errorf("DOM lacks %q", want)
		}
	}
}
