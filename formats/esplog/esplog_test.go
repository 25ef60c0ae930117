package esplog

import (
	"reflect"
	"strings"
	"testing"
)

// bootAndPanic is a log UART's output around a crash, in the formats of
// Espressif's documentation (api-guides/startup, api-reference/system/log,
// api-guides/fatal-errors), with CONFIG_LOG_COLORS on.
const bootAndPanic = "ets Jun  8 2016 00:22:57\r\n" +
	"\r\n" +
	"rst:0x1 (POWERON_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)\r\n" +
	"\x1b[0;32mI (29) boot: ESP-IDF v5.0.1 2nd stage bootloader\x1b[0m\r\n" +
	"\x1b[0;33mW (1234) wifi:Haven't to connect to a suitable AP now!\x1b[0m\r\n" +
	"\x1b[0;31mE (5120) task_wdt: Task watchdog got triggered. The following tasks did not reset the watchdog in time:\x1b[0m\r\n" +
	"I (12:03:59.123) at: time stamp from the system clock\r\n" +
	"Guru Meditation Error: Core  0 panic'ed (LoadProhibited). Exception was unhandled.\r\n" +
	"Core  0 register dump:\r\n" +
	"PC      : 0x400d1234  PS      : 0x00060430  A0      : 0x800d5678  A1      : 0x3ffb5f30\r\n" +
	"Backtrace: 0x400d1234:0x3ffb5f30 0x400d5675:0x3ffb5f50 0x40087f2d:0x3ffb5f70\r\n" +
	"Backtrace: 0x400d1234:0x3ffb5f30 |<-CORRUPTED\r\n" +
	"abort() was called at PC 0x400d2bf3 on core 1\r\n" +
	"assert failed: app_main main.c:10 (x == 1)\r\n" +
	"Brownout detector was triggered\r\n" +
	"Interrupt wdt timeout on CPU1\r\n" +
	"Rebooting...\r\n" +
	"rst:0xc (SW_CPU_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)\r\n"

var want = []Line{
	{Kind: KindText, Text: "ets Jun  8 2016 00:22:57", Stamp: -1},
	{Kind: KindText, Text: "", Stamp: -1},
	{Kind: KindBoot, Text: "rst:0x1 (POWERON_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)", Stamp: -1, ResetCode: 1, Reset: "POWERON_RESET", BootMode: "SPI_FAST_FLASH_BOOT"},
	{Kind: KindLog, Text: "I (29) boot: ESP-IDF v5.0.1 2nd stage bootloader", Level: 'I', Stamp: 29, Tag: "boot", Msg: "ESP-IDF v5.0.1 2nd stage bootloader"},
	{Kind: KindLog, Text: "W (1234) wifi:Haven't to connect to a suitable AP now!", Level: 'W', Stamp: 1234, Tag: "wifi", Msg: "Haven't to connect to a suitable AP now!"},
	{Kind: KindWatchdog, Text: "E (5120) task_wdt: Task watchdog got triggered. The following tasks did not reset the watchdog in time:", Level: 'E', Stamp: 5120, Tag: "task_wdt", Msg: "Task watchdog got triggered. The following tasks did not reset the watchdog in time:"},
	{Kind: KindLog, Text: "I (12:03:59.123) at: time stamp from the system clock", Level: 'I', Stamp: -1, Time: "12:03:59.123", Tag: "at", Msg: "time stamp from the system clock"},
	{Kind: KindPanic, Text: "Guru Meditation Error: Core  0 panic'ed (LoadProhibited). Exception was unhandled.", Stamp: -1, Core: 0, Cause: "LoadProhibited"},
	{Kind: KindText, Text: "Core  0 register dump:", Stamp: -1},
	{Kind: KindText, Text: "PC      : 0x400d1234  PS      : 0x00060430  A0      : 0x800d5678  A1      : 0x3ffb5f30", Stamp: -1},
	{Kind: KindBacktrace, Text: "Backtrace: 0x400d1234:0x3ffb5f30 0x400d5675:0x3ffb5f50 0x40087f2d:0x3ffb5f70", Stamp: -1, PCs: []uint64{0x400d1234, 0x400d5675, 0x40087f2d}},
	{Kind: KindBacktrace, Text: "Backtrace: 0x400d1234:0x3ffb5f30 |<-CORRUPTED", Stamp: -1, PCs: []uint64{0x400d1234}, Corrupted: true},
	{Kind: KindAbort, Text: "abort() was called at PC 0x400d2bf3 on core 1", Stamp: -1, Core: 1, Cause: "abort()", PC: 0x400d2bf3},
	{Kind: KindAbort, Text: "assert failed: app_main main.c:10 (x == 1)", Stamp: -1, Cause: "app_main main.c:10 (x == 1)"},
	{Kind: KindBrownout, Text: "Brownout detector was triggered", Stamp: -1},
	{Kind: KindWatchdog, Text: "Interrupt wdt timeout on CPU1", Stamp: -1, Core: 1},
	{Kind: KindReboot, Text: "Rebooting...", Stamp: -1},
	{Kind: KindBoot, Text: "rst:0xc (SW_CPU_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)", Stamp: -1, ResetCode: 0xc, Reset: "SW_CPU_RESET", BootMode: "SPI_FAST_FLASH_BOOT"},
}

func decodeAll(chunks ...string) []Line {
	var d Decoder
	var out []Line
	for _, c := range chunks {
		out = append(out, d.Feed([]byte(c))...)
	}
	return append(out, d.Flush()...)
}

func TestDecodeDocumentedLines(t *testing.T) {
	got := decodeAll(bootAndPanic)
	if len(got) != len(want) {
		t.Fatalf("%d lines, want %d", len(got), len(want))
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("line %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
}

// TestDecodeEverySplit: the lines do not depend on how reads fell.
func TestDecodeEverySplit(t *testing.T) {
	whole := decodeAll(bootAndPanic)
	for i := 0; i <= len(bootAndPanic); i++ {
		if got := decodeAll(bootAndPanic[:i], bootAndPanic[i:]); !reflect.DeepEqual(got, whole) {
			t.Fatalf("split at %d: %d lines differ from the whole", i, len(got))
		}
	}
}

func TestDecodeLongLine(t *testing.T) {
	got := decodeAll(strings.Repeat("x", 2*MaxLine+10) + "\nI (1) t: m\n")
	if len(got) != 4 || !got[0].Cut || !got[1].Cut || got[2].Text != strings.Repeat("x", 10) || got[3].Kind != KindLog {
		t.Fatalf("got %d lines: %+v", len(got), got)
	}
}

func TestKindString(t *testing.T) {
	if KindPanic.String() != "panic" || Kind(99).String() != "kind(99)" {
		t.Fatal(KindPanic.String(), Kind(99).String())
	}
}

// FuzzDecoder: any bytes, cut anywhere, decode without panicking, to the
// same lines as uncut, each within MaxLine.
func FuzzDecoder(f *testing.F) {
	f.Add([]byte(bootAndPanic), uint16(7))
	f.Add([]byte("\x1b[0;31mE (1) x: \x1b["), uint16(3))
	f.Add([]byte("Backtrace: 0xzz:0x1 0x1:"), uint16(0))
	f.Fuzz(func(t *testing.T, in []byte, cut uint16) {
		c := int(cut) % (len(in) + 1)
		a := decodeAll(string(in))
		b := decodeAll(string(in[:c]), string(in[c:]))
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("cut at %d changes the lines", c)
		}
		for _, l := range a {
			if len(l.Text) > MaxLine {
				t.Fatalf("a line of %d bytes", len(l.Text))
			}
		}
	})
}
