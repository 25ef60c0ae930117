package esp

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"strings"
)

// The TLS client settings of AT+CIPSTART="SSL" (docs/esp-at-surface.md
// §3.8): AT+CIPSSLCCONF, AT+CIPSSLCCN, AT+CIPSSLCSNI and AT+CIPSSLCALPN,
// per link under AT+CIPMUX=1 (id 5: all links). Each applies to the next
// AT+CIPSTART of its link. A choice: they reset on reboot (the firmware
// keeps CIPSSLCCONF in NVS). PSK and cipher suites are in sslpsk.go.

// sslConf is one link's TLS client settings.
type sslConf struct {
	auth, pki, ca int
	cn, sni       string
	alpn          []string
	psk, hint     string // AT+CIPSSLCPSK[HEX] (sslpsk.go): stored, not offered
	pskHex        bool
	suites        []uint16 // AT+CIPSSLCCIPHER; nil: every suite
}

// sslTargets parses the optional leading link id of an SSL command: the
// links it sets (all five for 5) and the remaining parameters.
func (c *call) sslTargets(name string) (ids []int, rest int, res result, ok bool) {
	c.e.mu.Lock()
	mux := c.e.st.tcp.mux
	c.e.mu.Unlock()
	if !mux {
		return []int{0}, 0, resOK, true
	}
	v, ok := c.cmd.Int(0)
	if !ok || v < 0 || v > tcpLinks {
		return nil, 0, c.paramErr("0x01070000", name+" under AT+CIPMUX=1 starts with a link 0..5"), false
	}
	if v == tcpLinks {
		return []int{0, 1, 2, 3, 4}, 1, resOK, true
	}
	return []int{int(v)}, 1, resOK, true
}

// sslQuery prints one line per link (under AT+CIPMUX=0, link 0 only).
func (c *call) sslQuery(line func(id int, s sslConf) string) result {
	c.e.mu.Lock()
	mux, all := c.e.st.tcp.mux, c.e.st.tcp.ssl
	c.e.mu.Unlock()
	var b strings.Builder
	for id, s := range all {
		if !mux && id > 0 {
			break
		}
		b.WriteString(line(id, s))
	}
	c.print(b.String())
	return resOK
}

func cmdCIPSSLCCONFQuery(c *call) result {
	return c.sslQuery(func(id int, s sslConf) string {
		return fmt.Sprintf("+CIPSSLCCONF:%d,%d,%d,%d\r\n", id, s.auth, s.pki, s.ca)
	})
}

// cmdCIPSSLCCONFSet: AT+CIPSSLCCONF=[<id>,]<auth_mode>[,<pki>][,<ca>]. The
// certificates are checked at once, as AT+WSCFG does: a missing one prints
// NO CERT FOUND, NO PRVT_KEY FOUND or NO CA FOUND and ERROR.
func cmdCIPSSLCCONFSet(c *call) result {
	ids, i, res, ok := c.sslTargets("AT+CIPSSLCCONF")
	if !ok {
		return res
	}
	n := len(c.cmd.Params) - i
	if n < 1 || n > 3 {
		return c.paramErr("0x01060000", "AT+CIPSSLCCONF takes [<link>,]<auth_mode>[,<pki_number>][,<ca_number>]")
	}
	var v [3]int64
	for k := range n {
		x, ok := c.cmd.Int(i + k)
		if !ok || x < 0 || (k == 0 && x > 3) || x > 255 {
			return c.paramErr("0x01070000", "AT+CIPSSLCCONF auth_mode must be 0..3, pki and ca numbers 0..255")
		}
		v[k] = x
	}
	s := sslConf{auth: int(v[0]), pki: int(v[1]), ca: int(v[2])}
	if s.auth&1 != 0 {
		if _, msg, err := c.e.loadClientCert(s.pki); err != nil {
			c.print(msg)
			return c.errorf("AT+CIPSSLCCONF: client certificate", "err", err)
		}
	}
	if s.auth&2 != 0 {
		if _, err := c.e.loadCA(s.ca); err != nil {
			c.print("NO CA FOUND\r\n")
			return c.errorf("AT+CIPSSLCCONF: CA", "err", err)
		}
	}
	c.setSSL(ids, func(o *sslConf) { o.auth, o.pki, o.ca = s.auth, s.pki, s.ca })
	return resOK
}

func (c *call) setSSL(ids []int, f func(*sslConf)) {
	c.e.mu.Lock()
	for _, id := range ids {
		f(&c.e.st.tcp.ssl[id])
	}
	c.e.mu.Unlock()
}

// sslString is the set form of CIPSSLCCN and CIPSSLCSNI: one quoted string.
func sslString(name string, max int, set func(*sslConf, string)) func(*call) result {
	return func(c *call) result {
		ids, i, res, ok := c.sslTargets(name)
		if !ok {
			return res
		}
		p := c.cmd.Params
		if len(p) != i+1 || !p[i].Quoted || len(p[i].Value) == 0 || len(p[i].Value) > max {
			return c.paramErr("0x01070000", fmt.Sprintf("%s takes [<link>,]\"<name>\" of 1..%d bytes", name, max))
		}
		c.setSSL(ids, func(o *sslConf) { set(o, p[i].Value) })
		return resOK
	}
}

// cmdCIPSSLCALPNSet: AT+CIPSSLCALPN=[<id>,]<counts 0..5>[,"<alpn>"]...
func cmdCIPSSLCALPNSet(c *call) result {
	ids, i, res, ok := c.sslTargets("AT+CIPSSLCALPN")
	if !ok {
		return res
	}
	p := c.cmd.Params
	n, ok := c.cmd.Int(i)
	if !ok || n < 0 || n > 5 || len(p) != i+1+int(n) {
		return c.paramErr("0x01070000", "AT+CIPSSLCALPN takes [<link>,]<counts 0..5> and that many quoted protocols")
	}
	var alpn []string
	for _, q := range p[i+1:] {
		if !q.Quoted || q.Value == "" || len(q.Value) > 255 {
			return c.paramErr("0x01070000", "AT+CIPSSLCALPN protocols are quoted, 1..255 bytes")
		}
		alpn = append(alpn, q.Value)
	}
	c.setSSL(ids, func(o *sslConf) { o.alpn = alpn })
	return resOK
}

func cmdCIPSSLCALPNQuery(c *call) result {
	return c.sslQuery(func(id int, s sslConf) string {
		var b strings.Builder
		fmt.Fprintf(&b, "+CIPSSLCALPN:%d", id)
		for _, a := range s.alpn {
			fmt.Fprintf(&b, ",%q", a)
		}
		return b.String() + "\r\n"
	})
}

// sslClientConfig builds the TLS settings of an SSL link: the client
// certificate with auth_mode bit 0; with bit 1 the server chain is
// verified against the CA, and its name against AT+CIPSSLCCN when set;
// SNI from AT+CIPSSLCSNI, else the host when it is a name; ALPN.
func (e *Emulator) sslClientConfig(s sslConf, host string) (*tls.Config, error) {
	// TLS 1.2 only: ESP-IDF's mbedTLS has TLS 1.3 off by default
	// (CONFIG_MBEDTLS_SSL_PROTO_TLS1_3), so a server's refusal of the
	// client certificate fails the handshake, before CONNECT.
	tc := &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS12, NextProtos: s.alpn}
	tc.CipherSuites = s.suites
	tc.ServerName = s.sni
	if tc.ServerName == "" && net.ParseIP(host) == nil {
		tc.ServerName = host
	}
	if s.auth&1 != 0 {
		cert, _, err := e.loadClientCert(s.pki)
		if err != nil {
			return nil, err
		}
		tc.Certificates = []tls.Certificate{*cert}
	}
	if s.auth&2 != 0 {
		caPEM, err := e.loadCA(s.ca)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(caPEM)
		cn := s.cn
		tc.VerifyPeerCertificate = verifyChain(pool, cn, "server")
	}
	return tc, nil
}

// sslCommands adds the TLS client configuration commands to t.
func sslCommands(t map[string]handler) {
	t["+CIPSSLCCONF"] = handler{query: cmdCIPSSLCCONFQuery, set: cmdCIPSSLCCONFSet}
	t["+CIPSSLCCN"] = handler{
		query: func(c *call) result {
			return c.sslQuery(func(id int, s sslConf) string { return fmt.Sprintf("+CIPSSLCCN:%d,%q\r\n", id, s.cn) })
		},
		set: sslString("AT+CIPSSLCCN", 64, func(s *sslConf, v string) { s.cn = v }),
	}
	t["+CIPSSLCSNI"] = handler{
		query: func(c *call) result {
			return c.sslQuery(func(id int, s sslConf) string { return fmt.Sprintf("+CIPSSLCSNI:%d,%q\r\n", id, s.sni) })
		},
		set: sslString("AT+CIPSSLCSNI", 64, func(s *sslConf, v string) { s.sni = v }),
	}
	t["+CIPSSLCALPN"] = handler{query: cmdCIPSSLCALPNQuery, set: cmdCIPSSLCALPNSet}
	t["+CIPSSLCPSK"] = handler{query: sslPSKQuery("CIPSSLCPSK"), set: sslPSKSet("AT+CIPSSLCPSK", false)}
	t["+CIPSSLCPSKHEX"] = handler{query: sslPSKQuery("CIPSSLCPSKHEX"), set: sslPSKSet("AT+CIPSSLCPSKHEX", true)}
	t["+CIPSSLCCIPHER"] = handler{query: cmdCIPSSLCCIPHERQuery, set: cmdCIPSSLCCIPHERSet}
}
