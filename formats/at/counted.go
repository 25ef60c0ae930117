package at

import "bytes"

// This file decodes the device's length-counted replies beyond +WS_DATA and
// +IPD (esp-at-surface.md §9): a header that announces a length, that many
// raw bytes, and for some forms a CRLF. The data may hold anything, CRLF,
// "\r\nOK\r\n" or a "+IPD," included, so it is counted, never line-split.

// countedTail says what follows a counted form's data.
type countedTail uint8

const (
	// tailNone: nothing; the next bytes are the leading CRLF of the
	// command's final result (+CIPRECVDATA, +FS, +SYSFLASH).
	tailNone countedTail = iota
	// tailCRLF: a CRLF not counted in the length, taken when it is there
	// (+MQTTSUBRECV, +HTTPCLIENT and the other HTTP body chunks).
	tailCRLF
	// tailBlank: a CRLF taken only when a second one follows it (the
	// blank line before "\r\nOK\r\n" that the docs render after a
	// +SYSMFG read; the firmware's bytes are unconfirmed).
	tailBlank
)

// countedHeader is a parsed counted header.
type countedHeader struct {
	end      int   // index just past the header (the first data byte)
	n        int64 // data length
	link     int
	topic    [2]int // +MQTTSUBRECV: the topic is b[topic[0]:topic[1]]
	hasTopic bool
}

// countedForm is one length-counted device reply.
type countedForm struct {
	prefix string // "+MQTTSUBRECV:"
	name   string // the event name: prefix without ':'
	// kind is EvURC for messages that are not the running command's
	// response (+MQTTSUBRECV) and for link data (+CIPRECVDATA, which is
	// delivered like +IPD but listed in its command's response); EvInfo
	// for the other responses.
	kind EventKind
	tail countedTail
	// cmd, when set, is the command that must be running, with operation
	// op in parameter 0 or 1 (opIdx): the form's header is ambiguous with
	// the command's other replies (a +FS listing, a +SYSMFG key list).
	cmd   string
	opIdx int
	op    int64
	// header parses the fields after the prefix, starting at b[i].
	header func(d *Decoder, b []byte, i int) (countedHeader, match)
	doc    string
}

// countedForms are the device's length-counted replies, besides +WS_DATA
// and +IPD (data.go).
var countedForms = []countedForm{
	// "+CIPRECVDATA:<actual_len>,[<"remote IP">,<remote port>,]<data>"
	// then "\r\nOK\r\n": header and data in one write, nothing between
	// the data and OK's CRLF (esp-at-surface.md §3.6, disasm).
	{prefix: "+CIPRECVDATA:", name: "+CIPRECVDATA", kind: EvURC, tail: tailNone, header: cipRecvHeader,
		doc: "TCP-IP_AT_Commands.rst AT+CIPRECVDATA"},
	// "+MQTTSUBRECV:<LinkID>,"<topic>",<data_length>,<data>\r\n": the
	// topic is raw, the CRLF not counted (esp-at-surface.md §4.5).
	{prefix: "+MQTTSUBRECV:", name: "+MQTTSUBRECV", kind: EvURC, tail: tailCRLF, header: mqttRecvHeader,
		doc: "MQTT_AT_Commands.rst AT+MQTTSUB"},
	// "+<CMD>:<size>,<data>\r\n" per body chunk; the CRLF is not counted
	// (esp-at-surface.md §5.1; http_at_examples.rst shows the chunks).
	{prefix: "+HTTPCLIENT:", name: "+HTTPCLIENT", kind: EvInfo, tail: tailCRLF, header: lenHeader,
		doc: "HTTP_AT_Commands.rst AT+HTTPCLIENT"},
	{prefix: "+HTTPCGET:", name: "+HTTPCGET", kind: EvInfo, tail: tailCRLF, header: lenHeader,
		doc: "HTTP_AT_Commands.rst AT+HTTPCGET"},
	{prefix: "+HTTPCPOST:", name: "+HTTPCPOST", kind: EvInfo, tail: tailCRLF, header: lenHeader,
		doc: "http_at_examples.rst (AT+HTTPCPOST)"},
	{prefix: "+HTTPCPUT:", name: "+HTTPCPUT", kind: EvInfo, tail: tailCRLF, header: lenHeader,
		doc: "esp-at-surface.md §5.2 (AT+HTTPCPUT as AT+HTTPCPOST)"},
	// AT+FS=<type>,2,<"file">,<offset>,<length>: "+FS:<n>,<data>" then
	// "\r\nOK\r\n" (esp-at-surface.md §6, disasm). A listing ("+FS:a b")
	// or a size ("+FS:<size>") answers other operations.
	{prefix: "+FS:", name: "+FS", kind: EvInfo, tail: tailNone, cmd: "+FS", opIdx: 1, op: 2, header: lenHeader,
		doc: "FS_AT_Commands.rst AT+FS"},
	// AT+SYSFLASH=2,...: "+SYSFLASH:<length>,<data>" then OK.
	{prefix: "+SYSFLASH:", name: "+SYSFLASH", kind: EvInfo, tail: tailNone, cmd: "+SYSFLASH", op: 2, header: lenHeader,
		doc: "Basic_AT_Commands.rst AT+SYSFLASH"},
	// AT+SYSMFG=1,"<ns>","<key>"...: "+SYSMFG:"<ns>","<key>",<type>,
	// <length>,<value>" where types 7 (string) and 8 (binary) carry
	// <length> raw bytes.
	{prefix: "+SYSMFG:", name: "+SYSMFG", kind: EvInfo, tail: tailBlank, cmd: "+SYSMFG", op: 1, header: sysmfgHeader,
		doc: "Basic_AT_Commands.rst AT+SYSMFG; sysmfg_at_examples.rst (master)"},
}

// counted decodes a counted form at b[lead:], which starts with '+'.
// matchNo means no counted form starts there (or its header is malformed):
// the bytes are to be read as a line.
func (d *Decoder) counted(b []byte, lead int) match {
	r := b[lead:]
	for i := range countedForms {
		f := &countedForms[i]
		if len(r) > 1 && r[1] != f.prefix[1] {
			continue
		}
		switch prefixMatch(r, f.prefix) {
		case matchMore:
			return matchMore
		case matchYes:
			return d.countedItem(f, b, lead)
		}
	}
	return matchNo
}

// countedOwner returns the running command when it is the one f requires
// (any running command when f requires none), and whether f applies.
func (d *Decoder) countedOwner(f *countedForm) (*txState, bool) {
	h := d.s.head()
	if f.cmd == "" {
		return h, true
	}
	if h == nil || h.tx.Cmd == nil || h.tx.Cmd.Name != f.cmd || h.tx.Cmd.Type != CmdSet {
		return nil, false
	}
	if op, ok := h.tx.Cmd.Int(f.opIdx); !ok || op != f.op {
		return nil, false
	}
	return h, true
}

func (d *Decoder) countedItem(f *countedForm, b []byte, lead int) match {
	owner, ok := d.countedOwner(f)
	if !ok {
		return matchNo
	}
	// Bound the header: a topic may be long, the other fields are short.
	limit := lead + maxHeader
	if f.name == "+MQTTSUBRECV" {
		limit = lead + d.opts.MaxResponseLine
	}
	hb := b
	truncated := len(hb) > limit
	if truncated {
		hb = hb[:limit]
	}
	h, m := f.header(d, hb, lead+len(f.prefix))
	if m == matchMore && truncated {
		m = matchNo // a header this long is no header
	}
	if m != matchYes {
		return m
	}
	if f.name == "+CIPRECVDATA" {
		h.link = -1
		if owner != nil && owner.tx.Cmd != nil && owner.tx.Cmd.Name == "+CIPRECVDATA" && len(owner.tx.Cmd.Params) >= 2 {
			// AT+CIPRECVDATA=<link_id>,<len> (AT+CIPMUX=1).
			if l, ok := owner.tx.Cmd.Int(0); ok {
				h.link = int(l)
			}
		}
	}
	if h.n > int64(d.opts.MaxData) {
		seq, _ := d.emitBytes(&d.dev, h.end, EvUnparsed, "", h.link, ErrDataTooLong)
		d.countedListed(f, owner, seq)
		return matchYes
	}
	end := h.end + int(h.n)
	total := end
	switch f.tail {
	case tailNone:
		if len(b) < end {
			d.waitDev(end)
			return matchMore
		}
	case tailCRLF:
		if len(b) < end+2 {
			d.waitDev(end + 2)
			return matchMore
		}
		if b[end] == '\r' && b[end+1] == '\n' {
			total = end + 2
		}
	case tailBlank:
		if len(b) < end+4 {
			d.waitDev(end + 4)
			return matchMore
		}
		if string(b[end:end+4]) == "\r\n\r\n" {
			total = end + 2
		}
	}
	seq, e := d.emitBytes(&d.dev, total, f.kind, f.name, h.link, nil)
	e.Line = e.Raw[lead:h.end]
	e.Data = e.Raw[h.end:end]
	if h.hasTopic {
		e.Topic = d.topics.name(e.Raw[h.topic[0]:h.topic[1]])
	}
	d.countedListed(f, owner, seq)
	return matchYes
}

// countedListed lists a counted event (or its rejected header) where it
// belongs: a message on every running command, a response on its owner.
func (d *Decoder) countedListed(f *countedForm, owner *txState, seq int64) {
	if f.name == "+MQTTSUBRECV" {
		d.s.unsolicited(seq)
		return
	}
	respond(owner, seq)
}

// lenHeader parses "<n>," at b[i:].
func lenHeader(_ *Decoder, b []byte, i int) (countedHeader, match) {
	h := countedHeader{link: -1}
	n, j, m := num(b, i)
	if m != matchYes {
		return h, m
	}
	if b[j] != ',' {
		return h, matchNo
	}
	h.end, h.n = j+1, n
	return h, matchYes
}

// cipRecvHeader parses "<len>,", then the remote address when AT+CIPDINFO
// is on: "<"ip">,<port>,". Whether it is on is known from AT+CIPDINFO
// replies; before any (a capture that starts mid-session) the address is
// taken to be there when the bytes after the length read as one (a quoted
// IPv4 or IPv6 address and a port): data that starts that way is the
// guess's only failure.
func cipRecvHeader(d *Decoder, b []byte, i int) (countedHeader, match) {
	h, m := lenHeader(d, b, i)
	if m != matchYes || d.s.cipdinfo == 0 {
		return h, m
	}
	end, m := addrField(b, h.end)
	switch m {
	case matchMore:
		return h, matchMore
	case matchYes:
		h.end = end
	}
	return h, matchYes
}

// addrField parses `"<ip>",<port>,` at b[i:] and returns the index after
// it. matchNo when the bytes are no such address.
func addrField(b []byte, i int) (int, match) {
	if i >= len(b) {
		return 0, matchMore
	}
	if b[i] != '"' {
		return 0, matchNo
	}
	j := i + 1
	for ; j < len(b) && j-i <= 48 && isAddrByte(b[j]); j++ {
	}
	switch {
	case j == len(b):
		return 0, matchMore
	case b[j] != '"' || j == i+1:
		return 0, matchNo
	}
	j++
	if j >= len(b) {
		return 0, matchMore
	}
	if b[j] != ',' {
		return 0, matchNo
	}
	port, k, m := num(b, j+1)
	if m != matchYes {
		return 0, m
	}
	if port > 65535 || b[k] != ',' {
		return 0, matchNo
	}
	return k + 1, matchYes
}

// isAddrByte reports whether c may appear in an IPv4 or IPv6 address as
// the firmware prints it.
func isAddrByte(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' || c == '.' || c == ':' || c == '%'
}

// mqttRecvHeader parses `<LinkID>,"<topic>",<data_length>,`. The topic is
// printed raw, so it may hold quotes and commas: it ends at the first `"`
// followed by ",<digits>,".
func mqttRecvHeader(_ *Decoder, b []byte, i int) (countedHeader, match) {
	h := countedHeader{link: -1}
	link, j, m := num(b, i)
	if m != matchYes {
		return h, m
	}
	if b[j] != ',' || link > 255 {
		return h, matchNo
	}
	j++
	if j >= len(b) {
		return h, matchMore
	}
	if b[j] != '"' {
		return h, matchNo
	}
	start := j + 1
	for k := start; ; {
		q := bytes.IndexByte(b[k:], '"')
		if q < 0 {
			return h, matchMore
		}
		k += q
		if k+1 >= len(b) {
			return h, matchMore
		}
		if b[k+1] == ',' {
			n, e, m := num(b, k+2)
			switch {
			case m == matchMore:
				return h, matchMore
			case m == matchYes && b[e] == ',':
				h.link, h.n, h.end = int(link), n, e+1
				h.topic, h.hasTopic = [2]int{start, k}, true
				return h, matchYes
			}
		}
		k++
	}
}

// sysmfgHeader parses `"<ns>","<key>",<type>,<length>,` for the types whose
// value is raw bytes (7 string, 8 binary); the integer types are lines.
func sysmfgHeader(_ *Decoder, b []byte, i int) (countedHeader, match) {
	h := countedHeader{link: -1}
	for f := 0; f < 2; f++ {
		if i >= len(b) {
			return h, matchMore
		}
		if b[i] != '"' {
			return h, matchNo
		}
		q := bytes.IndexByte(b[i+1:], '"')
		if q < 0 {
			return h, matchMore
		}
		i += q + 2
		if i >= len(b) {
			return h, matchMore
		}
		if b[i] != ',' {
			return h, matchNo
		}
		i++
	}
	typ, j, m := num(b, i)
	if m != matchYes {
		return h, m
	}
	if (typ != 7 && typ != 8) || b[j] != ',' {
		return h, matchNo
	}
	n, j, m := num(b, j+1)
	if m != matchYes {
		return h, m
	}
	if b[j] != ',' {
		return h, matchNo
	}
	h.end, h.n = j+1, n
	return h, matchYes
}
