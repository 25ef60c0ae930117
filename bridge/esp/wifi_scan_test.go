package esp

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseAccessPoints(t *testing.T) {
	got, err := ParseAccessPoints([]byte(`[
		{"ssid": "home", "password": "secret123", "bssid": "7C:8B:CA:3E:D7:5B", "channel": 11, "rssi": -55, "ecn": 4},
		{"ssid": "cafe"},
		{"ssid": "lab", "password": "labpass99"}
	]`))
	if err != nil {
		t.Fatal(err)
	}
	want := []AccessPoint{
		{SSID: "home", Password: "secret123", BSSID: "7c:8b:ca:3e:d7:5b", Channel: 11, RSSI: -55, ECN: 4},
		{SSID: "cafe", BSSID: "02:00:00:00:00:02", Channel: 1, RSSI: -50, ECN: 0},
		{SSID: "lab", Password: "labpass99", BSSID: "02:00:00:00:00:03", Channel: 1, RSSI: -50, ECN: 3},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	if got, err := ParseAccessPoints([]byte(`[]`)); err != nil || got == nil || len(got) != 0 {
		t.Errorf("empty list: %v, %v (want an empty, non-nil list: no AP at all)", got, err)
	}
	for _, bad := range []struct{ in, msg string }{
		{`{"ssid":"x"}`, "access point list"},
		{`[{"ssid":""}]`, "access point 0: ssid"},
		{`[{"password":"abcdefgh"}]`, "access point 0: ssid"},
		{`[{"ssid":"` + strings.Repeat("s", 33) + `"}]`, "ssid must be 1..32"},
		{`[{"ssid":"x","ecn":0,"password":"p"}]`, "open AP"},
		{`[{"ssid":"x","ecn":3}]`, "needs a password"},
		{`[{"ssid":"x","password":"` + strings.Repeat("p", 65) + `"}]`, "longer than 64"},
		{`[{"ssid":"x","ecn":16,"password":"p"}]`, "ecn must be"},
		{`[{"ssid":"x","channel":0}]`, "channel"},
		{`[{"ssid":"x","rssi":1}]`, "rssi"},
		{`[{"ssid":"x","bssid":"zz:00:00:00:00:00"}]`, "bssid"},
		{`[{"ssid":"x","bssid":"02:00:00:00:00:02"},{"ssid":"y"}]`, "access point 1: bssid 02:00:00:00:00:02 is used twice"},
		{`[{"ssid":"x","colour":"red"}]`, "unknown field"},
		{`[] []`, "data after"},
		{`[` + strings.Repeat(`{"ssid":"x"},`, 256) + `{"ssid":"x"}]`, "at most 256"},
	} {
		_, err := ParseAccessPoints([]byte(bad.in))
		if err == nil || !strings.Contains(err.Error(), bad.msg) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%.40s: error %v, want one line containing %q", bad.in, err, bad.msg)
		}
	}
}

// FuzzParseAccessPoints: any input gives a list or an error, never a
// panic, and every AP accepted prints as a +CWLAP line and reparses.
func FuzzParseAccessPoints(f *testing.F) {
	f.Add([]byte(`[{"ssid":"home","password":"secret123","bssid":"7c:8b:ca:3e:d7:5b","channel":11,"rssi":-55,"ecn":3}]`))
	f.Add([]byte(`[{"ssid":"cafe"},{"ssid":"x","ecn":0}]`))
	f.Add([]byte(`[{"ssid":1}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		aps, err := ParseAccessPoints(data)
		if err != nil {
			return
		}
		for _, ap := range aps {
			line := cwlapLine(ap, 0x7ff)
			if !strings.HasPrefix(line, "+CWLAP:(") || !strings.HasSuffix(line, ")\r\n") {
				t.Fatalf("bad line %q", line)
			}
			if _, ok := parseMAC(ap.BSSID); !ok {
				t.Fatalf("bssid %q does not reparse", ap.BSSID)
			}
		}
	})
}
