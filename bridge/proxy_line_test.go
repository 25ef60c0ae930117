package bridge

import (
	"testing"

	"github.com/atbridge/atbridge/bridge/port"
	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/formats"
)

// FuzzUARTWatch: any traffic, cut anywhere, never panics, and switches the
// line to the same settings whole or cut in two.
func FuzzUARTWatch(f *testing.F) {
	f.Add([]byte("AT+UART_CUR=921600,8,1,0,3\r\n"), []byte("AT+UART_CUR=921600,8,1,0,3\r\n\r\nOK\r\n"), 7)
	f.Add([]byte("AT+UART_DEF=9600,7,3,1,0\r\n"), []byte("\r\nERROR\r\n"), 3)
	f.Add([]byte("AT+UART_CUR=1,2,3\r\n"), []byte("OK\r\n"), 1)
	f.Fuzz(func(t *testing.T, toDev, toHost []byte, cut int) {
		if cut < 0 {
			cut = -cut
		}
		cut %= len(toHost) + 1
		var a, b uartWatch
		a.feed(formats.ToDevice, toDev)
		la, _, oka := a.feed(formats.ToHost, toHost)
		b.feed(formats.ToDevice, toDev)
		lb, _, okb := b.feed(formats.ToHost, toHost[:cut])
		if !okb {
			lb, _, okb = b.feed(formats.ToHost, toHost[cut:])
		}
		if oka != okb || la != lb {
			t.Fatalf("whole: %v %v; cut at %d: %v %v", oka, la, cut, okb, lb)
		}
		if oka && port.CheckLine(la) != nil {
			t.Fatalf("switched to invalid settings %v", la)
		}
	})
}

func TestMirrorLines(t *testing.T) {
	for _, tc := range []struct {
		in     capture.ControlLines
		rtscts bool
		want   capture.ControlLines
	}{
		{0, false, 0},
		{capture.LineDSR, false, capture.LineDTR},
		{capture.LineCTS, false, capture.LineRTS},
		{capture.LineCTS | capture.LineDSR | capture.LineDCD, false, capture.LineDTR | capture.LineRTS},
		{capture.LineCTS | capture.LineDSR, true, capture.LineDTR},
		{capture.LineRI, false, 0},
	} {
		if got := mirrorLines(tc.in, tc.rtscts); got != tc.want {
			t.Errorf("mirrorLines(%v, rtscts=%v) = %v, want %v", tc.in, tc.rtscts, got, tc.want)
		}
	}
}

func TestLineEvents(t *testing.T) {
	prev := port.LineCounts{RX: 10, Frame: 1, Break: 2}
	cur := port.LineCounts{RX: 90, TX: 4, Frame: 4, Parity: 1, Overrun: 2, BufOverrun: 5, Break: 3, CTS: 7}
	got := lineEvents(prev, cur)
	want := []capture.Event{
		{Type: capture.EvBreak, Count: 1},
		{Type: capture.EvLineErrors, Text: "framing", Count: 3},
		{Type: capture.EvLineErrors, Text: "parity", Count: 1},
		{Type: capture.EvLineErrors, Text: "overrun", Count: 2},
		{Type: capture.EvLineErrors, Text: "buffer_overrun", Count: 5},
	}
	if len(got) != len(want) {
		t.Fatalf("lineEvents = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("event %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	// Traffic and modem-line counts alone are not line events; counters
	// that went down (the driver started over) give none either.
	if got := lineEvents(prev, port.LineCounts{RX: 500, TX: 20, Frame: 1, Break: 2, DSR: 3}); len(got) != 0 {
		t.Errorf("no new errors: %+v", got)
	}
	if got := lineEvents(cur, port.LineCounts{}); len(got) != 0 {
		t.Errorf("counters reset: %+v", got)
	}
}
