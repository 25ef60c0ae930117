package port

import (
	"bytes"
	"testing"
)

// The Telnet decoder takes whatever a server or client sends: any bytes,
// cut anywhere. It never panics, never returns more data than it was
// given, and data escaped by appendEscaped comes back whole however the
// stream is split.
func FuzzTelnetDecode(f *testing.F) {
	f.Add([]byte{tnIAC, tnDO, optComPort, 'a', tnIAC, tnIAC, 'b'}, 3)
	f.Add([]byte{tnIAC, tnSB, optComPort, cpServer + cpNotifyModemState, 0x30, tnIAC, tnSE}, 1)
	f.Add([]byte{tnIAC, tnSB, optComPort, tnIAC, tnIAC, tnIAC, 7, tnIAC}, 2)
	f.Add(bytes.Repeat([]byte{tnIAC, tnSB}, 300), 5)
	f.Fuzz(func(t *testing.T, in []byte, split int) {
		var d tnDecoder
		buf := append([]byte(nil), in...)
		if split < 0 || split > len(buf) {
			split = len(buf) / 2
		}
		a, cmds := d.decode(buf[:split], nil)
		na := len(a)
		b, cmds := d.decode(buf[split:], cmds)
		if na+len(b) > len(in) {
			t.Fatalf("%d data bytes from %d", na+len(b), len(in))
		}
		for _, c := range cmds {
			if len(c.sub) > maxSubneg {
				t.Fatalf("sub-negotiation of %d bytes kept", len(c.sub))
			}
		}
		// Round trip: escaped data, split at the same place, is the data.
		esc := appendEscaped(nil, in)
		if split > len(esc) {
			split = len(esc)
		}
		var d2 tnDecoder
		x, _ := d2.decode(append([]byte(nil), esc[:split]...), nil)
		got := append([]byte(nil), x...)
		y, c2 := d2.decode(append([]byte(nil), esc[split:]...), nil)
		got = append(got, y...)
		if !bytes.Equal(got, in) || len(c2) != 0 {
			t.Fatalf("escaped %x decoded to %x with %d commands", in, got, len(c2))
		}
	})
}

// Options negotiation answers once per change of state, so two ends never
// loop, and refuses what it does not want.
func TestTelnetOptionsNoLoop(t *testing.T) {
	o := tnOptions{want: wantOption}
	if got := o.answer(nil, tnDO, optComPort); !bytes.Equal(got, []byte{tnIAC, tnWILL, optComPort}) {
		t.Errorf("DO COM-PORT: %x", got)
	}
	if got := o.answer(nil, tnDO, optComPort); len(got) != 0 {
		t.Errorf("second DO COM-PORT answered again: %x", got)
	}
	if got := o.answer(nil, tnWILL, optEcho); !bytes.Equal(got, []byte{tnIAC, tnDONT, optEcho}) {
		t.Errorf("WILL ECHO: %x, want DONT ECHO (the server would echo our bytes)", got)
	}
}
