package esp

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// The MQTT connection of link 0 (docs/esp-at-surface.md §4.2-§4.5) over
// github.com/eclipse/paho.mqtt.golang, MQTT 3.1.1 as the firmware speaks
// it, on the transports of the ten schemes: tcp, ssl, ws and wss.
//
// Choices where the docs are silent, marked where they are made:
//   - a failed AT+MQTTCONN prints +MQTTDISCONNECTED:0, then ERROR with
//     0x6051 (in disconnected state), and leaves the link configurable;
//   - with reconnect 1 a dropped link retries after 1 s, doubling up to
//     Options.ReconnectInterval, and subscribes its topics again when it is
//     back (the firmware keeps its topic list);
//   - a reboot (AT+RST, AT+RESTORE, a forced restart, Serve's end) and
//     AT+CWQAP drop the connection without an MQTT DISCONNECT, as a board
//     losing power or its network does, so the broker publishes the will.
//     AT+CWQAP then prints +MQTTDISCONNECTED:0 after WIFI DISCONNECT and
//     leaves state 3 with no reconnect: AT+MQTTCLEAN=0 and configure again.
//     (With reconnect 1 the firmware would retry once Wi-Fi is back; the
//     emulator does not follow the Wi-Fi back.)
//   - AT+MQTTCLEAN sends DISCONNECT and prints no URC.

// mqttBuffer is the firmware's MQTT buffer (CONFIG_MQTT_BUFFER_SIZE 1024,
// header included): a longer message arrives as several +MQTTSUBRECV.
const mqttBuffer = 1024

// mqttSession is one AT+MQTTCONN's client.
type mqttSession struct {
	e       *Emulator
	link    *mqttLink
	gen     uint64
	client  paho.Client
	stopped atomic.Bool
	// connects counts successful connects; the first is AT+MQTTCONN's, whose
	// +MQTTCONNECTED the command prints. Guarded by e.mu.
	connects int
	// urcMu orders the connection URCs: paho runs its lost and connect
	// handlers in goroutines of their own, so a quick reconnect could call
	// onConnect before onLost has printed. lostShown (under e.mu) says
	// onConnect printed the +MQTTDISCONNECTED:0 itself.
	urcMu     sync.Mutex
	lostShown bool

	connMu sync.Mutex
	conn   net.Conn // the latest network connection, closed to drop it abruptly
}

// current reports whether s is still link 0's client. The caller holds e.mu.
func (s *mqttSession) current() bool {
	return !s.stopped.Load() && s.e.mqtt == s.link && s.link.sess == s
}

// stop ends the client: abruptly (the network connection closed first, no
// DISCONNECT) or politely.
func (s *mqttSession) stop(abrupt bool) {
	if s.stopped.Swap(true) {
		return
	}
	if abrupt {
		s.connMu.Lock()
		if s.conn != nil {
			_ = s.conn.Close()
		}
		s.connMu.Unlock()
		s.client.Disconnect(0)
		return
	}
	s.client.Disconnect(250)
}

// open dials the broker for paho (ClientOptions.CustomOpenConnectionFn), so
// the emulator holds the connection it may have to cut.
func (s *mqttSession) open(uri *url.URL, o paho.ClientOptions) (net.Conn, error) {
	if s.stopped.Load() {
		return nil, errors.New("the MQTT link was closed")
	}
	if f := s.e.dialFilter; f != nil {
		if err := f(uri.Host); err != nil {
			return nil, err
		}
	}
	d := &net.Dialer{Timeout: o.ConnectTimeout}
	var conn net.Conn
	var err error
	switch uri.Scheme {
	case "tcp":
		conn, err = d.Dial("tcp", uri.Host)
	case "ssl":
		conn, err = tls.DialWithDialer(d, "tcp", uri.Host, o.TLSConfig)
	case "ws":
		conn, err = paho.NewWebsocket(uri.String(), nil, o.ConnectTimeout, nil, nil)
	case "wss":
		conn, err = paho.NewWebsocket(uri.String(), o.TLSConfig, o.ConnectTimeout, nil, nil)
	default:
		err = fmt.Errorf("no transport for %q", uri.Scheme)
	}
	if err != nil {
		return nil, err
	}
	s.connMu.Lock()
	s.conn = conn
	s.connMu.Unlock()
	if s.stopped.Load() {
		conn.Close()
		return nil, errors.New("the MQTT link was closed")
	}
	return conn, nil
}

// urc prints an asynchronous line, never between a ">" prompt and the end
// of its data (§10.13).
func (s *mqttSession) urc(b []byte) {
	for !s.stopped.Load() {
		s.e.mu.Lock()
		inPrompt := s.e.prompt != nil
		s.e.mu.Unlock()
		if !inPrompt {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	s.e.write(s.gen, b)
}

// connectedURC is +MQTTCONNECTED (LIB-MQTT, the port quoted).
func connectedURC(m *mqttLink) string {
	return fmt.Sprintf("+MQTTCONNECTED:0,%d,\"%s\",\"%d\",\"%s\",%d\r\n", m.scheme, m.host, m.port, m.path, b2i(m.reconnect))
}

// onConnect prints +MQTTCONNECTED for a reconnect and subscribes the
// topics again.
func (s *mqttSession) onConnect(cl paho.Client) {
	e := s.e
	s.urcMu.Lock()
	e.mu.Lock()
	s.connects++
	if s.connects == 1 || !s.current() {
		e.mu.Unlock()
		s.urcMu.Unlock()
		return
	}
	m := s.link
	// The loss not announced yet: announce it first, as the firmware's
	// event loop sees the disconnect before the reconnect.
	announceLost := m.state != mqttDisconn
	s.lostShown = announceLost
	m.state = mqttConnected
	subs := append([]mqttSub(nil), m.subs...)
	if len(subs) > 0 {
		m.state = mqttSubscribed
	}
	line := connectedURC(m)
	e.mu.Unlock()
	if announceLost {
		s.urc([]byte("+MQTTDISCONNECTED:0\r\n"))
	}
	s.urc([]byte(line))
	s.urcMu.Unlock()
	for _, sub := range subs {
		if t := cl.Subscribe(sub.topic, sub.qos, nil); !t.WaitTimeout(e.opts.NetworkTimeout) || t.Error() != nil {
			e.log.Info("MQTT: subscribing again after a reconnect failed", "topic", sub.topic, "err", t.Error())
		}
	}
}

// onLost prints +MQTTDISCONNECTED:0 when the broker goes away.
func (s *mqttSession) onLost(_ paho.Client, err error) {
	e := s.e
	s.urcMu.Lock()
	defer s.urcMu.Unlock()
	e.mu.Lock()
	if s.lostShown {
		s.lostShown = false // onConnect announced this loss already
		e.mu.Unlock()
		return
	}
	if !s.current() {
		e.mu.Unlock()
		return
	}
	m := s.link
	m.state = mqttDisconn
	if !m.reconnect {
		m.sess = nil // reconnect 0: AT+MQTTCLEAN=0, then configure again
	}
	e.mu.Unlock()
	e.log.Info("MQTT connection lost", "err", err, "reconnect", m.reconnect)
	s.urc([]byte("+MQTTDISCONNECTED:0\r\n"))
}

// onMessage prints a message as +MQTTSUBRECV:0,"topic",<len>,<data>\r\n,
// one header, data and CRLF per write, in pieces as the firmware's MQTT
// buffer cuts it: the first piece is what the buffer holds after the
// PUBLISH header, each later one up to a full buffer. A choice: each piece
// repeats the topic.
func (s *mqttSession) onMessage(_ paho.Client, msg paho.Message) {
	s.e.mu.Lock()
	ok := s.current()
	s.e.mu.Unlock()
	if !ok {
		return
	}
	topic, data := msg.Topic(), msg.Payload()
	vh := 2 + len(topic)
	if msg.Qos() > 0 {
		vh += 2
	}
	room := mqttBuffer - (1 + varintLen(vh+len(data)) + vh)
	for first := true; first || len(data) > 0; first = false {
		n := min(len(data), max(room, 1))
		room = mqttBuffer
		out := make([]byte, 0, n+len(topic)+32)
		out = append(out, "+MQTTSUBRECV:0,\""...)
		out = append(out, topic...)
		out = append(out, "\","...)
		out = strconv.AppendInt(out, int64(n), 10)
		out = append(out, ',')
		out = append(out, data[:n]...)
		out = append(out, '\r', '\n')
		data = data[n:]
		s.urc(out)
	}
}

// varintLen is the size of MQTT's Remaining Length field for n.
func varintLen(n int) int {
	k := 1
	for n >= 128 {
		n >>= 7
		k++
	}
	return k
}

// mqttTLS builds the TLS settings of a scheme: nothing verified for 2 and
// 7; the server chain against mqtt_ca.crt for 3, 5, 8 and 10 (not its host
// name, a choice matching the WebSocket links); the client pair for 4, 5,
// 9 and 10; SNI from AT+MQTTSNI, else the host when it is a name; ALPN
// from AT+MQTTALPN. TLS 1.2, as ESP-IDF's mbedTLS has 1.3 off.
func mqttTLS(certPEM, keyPEM, caPEM []byte, host, sni string, alpn []string) (*tls.Config, error) {
	tc := &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS12, NextProtos: alpn}
	tc.ServerName = sni
	if sni == "" && net.ParseIP(host) == nil {
		tc.ServerName = host
	}
	if certPEM != nil {
		pair, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			return nil, fmt.Errorf("%s and %s are no key pair: %w", MQTTClientCertFile, MQTTClientKeyFile, err)
		}
		tc.Certificates = []tls.Certificate{pair}
	}
	if caPEM != nil {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(caPEM) {
			return nil, fmt.Errorf("%s holds no PEM certificate", MQTTCAFile)
		}
		tc.VerifyPeerCertificate = verifyChain(pool, "", "broker")
	}
	return tc, nil
}

// mqttBrokerURL is the broker's address for paho.
func mqttBrokerURL(scheme int, host string, port int64, path string) string {
	proto := "ssl"
	switch {
	case scheme == 1:
		proto = "tcp"
	case scheme == 6:
		proto = "ws"
	case scheme >= 7:
		proto = "wss"
	}
	hp := net.JoinHostPort(host, strconv.FormatInt(port, 10))
	if proto == "ws" || proto == "wss" {
		return proto + "://" + hp + "/" + strings.TrimPrefix(path, "/")
	}
	return proto + "://" + hp
}

// cmdMQTTCONNSet: AT+MQTTCONN=0,"host",<port>,<reconnect>[,<timeout_ms>].
// Success prints +MQTTCONNECTED before OK; failure +MQTTDISCONNECTED:0,
// then ERROR.
func cmdMQTTCONNSet(c *call) result {
	if res, ok := c.mqttParams("AT+MQTTCONN", 4, 5); !ok {
		return res
	}
	host, res, ok := c.mqttStr(1, 128, 0x603A, 0x603B, 0x603C, "<host>", false)
	if !ok {
		return res
	}
	port, res, ok := c.mqttInt(2, 1, 65535, 0x603D, 0x603E, "<port>")
	if !ok {
		return res
	}
	reconnect, res, ok := c.mqttInt(3, 0, 1, 0x603F, 0x6040, "<reconnect>")
	if !ok {
		return res
	}
	tmo, res, ok := c.optInt(4, 3000, 60000, 15000, "<timeout_ms>")
	if !ok {
		return res
	}
	timeout := time.Duration(tmo) * time.Millisecond

	e := c.e
	e.mu.Lock()
	m := e.mqtt
	switch {
	case m == nil:
		e.mu.Unlock()
		return c.mqttErr(mqttErrNoConfigured, "AT+MQTTCONN before AT+MQTTUSERCFG")
	case m.state >= mqttConnected:
		e.mu.Unlock()
		return c.mqttErr(mqttErrAlreadyConnected, "AT+MQTTCONN: already connected")
	case m.sess != nil || m.established:
		e.mu.Unlock()
		return c.mqttErr(mqttErrInDisconnected, "AT+MQTTCONN after the connection dropped: AT+MQTTCLEAN=0 and configure again")
	}
	cfg := *m
	wifiLost := e.st.wifi == wifiLost
	e.mu.Unlock()

	var tc *tls.Config
	if cfg.scheme != 1 && cfg.scheme != 6 {
		certPEM, keyPEM, caPEM, res, ok := c.mqttPKI(cfg.scheme)
		if !ok {
			return res
		}
		var err error
		if tc, err = mqttTLS(certPEM, keyPEM, caPEM, host, cfg.sni, cfg.alpn); err != nil {
			return c.mqttErr(mqttErrTLSConfig, "AT+MQTTCONN: "+err.Error())
		}
	}

	s := &mqttSession{e: e, link: m, gen: c.gen}
	keep := time.Duration(cfg.keepalive) * time.Second
	if keep == 0 {
		keep = 120 * time.Second
	}
	o := paho.NewClientOptions().
		AddBroker(mqttBrokerURL(cfg.scheme, host, port, cfg.path)).
		SetClientID(cfg.clientID).SetUsername(cfg.username).SetPassword(cfg.password).
		SetProtocolVersion(4).SetCleanSession(!cfg.noClean).SetKeepAlive(keep).
		SetConnectTimeout(timeout).SetWriteTimeout(e.opts.NetworkTimeout).
		SetAutoReconnect(reconnect == 1).SetConnectRetry(false).SetResumeSubs(false).
		SetMaxReconnectInterval(e.opts.ReconnectInterval).
		SetCustomOpenConnectionFn(s.open).
		SetOnConnectHandler(s.onConnect).SetConnectionLostHandler(s.onLost).
		SetDefaultPublishHandler(s.onMessage)
	if tc != nil {
		o.SetTLSConfig(tc)
	}
	if cfg.lwtTopic != "" {
		o.SetWill(cfg.lwtTopic, cfg.lwtMsg, cfg.lwtQoS, cfg.lwtRetain)
	}
	s.client = paho.NewClient(o)

	e.mu.Lock()
	if e.mqtt != m {
		e.mu.Unlock()
		return resNone
	}
	m.host, m.port, m.reconnect, m.sess = host, port, reconnect == 1, s
	e.mu.Unlock()

	err := errors.New("Wi-Fi is disconnected (AT+CWQAP)")
	if !wifiLost {
		err = c.mqttWait(s.client.Connect(), timeout)
	}
	e.mu.Lock()
	if !s.current() {
		e.mu.Unlock()
		s.stop(true)
		return resNone // rebooted, or cleaned meanwhile
	}
	if err != nil {
		m.sess, m.state = nil, mqttDisconn
		e.mu.Unlock()
		s.stop(true)
		c.print("+MQTTDISCONNECTED:0\r\n")
		return c.mqttErr(mqttErrInDisconnected, "AT+MQTTCONN: connecting to the broker failed: "+err.Error())
	}
	m.state, m.established = mqttConnected, true
	line := connectedURC(m)
	e.mu.Unlock()
	c.print(line)
	return resOK
}

// mqttWait waits for t within timeout (and the boot).
func (c *call) mqttWait(t paho.Token, timeout time.Duration) error {
	tm := time.NewTimer(timeout)
	defer tm.Stop()
	select {
	case <-t.Done():
		return t.Error()
	case <-tm.C:
		return fmt.Errorf("no answer from the broker within %v", timeout)
	case <-c.ctx.Done():
		return c.ctx.Err()
	}
}

// mqttSession returns the connected client, or answers ERROR: NULL_LINK
// before AT+MQTTCONN, IN_DISCONNECTED_STATE after a drop.
func (c *call) mqttSession(name string) (*mqttSession, result, bool) {
	c.e.mu.Lock()
	m := c.e.mqtt
	null := m == nil || m.sess == nil && !m.established
	down := !null && m.state < mqttConnected
	var s *mqttSession
	if m != nil {
		s = m.sess
	}
	c.e.mu.Unlock()
	switch {
	case null:
		return nil, c.mqttErr(mqttErrNullLink, name+" before AT+MQTTCONN"), false
	case down:
		return nil, c.mqttErr(mqttErrInDisconnected, name+": the MQTT connection is down"), false
	}
	return s, resOK, true
}

// cmdMQTTCLEAN: AT+MQTTCLEAN=0 closes the connection (with DISCONNECT, no
// URC) and frees the configuration; on an uninitialised link ERROR
// (0x6003).
func cmdMQTTCLEAN(c *call) result {
	if res, ok := c.mqttParams("AT+MQTTCLEAN", 1); !ok {
		return res
	}
	c.e.mu.Lock()
	m := c.e.mqtt
	c.e.mqtt = nil
	var s *mqttSession
	if m != nil {
		s = m.sess
	}
	c.e.mu.Unlock()
	if m == nil {
		return c.mqttErr(mqttErrAlreadyClean, "AT+MQTTCLEAN: uninitiated or already clean")
	}
	if s != nil {
		s.stop(false)
	}
	return resOK
}

// closeMQTT drops link 0 and its configuration without a URC, as a reboot
// does (closeAllLinks).
func (e *Emulator) closeMQTT() {
	e.mu.Lock()
	m := e.mqtt
	e.mqtt = nil
	var s *mqttSession
	if m != nil {
		s = m.sess
	}
	e.mu.Unlock()
	if s != nil {
		s.stop(true)
	}
}

// mqttAfterWiFiLoss wraps the after-result step (WIFI DISCONNECT) of
// AT+CWQAP and of AT+CWMODE leaving station mode:
// then the MQTT connection drops as its network went away.
func (e *Emulator) mqttAfterWiFiLoss(c *call, prev func()) func() {
	return func() {
		if prev != nil {
			prev()
		}
		e.mu.Lock()
		m := e.mqtt
		if m == nil || m.sess == nil {
			e.mu.Unlock()
			return
		}
		s := m.sess
		m.sess = nil
		m.established = true
		was := m.state
		m.state = mqttDisconn
		e.mu.Unlock()
		s.stop(true)
		if was >= mqttConnected {
			c.print("+MQTTDISCONNECTED:0\r\n")
		}
	}
}
