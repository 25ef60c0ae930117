package pcapng

import "testing"

// TestParseSubRecv: +MQTTSUBRECV read from a whole line (data after the
// header, cut where the line ended) and from a header whose data the
// decoder counted (Event.Data), topics with commas and quotes included.
func TestParseSubRecv(t *testing.T) {
	for _, c := range []struct {
		line, data  string
		counted     bool
		topic, want string
		cut, ok     bool
	}{
		{line: `+MQTTSUBRECV:0,"sensors/t",4,21.5`, topic: "sensors/t", want: "21.5", ok: true},
		{line: `+MQTTSUBRECV:0,"t",10,abc`, topic: "t", want: "abc", cut: true, ok: true},
		{line: `+MQTTSUBRECV:0,"t",2,{"a",1,2}`, topic: "t", want: `{"`, ok: true},
		{line: `+MQTTSUBRECV:0,"a",1,b",3,`, data: "x\r\ny", counted: true, topic: `a",1,b`, want: "x\r\ny", ok: true},
		{line: `+MQTTSUBRECV:0,"t",3,`, data: "abc", counted: true, topic: "t", want: "abc", ok: true},
		{line: `+MQTTSUBRECV:x,"t",3,abc`},
		{line: `+MQTTSUBRECV:0,t,3,abc`},
		{line: `+MQTTSUBRECV:`},
	} {
		var data []byte
		if c.counted {
			data = []byte(c.data)
		}
		_, topic, got, cut, ok := parseSubRecv([]byte(c.line), data)
		if ok != c.ok || topic != c.topic || string(got) != c.want || cut != c.cut {
			t.Errorf("%q: topic %q data %q cut %v ok %v", c.line, topic, got, cut, ok)
		}
	}
}
