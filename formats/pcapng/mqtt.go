package pcapng

import (
	"bytes"
	"fmt"
	"strconv"

	"github.com/atbridge/atbridge/formats/at"
)

// mqttView writes each connection of ESP-AT's MQTT client (MQTT_AT_Commands.rst)
// as MQTT 3.1.1 packets on a synthetic TCP flow to the broker, on
// "mqtt-linkN", so that Wireshark's mqtt dissector shows topics and
// payloads:
//
//   - +MQTTCONNECTED: the TCP handshake, CONNECT (client id, user name,
//     password, keepalive, clean session and will from AT+MQTTUSERCFG,
//     AT+MQTTLONG* and AT+MQTTCONNCFG) and CONNACK;
//   - AT+MQTTPUB / AT+MQTTPUBRAW that succeeded: PUBLISH, with PUBACK (QoS 1)
//     or PUBREC, PUBREL, PUBCOMP (QoS 2);
//   - AT+MQTTSUB / AT+MQTTUNSUB that succeeded: SUBSCRIBE and SUBACK,
//     UNSUBSCRIBE and UNSUBACK;
//   - +MQTTSUBRECV: PUBLISH from the broker (QoS 0: the AT output does not
//     show the QoS);
//   - AT+MQTTCLEAN: DISCONNECT and FINs; +MQTTDISCONNECTED: FINs from the
//     broker.
//
// Packet ids are numbered per connection from 1. The broker's address is
// AT+MQTTCONN's host (syntheticIP); port 8883 (MQTT over TLS) is shown as
// 1883 where the dissector looks. WebSocket schemes (6-10) are shown as
// MQTT straight over TCP.
type mqttView struct {
	x     *Writer
	w     *flows
	links map[int]*mqttLink
	// long is the link of the running AT+MQTTLONG* command.
	long int
	// pubs holds AT+MQTTPUBRAW payloads by event Seq until the result.
	pubs map[int64][]byte
}

// mqttLink is what the AT traffic said about one MQTT link.
type mqttLink struct {
	id                   int
	scheme               int64
	clientID, user, pass string
	keepalive            uint16
	noClean              bool
	willTopic, willMsg   string
	willQos, willRetain  int64
	host                 string
	port                 uint16
	flow                 *netFlow
	pktID                uint16
}

func (v *mqttView) init(x *Writer, w *flows) {
	v.x, v.w = x, w
	v.links = map[int]*mqttLink{}
	v.pubs = map[int64][]byte{}
}

func mqttIface(link int) string { return "mqtt-link" + strconv.Itoa(link) }

func (v *mqttView) link(id int64) *mqttLink {
	if id < 0 || id >= 4 || !v.x.keepLink(int(id)) {
		return nil
	}
	l := v.links[int(id)]
	if l == nil {
		l = &mqttLink{id: int(id), scheme: 1, keepalive: 120}
		v.links[int(id)] = l
	}
	return l
}

// decoded follows the AT traffic.
func (v *mqttView) decoded(ev *at.Event) {
	switch ev.Kind {
	case at.EvCommand:
		if ev.Cmd != nil && ev.Cmd.Type == at.CmdSet {
			v.command(ev.Cmd)
		}
	case at.EvPayload:
		if ev.Err != nil {
			return
		}
		switch ev.Name {
		case "+MQTTLONGCLIENTID", "+MQTTLONGUSERNAME", "+MQTTLONGPASSWORD":
			if l := v.link(int64(v.long)); l != nil {
				s := string(ev.Data)
				switch ev.Name {
				case "+MQTTLONGCLIENTID":
					l.clientID = s
				case "+MQTTLONGUSERNAME":
					l.user = s
				default:
					l.pass = s
				}
			}
		case "+MQTTPUBRAW":
			if len(v.pubs) < 64 {
				v.pubs[ev.Seq] = ev.Data
			}
		}
	case at.EvTransaction:
		v.transaction(ev)
	case at.EvURC, at.EvInfo, at.EvUnparsed:
		if ev.Dir.Serial() {
			v.deviceLine(ev)
		}
	}
}

func (v *mqttView) command(c *at.Command) {
	p := func(i int) string {
		q, _ := c.Param(i)
		return q.Value
	}
	n := func(i int) int64 {
		k, _ := c.Int(i)
		return k
	}
	id, _ := c.Int(0)
	switch c.Name {
	case "+MQTTUSERCFG":
		// <LinkID>,<scheme>,<"client_id">,<"username">,<"password">,<cert_key_ID>,<CA_ID>,<"path">
		if l := v.link(id); l != nil {
			l.scheme, l.clientID, l.user, l.pass = n(1), p(2), p(3), p(4)
		}
	case "+MQTTLONGCLIENTID", "+MQTTLONGUSERNAME", "+MQTTLONGPASSWORD":
		v.long = int(id)
	case "+MQTTCONNCFG":
		// <LinkID>,<keepalive>,<disable_clean_session>,<"lwt_topic">,<"lwt_msg">,<lwt_qos>,<lwt_retain>;
		// keepalive 0 is forced to 120 s.
		if l := v.link(id); l != nil {
			l.keepalive = uint16(min(max(n(1), 0), 7200))
			if l.keepalive == 0 {
				l.keepalive = 120
			}
			l.noClean = n(2) == 1
			l.willTopic, l.willMsg, l.willQos, l.willRetain = p(3), p(4), n(5)&3, n(6)&1
		}
	case "+MQTTCONN":
		// <LinkID>,<"host">,<port>,<reconnect>[,<timeout_ms>]
		if l := v.link(id); l != nil {
			l.host = p(1)
			if port := n(2); port > 0 && port < 65536 {
				l.port = uint16(port)
			}
		}
	}
}

// deviceLine handles +MQTTCONNECTED, +MQTTDISCONNECTED and +MQTTSUBRECV.
func (v *mqttView) deviceLine(ev *at.Event) {
	line := ev.Line
	if line == nil {
		line = bytes.TrimLeft(ev.Raw, "\r\n")
	}
	switch {
	case bytes.HasPrefix(line, []byte("+MQTTSUBRECV:")):
		id, topic, data, cut, ok := parseSubRecv(line, ev.Data)
		if l := v.link(id); ok && l != nil {
			c := ""
			if cut {
				c = "data cut: the decoder split the message's data at a line end; what the line held is shown"
			}
			v.send(l, ev.Time, false, mqttPublish(topic, data, 0, false, 0), c)
		}
	case bytes.HasPrefix(line, []byte("+MQTTCONNECTED:")):
		// +MQTTCONNECTED:<LinkID>,<scheme>,"<host>","<port>","<path>",<reconnect>
		c, err := at.ParseCommand(append([]byte("AT+MQTTCONNECTED="), line[len("+MQTTCONNECTED:"):]...))
		if err != nil {
			return
		}
		id, _ := c.Int(0)
		l := v.link(id)
		if l == nil {
			return
		}
		if s, ok := c.Int(1); ok {
			l.scheme = s
		}
		if h, ok := c.Param(2); ok && h.Value != "" {
			l.host = h.Value
		}
		if p, ok := c.Param(3); ok {
			if n, err := strconv.ParseUint(p.Value, 10, 16); err == nil && n > 0 {
				l.port = uint16(n)
			}
		}
		v.connect(l, ev.Time)
	case bytes.HasPrefix(line, []byte("+MQTTDISCONNECTED:")):
		id, err := strconv.ParseInt(string(bytes.TrimSpace(line[len("+MQTTDISCONNECTED:"):])), 10, 32)
		if l := v.link(id); err == nil && l != nil && l.flow != nil {
			v.w.fin(l.flow, ev.Time, false, "+MQTTDISCONNECTED: the connection was lost or refused")
			l.flow = nil
		}
	}
}

// parseSubRecv reads +MQTTSUBRECV:<LinkID>,"<topic>",<data_length>,<data>.
// With data non-nil (the decoder counted it), line is the header, which
// ends at the topic's closing `",<data_length>,`. Else the data is what
// follows the header in line, at most data_length bytes (cut says it is
// fewer), and the topic, printed raw, ends at the first `",<digits>,`.
func parseSubRecv(line, data []byte) (id int64, topic string, out []byte, cut, ok bool) {
	rest := line[len("+MQTTSUBRECV:"):]
	comma := bytes.IndexByte(rest, ',')
	if comma < 1 || comma+1 >= len(rest) || rest[comma+1] != '"' {
		return 0, "", nil, false, false
	}
	id, err := strconv.ParseInt(string(rest[:comma]), 10, 32)
	if err != nil {
		return 0, "", nil, false, false
	}
	body := rest[comma+2:]
	// end tries the `"` at i as the topic's end: the length and where the
	// data starts.
	end := func(i int) (int, int, bool) {
		if body[i] != '"' || i+1 >= len(body) || body[i+1] != ',' {
			return 0, 0, false
		}
		j, k := i+2, i+2
		for k < len(body) && body[k] >= '0' && body[k] <= '9' {
			k++
		}
		if k == j || k >= len(body) || body[k] != ',' {
			return 0, 0, false
		}
		n, err := strconv.Atoi(string(body[j:k]))
		return n, k + 1, err == nil
	}
	if data != nil {
		for i := len(body) - 1; i >= 0; i-- {
			if _, start, ok := end(i); ok && start == len(body) {
				return id, string(body[:i]), data, false, true
			}
		}
		return 0, "", nil, false, false
	}
	for i := range body {
		if n, start, ok := end(i); ok {
			d := body[start:]
			if len(d) > n {
				d = d[:n]
			}
			return id, string(body[:i]), d, len(d) < n, true
		}
	}
	return 0, "", nil, false, false
}

// connect opens a flow at +MQTTCONNECTED: CONNECT and CONNACK.
func (v *mqttView) connect(l *mqttLink, t int64) {
	if l.flow != nil {
		v.w.reset(l.flow, t, "+MQTTCONNECTED again: a reconnection")
	}
	port := l.port
	if port == 0 {
		port = 1883
	}
	tls := l.scheme >= 2 && l.scheme <= 5 || l.scheme >= 7
	shown := shownPort(port, tls)
	host := l.host
	if host == "" {
		host = "unknown"
	}
	c := fmt.Sprintf("MQTT link %d to %s:%d (scheme %d): packets RECONSTRUCTED from the AT commands and URCs, not captured; TCP framing synthesized", l.id, host, port, l.scheme)
	if shown != port {
		c += fmt.Sprintf("; shown on port %d so that Wireshark decodes MQTT", shown)
	}
	if tls {
		c += "; TLS shown as plaintext"
	}
	if l.scheme >= 6 {
		c += "; the WebSocket layer is not shown"
	}
	if _, ok := v.x.ifc[mqttIface(l.id)]; !ok {
		v.x.addIface(linkEthernet, mqttIface(l.id), fmt.Sprintf("MQTT link %d of the ESP32 (AT+MQTT*), one TCP flow per connection", l.id),
			"MQTT 3.1.1 packets RECONSTRUCTED from AT+MQTT* commands and +MQTT* URCs; addresses and TCP framing synthesized")
	}
	l.flow = v.w.open(mqttIface(l.id), t, false, true, host, shown, 0, c)
	l.pktID = 0
	v.send(l, t, true, mqttConnect(l), "")
	v.send(l, t, false, []byte{0x20, 0x02, 0x00, 0x00}, "")
}

// send writes an MQTT packet from the ESP32 (fromESP) or the broker.
func (v *mqttView) send(l *mqttLink, t int64, fromESP bool, pkt []byte, comment string) {
	if l.flow == nil {
		v.connect(l, t)
		l.flow.comment += "; connected before the capture started: CONNECT rebuilt from what the capture shows"
	}
	v.w.data(l.flow, t, fromESP, pkt, comment)
}

func (l *mqttLink) nextID() uint16 {
	l.pktID++
	if l.pktID == 0 {
		l.pktID = 1
	}
	return l.pktID
}

// transaction writes the packets of an MQTT command that succeeded.
func (v *mqttView) transaction(ev *at.Event) {
	tx := ev.Tx
	if tx == nil || tx.Cmd == nil || tx.Cmd.Type != at.CmdSet {
		return
	}
	c := tx.Cmd
	var raw []byte
	if c.Name == "+MQTTPUBRAW" {
		for _, seq := range tx.Response {
			if d, ok := v.pubs[seq]; ok {
				raw = append(raw, d...)
				delete(v.pubs, seq)
			}
		}
	}
	id, _ := c.Int(0)
	l := v.link(id)
	if l == nil {
		return
	}
	str := func(i int) string {
		q, _ := c.Param(i)
		return q.Value
	}
	n := func(i int) int64 {
		k, _ := c.Int(i)
		return k
	}
	t := ev.Time
	switch c.Name {
	case "+MQTTPUB", "+MQTTPUBRAW":
		// AT+MQTTPUB=<LinkID>,<"topic">,<"data">,<qos>,<retain>;
		// AT+MQTTPUBRAW=<LinkID>,<"topic">,<length>,<qos>,<retain> then +MQTTPUB:OK.
		data := []byte(str(2))
		if c.Name == "+MQTTPUBRAW" {
			if tx.Result != "+MQTTPUB:OK" {
				return
			}
			data = raw
		} else if tx.Result != "OK" {
			return
		}
		qos := n(3) & 3
		var pid uint16
		if qos > 0 {
			pid = l.nextID()
		}
		v.send(l, t, true, mqttPublish(str(1), data, int(qos), n(4) == 1, pid), "")
		switch qos {
		case 1:
			v.send(l, t, false, mqttAck(0x40, pid), "")
		case 2:
			v.send(l, t, false, mqttAck(0x50, pid), "")
			v.send(l, t, true, mqttAck(0x62, pid), "")
			v.send(l, t, false, mqttAck(0x70, pid), "")
		}
	case "+MQTTSUB":
		// AT+MQTTSUB=<LinkID>,<"topic">,<qos>
		if tx.Result != "OK" {
			return
		}
		pid := l.nextID()
		qos := byte(n(2) & 3)
		body := mqttString(binaryU16(nil, pid), str(1))
		v.send(l, t, true, mqttPacket(0x82, append(body, qos)), "")
		v.send(l, t, false, mqttPacket(0x90, append(binaryU16(nil, pid), qos)), "")
	case "+MQTTUNSUB":
		// AT+MQTTUNSUB=<LinkID>,<"topic">
		if tx.Result != "OK" {
			return
		}
		pid := l.nextID()
		v.send(l, t, true, mqttPacket(0xa2, mqttString(binaryU16(nil, pid), str(1))), "")
		v.send(l, t, false, mqttAck(0xb0, pid), "")
	case "+MQTTCLEAN":
		if tx.Result == "OK" && l.flow != nil {
			v.w.data(l.flow, t, true, []byte{0xe0, 0x00}, "AT+MQTTCLEAN")
			v.w.fin(l.flow, t, true, "")
			l.flow = nil
		}
	}
}

// mqttConnect is the CONNECT packet of MQTT 3.1.1 §3.1. A password without
// a user name is left out (the protocol forbids it).
func mqttConnect(l *mqttLink) []byte {
	b := mqttString(nil, "MQTT")
	flags := byte(0)
	if !l.noClean {
		flags |= 0x02
	}
	if l.willTopic != "" {
		flags |= 0x04 | byte(l.willQos)<<3 | byte(l.willRetain)<<5
	}
	if l.user != "" {
		flags |= 0x80
		if l.pass != "" {
			flags |= 0x40
		}
	}
	b = append(b, 4, flags)
	b = binaryU16(b, l.keepalive)
	b = mqttString(b, l.clientID)
	if l.willTopic != "" {
		b = mqttString(b, l.willTopic)
		b = mqttString(b, l.willMsg)
	}
	if l.user != "" {
		b = mqttString(b, l.user)
		if l.pass != "" {
			b = mqttString(b, l.pass)
		}
	}
	return mqttPacket(0x10, b)
}

// mqttPublish is a PUBLISH packet (§3.3); pid is used when qos > 0.
func mqttPublish(topic string, data []byte, qos int, retain bool, pid uint16) []byte {
	h := byte(0x30) | byte(qos)<<1
	if retain {
		h |= 1
	}
	b := mqttString(make([]byte, 0, len(topic)+len(data)+4), topic)
	if qos > 0 {
		b = binaryU16(b, pid)
	}
	return mqttPacket(h, append(b, data...))
}

// mqttAck is a two-byte-body acknowledgement (PUBACK, PUBREC, PUBREL,
// PUBCOMP, UNSUBACK).
func mqttAck(h byte, pid uint16) []byte { return mqttPacket(h, binaryU16(nil, pid)) }

// mqttPacket prefixes body with the fixed header: type and flags, and the
// remaining length as MQTT's variable-length integer (§2.2.3).
func mqttPacket(h byte, body []byte) []byte {
	out := []byte{h}
	n := len(body)
	for {
		d := byte(n % 128)
		n /= 128
		if n > 0 {
			d |= 0x80
		}
		out = append(out, d)
		if n == 0 {
			break
		}
	}
	return append(out, body...)
}

// mqttString appends a UTF-8 string with its 16-bit length (§1.5.3), cut at
// 65535 bytes.
func mqttString(b []byte, s string) []byte {
	if len(s) > 0xffff {
		s = s[:0xffff]
	}
	return append(binaryU16(b, uint16(len(s))), s...)
}

func binaryU16(b []byte, v uint16) []byte { return append(b, byte(v>>8), byte(v)) }
