package at

// This file is the one place that says which commands take raw data after
// the device's ">" prompt: how long the data is, how it ends, and what the
// device prints around it.

import "strconv"

// payloadEnd says how a payload typed after ">" ends.
type payloadEnd uint8

const (
	// endLength: after exactly the announced number of bytes.
	endLength payloadEnd = iota
	// endBackslash0: after the announced number of bytes, or earlier at
	// the first two-byte string `\0` (0x5c 0x30) that is not escaped
	// (AT+CIPSENDEX).
	endBackslash0
)

// payloadSpec describes a set command that makes the device read raw bytes
// after printing ">" (esp-at.md §1.4).
type payloadSpec struct {
	name string
	// length returns the announced payload length, and false when this
	// form of the command takes no payload (another operation, a type
	// that is not data, a length the firmware does not prompt for).
	length func(c *Command) (int64, bool)
	// link returns the link the command addresses (-1 for none); nil means
	// none.
	link func(c *Command) int
	end  payloadEnd
	// okFirst: the device prints "\r\nOK\r\n\r\n>"; otherwise "\r\n>" or
	// ">" alone. The decoder accepts both either way; this is what the
	// docs show, for the emulator and the tests.
	okFirst bool
	// results are the final results the device prints after the data,
	// success first; ERROR is always possible and not listed.
	results []string
	// info is a response line the device prints after the data before the
	// result ("Recv 5 bytes", "+CIPSENDL:..."), if any.
	info string
	// doc is where the facts come from: esp-at's docs/en/AT_Command_Set
	// file (or esp-at.md for the WebSocket commands, which were read from
	// the firmware).
	doc string
}

// payloadCommands is every ESP-AT command known to prompt for data. A
// command that is not here is never given a payload: the host's next bytes
// are command lines.
var payloadCommands = []payloadSpec{
	// WebSocket (esp-at.md §2.2, §2.4). Release firmware prompts even for
	// AT+WSSEND=<id>,0 (§2.4 point 5); master sends an empty frame at
	// once. The decoder takes the prompt when it comes.
	{name: "+WSSEND", length: wsSendLength, link: wsLinkParam, okFirst: true, results: []string{"SEND OK"},
		doc: "esp-at.md §2.4 (LIB-WS disasm)"},
	{name: "+WSHEAD", length: paramOnly(0, 1), okFirst: true, results: []string{"OK"},
		doc: "esp-at.md §2.2 (LIB-WS disasm)"},

	// TCP/IP. [<link>,]<len>[,"host",port]: the length is second when
	// the second field is an unquoted number. AT+CIPSEND in passthrough
	// mode (exec form, AT+CIPMODE=1) is handled apart: it has no length.
	// "+++" typed alone cancels the data entry of the normal-mode sends
	// (SEND Canceled; SEND CANCELLED for AT+CIPSENDL), esp-at.md §1.5.
	{name: "+CIPSEND", length: cipLength, link: cipLink, okFirst: true, results: []string{"SEND OK", "SEND FAIL", "SEND Canceled"},
		info: "Recv <n> bytes", doc: "TCP-IP_AT_Commands.rst AT+CIPSEND; esp-at.md §1.5"},
	// AT+CIPSENDEX ends at <length> or at the string `\0`; `\\0` types a
	// literal `\0` and `\<any>` a literal <any> (the firmware drops the
	// backslash). The length counts the bytes as typed: the docs do not
	// say, and that is what a byte-counting receive loop does.
	{name: "+CIPSENDEX", length: cipLength, link: cipLink, end: endBackslash0, okFirst: true, results: []string{"SEND OK", "SEND FAIL"},
		doc: "TCP-IP_AT_Commands.rst AT+CIPSENDEX"},
	// AT+CIPSENDL streams while it reads (reports +CIPSENDL:<sent>,<recv>
	// as AT+CIPSENDLCFG says), length up to 2^31-1.
	{name: "+CIPSENDL", length: cipLength, link: cipLink, okFirst: true, results: []string{"SEND OK", "SEND FAIL", "SEND CANCELLED"},
		info: "+CIPSENDL:<had sent len>,<port recv len>", doc: "TCP-IP_AT_Commands.rst AT+CIPSENDL"},

	// HTTP.
	{name: "+HTTPCPOST", length: paramOnly(1, 0), okFirst: true, results: []string{"SEND OK", "SEND FAIL"},
		doc: "HTTP_AT_Commands.rst AT+HTTPCPOST"},
	{name: "+HTTPCPUT", length: paramOnly(1, 0), okFirst: true, results: []string{"SEND OK", "SEND FAIL"},
		doc: "HTTP_AT_Commands.rst AT+HTTPCPUT"},
	// <url length> 0 clears the URL (OK, no prompt); 8..8192 prompts and
	// ends with SET OK, the only command that prints it.
	{name: "+HTTPURLCFG", length: paramOnly(0, 1), okFirst: true, results: []string{"SET OK"},
		doc: "HTTP_AT_Commands.rst AT+HTTPURLCFG"},
	// <req_header_len> 0 clears the headers (OK, no prompt).
	{name: "+HTTPCHEAD", length: paramOnly(0, 1), okFirst: true, results: []string{"OK"},
		doc: "HTTP_AT_Commands.rst AT+HTTPCHEAD"},

	// MQTT: <LinkID>,<length>, length 1..1024.
	{name: "+MQTTLONGCLIENTID", length: paramOnly(1, 1), okFirst: true, results: []string{"OK"},
		doc: "MQTT_AT_Commands.rst AT+MQTTLONGCLIENTID"},
	{name: "+MQTTLONGUSERNAME", length: paramOnly(1, 1), okFirst: true, results: []string{"OK"},
		doc: "MQTT_AT_Commands.rst AT+MQTTLONGUSERNAME"},
	{name: "+MQTTLONGPASSWORD", length: paramOnly(1, 1), okFirst: true, results: []string{"OK"},
		doc: "MQTT_AT_Commands.rst AT+MQTTLONGPASSWORD"},
	// <LinkID>,<"topic">,<length>,<qos>,<retain>; the result is a line of
	// its own, with no OK after it.
	{name: "+MQTTPUBRAW", length: paramOnly(2, 1), okFirst: true, results: []string{"+MQTTPUB:OK", "+MQTTPUB:FAIL"},
		doc: "MQTT_AT_Commands.rst AT+MQTTPUBRAW"},

	// System.
	// AT+SYSMFG=2,<"namespace">,<"key">,<type>,<value>: for type 7
	// (string) and 8 (binary) <value> is the length; types 1..6 carry
	// the value itself.
	{name: "+SYSMFG", length: sysmfgLength, okFirst: true, results: []string{"OK"},
		doc: "Basic_AT_Commands.rst AT+SYSMFG (write a key-value pair)"},
	// AT+SYSFLASH=1,<"partition">,<offset>,<length>: "the system returns
	// > after a line break", no OK before it. The length may be hex (the
	// doc's example is AT+SYSFLASH=1,"mfg_nvs",0,0x1C000).
	{name: "+SYSFLASH", length: sysflashLength, results: []string{"OK"},
		doc: "Basic_AT_Commands.rst AT+SYSFLASH"},
	// AT+SYSMSGFILTERCFG=<operator 1 add|2 delete>,<head_regexp_len>,
	// <tail_regexp_len>: both expressions typed back to back.
	{name: "+SYSMSGFILTERCFG", length: msgFilterLength, okFirst: true, results: []string{"OK"},
		doc: "Basic_AT_Commands.rst AT+SYSMSGFILTERCFG"},
	// AT+FS=<type>,<operation 1 write>,<"filename">,<offset>,<length>.
	{name: "+FS", length: opLength(1, 1, 4), results: []string{"OK"},
		doc: "FS_AT_Commands.rst AT+FS"},

	// Bluetooth LE: ">" alone, then OK once the data is written.
	{name: "+BLEGATTSNTFY", length: paramOnly(3, 1), results: []string{"OK"},
		doc: "BLE_AT_Commands.rst AT+BLEGATTSNTFY"},
	{name: "+BLEGATTSIND", length: paramOnly(3, 1), results: []string{"OK"},
		doc: "BLE_AT_Commands.rst AT+BLEGATTSIND"},
	// <srv_index>,<char_index>[,<desc_index>],<length>
	{name: "+BLEGATTSSETATTR", length: lastParam(3, 4), results: []string{"OK"},
		doc: "BLE_AT_Commands.rst AT+BLEGATTSSETATTR"},
	// <conn_index>,<srv_index>,<char_index>[,<desc_index>],<length>
	{name: "+BLEGATTCWR", length: lastParam(4, 5), results: []string{"OK"},
		doc: "BLE_AT_Commands.rst AT+BLEGATTCWR"},
}

// payloadByName indexes payloadCommands.
var payloadByName = func() map[string]*payloadSpec {
	m := make(map[string]*payloadSpec, len(payloadCommands))
	for i := range payloadCommands {
		m[payloadCommands[i].name] = &payloadCommands[i]
	}
	return m
}()

// maxAnnounced bounds an announced length; larger values are taken as
// typing errors (the firmware's largest, AT+CIPSENDL's, is 2^31-1).
const maxAnnounced = 1<<31 - 1

// AnnouncedPayload reports whether the set command c makes the device
// prompt with ">" for raw data, and how many bytes the host then types (at
// most: AT+CIPSENDEX may end early at `\0`). It knows every command in the
// decoder's table (AT+WSSEND, AT+WSHEAD, AT+CIPSEND, AT+CIPSENDEX,
// AT+CIPSENDL, AT+HTTPCPOST, AT+HTTPCPUT, AT+HTTPURLCFG, AT+HTTPCHEAD,
// AT+MQTTLONGCLIENTID, AT+MQTTLONGUSERNAME, AT+MQTTLONGPASSWORD,
// AT+MQTTPUBRAW, AT+SYSMFG, AT+SYSFLASH, AT+SYSMSGFILTERCFG, AT+FS and the
// Bluetooth LE data writes). AT+CIPSEND in passthrough mode, which has no
// length, is not reported. A length of 0 is reported only for AT+WSSEND,
// which release firmware prompts for anyway.
func AnnouncedPayload(c *Command) (int64, bool) {
	sp := payloadSpecOf(c)
	if sp == nil {
		return 0, false
	}
	return sp.length(c)
}

func payloadSpecOf(c *Command) *payloadSpec {
	if c == nil || c.Type != CmdSet {
		return nil
	}
	return payloadByName[c.Name]
}

// paramOnly reads the length from parameter i; lengths below min take no
// payload.
func paramOnly(i int, min int64) func(*Command) (int64, bool) {
	return func(c *Command) (int64, bool) { return lengthAt(c, i, min) }
}

// lengthAt reads a length of at least min from parameter i.
func lengthAt(c *Command, i int, min int64) (int64, bool) {
	n, ok := c.Int(i)
	if !ok || n < min || n > maxAnnounced {
		return 0, false
	}
	return n, true
}

// opLength reads the length from parameter i when parameter opIdx is op.
func opLength(opIdx int, op int64, i int) func(*Command) (int64, bool) {
	return func(c *Command) (int64, bool) {
		if o, ok := c.Int(opIdx); !ok || o != op {
			return 0, false
		}
		return lengthAt(c, i, 1)
	}
}

// lastParam reads the length from the last parameter when the command has
// lo..hi parameters.
func lastParam(lo, hi int) func(*Command) (int64, bool) {
	return func(c *Command) (int64, bool) {
		if len(c.Params) < lo || len(c.Params) > hi {
			return 0, false
		}
		return lengthAt(c, len(c.Params)-1, 1)
	}
}

func wsSendLength(c *Command) (int64, bool) {
	if wsLinkParam(c) < 0 {
		return 0, false
	}
	return lengthAt(c, 1, 0)
}

func wsLinkParam(c *Command) int {
	if l, ok := c.Int(0); ok && l >= 0 && l <= 2 {
		return int(l)
	}
	return -1
}

// cipField is the index of the length of an AT+CIPSEND-style command:
// second when the second field is there and not quoted.
func cipField(c *Command) int {
	if p, ok := c.Param(1); ok && !p.Quoted {
		return 1
	}
	return 0
}

func cipLength(c *Command) (int64, bool) { return lengthAt(c, cipField(c), 1) }

func cipLink(c *Command) int {
	if cipField(c) == 1 {
		if l, ok := c.Int(0); ok {
			return int(l)
		}
	}
	return -1
}

func sysmfgLength(c *Command) (int64, bool) {
	op, _ := c.Int(0)
	typ, _ := c.Int(3)
	if op != 2 || (typ != 7 && typ != 8) {
		return 0, false
	}
	return lengthAt(c, 4, 1)
}

func sysflashLength(c *Command) (int64, bool) {
	if op, ok := c.Int(0); !ok || op != 1 {
		return 0, false
	}
	if n, ok := lengthAt(c, 3, 1); ok {
		return n, true
	}
	p, ok := c.Param(3)
	if !ok || p.Quoted || len(p.Value) < 3 || p.Value[0] != '0' || (p.Value[1] != 'x' && p.Value[1] != 'X') || len(p.Value) > 10 {
		return 0, false
	}
	n, err := strconv.ParseInt(p.Value[2:], 16, 64)
	if err != nil || n < 1 || n > maxAnnounced {
		return 0, false
	}
	return n, true
}

func msgFilterLength(c *Command) (int64, bool) {
	op, _ := c.Int(0)
	if op != 1 && op != 2 {
		return 0, false
	}
	h, ok1 := c.Int(1)
	t, ok2 := c.Int(2)
	if !ok1 || !ok2 || h < 0 || t < 0 || h+t == 0 {
		return 0, false
	}
	return h + t, true
}
