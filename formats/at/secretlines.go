package at

import (
	"bytes"
	"path"
	"strings"
)

// This file finds secrets the device prints: read-backs of stored
// credentials (query replies) and the key material of read commands. The
// rules are documented in docs/redaction.md.

// ReadsSecret reports whether c makes the device print stored secrets as
// response lines: AT+SYSMFG read of a key's value, AT+SYSFLASH read, and an
// AT+FS read of a file named like a key or certificate (KeyFileName).
// Every response line of it is key material after its SecretReadPrefix.
func ReadsSecret(c *Command) bool {
	if c == nil || c.Type != CmdSet {
		return false
	}
	op, _ := c.Int(0)
	switch c.Name {
	case "+SYSMFG":
		return op == 1 && len(c.Params) >= 3
	case "+SYSFLASH":
		return op == 2
	case "+FS":
		// AT+FS=<type>,2,<"filename">,<offset>,<length> (FS_AT_Commands.rst).
		op, _ = c.Int(1)
		p, ok := c.Param(2)
		return op == 2 && ok && KeyFileName(p.Value)
	}
	return false
}

// keyWords are parts of a file name that mark keys and certificates.
var keyWords = []string{"key", "cert", "secret", "token", "cred", "passw", "psk"}

// keyExts are the file extensions of keys and certificates.
var keyExts = []string{".pem", ".key", ".crt", ".cer", ".der", ".p12", ".pfx", ".jks", ".p8", ".pk8", ".csr"}

// KeyFileName reports whether an AT+FS file name looks like a key or a
// certificate: one of the extensions .pem .key .crt .cer .der .p12 .pfx
// .jks .p8 .pk8 .csr, a name containing key, cert, secret, token, cred,
// passw or psk, or a name "ca" or starting with "ca." or "ca_" (any case).
// Such a file's data is redacted whole; other files are searched for tokens.
func KeyFileName(name string) bool {
	n := strings.ToLower(path.Base(strings.ReplaceAll(name, "\\", "/")))
	for _, e := range keyExts {
		if strings.HasSuffix(n, e) {
			return true
		}
	}
	for _, w := range keyWords {
		if strings.Contains(n, w) {
			return true
		}
	}
	return n == "ca" || strings.HasPrefix(n, "ca.") || strings.HasPrefix(n, "ca_") || strings.HasPrefix(n, "ca-")
}

// readBacks are the query replies that print stored credentials, parsed as
// a command's parameters ("+X:" read as "AT+X="): the secret fields' indexes
// and their rule.
var readBacks = map[string]struct {
	idx  []int
	rule string
}{
	// +CWSAP:<"ssid">,<"pwd">,<channel>,<ecn>,<max conn>,<ssid hidden>
	"+CWSAP": {[]int{1}, "cwsap-password"},
	// +MQTTUSERCFG:<LinkID>,<scheme>,<"client_id">,<"username">,<"password">,...
	// (no query in the docs; a firmware or emulator that prints one gets it
	// redacted like the set command).
	"+MQTTUSERCFG": {[]int{3, 4}, "mqtt-credentials"},
	// +CWJEAP:<"ssid">,<method>,<"identity">,<"username">,<"password">,<security>
	"+CWJEAP": {[]int{2, 3, 4}, "eap-credentials"},
	// +CIPSSLCPSK:<link ID>,<"psk">,<"hint"> (TCP-IP_AT_Commands.rst), and
	// the same with the psk in hex.
	"+CIPSSLCPSK":    {[]int{1, 2}, "tls-psk"},
	"+CIPSSLCPSKHEX": {[]int{1, 2}, "tls-psk"},
}

// DeviceLineSecrets returns the secrets in a device line (without CRLF)
// that reads back stored credentials: +WSHEAD:<i>,"key:value" and
// +HTTPCHEAD:<i>,"key:value" header values, +CWSAP's password,
// +MQTTUSERCFG's username and password, +CWJEAP's identity, username and
// password, +CIPSSLCPSK's psk and hint, a URL's credentials in
// +HTTPURLCFG:<len>,<url> (and any URL), and token-like parameters anywhere.
func (r *SecretRules) DeviceLineSecrets(line []byte) []Secret {
	out := r.TextSecrets(line)
	colon := bytes.IndexByte(line, ':')
	if len(line) == 0 || line[0] != '+' || colon < 0 {
		return out
	}
	name := string(line[:colon])
	switch name {
	case "+WSHEAD", "+HTTPCHEAD":
		// +WSHEAD:<i>,"<key>:<value>", +HTTPCHEAD:<index>,<"req_header">
		// (HTTP_AT_Commands.rst AT+HTTPCHEAD?): printed raw, so the value
		// runs to the line's last quote.
		q := bytes.IndexByte(line, '"')
		if q < 0 {
			// Unquoted: the header after the index.
			if q = bytes.IndexByte(line[colon:], ','); q < 0 {
				return out
			}
			q += colon
		}
		end := len(line)
		if line[end-1] == '"' && end-1 > q {
			end--
		}
		rule := "wshead"
		if name == "+HTTPCHEAD" {
			rule = "http-header"
		}
		for _, s := range HeaderSecrets(line[q+1:end], rule) {
			s.Off += q + 1
			out = append(out, s)
		}
	case "+HTTPURLCFG":
		// +HTTPURLCFG:<url length>,<data> (HTTP_AT_Commands.rst
		// AT+HTTPURLCFG?): the URL raw after the first comma.
		c := bytes.IndexByte(line[colon:], ',')
		if c < 0 {
			return out
		}
		base := colon + c + 1
		for _, s := range r.URISecrets(line[base:]) {
			s.Off += base
			out = append(out, s)
		}
	default:
		rb, ok := readBacks[name]
		if !ok {
			return out
		}
		buf := make([]byte, 0, len(line)+2)
		buf = append(append(buf, "AT"...), line...)
		buf[2+colon] = '='
		c, err := ParseCommand(buf)
		if err != nil {
			// Cannot tell the fields apart: everything after the colon.
			return append(out, Secret{Off: colon + 1, Len: len(line) - colon - 1, Rule: rb.rule})
		}
		for _, i := range rb.idx {
			if p, ok := c.Param(i); ok && !p.Empty {
				s := paramSecret(p, rb.rule)
				s.Off -= 2
				out = append(out, s)
			}
		}
	}
	return dedupe(out)
}

// SecretReadPrefix returns how many bytes of a response line of a command
// that ReadsSecret to keep: "+SYSMFG:<ns>,<key>,<type>,<len>,",
// "+SYSFLASH:<len>," or "+FS:<len>,"; 0 for other lines (key material
// continued).
func SecretReadPrefix(line []byte) int {
	commas := 0
	switch {
	case bytes.HasPrefix(line, []byte("+SYSMFG:")):
		commas = 4
	case bytes.HasPrefix(line, []byte("+SYSFLASH:")), bytes.HasPrefix(line, []byte("+FS:")):
		commas = 1
	default:
		return 0
	}
	for i, b := range line {
		if b == ',' {
			commas--
			if commas == 0 {
				return i + 1
			}
		}
	}
	return len(line)
}
