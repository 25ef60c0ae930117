package esp

import (
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// AT+CIPSSLCPSK, AT+CIPSSLCPSKHEX and AT+CIPSSLCCIPHER
// (docs/esp-at-surface.md §3.8).
//
// PSK: Go's crypto/tls has no external pre-shared keys, so the emulator
// stores and reports the PSK and hint as the firmware does, but its
// handshake offers certificate suites only: a server that accepts nothing
// but PSK suites fails AT+CIPSTART (ERROR, CLOSED), and the log says why.

// sslPSKSet is AT+CIPSSLCPSK=[<id>,]"<psk>","<hint>" (each ≤ 32 bytes;
// hex digits for AT+CIPSSLCPSKHEX).
func sslPSKSet(name string, isHex bool) func(*call) result {
	return func(c *call) result {
		ids, i, res, ok := c.sslTargets(name)
		if !ok {
			return res
		}
		p := c.cmd.Params
		if len(p) != i+2 || !p[i].Quoted || !p[i+1].Quoted || len(p[i].Value) > 32 || len(p[i+1].Value) > 32 {
			return c.paramErr("0x01070000", name+" takes [<link>,]\"<psk>\",\"<hint>\", each at most 32 bytes")
		}
		psk := p[i].Value
		if isHex {
			if _, err := hex.DecodeString(psk); err != nil {
				return c.paramErr("0x01070000", name+": the psk must be hex digits, an even count")
			}
		}
		c.setSSL(ids, func(o *sslConf) { o.psk, o.pskHex, o.hint = psk, isHex, p[i+1].Value })
		return resOK
	}
}

// sslPSKQuery prints each link's PSK as it was set (in that command's form).
func sslPSKQuery(name string) func(*call) result {
	return func(c *call) result {
		return c.sslQuery(func(id int, s sslConf) string {
			return fmt.Sprintf("+%s:%d,%q,%q\r\n", name, id, s.psk, s.hint)
		})
	}
}

// goSuites are the TLS 1.2 cipher suites Go can offer, by IANA number.
func goSuites() map[uint16]bool {
	m := map[uint16]bool{}
	for _, s := range tls.CipherSuites() {
		m[s.ID] = true
	}
	for _, s := range tls.InsecureCipherSuites() {
		m[s.ID] = true
	}
	return m
}

// cmdCIPSSLCCIPHERSet: AT+CIPSSLCCIPHER=[<id>,]<counts>[,<suite>]... with
// suites as hex numbers (0xC023); 0 clears (every suite offered). A suite
// Go's TLS cannot offer answers ERROR, so the handshake never differs from
// what the host asked for.
func cmdCIPSSLCCIPHERSet(c *call) result {
	ids, i, res, ok := c.sslTargets("AT+CIPSSLCCIPHER")
	if !ok {
		return res
	}
	p := c.cmd.Params
	n, ok := c.cmd.Int(i)
	if !ok || n < 0 || n > 32 || len(p) != i+1+int(n) {
		return c.paramErr("0x01070000", "AT+CIPSSLCCIPHER takes [<link>,]<counts> and that many suites (hex, e.g. 0xC02B)")
	}
	have := goSuites()
	var suites []uint16
	for _, q := range p[i+1:] {
		v, err := strconv.ParseUint(strings.TrimPrefix(strings.ToLower(q.Value), "0x"), 16, 16)
		if err != nil || q.Quoted {
			return c.paramErr("0x01070000", "AT+CIPSSLCCIPHER suites are hex numbers such as 0xC02B")
		}
		if !have[uint16(v)] {
			return c.errorf(fmt.Sprintf("AT+CIPSSLCCIPHER: suite 0x%04X is not one the emulator's TLS can offer", v))
		}
		suites = append(suites, uint16(v))
	}
	c.setSSL(ids, func(o *sslConf) { o.suites = suites })
	return resOK
}

// cmdCIPSSLCCIPHERQuery prints +CIPSSLCCIPHER:<id>,0x<suite> per configured
// suite (LIB-IP "%s:%d,0x%04X").
func cmdCIPSSLCCIPHERQuery(c *call) result {
	return c.sslQuery(func(id int, s sslConf) string {
		var b strings.Builder
		for _, x := range s.suites {
			fmt.Fprintf(&b, "+CIPSSLCCIPHER:%d,0x%04X\r\n", id, x)
		}
		return b.String()
	})
}
