package esp

import (
	"fmt"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// Publishing and subscribing on MQTT link 0 (docs/esp-at-surface.md §4.3,
// §4.4): AT+MQTTPUB, AT+MQTTPUBRAW, AT+MQTTSUB and AT+MQTTUNSUB, over the
// client of mqtt_client.go.

// mqttPubArgs reads the common tail of AT+MQTTPUB and AT+MQTTPUBRAW:
// <qos>,<retain>[,<timeout_ms>] from parameter i.
func (c *call) mqttPubArgs(i int) (qos byte, retain bool, timeout time.Duration, res result, ok bool) {
	q, res, ok := c.mqttInt(i, 0, 2, 0x6047, 0x6048, "<qos>")
	if !ok {
		return
	}
	r, res, ok := c.mqttInt(i+1, 0, 1, 0x6049, 0x604A, "<retain>")
	if !ok {
		return
	}
	t, res, ok := c.optInt(i+2, 3000, 60000, 15000, "<timeout_ms>")
	if !ok {
		return
	}
	return byte(q), r == 1, time.Duration(t) * time.Millisecond, resOK, true
}

// cmdMQTTPUB: AT+MQTTPUB=0,"topic","data",<qos>,<retain>[,<timeout_ms>];
// the data is an escaped string (\" \, \\), resolved by the parser.
func cmdMQTTPUB(c *call) result {
	if res, ok := c.mqttParams("AT+MQTTPUB", 5, 6); !ok {
		return res
	}
	topic, res, ok := c.mqttStr(1, 128, 0x6041, 0x6042, 0x6043, "<topic>", false)
	if !ok {
		return res
	}
	// The line's 256 bytes bound the data; "" is DATA_IS_NULL (a choice).
	data, res, ok := c.mqttStr(2, maxLine, 0x6044, 0x6045, 0x6046, "<data>", false)
	if !ok {
		return res
	}
	qos, retain, timeout, res, ok := c.mqttPubArgs(3)
	if !ok {
		return res
	}
	s, res, ok := c.mqttSession("AT+MQTTPUB")
	if !ok {
		return res
	}
	if err := c.mqttWait(s.client.Publish(topic, qos, retain, []byte(data)), timeout); err != nil {
		return c.mqttErr(mqttErrPublishFailed, "AT+MQTTPUB: "+err.Error())
	}
	return resOK
}

// cmdMQTTPUBRAW: AT+MQTTPUBRAW=0,"topic",<length>,<qos>,<retain>
// [,<timeout_ms>], the prompt, exactly length raw bytes, then
// +MQTTPUB:OK or +MQTTPUB:FAIL with no OK after it (LIB-MQTT).
func cmdMQTTPUBRAW(c *call) result {
	if res, ok := c.mqttParams("AT+MQTTPUBRAW", 5, 6); !ok {
		return res
	}
	topic, res, ok := c.mqttStr(1, 128, 0x6041, 0x6042, 0x6043, "<topic>", false)
	if !ok {
		return res
	}
	n, res, ok := c.mqttInt(2, 1, mqttMaxRaw, 0x604B, 0x604C, "<length>")
	if !ok {
		return res
	}
	qos, retain, timeout, res, ok := c.mqttPubArgs(3)
	if !ok {
		return res
	}
	s, res, ok := c.mqttSession("AT+MQTTPUBRAW")
	if !ok {
		return res
	}
	data := c.readPrompt(int(n))
	if data == nil {
		return resNone // the board restarted
	}
	c.final = []byte("+MQTTPUB:OK\r\n")
	if err := c.mqttWait(s.client.Publish(topic, qos, retain, data), timeout); err != nil {
		c.e.log.Info("AT+MQTTPUBRAW: publishing failed: +MQTTPUB:FAIL", "err", err)
		c.final = []byte("+MQTTPUB:FAIL\r\n")
	}
	return resNone
}

// cmdMQTTSUB: AT+MQTTSUB=0,"topic",<qos>[,<timeout_ms>]. A topic already
// subscribed answers OK with no extra line (§10.7: the core's "already
// subscribed" goes to the log UART).
func cmdMQTTSUB(c *call) result {
	if res, ok := c.mqttParams("AT+MQTTSUB", 3, 4); !ok {
		return res
	}
	topic, res, ok := c.mqttStr(1, 128, 0x6041, 0x6042, 0x6043, "<topic>", false)
	if !ok {
		return res
	}
	q, res, ok := c.mqttInt(2, 0, 2, 0x6047, 0x6048, "<qos>")
	if !ok {
		return res
	}
	tmo, res, ok := c.optInt(3, 3000, 60000, 15000, "<timeout_ms>")
	if !ok {
		return res
	}
	s, res, ok := c.mqttSession("AT+MQTTSUB")
	if !ok {
		return res
	}
	c.e.mu.Lock()
	m := s.link
	dup := false
	for _, x := range m.subs {
		dup = dup || x.topic == topic
	}
	full := len(m.subs) >= mqttMaxSubs
	c.e.mu.Unlock()
	if dup {
		c.e.log.Info("AT+MQTTSUB: already subscribed (the firmware logs it on its log UART)", "topic", topic)
		return resOK
	}
	if full {
		return c.mqttErr(mqttErrSubscribeFailed, fmt.Sprintf("AT+MQTTSUB: at most %d topics", mqttMaxSubs))
	}
	t := s.client.Subscribe(topic, byte(q), nil)
	if err := c.mqttWait(t, time.Duration(tmo)*time.Millisecond); err != nil {
		return c.mqttErr(mqttErrSubscribeFailed, "AT+MQTTSUB: "+err.Error())
	}
	if st, ok := t.(*paho.SubscribeToken); ok && st.Result()[topic] == 0x80 {
		return c.mqttErr(mqttErrSubscribeFailed, "AT+MQTTSUB: the broker refused the subscription")
	}
	c.e.mu.Lock()
	if s.current() {
		m.subs = append(m.subs, mqttSub{topic: topic, qos: byte(q)})
		if m.state >= mqttConnected {
			m.state = mqttSubscribed
		}
	}
	c.e.mu.Unlock()
	return resOK
}

// cmdMQTTUNSUB: AT+MQTTUNSUB=0,"topic"[,<timeout_ms>]. A topic not
// subscribed answers OK (§10.7, the core's "no unsubscribe" is a log line).
func cmdMQTTUNSUB(c *call) result {
	if res, ok := c.mqttParams("AT+MQTTUNSUB", 2, 3); !ok {
		return res
	}
	topic, res, ok := c.mqttStr(1, 128, 0x6041, 0x6042, 0x6043, "<topic>", false)
	if !ok {
		return res
	}
	tmo, res, ok := c.optInt(2, 3000, 60000, 15000, "<timeout_ms>")
	if !ok {
		return res
	}
	s, res, ok := c.mqttSession("AT+MQTTUNSUB")
	if !ok {
		return res
	}
	c.e.mu.Lock()
	m := s.link
	found := -1
	for i, x := range m.subs {
		if x.topic == topic {
			found = i
		}
	}
	c.e.mu.Unlock()
	if found < 0 {
		c.e.log.Info("AT+MQTTUNSUB: not subscribed (the firmware logs it on its log UART)", "topic", topic)
		return resOK
	}
	if err := c.mqttWait(s.client.Unsubscribe(topic), time.Duration(tmo)*time.Millisecond); err != nil {
		return c.mqttErr(mqttErrUnsubFailed, "AT+MQTTUNSUB: "+err.Error())
	}
	c.e.mu.Lock()
	if s.current() {
		m.subs = append(m.subs[:found:found], m.subs[found+1:]...)
		if len(m.subs) == 0 && m.state == mqttSubscribed {
			m.state = mqttNoSub
		}
	}
	c.e.mu.Unlock()
	return resOK
}
