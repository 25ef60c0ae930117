package esp

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// The MQTT client commands (docs/esp-at-surface.md §4; esp-at
// docs/en/AT_Command_Set/MQTT_AT_Commands.rst, the same in v5.0.1.0 and
// master, so Options.Firmware changes nothing here). This file holds the
// link's state and its configuration commands; mqtt_client.go connects,
// publishes, subscribes and prints the URCs.
//
// Only <LinkID> 0 exists. Every failure under AT+SYSLOG=1 prints
// ERR CODE:0x010a60xx, xx from the docs' "MQTT AT Error Codes" table.

// MQTT states as AT+MQTTCONN? and AT+MQTTSUB? print them.
const (
	mqttUninit     = 0
	mqttUserCfg    = 1 // AT+MQTTUSERCFG set
	mqttConnCfg    = 2 // AT+MQTTCONNCFG set
	mqttDisconn    = 3
	mqttConnected  = 4 // connected, never subscribed
	mqttNoSub      = 5 // connected, every subscription removed
	mqttSubscribed = 6
)

// MQTT AT error codes (the extension of ERR CODE:0x010aXXXX).
const (
	mqttErrNoConfigured     = 0x6001
	mqttErrNotInConfigState = 0x6002
	mqttErrAlreadyClean     = 0x6003
	mqttErrAlreadyConnected = 0x6004
	mqttErrNullLink         = 0x6006
	mqttErrParamCount       = 0x6008
	mqttErrTLSConfig        = 0x6009
	mqttErrPublishFailed    = 0x600C
	mqttErrSubscribeFailed  = 0x600D
	mqttErrUnsubFailed      = 0x600E
	mqttErrLinkIDRead       = 0x6010
	mqttErrLinkIDValue      = 0x6011
	mqttErrCARead           = 0x6022
	mqttErrCertRead         = 0x6024
	mqttErrKeyRead          = 0x6026
	mqttErrRecvLength       = 0x604D
	mqttErrInDisconnected   = 0x6051
)

// mqttMaxSubs is the firmware's limit of subscribed topics.
const mqttMaxSubs = 10

// mqttMaxRaw bounds AT+MQTTPUBRAW's length, which the docs leave "limited by
// available memory": a choice, about the free heap of an ESP32 running AT.
const mqttMaxRaw = 256 << 10

// PKI files of the MQTT schemes with certificates, in Options.PKIDir (the
// firmware's mqtt_cert, mqtt_key and mqtt_ca partitions, cert_key_ID and
// CA_ID 0 only).
const (
	MQTTClientCertFile = "mqtt_client.crt"
	MQTTClientKeyFile  = "mqtt_client.key"
	MQTTCAFile         = "mqtt_ca.crt"
)

// mqttSub is one AT+MQTTSUB topic.
type mqttSub struct {
	topic string
	qos   byte
}

// mqttLink is link 0: its configuration, its state and, once AT+MQTTCONN
// started one, the client. Every field is guarded by Emulator.mu; a nil
// *mqttLink is the uninitialised link (state 0).
type mqttLink struct {
	state       int
	established bool // connected at least once (the reconnect 0 rule)
	scheme      int
	clientID    string
	username    string
	password    string
	path        string
	keepalive   int64
	noClean     bool // AT+MQTTCONNCFG disable_clean_session
	lwtTopic    string
	lwtMsg      string
	lwtQoS      byte
	lwtRetain   bool
	alpn        []string
	sni         string
	host        string // set by AT+MQTTCONN
	port        int64
	reconnect   bool
	subs        []mqttSub

	sess *mqttSession // the client (mqtt_client.go); nil while no connection is wanted
	gen  uint64       // the boot that started sess
}

// mqttErr answers ERROR with MQTT error code ext under AT+SYSLOG=1.
func (c *call) mqttErr(ext int, why string) result {
	return c.paramErr(fmt.Sprintf("0x010a%04x", ext), why)
}

// mqttParams checks the parameter count (one of counts) and that the first
// parameter is link 0.
func (c *call) mqttParams(name string, counts ...int) (result, bool) {
	n := len(c.cmd.Params)
	okCount := false
	for _, k := range counts {
		okCount = okCount || n == k
	}
	if !okCount {
		return c.mqttErr(mqttErrParamCount, fmt.Sprintf("%s takes %v parameters, got %d", name, counts, n)), false
	}
	id, ok := c.cmd.Int(0)
	if !ok {
		return c.mqttErr(mqttErrLinkIDRead, name+": <LinkID> must be a number"), false
	}
	if id != 0 {
		return c.mqttErr(mqttErrLinkIDValue, name+": only <LinkID> 0 exists"), false
	}
	return resOK, true
}

// mqttStr reads quoted parameter i of at most max bytes; an empty field
// gives nullCode, a number readCode, a long one longCode. allowEmpty lets ""
// through.
func (c *call) mqttStr(i, max, readCode, nullCode, longCode int, what string, allowEmpty bool) (string, result, bool) {
	p, _ := c.cmd.Param(i)
	switch {
	case p.Empty:
		return "", c.mqttErr(nullCode, what+" is missing"), false
	case !p.Quoted:
		return "", c.mqttErr(readCode, what+" must be a quoted string"), false
	case p.Value == "" && !allowEmpty:
		return "", c.mqttErr(nullCode, what+" must not be empty"), false
	case len(p.Value) > max:
		return "", c.mqttErr(longCode, fmt.Sprintf("%s is longer than %d bytes", what, max)), false
	}
	return p.Value, resOK, true
}

// mqttInt reads numeric parameter i within lo..hi.
func (c *call) mqttInt(i int, lo, hi int64, readCode, valueCode int, what string) (int64, result, bool) {
	v, ok := c.cmd.Int(i)
	if !ok {
		return 0, c.mqttErr(readCode, what+" must be a number"), false
	}
	if v < lo || v > hi {
		return 0, c.mqttErr(valueCode, fmt.Sprintf("%s must be %d..%d", what, lo, hi)), false
	}
	return v, resOK, true
}

// mqttConfigurable reports whether m may be configured: AT+MQTTUSERCFG set,
// and not connected since (a failed first AT+MQTTCONN leaves it
// configurable, a choice). The caller holds e.mu.
func (m *mqttLink) configurable() bool {
	return m != nil && (m.state == mqttUserCfg || m.state == mqttConnCfg || m.state == mqttDisconn && !m.established && m.sess == nil)
}

// cmdMQTTUSERCFG: AT+MQTTUSERCFG=0,<scheme>,"client_id","username",
// "password",<cert_key_ID>,<CA_ID>,"path".
func cmdMQTTUSERCFG(c *call) result {
	if res, ok := c.mqttParams("AT+MQTTUSERCFG", 8); !ok {
		return res
	}
	scheme, res, ok := c.mqttInt(1, 1, 10, 0x6012, 0x6013, "<scheme>")
	if !ok {
		return res
	}
	// An empty client ID is sent as is: the broker assigns one (MQTT 3.1.1
	// with a clean session), a choice.
	id, res, ok := c.mqttStr(2, 256, 0x6014, 0x6015, 0x6016, "<client_id>", true)
	if !ok {
		return res
	}
	user, res, ok := c.mqttStr(3, 64, 0x6017, 0x6018, 0x6019, "<username>", true)
	if !ok {
		return res
	}
	pass, res, ok := c.mqttStr(4, 64, 0x601A, 0x601B, 0x601C, "<password>", true)
	if !ok {
		return res
	}
	if _, res, ok := c.mqttInt(5, 0, 0, 0x601D, 0x601E, "<cert_key_ID>"); !ok {
		return res
	}
	if _, res, ok := c.mqttInt(6, 0, 0, 0x601F, 0x6020, "<CA_ID>"); !ok {
		return res
	}
	path, res, ok := c.mqttStr(7, 32, 0x6027, 0x6028, 0x6029, "<path>", true)
	if !ok {
		return res
	}
	e := c.e
	e.mu.Lock()
	m := e.mqtt
	if m != nil && !m.configurable() {
		e.mu.Unlock()
		return c.mqttErr(mqttErrNotInConfigState, "AT+MQTTUSERCFG while connected (AT+MQTTCLEAN=0 first)")
	}
	defer e.mu.Unlock()
	if m == nil {
		m = &mqttLink{state: mqttUserCfg}
		e.mqtt = m
	}
	if m.state == mqttDisconn {
		m.state = mqttUserCfg
	}
	m.scheme, m.clientID, m.username, m.password, m.path = int(scheme), id, user, pass, path
	return resOK
}

// cmdMQTTLong is AT+MQTTLONGCLIENTID, AT+MQTTLONGUSERNAME and
// AT+MQTTLONGPASSWORD: =0,<length 1..1024>, the prompt, exactly length raw
// bytes (never echoed), then OK. They override AT+MQTTUSERCFG's field.
func cmdMQTTLong(name string, set func(*mqttLink, string)) func(*call) result {
	return func(c *call) result {
		if res, ok := c.mqttParams(name, 2); !ok {
			return res
		}
		n, res, ok := c.mqttInt(1, 1, 1024, mqttErrRecvLength, mqttErrRecvLength, "<length>")
		if !ok {
			return res
		}
		c.e.mu.Lock()
		m := c.e.mqtt
		okState := m.configurable()
		c.e.mu.Unlock()
		if m == nil {
			return c.mqttErr(mqttErrNoConfigured, name+" before AT+MQTTUSERCFG")
		}
		if !okState {
			return c.mqttErr(mqttErrNotInConfigState, name+" while connected")
		}
		data := c.readPrompt(int(n))
		if data == nil {
			return resNone // the board restarted
		}
		c.e.mu.Lock()
		if c.e.mqtt == m {
			set(m, string(data))
		}
		c.e.mu.Unlock()
		return resOK
	}
}

// cmdMQTTCONNCFG: AT+MQTTCONNCFG=0,<keepalive>,<disable_clean_session>,
// "lwt_topic","lwt_msg",<lwt_qos>,<lwt_retain>. An empty lwt_topic means no
// will (a choice: the docs give no way to have none otherwise).
func cmdMQTTCONNCFG(c *call) result {
	if res, ok := c.mqttParams("AT+MQTTCONNCFG", 7); !ok {
		return res
	}
	keep, res, ok := c.mqttInt(1, 0, 7200, 0x602B, 0x602D, "<keepalive>")
	if !ok {
		return res
	}
	noClean, res, ok := c.mqttInt(2, 0, 1, 0x602E, 0x602F, "<disable_clean_session>")
	if !ok {
		return res
	}
	topic, res, ok := c.mqttStr(3, 128, 0x6030, 0x6031, 0x6032, "<lwt_topic>", true)
	if !ok {
		return res
	}
	msg, res, ok := c.mqttStr(4, 128, 0x6033, 0x6034, 0x6035, "<lwt_msg>", true)
	if !ok {
		return res
	}
	qos, res, ok := c.mqttInt(5, 0, 2, 0x6036, 0x6037, "<lwt_qos>")
	if !ok {
		return res
	}
	retain, res, ok := c.mqttInt(6, 0, 1, 0x6038, 0x6039, "<lwt_retain>")
	if !ok {
		return res
	}
	return c.mqttSetConfig("AT+MQTTCONNCFG", func(m *mqttLink) {
		m.state = mqttConnCfg
		m.keepalive, m.noClean, m.lwtTopic, m.lwtMsg = keep, noClean == 1, topic, msg
		m.lwtQoS, m.lwtRetain = byte(qos), retain == 1
	})
}

// cmdMQTTALPN: AT+MQTTALPN=0,<counts 0..5>[,"alpn"]...; 0 clears. Used by
// the TLS and WSS schemes only.
func cmdMQTTALPN(c *call) result {
	n := len(c.cmd.Params)
	if n < 2 {
		return c.mqttErr(mqttErrParamCount, "AT+MQTTALPN takes 0,<counts>[,\"alpn\"]...")
	}
	counts, ok := c.cmd.Int(1)
	if !ok || counts < 0 || counts > 5 {
		return c.badValue(1, "AT+MQTTALPN <alpn_counts> must be 0..5")
	}
	if res, ok := c.mqttParams("AT+MQTTALPN", 2+int(counts)); !ok {
		return res
	}
	var alpn []string
	for i := 2; i < n; i++ {
		p := c.cmd.Params[i]
		if !p.Quoted || p.Value == "" {
			return c.badType(i, "AT+MQTTALPN: each <alpn> is a non-empty quoted string")
		}
		alpn = append(alpn, p.Value)
	}
	return c.mqttSetConfig("AT+MQTTALPN", func(m *mqttLink) { m.alpn = alpn })
}

// cmdMQTTSNI: AT+MQTTSNI=0,"sni". Used by the TLS and WSS schemes only.
func cmdMQTTSNI(c *call) result {
	if res, ok := c.mqttParams("AT+MQTTSNI", 2); !ok {
		return res
	}
	p := c.cmd.Params[1]
	// The docs give no maximum: the command line's 256 bytes bound it.
	if !p.Quoted || p.Value == "" {
		return c.badType(1, "AT+MQTTSNI: <sni> is a non-empty quoted string")
	}
	return c.mqttSetConfig("AT+MQTTSNI", func(m *mqttLink) { m.sni = p.Value })
}

// mqttSetConfig applies a setting to a configurable link: ERROR before
// AT+MQTTUSERCFG or once connected.
func (c *call) mqttSetConfig(name string, set func(*mqttLink)) result {
	e := c.e
	e.mu.Lock()
	m := e.mqtt
	ok := m.configurable()
	if ok {
		set(m)
	}
	e.mu.Unlock()
	switch {
	case m == nil:
		return c.mqttErr(mqttErrNoConfigured, name+" before AT+MQTTUSERCFG")
	case !ok:
		return c.mqttErr(mqttErrNotInConfigState, name+" while connected")
	}
	return resOK
}

// cmdMQTTCONNQuery prints +MQTTCONN:0,<state>,<scheme>,"host","port",
// "path",<reconnect> (LIB-MQTT: the port quoted); host and port are empty
// before AT+MQTTCONN.
func cmdMQTTCONNQuery(c *call) result {
	c.e.mu.Lock()
	m := c.e.mqtt
	line := "+MQTTCONN:0,0,0,\"\",\"\",\"\",0\r\n"
	if m != nil {
		port := ""
		if m.host != "" {
			port = fmt.Sprint(m.port)
		}
		line = fmt.Sprintf("+MQTTCONN:0,%d,%d,\"%s\",\"%s\",\"%s\",%d\r\n", m.state, m.scheme, m.host, port, m.path, b2i(m.reconnect))
	}
	c.e.mu.Unlock()
	c.print(line)
	return resOK
}

// cmdMQTTSUBQuery prints +MQTTSUB:0,<state>,"topic",<qos> per topic, or
// +MQTTSUB:0,<state>,"",0 with none (LIB-MQTT).
func cmdMQTTSUBQuery(c *call) result {
	c.e.mu.Lock()
	m := c.e.mqtt
	var b strings.Builder
	state := 0
	var subs []mqttSub
	if m != nil {
		state, subs = m.state, m.subs
	}
	for _, s := range subs {
		fmt.Fprintf(&b, "+MQTTSUB:0,%d,\"%s\",%d\r\n", state, s.topic, s.qos)
	}
	if len(subs) == 0 {
		fmt.Fprintf(&b, "+MQTTSUB:0,%d,\"\",0\r\n", state)
	}
	c.e.mu.Unlock()
	c.print(b.String())
	return resOK
}

// mqttPKI reads the certificate files a scheme needs: the client pair for
// 4, 5, 9 and 10, the CA for 3, 5, 8 and 10. A missing file answers the
// firmware's read error (a choice: checked at AT+MQTTCONN, when the
// firmware loads them).
func (c *call) mqttPKI(scheme int) (certPEM, keyPEM, caPEM []byte, res result, ok bool) {
	tlsVariant := mqttTLSVariant(scheme)
	read := func(name string, code int) ([]byte, bool) {
		if c.e.opts.PKIDir == "" {
			res = c.mqttErr(code, "scheme needs "+name+" but the emulator has no --pki folder")
			return nil, false
		}
		b, err := os.ReadFile(filepath.Join(c.e.opts.PKIDir, name))
		if err != nil {
			res = c.mqttErr(code, "reading the MQTT PKI file: "+err.Error())
			return nil, false
		}
		return b, true
	}
	if tlsVariant&2 != 0 {
		if certPEM, ok = read(MQTTClientCertFile, mqttErrCertRead); !ok {
			return
		}
		if keyPEM, ok = read(MQTTClientKeyFile, mqttErrKeyRead); !ok {
			return
		}
	}
	if tlsVariant&1 != 0 {
		if caPEM, ok = read(MQTTCAFile, mqttErrCARead); !ok {
			return
		}
	}
	return certPEM, keyPEM, caPEM, resOK, true
}

// mqttTLSVariant is 0 for no TLS or TLS without certificates, 1 to verify
// the server, 2 to present a client certificate, 3 for both (schemes 2..5
// and, over WebSocket, 7..10).
func mqttTLSVariant(scheme int) int {
	switch {
	case scheme >= 2 && scheme <= 5:
		return scheme - 2
	case scheme >= 7 && scheme <= 10:
		return scheme - 7
	}
	return 0
}

// mqttCommands adds the MQTT commands to t.
func mqttCommands(t map[string]handler) {
	t["+MQTTUSERCFG"] = handler{set: cmdMQTTUSERCFG}
	t["+MQTTLONGCLIENTID"] = handler{set: cmdMQTTLong("AT+MQTTLONGCLIENTID", func(m *mqttLink, s string) { m.clientID = s })}
	t["+MQTTLONGUSERNAME"] = handler{set: cmdMQTTLong("AT+MQTTLONGUSERNAME", func(m *mqttLink, s string) { m.username = s })}
	t["+MQTTLONGPASSWORD"] = handler{set: cmdMQTTLong("AT+MQTTLONGPASSWORD", func(m *mqttLink, s string) { m.password = s })}
	t["+MQTTCONNCFG"] = handler{set: cmdMQTTCONNCFG}
	t["+MQTTALPN"] = handler{set: cmdMQTTALPN}
	t["+MQTTSNI"] = handler{set: cmdMQTTSNI}
	t["+MQTTCONN"] = handler{query: cmdMQTTCONNQuery, set: cmdMQTTCONNSet}
	t["+MQTTPUB"] = handler{set: cmdMQTTPUB}
	t["+MQTTPUBRAW"] = handler{set: cmdMQTTPUBRAW}
	t["+MQTTSUB"] = handler{query: cmdMQTTSUBQuery, set: cmdMQTTSUB}
	t["+MQTTUNSUB"] = handler{set: cmdMQTTUNSUB}
	t["+MQTTCLEAN"] = handler{set: cmdMQTTCLEAN}
}
