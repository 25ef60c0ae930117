package esp

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/atbridge/atbridge/internal/rig"
)

// The expected bytes below are typed from MQTT_AT_Commands.rst, the
// examples in MQTT_AT_Examples.rst and docs/esp-at-surface.md §4, not copied
// from the emulator.

// mqttPort is the port of a loopback address.
func mqttPort(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}

// peerClient is a second MQTT client on the broker, as another device or a
// cloud service would be; messages it receives arrive on the channel.
type peerClient struct {
	paho.Client
	got chan paho.Message
}

func newPeer(t *testing.T, addr string, id string) *peerClient {
	t.Helper()
	p := &peerClient{got: make(chan paho.Message, 16)}
	o := paho.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(id).SetAutoReconnect(false).
		SetDefaultPublishHandler(func(_ paho.Client, m paho.Message) { p.got <- m })
	p.Client = paho.NewClient(o)
	if tok := p.Connect(); !tok.WaitTimeout(rig.Timeout) || tok.Error() != nil {
		t.Fatalf("peer client: connecting to %s: %v", addr, tok.Error())
	}
	t.Cleanup(func() { p.Disconnect(100) })
	return p
}

func (p *peerClient) subscribe(t *testing.T, topic string) {
	t.Helper()
	if tok := p.Subscribe(topic, 1, nil); !tok.WaitTimeout(rig.Timeout) || tok.Error() != nil {
		t.Fatalf("peer client: subscribing to %s: %v", topic, tok.Error())
	}
}

func (p *peerClient) publish(t *testing.T, topic string, payload []byte) {
	t.Helper()
	if tok := p.Publish(topic, 1, false, payload); !tok.WaitTimeout(rig.Timeout) || tok.Error() != nil {
		t.Fatalf("peer client: publishing to %s: %v", topic, tok.Error())
	}
}

func (p *peerClient) expect(t *testing.T, topic, payload string) {
	t.Helper()
	select {
	case m := <-p.got:
		if m.Topic() != topic || string(m.Payload()) != payload {
			t.Fatalf("peer client got %q on %q, want %q on %q", m.Payload(), m.Topic(), payload, topic)
		}
	case <-time.After(rig.Timeout):
		t.Fatalf("peer client: no message on %q", topic)
	}
}

// TestMQTTPubSub connects over TCP, subscribes, publishes to itself and to
// and from a second client, with AT+MQTTPUBRAW data that looks like result
// lines, a message longer than the MQTT buffer, AT+MQTTUNSUB and
// AT+MQTTCLEAN; the capture decoder must read all of it.
func TestMQTTPubSub(t *testing.T) {
	mq := rig.StartMosquitto(t, nil)
	port := mqttPort(mq.Addr)
	sink := &rig.Records{}
	h := startEmu(t, &Options{Record: sink.Add})
	peer := newPeer(t, mq.Addr, "peer")
	peer.subscribe(t, "esp/out")

	h.Cmd(`AT+MQTTCONN?`, "+MQTTCONN:0,0,0,\"\",\"\",\"\",0\r\n\r\nOK\r\n")
	h.Cmd(`AT+MQTTUSERCFG=0,1,"ESP32","espressif","1234567890",0,0,""`, "\r\nOK\r\n")
	h.Cmd(`AT+MQTTCONNCFG=0,60,0,"lwt_topic","lwt_message",1,0`, "\r\nOK\r\n")
	h.Cmd(`AT+MQTTCONN?`, "+MQTTCONN:0,2,1,\"\",\"\",\"\",0\r\n\r\nOK\r\n")
	h.Cmd(`AT+MQTTCONN=0,"127.0.0.1",`+port+`,1`, "+MQTTCONNECTED:0,1,\"127.0.0.1\",\""+port+"\",\"\",1\r\n\r\nOK\r\n")
	h.Cmd(`AT+MQTTCONN?`, "+MQTTCONN:0,4,1,\"127.0.0.1\",\""+port+"\",\"\",1\r\n\r\nOK\r\n")
	h.Cmd(`AT+MQTTSUB?`, "+MQTTSUB:0,4,\"\",0\r\n\r\nOK\r\n")
	h.Cmd(`AT+MQTTSUB=0,"esp/in",1`, "\r\nOK\r\n")
	h.Cmd(`AT+MQTTSUB=0,"esp/in",1`, "\r\nOK\r\n") // already subscribed: OK, nothing more (§10.7)
	h.Cmd(`AT+MQTTSUB?`, "+MQTTSUB:0,6,\"esp/in\",1\r\n\r\nOK\r\n")

	// To itself, the escaped string of DOC-IDX's example.
	h.Send(`AT+MQTTPUB=0,"esp/in","\"{\"sensor\":012}\"",1,0` + "\r\n")
	h.Expect(`AT+MQTTPUB=0,"esp/in","\"{\"sensor\":012}\"",1,0` + "\r\n")
	h.ExpectAnyOrder("\r\nOK\r\n", "+MQTTSUBRECV:0,\"esp/in\",16,\"{\"sensor\":012}\"\r\n")

	// From the other client.
	peer.publish(t, "esp/in", []byte("hello from the cloud"))
	h.Expect("+MQTTSUBRECV:0,\"esp/in\",20,hello from the cloud\r\n")

	// AT+MQTTPUB to the other client.
	h.Cmd(`AT+MQTTPUB=0,"esp/out","temp\,21",0,0`, "\r\nOK\r\n")
	peer.expect(t, "esp/out", "temp,21")

	// AT+MQTTPUBRAW: data that imitates result lines, then +MQTTPUB:OK and
	// no OK after it.
	raw := "\r\nOK\r\nERROR\r\n+MQTTPUB:FAIL\r\n"
	h.Cmd(fmt.Sprintf(`AT+MQTTPUBRAW=0,"esp/out",%d,1,0`, len(raw)), "\r\nOK\r\n\r\n>")
	h.Send(raw)
	h.Expect("+MQTTPUB:OK\r\n")
	peer.expect(t, "esp/out", raw)
	h.Cmd("AT", "\r\nOK\r\n")

	// Binary data, to itself: counted, with CRLF and a NUL inside.
	bin := "a\r\n\x00b,\"c\r\nOK\r\n"
	h.Cmd(fmt.Sprintf(`AT+MQTTPUBRAW=0,"esp/in",%d,0,0`, len(bin)), "\r\nOK\r\n\r\n>")
	h.Send(bin)
	h.ExpectAnyOrder("+MQTTPUB:OK\r\n", fmt.Sprintf("+MQTTSUBRECV:0,\"esp/in\",%d,%s\r\n", len(bin), bin))

	// A 2000-byte message exceeds the 1024-byte buffer, header included:
	// PUBLISH at QoS 1 has a 1-byte type, a 2-byte remaining length, a
	// 2-byte topic length, the 6-byte topic and a 2-byte packet id, so the
	// first +MQTTSUBRECV holds 1024-13 bytes and the second the rest.
	long := strings.Repeat("0123456789", 200)
	peer.publish(t, "esp/in", []byte(long))
	h.Expect(fmt.Sprintf("+MQTTSUBRECV:0,\"esp/in\",1011,%s\r\n+MQTTSUBRECV:0,\"esp/in\",989,%s\r\n", long[:1011], long[1011:]))

	h.Cmd(`AT+MQTTUNSUB=0,"esp/in"`, "\r\nOK\r\n")
	h.Cmd(`AT+MQTTUNSUB=0,"never/subscribed"`, "\r\nOK\r\n") // §10.7
	h.Cmd(`AT+MQTTSUB?`, "+MQTTSUB:0,5,\"\",0\r\n\r\nOK\r\n")
	peer.publish(t, "esp/in", []byte("not for you"))
	h.Cmd(`AT+MQTTCLEAN=0`, "\r\nOK\r\n")
	h.Cmd(`AT+MQTTCONN?`, "+MQTTCONN:0,0,0,\"\",\"\",\"\",0\r\n\r\nOK\r\n")
	h.ExpectQuiet(100 * time.Millisecond)
	checkDecodes(t, sink, "+MQTTUSERCFG", "+MQTTCONNCFG", "+MQTTCONN", "+MQTTSUB", "+MQTTPUB", "+MQTTPUBRAW", "+MQTTUNSUB", "+MQTTCLEAN")
}

// TestMQTTLongFields sets client ID, username and password through their
// prompts; the broker's log shows what the board sent.
func TestMQTTLongFields(t *testing.T) {
	mq := rig.StartMosquitto(t, nil)
	sink := &rig.Records{}
	h := startEmu(t, &Options{Record: sink.Add})
	id := "esp32-" + strings.Repeat("i", 294)
	user := strings.Repeat("u", 100)
	pass := strings.Repeat("p", 90)
	h.Cmd(`AT+MQTTLONGCLIENTID=0,300`, "\r\nERROR\r\n") // before AT+MQTTUSERCFG
	h.Cmd(`AT+MQTTUSERCFG=0,1,"short","u","p",0,0,""`, "\r\nOK\r\n")
	h.Cmd(`AT+MQTTLONGCLIENTID=0,300`, "\r\nOK\r\n\r\n>")
	h.Send(id)
	h.Expect("\r\nOK\r\n")
	h.Cmd(`AT+MQTTLONGUSERNAME=0,100`, "\r\nOK\r\n\r\n>")
	h.Send(user)
	h.Expect("\r\nOK\r\n")
	h.Cmd(`AT+MQTTLONGPASSWORD=0,90`, "\r\nOK\r\n\r\n>")
	h.Send(pass)
	h.Expect("\r\nOK\r\n")
	h.Cmd(`AT+MQTTLONGPASSWORD=0,1025`, "\r\nERROR\r\n")
	port := mqttPort(mq.Addr)
	h.Cmd(`AT+MQTTCONN=0,"127.0.0.1",`+port+`,0`, "+MQTTCONNECTED:0,1,\"127.0.0.1\",\""+port+"\",\"\",0\r\n\r\nOK\r\n")
	deadline := time.Now().Add(rig.Timeout)
	for !strings.Contains(mq.Log(), "as "+id+" ") || !strings.Contains(mq.Log(), "u'"+user+"'") {
		if time.Now().After(deadline) {
			t.Fatalf("the broker did not see client ID %q and username %q:\n%s", id, user, mq.Log())
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Configuration is refused while connected.
	h.Cmd(`AT+MQTTLONGUSERNAME=0,4`, "\r\nERROR\r\n")
	h.Cmd(`AT+MQTTCLEAN=0`, "\r\nOK\r\n")
	checkDecodes(t, sink, "+MQTTLONGCLIENTID", "+MQTTLONGUSERNAME", "+MQTTLONGPASSWORD")
}

// mqttPKI lays the test PKI's client pair and the server's CA out under
// the names emulate --pki reads for the MQTT schemes.
func mqttPKI(t *testing.T) *rig.PKI {
	p := rig.NewPKI(t)
	for from, to := range map[string]string{
		"wss_cert/wss_client_00.crt": MQTTClientCertFile,
		"wss_key/wss_client_00.key":  MQTTClientKeyFile,
		"wss_ca/wss_ca_00.crt":       MQTTCAFile,
	} {
		b, err := os.ReadFile(filepath.Join(p.Dir, from))
		rig.Must(t, err)
		rig.Must(t, os.WriteFile(filepath.Join(p.Dir, to), b, 0o600))
	}
	return p
}

// TestMQTTSchemes connects with every transport: TLS with and without
// certificates (a broker that requires a client certificate refuses scheme
// 2), WebSocket and WSS, and publishes to itself over each.
func TestMQTTSchemes(t *testing.T) {
	p := mqttPKI(t)
	mq := rig.StartMosquitto(t, p)
	sink := &rig.Records{}
	h := startEmu(t, &Options{PKIDir: p.Dir, Record: sink.Add})
	h.Cmd("AT+SYSLOG=1", "\r\nOK\r\n")
	h.Cmd(`AT+MQTTALPN=0,1,"mqtt"`, "ERR CODE:0x010a6001\r\n\r\nERROR\r\n") // before AT+MQTTUSERCFG
	h.Cmd(`AT+MQTTSNI=0,"esp-server.invalid"`, "ERR CODE:0x010a6001\r\n\r\nERROR\r\n")
	// ALPN and SNI in the ClientHello: mosquitto ignores them.
	h.Cmd(`AT+MQTTUSERCFG=0,10,"esp32-wss","","",0,0,"/mqtt"`, "\r\nOK\r\n")
	h.Cmd(`AT+MQTTALPN=0,2,"mqtt"`, "ERR CODE:0x010a6008\r\n\r\nERROR\r\n")
	h.Cmd(`AT+MQTTALPN=0,2,"mqtt","x-amzn-mqtt-ca"`, "\r\nOK\r\n")
	h.Cmd(`AT+MQTTSNI=0,"esp-server.invalid"`, "\r\nOK\r\n")
	wss := mqttPort(mq.WSSAddr)
	h.Cmd(`AT+MQTTCONN=0,"127.0.0.1",`+wss+`,0`, "+MQTTCONNECTED:0,10,\"127.0.0.1\",\""+wss+"\",\"/mqtt\",0\r\n\r\nOK\r\n")
	h.Cmd(`AT+MQTTSNI=0,"other"`, "ERR CODE:0x010a6002\r\n\r\nERROR\r\n") // not while connected
	h.Cmd(`AT+MQTTCLEAN=0`, "\r\nOK\r\n")
	for _, tc := range []struct {
		scheme     int
		addr, path string
		ok         bool
	}{
		{5, mq.TLSAddr, "", true},  // verify the server, present the client certificate
		{4, mq.TLSAddr, "", true},  // client certificate only
		{2, mq.TLSAddr, "", false}, // no client certificate: the broker refuses
		{3, mq.TLSAnonAddr, "", true},
		{2, mq.TLSAnonAddr, "", true},
		{6, mq.WSAddr, "/mqtt", true},
		{7, mq.WSSAddr, "/mqtt", true},
		{8, mq.WSSAddr, "", true},
		{9, mq.WSSAddr, "/", true}, // a client certificate nobody asks for
	} {
		func() {
			t.Logf("scheme %d to %s", tc.scheme, tc.addr)
			port := mqttPort(tc.addr)
			h.Cmd(fmt.Sprintf(`AT+MQTTUSERCFG=0,%d,"esp32-%d","","",0,0,"%s"`, tc.scheme, tc.scheme, tc.path), "\r\nOK\r\n")
			conn := `AT+MQTTCONN=0,"127.0.0.1",` + port + `,0`
			if !tc.ok {
				h.Cmd(conn, "+MQTTDISCONNECTED:0\r\nERR CODE:0x010a6051\r\n\r\nERROR\r\n")
				h.Cmd(`AT+MQTTCONN?`, fmt.Sprintf("+MQTTCONN:0,3,%d,\"127.0.0.1\",\"%s\",\"%s\",0\r\n\r\nOK\r\n", tc.scheme, port, tc.path))
				h.Cmd(`AT+MQTTCLEAN=0`, "\r\nOK\r\n")
				return
			}
			h.Cmd(conn, fmt.Sprintf("+MQTTCONNECTED:0,%d,\"127.0.0.1\",\"%s\",\"%s\",0\r\n\r\nOK\r\n", tc.scheme, port, tc.path))
			h.Cmd(`AT+MQTTSUB=0,"t/#",0`, "\r\nOK\r\n")
			h.Send(`AT+MQTTPUB=0,"t/x","secure",0,0` + "\r\n")
			h.Expect(`AT+MQTTPUB=0,"t/x","secure",0,0` + "\r\n")
			h.ExpectAnyOrder("\r\nOK\r\n", "+MQTTSUBRECV:0,\"t/x\",6,secure\r\n")
			h.Cmd(`AT+MQTTCLEAN=0`, "\r\nOK\r\n")
		}()
	}
	checkDecodes(t, sink, "+MQTTALPN", "+MQTTSNI", "+MQTTSUB")
}

// TestMQTTErrors checks the documented errors and their codes under
// AT+SYSLOG=1.
func TestMQTTErrors(t *testing.T) {
	mq := rig.StartMosquitto(t, nil)
	sink := &rig.Records{}
	h := startEmu(t, &Options{Record: sink.Add})
	h.Cmd("AT+SYSLOG=1", "\r\nOK\r\n")
	errc := func(code string) string { return "ERR CODE:0x" + code + "\r\n\r\nERROR\r\n" }
	h.Cmd(`AT+MQTTPUB=0,"t","x",0,0`, errc("010a6006"))         // publish before connect: AT_MQTT_NULL_LINK
	h.Cmd(`AT+MQTTCONN=0,"127.0.0.1",1883,0`, errc("010a6001")) // AT_MQTT_NO_CONFIGURED
	h.Cmd(`AT+MQTTCLEAN=0`, errc("010a6003"))                   // uninitiated or already clean
	h.Cmd(`AT+MQTTCONNCFG=0,60,0,"","",0,0`, errc("010a6001"))
	h.Cmd(`AT+MQTTUSERCFG=0,11,"c","","",0,0,""`, errc("010a6013")) // scheme 1..10
	h.Cmd(`AT+MQTTUSERCFG=0,0,"c","","",0,0,""`, errc("010a6013"))
	h.Cmd(`AT+MQTTUSERCFG=1,1,"c","","",0,0,""`, errc("010a6011")) // link 0 only
	h.Cmd(`AT+MQTTUSERCFG=0,1,"c","","",0,0`, errc("010a6008"))    // 8 parameters
	h.Cmd(`AT+MQTTUSERCFG=0,1,"c","","",1,0,""`, errc("010a601e")) // cert_key_ID 0 only
	h.Cmd(`AT+MQTTUSERCFG=0,1,"c","","",0,1,""`, errc("010a6020")) // CA_ID 0 only
	h.Cmd(`AT+MQTTUSERCFG=0,1,"c","`+strings.Repeat("u", 65)+`","",0,0,""`, errc("010a6019"))
	h.Cmd(`AT+MQTTUSERCFG=0,1,"c","","",0,0,"`+strings.Repeat("p", 33)+`"`, errc("010a6029"))
	h.Cmd(`AT+MQTTUSERCFG=0,1,"c","","",0,0,""`, "\r\nOK\r\n")
	h.Cmd(`AT+MQTTCONNCFG=0,7201,0,"","",0,0`, errc("010a602d"))
	h.Cmd(`AT+MQTTCONNCFG=0,60,0,"w","m",3,0`, errc("010a6037"))
	h.Cmd(`AT+MQTTCONN=0,"127.0.0.1",0,0`, errc("010a603e"))
	h.Cmd(`AT+MQTTCONN=0,"",1883,0`, errc("010a603b"))
	h.Cmd(`AT+MQTTCONN=0,"127.0.0.1",1883,2`, errc("010a6040"))
	h.Cmd(`AT+MQTTSUB=0,"t",0`, errc("010a6006"))
	// No broker on that port: +MQTTDISCONNECTED, then ERROR.
	closed := closedPort(t)
	h.Cmd(fmt.Sprintf(`AT+MQTTCONN=0,"127.0.0.1",%d,0,3000`, closed), "+MQTTDISCONNECTED:0\r\n"+errc("010a6051"))
	// A scheme with certificates, and no --pki folder.
	h.Cmd(`AT+MQTTUSERCFG=0,4,"c","","",0,0,""`, "\r\nOK\r\n")
	h.Cmd(`AT+MQTTCONN=0,"127.0.0.1",`+mqttPort(mq.Addr)+`,0`, errc("010a6024"))
	h.Cmd(`AT+MQTTUSERCFG=0,1,"c","","",0,0,""`, "\r\nOK\r\n")
	port := mqttPort(mq.Addr)
	h.Cmd(`AT+MQTTCONN=0,"127.0.0.1",`+port+`,0`, "+MQTTCONNECTED:0,1,\"127.0.0.1\",\""+port+"\",\"\",0\r\n\r\nOK\r\n")
	h.Cmd(`AT+MQTTCONN=0,"127.0.0.1",`+port+`,0`, errc("010a6004")) // already connected
	h.Cmd(`AT+MQTTUSERCFG=0,1,"c","","",0,0,""`, errc("010a6002"))
	h.Cmd(`AT+MQTTPUB=0,"t","x",3,0`, errc("010a6048"))
	h.Cmd(`AT+MQTTPUB=0,"t","x",0,2`, errc("010a604a"))
	h.Cmd(`AT+MQTTPUB=0,"","x",0,0`, errc("010a6042"))
	h.Cmd(`AT+MQTTPUB=0,"`+strings.Repeat("t", 129)+`","x",0,0`, errc("010a6043"))
	h.Cmd(`AT+MQTTPUBRAW=0,"t",0,0,0`, errc("010a604c"))
	h.Cmd(`AT+MQTTPUB=0,"t","x",0,0,100`, errc("01070005")) // timeout_ms 3000..60000
	h.Cmd(`AT+MQTTPUB=0,"t","x",0,0,3000`, "\r\nOK\r\n")
	h.Cmd(`AT+MQTTCLEAN=0`, "\r\nOK\r\n")
	checkDecodes(t, sink, "+MQTTCONN", "+MQTTPUB", "+MQTTUSERCFG")
}

// TestMQTTBrokerGone stops the broker under a connected link:
// +MQTTDISCONNECTED, state 3, and with reconnect 0 the link must be
// cleaned before it connects again.
func TestMQTTBrokerGone(t *testing.T) {
	mq := rig.StartMosquitto(t, nil)
	sink := &rig.Records{}
	h := startEmu(t, &Options{Record: sink.Add})
	port := mqttPort(mq.Addr)
	h.Cmd(`AT+MQTTUSERCFG=0,1,"gone","","",0,0,""`, "\r\nOK\r\n")
	h.Cmd(`AT+MQTTCONN=0,"127.0.0.1",`+port+`,0`, "+MQTTCONNECTED:0,1,\"127.0.0.1\",\""+port+"\",\"\",0\r\n\r\nOK\r\n")
	h.Cmd(`AT+MQTTSUB=0,"a",0`, "\r\nOK\r\n")
	mq.Stop()
	h.Expect("+MQTTDISCONNECTED:0\r\n")
	h.Cmd(`AT+MQTTCONN?`, "+MQTTCONN:0,3,1,\"127.0.0.1\",\""+port+"\",\"\",0\r\n\r\nOK\r\n")
	h.Cmd(`AT+MQTTPUB=0,"a","x",0,0`, "\r\nERROR\r\n")
	h.Cmd(`AT+MQTTCONN=0,"127.0.0.1",`+port+`,0`, "\r\nERROR\r\n")
	h.Cmd(`AT+MQTTCLEAN=0`, "\r\nOK\r\n")
	h.ExpectQuiet(100 * time.Millisecond)
	checkDecodes(t, sink, "+MQTTCONN")
}

// TestMQTTPubRawFail: the broker goes away while the host types
// AT+MQTTPUBRAW's data: +MQTTPUB:FAIL, and +MQTTDISCONNECTED waits until
// the data is in (§10.13).
func TestMQTTPubRawFail(t *testing.T) {
	mq := rig.StartMosquitto(t, nil)
	sink := &rig.Records{}
	h := startEmu(t, &Options{Record: sink.Add})
	port := mqttPort(mq.Addr)
	h.Cmd(`AT+MQTTUSERCFG=0,1,"fails","","",0,0,""`, "\r\nOK\r\n")
	h.Cmd(`AT+MQTTCONN=0,"127.0.0.1",`+port+`,0`, "+MQTTCONNECTED:0,1,\"127.0.0.1\",\""+port+"\",\"\",0\r\n\r\nOK\r\n")
	h.Cmd(`AT+MQTTPUBRAW=0,"t",4,1,0`, "\r\nOK\r\n\r\n>")
	mq.Stop()
	deadline := time.Now().Add(rig.Timeout)
	for {
		h.em.mu.Lock()
		st := h.em.mqtt.state
		h.em.mu.Unlock()
		if st == mqttDisconn {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the link never saw the broker go")
		}
		time.Sleep(10 * time.Millisecond)
	}
	h.ExpectQuiet(50 * time.Millisecond) // no URC inside the prompt
	h.Send("data")
	h.ExpectAnyOrder("+MQTTPUB:FAIL\r\n", "+MQTTDISCONNECTED:0\r\n")
	h.Cmd(`AT+MQTTCLEAN=0`, "\r\nOK\r\n")
	checkDecodes(t, sink, "+MQTTPUBRAW")
}

// TestMQTTReconnect: with reconnect 1 a link that lost its broker comes
// back by itself (+MQTTDISCONNECTED, then +MQTTCONNECTED) and subscribes
// again. The broker is "lost" by closing its connections with a second
// client that takes over the client ID.
func TestMQTTReconnect(t *testing.T) {
	mq := rig.StartMosquitto(t, nil)
	sink := &rig.Records{}
	h := startEmu(t, &Options{ReconnectInterval: 200 * time.Millisecond, Record: sink.Add})
	port := mqttPort(mq.Addr)
	h.Cmd(`AT+MQTTUSERCFG=0,1,"twin","","",0,0,""`, "\r\nOK\r\n")
	h.Cmd(`AT+MQTTCONN=0,"127.0.0.1",`+port+`,1`, "+MQTTCONNECTED:0,1,\"127.0.0.1\",\""+port+"\",\"\",1\r\n\r\nOK\r\n")
	h.Cmd(`AT+MQTTSUB=0,"back",1`, "\r\nOK\r\n")
	// The same client ID: the broker drops the board's session.
	twin := paho.NewClient(paho.NewClientOptions().AddBroker("tcp://" + mq.Addr).SetClientID("twin").SetAutoReconnect(false))
	if tok := twin.Connect(); !tok.WaitTimeout(rig.Timeout) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	h.Expect("+MQTTDISCONNECTED:0\r\n")
	twin.Disconnect(50)
	h.Expect("+MQTTCONNECTED:0,1,\"127.0.0.1\",\"" + port + "\",\"\",1\r\n")
	// Wait until the board has subscribed again (the broker logs each
	// SUBSCRIBE), then publish once.
	deadline := time.Now().Add(rig.Timeout)
	for strings.Count(mq.Log(), "Received SUBSCRIBE from twin") < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("the board did not subscribe again after the reconnect:\n%s", mq.Log())
		}
		time.Sleep(10 * time.Millisecond)
	}
	peer := newPeer(t, mq.Addr, "peer")
	peer.publish(t, "back", []byte("again"))
	h.Expect("+MQTTSUBRECV:0,\"back\",5,again\r\n")
	h.Cmd(`AT+MQTTCLEAN=0`, "\r\nOK\r\n")
	checkDecodes(t, sink, "+MQTTCONN", "+MQTTSUB")
}

// TestMQTTResetAndWiFi: AT+RST drops the link without a DISCONNECT, so the
// broker publishes the will, and the board forgets its configuration;
// AT+CWQAP and AT+CWMODE=2 drop it with +MQTTDISCONNECTED after WIFI
// DISCONNECT.
func TestMQTTResetAndWiFi(t *testing.T) {
	mq := rig.StartMosquitto(t, nil)
	sink := &rig.Records{}
	h := startEmu(t, &Options{Record: sink.Add})
	port := mqttPort(mq.Addr)
	peer := newPeer(t, mq.Addr, "watcher")
	peer.subscribe(t, "will/#")
	connected := "+MQTTCONNECTED:0,1,\"127.0.0.1\",\"" + port + "\",\"\",0\r\n\r\nOK\r\n"

	h.Cmd(`AT+MQTTUSERCFG=0,1,"dies","","",0,0,""`, "\r\nOK\r\n")
	h.Cmd(`AT+MQTTCONNCFG=0,60,0,"will/board","power lost",1,0`, "\r\nOK\r\n")
	h.Cmd(`AT+MQTTCONN=0,"127.0.0.1",`+port+`,0`, connected)
	h.Cmd("AT+RST", "\r\nOK\r\n")
	h.Expect("\r\nready\r\n")
	peer.expect(t, "will/board", "power lost")
	h.Cmd(`AT+MQTTCONN?`, "+MQTTCONN:0,0,0,\"\",\"\",\"\",0\r\n\r\nOK\r\n")

	h.Cmd(`AT+CWJAP="espressif","1234567890"`, "WIFI CONNECTED\r\nWIFI GOT IP\r\n\r\nOK\r\n")
	h.Cmd(`AT+MQTTUSERCFG=0,1,"roams","","",0,0,""`, "\r\nOK\r\n")
	h.Cmd(`AT+MQTTCONNCFG=0,60,0,"will/wifi","wifi lost",1,0`, "\r\nOK\r\n")
	h.Cmd(`AT+MQTTCONN=0,"127.0.0.1",`+port+`,0`, connected)
	h.Cmd("AT+CWQAP", "\r\nOK\r\nWIFI DISCONNECT\r\n+MQTTDISCONNECTED:0\r\n")
	peer.expect(t, "will/wifi", "wifi lost")
	h.Cmd(`AT+MQTTCONN?`, "+MQTTCONN:0,3,1,\"127.0.0.1\",\""+port+"\",\"\",0\r\n\r\nOK\r\n")
	h.Cmd(`AT+MQTTCONN=0,"127.0.0.1",`+port+`,0`, "\r\nERROR\r\n")
	h.Cmd(`AT+MQTTCLEAN=0`, "\r\nOK\r\n")
	// Without Wi-Fi a new connection fails as the firmware's would.
	h.Cmd(`AT+MQTTUSERCFG=0,1,"roams","","",0,0,""`, "\r\nOK\r\n")
	h.Cmd(`AT+MQTTCONN=0,"127.0.0.1",`+port+`,0`, "+MQTTDISCONNECTED:0\r\n\r\nERROR\r\n")
	// Leaving station mode drops Wi-Fi, and MQTT with it.
	h.Cmd(`AT+CWJAP="espressif","1234567890"`, "WIFI CONNECTED\r\nWIFI GOT IP\r\n\r\nOK\r\n")
	h.Cmd(`AT+MQTTCONN=0,"127.0.0.1",`+port+`,0`, connected)
	h.Cmd("AT+CWMODE=2", "\r\nOK\r\nWIFI DISCONNECT\r\n+MQTTDISCONNECTED:0\r\n")
	h.Cmd(`AT+MQTTCONN?`, "+MQTTCONN:0,3,1,\"127.0.0.1\",\""+port+"\",\"\",0\r\n\r\nOK\r\n")
	checkDecodes(t, sink, "+MQTTCONN", "+CWQAP", "+CWMODE")
}
