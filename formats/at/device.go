package at

import "bytes"

// This file decodes the device side (ToHost): echo, results, the prompt,
// response lines, unsolicited messages and the binary data of +WS_DATA and
// +IPD (esp-at.md §1, §3, §6.1).

func (d *Decoder) runDev() {
	if w := &d.devWait; w.need > 0 {
		if !d.s.passthrough && d.dev.base == w.base && d.dev.end() < w.need {
			return
		}
		w.need = 0
	}
	for len(d.dev.pending()) > 0 {
		if d.s.passthrough {
			// Passthrough data is grouped by chunk runs (closeRuns).
			if len(d.dev.pending()) >= d.opts.MaxData {
				d.emitBytes(&d.dev, d.opts.MaxData, EvPayload, "passthrough", -1, nil)
				continue
			}
			return
		}
		if !d.devToken() {
			return
		}
	}
}

// devWait says that the device item pending at stream offset base is
// complete only once the stream reaches offset need (0: unknown), so that
// the chunks of a long +WS_DATA are not parsed again one by one.
type devWait struct{ base, need int64 }

// waitDev notes that the pending device item needs n pending bytes. Only
// the device's bytes decide that: host bytes, which can change how device
// bytes read (echo, a prompt), cancel the note (Decoder.feed).
func (d *Decoder) waitDev(n int) {
	d.devWait = devWait{base: d.dev.base, need: d.dev.base + int64(n)}
}

// devToken decodes the next device item if it is complete.
func (d *Decoder) devToken() bool {
	b := d.dev.pending()
	if q := d.s.echoQ; len(q) > 0 && b[0] == q[0] {
		k, lineEnd := echoMatch(b, q)
		switch {
		case lineEnd:
			// A whole typed line came back: echo is on whatever we thought.
			d.s.echoOn = true
			d.echo(k)
			return true
		case k == len(q):
			// Everything typed so far came back.
			if d.s.echoOn {
				d.echo(k)
				return true
			}
		case k < len(b):
			// Part of the typed bytes came back, then something else: an
			// echo cut by a message only if that is where one starts (a
			// device line like "AT version:" also starts like a command).
			if d.s.echoOn {
				switch startsItem(b[k:]) {
				case matchYes:
					d.echo(k)
					return true
				case matchMore:
					return false
				}
			}
		default:
			return false // the device bytes so far match: wait for more
		}
	}
	return d.devLine(b)
}

// echoMatch returns how many bytes of b match the typed bytes q, stopping
// after the first CRLF, and whether it stopped there.
func echoMatch(b, q []byte) (int, bool) {
	i := 0
	for i < len(b) && i < len(q) && b[i] == q[i] {
		if b[i] == '\n' && i > 0 && b[i-1] == '\r' {
			return i + 1, true
		}
		i++
	}
	return i, false
}

type match uint8

const (
	matchNo match = iota
	matchYes
	matchMore
)

// itemStarts are the starts of device items that may cut an echo.
var itemStarts = []string{"\r\n", "+", "WIFI ", "CONNECT", "CLOSED", "ERR CODE:", "ready"}

// startsItem reports whether b starts like a device item other than echo.
func startsItem(b []byte) match {
	if len(b) >= 1 && b[0] >= '0' && b[0] <= '9' {
		// <link>,CONNECT / <link>,CLOSED
		if len(b) < 3 {
			return matchMore
		}
		if b[1] == ',' && b[2] == 'C' {
			return matchYes
		}
		return matchNo
	}
	more := false
	for _, s := range itemStarts {
		switch prefixMatch(b, s) {
		case matchYes:
			return matchYes
		case matchMore:
			more = true
		}
	}
	if more {
		return matchMore
	}
	return matchNo
}

// prefixMatch reports whether b starts with s, or could once more bytes come.
func prefixMatch(b []byte, s string) match {
	if len(b) >= len(s) {
		if string(b[:len(s)]) == s {
			return matchYes
		}
		return matchNo
	}
	if string(b) == s[:len(b)] {
		return matchMore
	}
	return matchNo
}

// echo emits the next k device bytes as echo of typed bytes.
func (d *Decoder) echo(k int) {
	s := &d.s
	start := s.echoBase
	seq, e := d.emitBytes(&d.dev, k, EvEcho, "", -1, nil)
	if bytes.HasSuffix(e.Raw, crlf) {
		e.Line = e.Raw[:len(e.Raw)-2]
	}
	var owner *txState
	for _, ts := range s.pending {
		if ts.echoEnd > start {
			owner = ts
			break
		}
	}
	if owner != nil {
		e.Name = cmdName(owner.tx.Cmd)
		e.Link = owner.link
	}
	respond(owner, seq)
	s.dropEcho(start + int64(k))
}

// cmdName returns the event name of a command: its Name, "AT" for the bare
// AT, "" when it did not parse.
func cmdName(c *Command) string {
	if c == nil {
		return ""
	}
	if c.Name == "" {
		return "AT"
	}
	return c.Name
}

// devLine decodes a line-shaped item: an optional leading CRLF, then a
// prompt, +WS_DATA, +IPD, a length-counted reply (counted.go), or a line
// up to CRLF.
func (d *Decoder) devLine(b []byte) bool {
	lead := 0
	if b[0] == '\r' {
		if len(b) < 2 {
			return false
		}
		if b[1] == '\n' {
			lead = 2
		}
	}
	if lead == 2 {
		if len(b) < 3 {
			return false
		}
		switch b[2] {
		case '>':
			d.prompt(3)
			return true
		case '\r':
			if len(b) < 4 {
				return false
			}
			if b[3] == '\n' {
				d.emitBytes(&d.dev, 2, EvUnparsed, "", -1, ErrUnrecognized) // a stray blank line
				return true
			}
		}
	} else if b[0] == '>' && d.h.mode == hostAwait {
		d.prompt(1)
		return true
	}
	r := b[lead:]
	switch prefixMatch(r, "+WS_DATA:") {
	case matchMore:
		return false
	case matchYes:
		if st := d.wsData(b, lead); st != matchNo {
			return st == matchYes
		}
	}
	switch prefixMatch(r, "+IPD,") {
	case matchMore:
		return false
	case matchYes:
		if st := d.ipd(b, lead); st != matchNo {
			return st == matchYes
		}
	}
	if len(r) > 0 && r[0] == '+' {
		if st := d.counted(b, lead); st != matchNo {
			return st == matchYes
		}
	}
	limit := d.opts.MaxResponseLine
	win := b
	if len(win) > limit {
		win = win[:limit]
	}
	i := bytes.Index(win[lead:], crlf)
	if i < 0 {
		if len(b) >= limit {
			d.emitBytes(&d.dev, limit, EvUnparsed, "", -1, ErrLineTooLong)
			return true
		}
		return false
	}
	d.devLineDone(lead, lead+i+2)
	return true
}

// prompt emits the ">" prompt covering the next n device bytes.
func (d *Decoder) prompt(n int) {
	seq, e := d.emitBytes(&d.dev, n, EvPrompt, ">", -1, nil)
	if w := d.h.wait; w != nil && d.h.mode == hostAwait {
		e.Name = cmdName(w.tx.Cmd)
		e.Link = w.link
	}
	d.prompted(seq)
}

// Device lines by exact text; each maps to itself, so that names come from
// here and classifying a line allocates nothing.
var (
	// Final results: the core's (esp-at.md §1.1), "SET OK" (AT+HTTPURLCFG),
	// "SEND CANCELLED" (AT+CIPSENDL) and "+MQTTPUB:OK"/"+MQTTPUB:FAIL"
	// (AT+MQTTPUBRAW, which prints no OK after them); see payloadCommands.
	resultLines = names("OK", "ERROR", "SEND OK", "SEND FAIL", "busy p...", "SEND Canceled",
		"SET OK", "SEND CANCELLED", "+MQTTPUB:OK", "+MQTTPUB:FAIL")
	urcLines = names("ready", "+QUITT", "+TIME_UPDATED", "CONNECT", "CLOSED",
		"WIFI CONNECTED", "WIFI GOT IP", "WIFI DISCONNECT", "WIFI GOT IPv6 LL", "WIFI GOT IPv6 GL")
	infoLines = names("Will force to restart!!!", "ALREADY CONNECTED", "NO CERT FOUND", "NO PRVT_KEY FOUND", "NO CA FOUND")
	linkURCs  = names("CONNECT", "CLOSED", "CONNECT FAIL") // after "<link>,"
	// URCs "<name><link>" with a WebSocket link id.
	wsURCs = []string{"+WS_CONNECTED:", "+WS_DISCONNECTED:", "+WS_CLOSED:"}
	// URCs by prefix (Wi-Fi softAP and AT+SYSMSG forms).
	urcPrefixes = []string{"+LINK_CONN:", "+STA_CONNECTED:", "+STA_DISCONNECTED:", "+DIST_STA_IP:"}
	// MQTT URCs by prefix, when no command is running (classify).
	mqttLinkURCs = []string{"+MQTTCONNECTED:", "+MQTTDISCONNECTED:"}
)

func names(l ...string) map[string]string {
	m := make(map[string]string, len(l))
	for _, s := range l {
		m[s] = s
	}
	return m
}

// devLineDone emits the device line b[:n] (lead bytes of leading CRLF, then
// the text, then CRLF) and acts on it.
func (d *Decoder) devLineDone(lead, n int) {
	b := d.dev.pending()
	text := b[lead : n-2]
	kind, name, link := d.classify(text)
	var err error
	if kind == EvUnparsed {
		err = ErrUnrecognized
		if isNoise(text) {
			// Line noise (a boot log at another baud rate) is no line of
			// the firmware's: its CRLF may start the next item, as in
			// "\xfe\x00\r\nready\r\n".
			d.emitBytes(&d.dev, n-2, kind, "", -1, err)
			return
		}
	}
	seq, e := d.emitBytes(&d.dev, n, kind, name, link, err)
	e.Line = e.Raw[lead : n-2]
	t := e.Time
	s := &d.s
	switch kind {
	case EvResult:
		d.result(name, seq, t)
	case EvInfo:
		owner := s.head()
		if name == "Will force to restart!!!" {
			s.restarting = true
			if ts := s.pendingNamed("+RST"); ts != nil {
				owner = ts
			}
		}
		respond(owner, seq)
	case EvURC:
		s.unsolicited(seq)
		switch name {
		case "ready":
			d.restart(t)
		case "+WS_CONNECTED":
			d.setLink(link, LinkConnected, t)
		case "+WS_DISCONNECTED":
			if s.links[link] != LinkConnecting {
				d.setLink(link, LinkReconnecting, t)
			}
		case "+WS_CLOSED":
			d.setLink(link, LinkClosed, t)
		}
	}
}

// classify names a device line.
func (d *Decoder) classify(text []byte) (EventKind, string, int) {
	// The commonest lines first, without hashing.
	switch string(text) {
	case "OK":
		return EvResult, "OK", -1
	case "SEND OK":
		return EvResult, "SEND OK", -1
	}
	if n, ok := resultLines[string(text)]; ok {
		return EvResult, n, -1
	}
	if n, ok := urcLines[string(text)]; ok {
		return EvURC, n, -1
	}
	if n, ok := infoLines[string(text)]; ok {
		return EvInfo, n, -1
	}
	switch {
	case bytes.HasPrefix(text, []byte("ERR CODE:0x")):
		return EvInfo, "ERR CODE", -1
	case bytes.HasPrefix(text, []byte("Recv ")) && bytes.HasSuffix(text, []byte(" bytes")):
		return EvInfo, "Recv", -1
	}
	if len(text) > 0 && text[0] == '+' {
		for _, p := range wsURCs {
			if bytes.HasPrefix(text, []byte(p)) {
				if l, ok := smallInt(text[len(p):]); ok && l <= 2 {
					return EvURC, p[:len(p)-1], l
				}
				return EvUnparsed, "", -1
			}
		}
		for _, p := range urcPrefixes {
			if bytes.HasPrefix(text, []byte(p)) {
				return EvURC, p[:len(p)-1], -1
			}
		}
	}
	if i := bytes.IndexByte(text, ','); i > 0 {
		if l, ok := smallInt(text[:i]); ok {
			if n, ok := linkURCs[string(text[i+1:])]; ok {
				return EvURC, n, l
			}
		}
	}
	if bytes.HasPrefix(text, []byte("+WS_")) || bytes.HasPrefix(text, []byte("+IPD")) || bytes.HasPrefix(text, []byte("+MQTTSUBRECV")) || hasControl(text) {
		return EvUnparsed, "", -1
	}
	h := d.s.head()
	if h == nil {
		// The MQTT link's URCs outside a command (a drop, a reconnect,
		// AT+CWQAP); during AT+MQTTCONN they are its response lines.
		for _, p := range mqttLinkURCs {
			if bytes.HasPrefix(text, []byte(p)) {
				return EvURC, p[:len(p)-1], -1
			}
		}
		return EvUnparsed, "", -1
	}
	if len(text) > 0 && text[0] == '+' {
		if i := bytes.IndexByte(text, ':'); i > 1 {
			return EvInfo, d.names.name(text[:i]), -1
		}
	}
	return EvInfo, cmdName(h.tx.Cmd), -1
}

// smallInt parses 1..5 decimal digits making up all of s.
func smallInt(s []byte) (int, bool) {
	if len(s) == 0 || len(s) > 5 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}

// isNoise reports whether s holds bytes the firmware does not print in
// lines: control bytes other than tab, DEL, or bytes above 0x7f.
func isNoise(s []byte) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 && c != '\t' || c >= 0x7f {
			return true
		}
	}
	return false
}

func hasControl(s []byte) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 && c != '\t' || c == 0x7f {
			return true
		}
	}
	return false
}

// flushDev reports pending device bytes at the end of the input.
func (d *Decoder) flushDev() {
	b := d.dev.pending()
	if len(b) == 0 {
		return
	}
	if d.s.passthrough {
		d.emitBytes(&d.dev, len(b), EvPayload, "passthrough", -1, nil)
		return
	}
	if q := d.s.echoQ; d.s.echoOn && len(q) >= len(b) && bytes.Equal(q[:len(b)], b) {
		d.echo(len(b))
		return
	}
	d.emitBytes(&d.dev, len(b), EvUnparsed, "", -1, ErrTruncated)
}
