package at

import (
	"errors"
	"fmt"
	"testing"

	"github.com/atbridge/atbridge/formats"
)

// TestDeviceAbsent: commands sent while the device was gone end as
// ErrDeviceAbsent at once; the ones after it was back get their results.
func TestDeviceAbsent(t *testing.T) {
	d := NewDecoder(nil)
	var evs []Event
	evs = append(evs, d.Feed(1e6, formats.ToDevice, []byte("AT\r\n"))...)
	evs = append(evs, d.Feed(2e6, formats.ToHost, []byte("AT\r\n\r\nOK\r\n"))...)
	for i := range 3 {
		evs = append(evs, d.Feed(int64(3+i)*1e6, formats.ToDevice, []byte("AT\r\n"))...)
		evs = append(evs, d.DeviceAbsent(int64(3+i)*1e6)...)
	}
	evs = append(evs, d.Feed(10e6, formats.ToDevice, []byte("AT+GMR\r\n"))...)
	evs = append(evs, d.Feed(11e6, formats.ToHost, []byte("AT+GMR\r\nv1\r\nOK\r\n"))...)
	evs = append(evs, d.Flush()...)
	var got []string
	for _, e := range evs {
		if e.Kind != EvTransaction {
			continue
		}
		switch {
		case e.Tx.Result != "":
			got = append(got, e.Name+" "+e.Tx.Result)
		case errors.Is(e.Tx.Err, ErrDeviceAbsent):
			got = append(got, e.Name+" absent")
		default:
			got = append(got, e.Name+" "+e.Tx.Err.Error())
		}
	}
	want := "[AT OK AT absent AT absent AT absent +GMR OK]"
	if g := fmt.Sprint(got); g != want {
		t.Errorf("transactions %s, want %s", g, want)
	}
}
