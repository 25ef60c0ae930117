package pcapng_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/atbridge/atbridge/formats"
	"github.com/atbridge/atbridge/formats/pcapng"
	"github.com/atbridge/atbridge/internal/rig"
	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// netStream is one synthetic flow of the link or MQTT view, reassembled.
type netStream struct {
	udp bool
	// synFrom is the address:port that sent the SYN.
	synFrom string
	// data per sender address:port, in order; UDP datagrams one by one.
	data      map[string][]byte
	datagrams []string
	fin       int
}

// netStreams reassembles Ethernet/IPv4 TCP and UDP packets by address
// pair, checking that each TCP side starts with a SYN and that sequence
// numbers follow the bytes sent.
func netStreams(pkts [][]byte) (map[string]*netStream, error) {
	out := map[string]*netStream{}
	next := map[string]uint32{}
	for i, b := range pkts {
		pk := gopacket.NewPacket(b, layers.LayerTypeEthernet, gopacket.Default)
		if e := pk.ErrorLayer(); e != nil {
			return nil, fmt.Errorf("packet %d: %v", i, e.Error())
		}
		ip, _ := pk.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		if ip == nil {
			return nil, fmt.Errorf("packet %d: not IPv4", i)
		}
		var src, dst string
		var payload []byte
		tcp, _ := pk.Layer(layers.LayerTypeTCP).(*layers.TCP)
		udp, _ := pk.Layer(layers.LayerTypeUDP).(*layers.UDP)
		switch {
		case tcp != nil:
			src, dst, payload = fmt.Sprintf("%s:%d", ip.SrcIP, tcp.SrcPort), fmt.Sprintf("%s:%d", ip.DstIP, tcp.DstPort), tcp.Payload
		case udp != nil:
			src, dst, payload = fmt.Sprintf("%s:%d", ip.SrcIP, udp.SrcPort), fmt.Sprintf("%s:%d", ip.DstIP, udp.DstPort), udp.Payload
		default:
			return nil, fmt.Errorf("packet %d: neither TCP nor UDP", i)
		}
		key := src + "-" + dst
		if dst < src {
			key = dst + "-" + src
		}
		s := out[key]
		if s == nil {
			s = &netStream{udp: udp != nil, data: map[string][]byte{}}
			out[key] = s
		}
		if udp != nil {
			s.data[src] = append(s.data[src], payload...)
			s.datagrams = append(s.datagrams, src+" "+string(payload))
			continue
		}
		side := src + ">" + dst
		n, started := next[side]
		if tcp.SYN {
			started, n = false, tcp.Seq // a new connection on the same ports
		}
		if !started {
			if !tcp.SYN {
				return nil, fmt.Errorf("packet %d: %s starts without SYN", i, src)
			}
			if !tcp.ACK {
				s.synFrom = src
			}
			n = tcp.Seq
		}
		if tcp.Seq != n {
			return nil, fmt.Errorf("packet %d: %s seq %d, want %d", i, src, tcp.Seq, n)
		}
		n += uint32(len(payload))
		if tcp.SYN || tcp.FIN {
			n++
		}
		if tcp.FIN {
			s.fin++
		}
		next[side] = n
		s.data[src] = append(s.data[src], payload...)
	}
	return out, nil
}

// step is serial bytes at a time, in milliseconds.
type step struct {
	ms   int64
	dir  formats.Dir
	data string
}

// host and dev are steps of the host app and of the ESP32.
func host(ms int64, s string) step { return step{ms, formats.ToDevice, s} }
func dev(ms int64, s string) step  { return step{ms, formats.ToHost, s} }

// exportSteps exports serial steps with the given views.
func exportSteps(t testing.TB, views pcapng.View, steps []step) []byte {
	t.Helper()
	var buf bytes.Buffer
	x, err := pcapng.NewWriter(&buf, &pcapng.Options{Start: pcapStart, Views: views})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range steps {
		if err := x.Chunk(s.ms*1e6, 0, s.dir, []byte(s.data)); err != nil {
			t.Fatal(err)
		}
	}
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// ethernetOn returns the Ethernet packets of interfaces whose name starts
// with prefix, and the comments of all packets.
func ethernetOn(t testing.TB, b []byte, prefix string) ([][]byte, []string) {
	t.Helper()
	f, err := parsePcapng(b)
	if err != nil {
		t.Fatal(err)
	}
	var pk [][]byte
	var comments []string
	for _, p := range f.pkts {
		if strings.HasPrefix(f.ifaceName(p), prefix) {
			pk = append(pk, p.data)
		}
		if p.comment != "" {
			comments = append(comments, p.comment)
		}
	}
	return pk, comments
}

// tshark runs tshark on the file with args and returns its output lines.
func tshark(t *testing.T, file string, args ...string) []string {
	t.Helper()
	cmd := exec.Command(rig.NeedProgram(t, "tshark"), append([]string{"-n", "-r", file}, args...)...)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark %v: %v\n%s", args, err, out)
	}
	s := strings.TrimRight(string(out), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

func writeTemp(t *testing.T, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "x.pcapng")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

const (
	httpReq  = "GET /get?x=1 HTTP/1.1\r\nHost: httpbin.example\r\nUser-Agent: esp\r\n\r\n"
	httpResp = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello"
)

// httpSteps is an HTTP GET over link 0 (AT+CIPMUX=1), in the bytes of
// TCP-IP_AT_Commands.rst: AT+CIPSTART's "<id>,CONNECT" before OK, AT+CIPSEND's
// prompt, "Recv <n> bytes" and SEND OK, the answer in +IPD in two reads,
// then "<id>,CLOSED".
func httpSteps() []step {
	return []step{
		host(0, "AT+CIPMUX=1\r\n"), dev(2, "AT+CIPMUX=1\r\n\r\nOK\r\n"),
		host(100, "AT+CIPSTART=0,\"TCP\",\"httpbin.example\",80\r\n"),
		dev(150, "AT+CIPSTART=0,\"TCP\",\"httpbin.example\",80\r\n0,CONNECT\r\n\r\nOK\r\n"),
		host(200, fmt.Sprintf("AT+CIPSEND=0,%d\r\n", len(httpReq))),
		dev(202, fmt.Sprintf("AT+CIPSEND=0,%d\r\n\r\nOK\r\n\r\n>", len(httpReq))),
		host(210, httpReq),
		dev(230, fmt.Sprintf("\r\nRecv %d bytes\r\n\r\nSEND OK\r\n", len(httpReq))),
		dev(400, fmt.Sprintf("\r\n+IPD,0,%d:%s", 20, httpResp[:20])),
		dev(410, fmt.Sprintf("\r\n+IPD,0,%d:%s", len(httpResp)-20, httpResp[20:])),
		dev(600, "0,CLOSED\r\n"),
	}
}

// TestNetLinkTCP: a TCP link's data as one flow with its handshake, the
// remote host name as a stable TEST-NET-2 address, correct sequence numbers
// and FINs from the remote at CLOSED.
func TestNetLinkTCP(t *testing.T) {
	pk, comments := ethernetOn(t, exportSteps(t, 0, httpSteps()), "net-link0")
	st, err := netStreams(pk)
	if err != nil {
		t.Fatal(err)
	}
	if len(st) != 1 {
		t.Fatalf("%d flows, want 1", len(st))
	}
	for key, s := range st {
		if !strings.Contains(key, "192.0.2.2:") || !strings.Contains(key, "198.51.100.") || !strings.Contains(key, ":80") {
			t.Errorf("flow %s: want the ESP32 at 192.0.2.2 and the server in 198.51.100.0/24 on port 80", key)
		}
		if !strings.HasPrefix(s.synFrom, "192.0.2.2:") {
			t.Errorf("SYN from %s, want the ESP32", s.synFrom)
		}
		var sent, recv string
		for from, d := range s.data {
			if strings.HasPrefix(from, "192.0.2.2:") {
				sent = string(d)
			} else {
				recv = string(d)
			}
		}
		if sent != httpReq || recv != httpResp || s.fin != 2 {
			t.Errorf("sent %q, received %q, %d FINs", sent, recv, s.fin)
		}
	}
	if !strings.Contains(strings.Join(comments, "|"), "link 0 TCP httpbin.example:80 (AT+CIPSTART)") {
		t.Errorf("no flow label among comments %q", comments)
	}
}

// TestNetLinkHTTPTshark: tshark's stock HTTP dissector decodes the request
// and the response that went through the ESP32.
func TestNetLinkHTTPTshark(t *testing.T) {
	p := writeTemp(t, exportSteps(t, 0, httpSteps()))
	got := tshark(t, p, "-Y", "http", "-T", "fields", "-e", "http.request.method", "-e", "http.request.uri", "-e", "http.host", "-e", "http.response.code", "-e", "http.content_type")
	want := []string{"GET\t/get?x=1\thttpbin.example\t\t", "\t\t\t200\ttext/plain"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("tshark http fields:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestNetLinkUDP: a UDP link (AT+CIPMUX=0, a local port) as datagrams, with
// the local port kept, and AT+CIPSENDEX's escapes resolved.
func TestNetLinkUDP(t *testing.T) {
	steps := []step{
		host(0, "AT+CIPSTART=\"UDP\",\"192.168.1.20\",5000,1112,0\r\n"),
		dev(20, "AT+CIPSTART=\"UDP\",\"192.168.1.20\",5000,1112,0\r\nCONNECT\r\n\r\nOK\r\n"),
		host(100, "AT+CIPSEND=4\r\n"), dev(102, "AT+CIPSEND=4\r\n\r\nOK\r\n\r\n>"),
		host(110, "ping"), dev(120, "\r\nRecv 4 bytes\r\n\r\nSEND OK\r\n"),
		dev(200, "\r\n+IPD,4:pong"),
		host(300, "AT+CIPSENDEX=10\r\n"), dev(302, "AT+CIPSENDEX=10\r\n\r\nOK\r\n\r\n>"),
		host(310, `a\,b\0`), dev(320, "\r\nSEND OK\r\n"),
		host(400, "AT+CIPSEND=2\r\n"), dev(402, "AT+CIPSEND=2\r\n\r\nOK\r\n\r\n>"),
		host(410, "no"), dev(420, "\r\nRecv 2 bytes\r\n\r\nSEND FAIL\r\n"),
		host(500, "AT+CIPCLOSE\r\n"), dev(502, "AT+CIPCLOSE\r\nCLOSED\r\n\r\nOK\r\n"),
	}
	b := exportSteps(t, pcapng.ViewNet, steps)
	pk, _ := ethernetOn(t, b, "net-link0")
	st, err := netStreams(pk)
	if err != nil {
		t.Fatal(err)
	}
	want := "192.0.2.2:1112 ping|192.168.1.20:5000 pong|192.0.2.2:1112 a,b"
	for _, s := range st {
		if got := strings.Join(s.datagrams, "|"); !s.udp || got != want {
			t.Errorf("datagrams %q, want %q", got, want)
		}
	}
	if len(st) != 1 {
		t.Errorf("%d flows, want 1", len(st))
	}
	p := writeTemp(t, b)
	got := tshark(t, p, "-Y", "udp", "-T", "fields", "-e", "udp.srcport", "-e", "udp.dstport", "-e", "udp.length")
	if w := "1112\t5000\t12|5000\t1112\t12|1112\t5000\t11"; strings.Join(got, "|") != w {
		t.Errorf("tshark udp fields %q, want %q", strings.Join(got, "|"), w)
	}
}

// TestNetLinkServer: a connection to the ESP32's server (AT+CIPSERVER) is
// opened by the synthetic client, toward the server port.
func TestNetLinkServer(t *testing.T) {
	steps := []step{
		host(0, "AT+CIPMUX=1\r\n"), dev(2, "AT+CIPMUX=1\r\n\r\nOK\r\n"),
		host(10, "AT+CIPSERVER=1,8080\r\n"), dev(12, "AT+CIPSERVER=1,8080\r\n\r\nOK\r\n"),
		dev(500, "1,CONNECT\r\n"),
		dev(600, "\r\n+IPD,1,3:abc"),
		dev(700, "1,CLOSED\r\n"),
	}
	pk, _ := ethernetOn(t, exportSteps(t, pcapng.ViewNet, steps), "net-link1")
	st, err := netStreams(pk)
	if err != nil {
		t.Fatal(err)
	}
	for key, s := range st {
		if !strings.Contains(key, "192.0.2.2:8080") || strings.HasPrefix(s.synFrom, "192.0.2.2") || s.fin != 2 {
			t.Errorf("flow %s: SYN from %s, %d FINs; want a client's SYN to 192.0.2.2:8080", key, s.synFrom, s.fin)
		}
	}
	if len(st) != 1 {
		t.Errorf("%d flows, want 1", len(st))
	}
}

// mqttSteps is an MQTT session in the bytes of MQTT_AT_Commands.rst:
// configuration, +MQTTCONNECTED before OK, a subscription, a publish, a
// message from the broker, AT+MQTTPUBRAW, an unsubscription and
// AT+MQTTCLEAN.
func mqttSteps() []step {
	return []step{
		host(0, "AT+MQTTUSERCFG=0,1,\"ESP32\",\"espressif\",\"1234567890\",0,0,\"\"\r\n"),
		dev(2, "AT+MQTTUSERCFG=0,1,\"ESP32\",\"espressif\",\"1234567890\",0,0,\"\"\r\n\r\nOK\r\n"),
		host(50, "AT+MQTTCONNCFG=0,60,0,\"lwt/esp\",\"gone\",1,0\r\n"),
		dev(52, "AT+MQTTCONNCFG=0,60,0,\"lwt/esp\",\"gone\",1,0\r\n\r\nOK\r\n"),
		host(100, "AT+MQTTCONN=0,\"192.168.10.234\",1883,0\r\n"),
		dev(300, "AT+MQTTCONN=0,\"192.168.10.234\",1883,0\r\n+MQTTCONNECTED:0,1,\"192.168.10.234\",\"1883\",\"\",0\r\n\r\nOK\r\n"),
		host(400, "AT+MQTTSUB=0,\"sensors/#\",1\r\n"), dev(420, "AT+MQTTSUB=0,\"sensors/#\",1\r\n\r\nOK\r\n"),
		host(500, "AT+MQTTPUB=0,\"sensors/t\",\"21.5\",0,0\r\n"), dev(520, "AT+MQTTPUB=0,\"sensors/t\",\"21.5\",0,0\r\n\r\nOK\r\n"),
		dev(600, "+MQTTSUBRECV:0,\"sensors/t\",4,21.5\r\n"),
		host(700, "AT+MQTTPUBRAW=0,\"raw/x\",5,1,0\r\n"), dev(702, "AT+MQTTPUBRAW=0,\"raw/x\",5,1,0\r\n\r\nOK\r\n\r\n>"),
		host(710, "hello"), dev(760, "\r\n+MQTTPUB:OK\r\n"),
		host(800, "AT+MQTTUNSUB=0,\"sensors/#\"\r\n"), dev(820, "AT+MQTTUNSUB=0,\"sensors/#\"\r\n\r\nOK\r\n"),
		host(900, "AT+MQTTCLEAN=0\r\n"), dev(920, "AT+MQTTCLEAN=0\r\n\r\nOK\r\n"),
	}
}

// TestMQTTFlow: the MQTT packets, byte for byte (MQTT 3.1.1), on one TCP
// flow to the broker's port 1883.
func TestMQTTFlow(t *testing.T) {
	pk, _ := ethernetOn(t, exportSteps(t, pcapng.ViewNet, mqttSteps()), "mqtt-link0")
	st, err := netStreams(pk)
	if err != nil {
		t.Fatal(err)
	}
	if len(st) != 1 {
		t.Fatalf("%d flows, want 1", len(st))
	}
	connect := "\x10\x37\x00\x04MQTT\x04\xce\x00\x3c" + "\x00\x05ESP32" + "\x00\x07lwt/esp\x00\x04gone" + "\x00\x09espressif\x00\x0a1234567890"
	wantOut := connect +
		"\x82\x0e\x00\x01\x00\x09sensors/#\x01" + // SUBSCRIBE id 1
		"\x30\x0f\x00\x09sensors/t21.5" + // PUBLISH QoS 0
		"\x32\x0e\x00\x05raw/x\x00\x02hello" + // PUBLISH QoS 1 id 2
		"\xa2\x0d\x00\x03\x00\x09sensors/#" + // UNSUBSCRIBE id 3
		"\xe0\x00" // DISCONNECT
	wantIn := "\x20\x02\x00\x00" + // CONNACK
		"\x90\x03\x00\x01\x01" + // SUBACK
		"\x30\x0f\x00\x09sensors/t21.5" + // +MQTTSUBRECV
		"\x40\x02\x00\x02" + // PUBACK
		"\xb0\x02\x00\x03" // UNSUBACK
	for key, s := range st {
		if !strings.Contains(key, "192.168.10.234:1883") {
			t.Errorf("flow %s, want the broker 192.168.10.234:1883", key)
		}
		for from, d := range s.data {
			want := wantIn
			if strings.HasPrefix(from, "192.0.2.2:") {
				want = wantOut
			}
			if string(d) != want {
				t.Errorf("from %s:\n got %q\nwant %q", from, d, want)
			}
		}
		if s.fin != 2 {
			t.Errorf("%d FINs", s.fin)
		}
	}
}

// TestMQTTTshark: tshark's stock mqtt dissector shows the packet types,
// topics and payloads.
func TestMQTTTshark(t *testing.T) {
	p := writeTemp(t, exportSteps(t, 0, mqttSteps()))
	got := tshark(t, p, "-Y", "mqtt", "-T", "fields", "-e", "mqtt.msgtype", "-e", "mqtt.topic", "-e", "mqtt.msg", "-e", "mqtt.clientid", "-e", "mqtt.username")
	want := []string{
		"1\t\t\tESP32\tespressif",
		"2\t\t\t\t",
		"8\tsensors/#\t\t\t",
		"9\t\t\t\t",
		"3\tsensors/t\t32312e35\t\t",
		"3\tsensors/t\t32312e35\t\t",
		"3\traw/x\t68656c6c6f\t\t",
		"4\t\t\t\t",
		"10\tsensors/#\t\t\t",
		"11\t\t\t\t",
		"14\t\t\t\t",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("tshark mqtt fields:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
