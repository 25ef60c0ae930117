package esp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// AccessPoint is one network the emulated radio sees (Options.AccessPoints).
type AccessPoint struct {
	SSID     string `json:"ssid"`     // 1..32 bytes
	Password string `json:"password"` // empty for an open AP (ECN 0)
	BSSID    string `json:"bssid"`    // "xx:xx:xx:xx:xx:xx", lower-case once parsed
	Channel  int    `json:"channel"`  // 1..14
	RSSI     int    `json:"rssi"`     // dBm, -100..0
	ECN      int    `json:"ecn"`      // AT+CWLAP's <ecn>: 0 OPEN, 3 WPA2_PSK, ... 15
}

// DefaultAccessPoints is the list an Emulator uses when
// Options.AccessPoints is nil: the AP the Espressif examples join
// ("espressif", password "1234567890"), an open guest network and a weak
// WPA2/WPA3 neighbour.
var DefaultAccessPoints = []AccessPoint{
	{SSID: "espressif", Password: "1234567890", BSSID: fakeBSSID, Channel: 6, RSSI: -45, ECN: 3},
	{SSID: "atbridge-guest", BSSID: "ac:0b:fb:d8:cf:9b", Channel: 1, RSSI: -62, ECN: 0},
	{SSID: "neighbour", Password: "correct horse battery", BSSID: "7c:8b:ca:3e:d7:5b", Channel: 11, RSSI: -81, ECN: 7},
}

// maxAccessPoints bounds a list read by ParseAccessPoints.
const maxAccessPoints = 256

// ParseAccessPoints reads a JSON list of access points, as
// `atbridge emulate --aps FILE` takes it:
//
//	[{"ssid": "home", "password": "secret123", "bssid": "7c:8b:ca:3e:d7:5b",
//	  "channel": 11, "rssi": -55, "ecn": 3},
//	 {"ssid": "cafe"}]
//
// Only ssid is required. A missing ecn is 3 (WPA2_PSK) with a password and
// 0 (OPEN) without; channel defaults to 1, rssi to -50, bssid to a locally
// administered 02:00:00:00:00:NN with NN the AP's position from 1. It
// returns an error naming the first bad entry (by position from 0): unknown
// fields, an SSID outside 1..32 bytes, a password on an open AP or missing
// on a secured one or over 64 bytes, a value out of range, a malformed or
// repeated BSSID, more than 256 APs.
func ParseAccessPoints(data []byte) ([]AccessPoint, error) {
	type entry struct {
		SSID     *string `json:"ssid"`
		Password string  `json:"password"`
		BSSID    string  `json:"bssid"`
		Channel  *int    `json:"channel"`
		RSSI     *int    `json:"rssi"`
		ECN      *int    `json:"ecn"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var list []entry
	if err := dec.Decode(&list); err != nil {
		return nil, fmt.Errorf("access point list: %w", err)
	}
	if dec.More() {
		return nil, errors.New("access point list: data after the JSON list")
	}
	if len(list) > maxAccessPoints {
		return nil, fmt.Errorf("access point list: %d APs, at most %d", len(list), maxAccessPoints)
	}
	out := make([]AccessPoint, 0, len(list))
	seen := map[mac]bool{}
	for i, en := range list {
		bad := func(format string, a ...any) error {
			return fmt.Errorf("access point %d: "+format, append([]any{i}, a...)...)
		}
		if en.SSID == nil || len(*en.SSID) == 0 || len(*en.SSID) > 32 {
			return nil, bad("ssid must be 1..32 bytes")
		}
		ap := AccessPoint{SSID: *en.SSID, Password: en.Password, Channel: 1, RSSI: -50}
		if en.ECN != nil {
			ap.ECN = *en.ECN
		} else if ap.Password != "" {
			ap.ECN = 3
		}
		if ap.ECN < 0 || ap.ECN > 15 {
			return nil, bad("ecn must be 0..15")
		}
		switch {
		case ap.ECN == 0 && ap.Password != "":
			return nil, bad("an open AP (ecn 0) has no password")
		case ap.ECN != 0 && ap.Password == "":
			return nil, bad("a secured AP (ecn %d) needs a password", ap.ECN)
		case len(ap.Password) > 64:
			return nil, bad("password longer than 64 bytes")
		}
		if en.Channel != nil {
			ap.Channel = *en.Channel
		}
		if ap.Channel < 1 || ap.Channel > 14 {
			return nil, bad("channel must be 1..14")
		}
		if en.RSSI != nil {
			ap.RSSI = *en.RSSI
		}
		if ap.RSSI < -100 || ap.RSSI > 0 {
			return nil, bad("rssi must be -100..0 dBm")
		}
		m := mac{0x02, 0, 0, 0, byte((i + 1) >> 8), byte(i + 1)}
		if en.BSSID != "" {
			var ok bool
			if m, ok = parseMAC(en.BSSID); !ok {
				return nil, bad("bssid %q is not xx:xx:xx:xx:xx:xx", en.BSSID)
			}
		}
		if seen[m] {
			return nil, bad("bssid %s is used twice", m)
		}
		seen[m] = true
		ap.BSSID = m.String()
		out = append(out, ap)
	}
	return out, nil
}

// mac is a MAC address; String prints it as the firmware does, "%02x:..."
// (lower-case, esp-at-surface.md §2.1).
type mac [6]byte

func (m mac) String() string {
	return fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5])
}

// parseMAC reads "xx:xx:xx:xx:xx:xx" in either case.
func parseMAC(s string) (mac, bool) {
	var m mac
	parts := strings.Split(s, ":")
	if len(parts) != 6 {
		return m, false
	}
	for i, p := range parts {
		if len(p) != 2 {
			return m, false
		}
		v, err := strconv.ParseUint(p, 16, 8)
		if err != nil {
			return m, false
		}
		m[i] = byte(v)
	}
	return m, true
}

// accessPoints returns the configured list and whether SSIDs outside it
// join (only with the default list).
func (e *Emulator) accessPoints() ([]AccessPoint, bool) {
	if e.opts.AccessPoints == nil {
		return DefaultAccessPoints, true
	}
	return e.opts.AccessPoints, false
}

// lapOptions is AT+CWLAPOPT's state (not saved: esp-at-surface.md §2.4).
type lapOptions struct {
	mask     int64 // print mask, bits 0..10
	rssiMin  int64 // APs below are not listed
	authMask int64 // bit n lists APs with ecn n
}

func defaultLapOptions() lapOptions { return lapOptions{mask: 0x7ff, rssiMin: -100, authMask: 0xffff} }

// cwlapLine builds one +CWLAP:(...) line field by field in print-mask
// order, as LIB-WIFI at_cwlap_response does: the first field without a
// comma, "%s" raw (not escaped). The reserved freq_offset and freqcal_val
// print 0, the ciphers follow from ecn, wifi_protocol is 7 (b/g/n) and wps
// 0 (esp-at-surface.md §10.5; the docs give no values).
func cwlapLine(ap AccessPoint, mask int64) string {
	pair, group := 4, 4 // CCMP for WPA2 and later
	switch ap.ECN {
	case 0:
		pair, group = 0, 0
	case 1:
		pair, group = 1, 1
	case 2:
		pair, group = 3, 3
	case 4:
		pair, group = 5, 3
	}
	fields := []string{
		strconv.Itoa(ap.ECN), `"` + ap.SSID + `"`, strconv.Itoa(ap.RSSI), `"` + ap.BSSID + `"`,
		strconv.Itoa(ap.Channel), "0", "0", strconv.Itoa(pair), strconv.Itoa(group), "7", "0",
	}
	var shown []string
	for i, f := range fields {
		if mask&(1<<i) != 0 {
			shown = append(shown, f)
		}
	}
	return "+CWLAP:(" + strings.Join(shown, ",") + ")\r\n"
}

// scanFilter is what AT+CWLAP=... narrows the scan to.
type scanFilter struct {
	ssid    string
	bssid   string
	channel int64
	bitmap  int64 // 2.4 GHz channel bitmap; 0 means all
}

// scan lists the APs that pass f and AT+CWLAPOPT, strongest first
// (esp-at-surface.md §10.5: sorted whatever CWLAPOPT's first field).
func (c *call) scan(f scanFilter) result {
	c.e.mu.Lock()
	mode, opt := c.e.st.cwmode, c.e.st.lapOpt
	c.e.mu.Unlock()
	if mode != 1 && mode != 3 {
		return c.execFail("AT+CWLAP needs station mode (AT+CWMODE=1 or 3)")
	}
	list, _ := c.e.accessPoints()
	aps := make([]AccessPoint, 0, len(list))
	for _, ap := range list {
		switch {
		case f.ssid != "" && ap.SSID != f.ssid,
			f.bssid != "" && ap.BSSID != f.bssid,
			f.channel != 0 && int64(ap.Channel) != f.channel,
			f.channel == 0 && f.bitmap != 0 && f.bitmap&(1<<ap.Channel) == 0,
			int64(ap.RSSI) < opt.rssiMin,
			opt.authMask&(1<<ap.ECN) == 0:
			continue
		}
		aps = append(aps, ap)
	}
	sort.SliceStable(aps, func(i, j int) bool { return aps[i].RSSI > aps[j].RSSI })
	var b strings.Builder
	for _, ap := range aps {
		b.WriteString(cwlapLine(ap, opt.mask))
	}
	if b.Len() > 0 {
		c.print(b.String())
	}
	return resOK
}

func cmdCWLAPExec(c *call) result { return c.scan(scanFilter{}) }

// cmdCWLAPSet parses
// AT+CWLAP=[<"ssid">][,<"mac">][,<channel>][,<scan_type>][,<scan_time_min>][,<scan_time_max>][,<2ghz_channel_bitmap>]
// (Wi-Fi_AT_Commands.rst AT+CWLAP). The scan type and times are checked
// and otherwise ignored: the emulated scan is instant.
func cmdCWLAPSet(c *call) result {
	p := c.cmd.Params
	if len(p) > 7 {
		return c.paramErr("0x01060000", "AT+CWLAP takes up to 7 parameters")
	}
	var f scanFilter
	if !p[0].Empty {
		if !p[0].Quoted {
			return c.badType(0, "AT+CWLAP ssid must be a quoted string")
		}
		f.ssid = p[0].Value
	}
	if len(p) > 1 && !p[1].Empty {
		if !p[1].Quoted {
			return c.badType(1, "AT+CWLAP mac must be a quoted string")
		}
		m, ok := parseMAC(p[1].Value)
		if !ok {
			return c.badValue(1, "AT+CWLAP mac is not xx:xx:xx:xx:xx:xx")
		}
		f.bssid = m.String()
	}
	var res result
	var ok bool
	if f.channel, res, ok = c.optInt(2, 0, 14, 0, "AT+CWLAP channel"); !ok {
		return res
	}
	if _, res, ok = c.optInt(3, 0, 1, 0, "AT+CWLAP scan_type"); !ok {
		return res
	}
	for i := 4; i <= 5; i++ {
		if _, res, ok = c.optInt(i, 0, 1500, 0, "AT+CWLAP scan time"); !ok {
			return res
		}
	}
	if f.bitmap, res, ok = c.optInt(6, 0, 0x7ffe, 0, "AT+CWLAP channel bitmap"); !ok {
		return res
	}
	return c.scan(f)
}

// cmdCWLAPOPT parses AT+CWLAPOPT=<reserved>,<print mask>[,<rssi filter>][,<authmode mask>].
// The reserved field (once sort_enable) may be empty, 0 or 1.
func cmdCWLAPOPT(c *call) result {
	p := c.cmd.Params
	if len(p) < 2 || len(p) > 4 {
		return c.paramErr("0x01060000", "AT+CWLAPOPT takes 2..4 parameters")
	}
	o := defaultLapOptions()
	var res result
	var ok bool
	if _, res, ok = c.optInt(0, 0, 1, 0, "AT+CWLAPOPT reserved"); !ok {
		return res
	}
	if p[1].Empty {
		return c.badValue(1, "AT+CWLAPOPT print mask is required")
	}
	if o.mask, res, ok = c.optInt(1, 0, 0x7ff, 0x7ff, "AT+CWLAPOPT print mask"); !ok {
		return res
	}
	if o.rssiMin, res, ok = c.optInt(2, -100, 40, -100, "AT+CWLAPOPT rssi filter"); !ok {
		return res
	}
	if o.authMask, res, ok = c.optInt(3, 0, 0xffff, 0xffff, "AT+CWLAPOPT authmode mask"); !ok {
		return res
	}
	c.e.mu.Lock()
	c.e.st.lapOpt = o
	c.e.mu.Unlock()
	return resOK
}
