package at

import (
	"bytes"
	"regexp"
	"strings"
)

// This file finds secrets in ESP-AT traffic: the byte ranges of passwords,
// tokens, credentials and key material in command lines, typed payloads,
// device lines and free data. It only finds them; atbridge's redact package
// decides where the ranges lie in a capture and overwrites them. The rules
// are documented in docs/redaction.md.

// Mask is the byte that replaces a redacted byte.
const Mask = '*'

// Secret is a range of bytes to redact: buf[Off:Off+Len] of the buffer it
// was found in, and the rule that found it (e.g. "cwjap-password").
type Secret struct {
	Off, Len int
	Rule     string
	// Quoted says the range lies inside a quoted command parameter: a
	// backslash there escapes the next byte, so MaskSecret keeps each
	// backslash of an escape pair and masks the escaped byte.
	Quoted bool
	// Free says every byte may be masked except CR and LF (typed payloads,
	// key material): no quoting structure to keep.
	Free bool
}

// DefaultSecretParams are the URI query, form and JSON parameter names
// whose values are redacted by default (matched case-insensitively, also
// as a suffix after '_' or '-': "refresh_token", "x-api-key").
var DefaultSecretParams = []string{
	"token", "access_token", "refresh_token", "id_token", "api_key", "apikey", "key", "secret",
	"client_secret", "password", "passwd", "pwd", "pass", "auth", "authorization", "sig",
	"signature", "jwt", "session", "sessionid", "session_id", "sid", "credential", "credentials",
	"code", "private_key",
}

// PublicHeaders are the HTTP header names whose values are kept in AT+WSHEAD,
// AT+HTTPCHEAD and AT+HTTPCLIENT headers; every other header's value is
// redacted, since a custom header is where tokens usually go.
var PublicHeaders = []string{
	"host", "user-agent", "accept", "accept-encoding", "accept-language", "content-type",
	"content-length", "connection", "upgrade", "origin", "sec-websocket-protocol",
	"sec-websocket-version", "sec-websocket-extensions", "cache-control", "pragma",
}

// SecretRules says what is secret. The zero value uses the defaults.
type SecretRules struct {
	// Params are the token-like parameter names; nil means
	// DefaultSecretParams.
	Params []string
	// Patterns are extra regular expressions: every match is redacted,
	// in every byte of the capture (rule "pattern").
	Patterns []*regexp.Regexp
}

func (r *SecretRules) params() []string {
	if r == nil || r.Params == nil {
		return DefaultSecretParams
	}
	return r.Params
}

// IsSecretParam reports whether a query, form or JSON key names a secret.
func (r *SecretRules) IsSecretParam(name string) bool {
	for _, p := range r.params() {
		if len(name) < len(p) {
			continue
		}
		tail := name[len(name)-len(p):]
		if !strings.EqualFold(tail, p) {
			continue
		}
		if len(name) == len(p) {
			return true
		}
		if c := name[len(name)-len(p)-1]; c == '_' || c == '-' {
			return true
		}
	}
	return false
}

// IsPublicHeader reports whether a header's value is kept.
func IsPublicHeader(name string) bool {
	n := strings.ToLower(strings.TrimSpace(name))
	for _, h := range PublicHeaders {
		if n == h {
			return true
		}
	}
	return false
}

// PayloadSecret says how the payload typed after a command's ">" prompt is
// redacted.
type PayloadSecret struct {
	Rule string
	// N is the announced payload length.
	N int64
	// How: "all" masks every byte but CR and LF, "header" a "key:value"
	// header's value, "uri" a URL's credentials and tokens, "text" token-like
	// parameters in free data.
	How string
}

// CommandPayload reports whether c announces a payload (typed after ">")
// that holds secrets or data to scan, and how to redact it. The payload
// commands and their lengths are the decoder's (AnnouncedPayload).
func CommandPayload(c *Command) (PayloadSecret, bool) {
	n, ok := AnnouncedPayload(c)
	if !ok || n <= 0 {
		return PayloadSecret{}, false
	}
	switch c.Name {
	case "+WSHEAD":
		return PayloadSecret{"wshead", n, "header"}, true
	case "+HTTPCHEAD":
		return PayloadSecret{"http-header", n, "header"}, true
	case "+HTTPURLCFG":
		return PayloadSecret{"uri", n, "uri"}, true
	case "+MQTTLONGPASSWORD", "+MQTTLONGUSERNAME":
		return PayloadSecret{"mqtt-credentials", n, "all"}, true
	case "+SYSMFG", "+SYSFLASH":
		// A string or binary key (AT+SYSMFG=2,"ns","key",<7|8>,<length>),
		// a partition write (AT+SYSFLASH=1,"partition",<offset>,<length>).
		return PayloadSecret{"key-material", n, "all"}, true
	case "+FS":
		// AT+FS=<type>,1,<"filename">,<offset>,<length> (FS_AT_Commands.rst):
		// a file named like a key or certificate is key material whole;
		// any other file is data, searched for tokens (docs/redaction.md).
		if p, ok := c.Param(2); ok && KeyFileName(p.Value) {
			return PayloadSecret{"key-material", n, "all"}, true
		}
		return PayloadSecret{"text", n, "text"}, true
	case "+WSSEND", "+HTTPCPOST", "+HTTPCPUT":
		return PayloadSecret{"text", n, "text"}, true
	}
	return PayloadSecret{}, false
}

// CommandSecrets returns the secrets in a parsed command line, as ranges of
// c.Line: the parameters the command's syntax makes secret, and the
// TextSecrets of every quoted parameter.
func (r *SecretRules) CommandSecrets(c *Command) []Secret {
	var out []Secret
	if c == nil {
		return nil
	}
	param := func(i int, rule string) {
		if p, ok := c.Param(i); ok && !p.Empty {
			out = append(out, paramSecret(p, rule))
		}
	}
	if c.Type == CmdSet {
		switch c.Name {
		case "+CWJAP":
			param(1, "cwjap-password")
		case "+CWSAP":
			param(1, "cwsap-password")
		case "+CWJEAP":
			// <"ssid">,<method>,<"identity">,<"username">,<"password">,<security>
			// (Wi-Fi_AT_Commands.rst AT+CWJEAP): the phase-1 identity is
			// a user's name too (an e-mail address in the docs' example).
			param(2, "eap-credentials")
			param(3, "eap-credentials")
			param(4, "eap-credentials")
		case "+CIPSSLCPSK", "+CIPSSLCPSKHEX":
			// [<link ID>,]<"psk">,<"hint"> (TCP-IP_AT_Commands.rst
			// AT+CIPSSLCPSK): the link id only with AT+CIPMUX=1, so an
			// unquoted first field is the id. The hint is the identity the
			// server looks the key up by: redacted like a user name.
			i := pskField(c)
			param(i, "tls-psk")
			param(i+1, "tls-psk")
		case "+WSOPEN":
			param(4, "wsopen-auth")
		case "+MQTTUSERCFG":
			param(3, "mqtt-credentials")
			param(4, "mqtt-credentials")
		case "+HTTPCLIENT":
			// <opt>,<content-type>,<"url">,[<"host">],[<"path">],<transport>[,<"data">][,<"header">...]
			if p, ok := c.Param(6); ok && p.Quoted {
				out = append(out, r.quotedSub(p, r.TextSecrets([]byte(p.Value)))...)
			}
			for i := 7; i < len(c.Params); i++ {
				out = append(out, r.quotedSub(c.Params[i], HeaderSecrets([]byte(c.Params[i].Value), "http-header"))...)
			}
		case "+HTTPCPOST", "+HTTPCPUT":
			for i := 3; i < len(c.Params); i++ {
				out = append(out, r.quotedSub(c.Params[i], HeaderSecrets([]byte(c.Params[i].Value), "http-header"))...)
			}
		}
		// Any quoted parameter of any command: a URL's user:pass@ and token
		// parameters, and the token rules of free data (an Authorization
		// header, "Bearer ...", token=...), since a host may type a token
		// inline where the firmware expects it after a prompt; the device
		// answers ERROR, but the token was on the wire all the same.
		for _, p := range c.Params {
			if !p.Quoted {
				continue
			}
			if strings.Contains(p.Value, "://") {
				out = append(out, r.quotedSub(p, r.URISecrets([]byte(p.Value)))...)
			}
			out = append(out, r.quotedSub(p, r.TextSecrets([]byte(p.Value)))...)
		}
	}
	return dedupe(out)
}

// pskField is the index of AT+CIPSSLCPSK's psk parameter.
func pskField(c *Command) int {
	if p, ok := c.Param(0); ok && !p.Quoted && !p.Empty && len(c.Params) >= 3 {
		return 1
	}
	return 0
}

// paramSecret is the whole value of a parameter.
func paramSecret(p Param, rule string) Secret {
	if p.Quoted {
		return Secret{Off: p.Offset + 1, Len: len(p.Raw) - 2, Rule: rule, Quoted: true}
	}
	return Secret{Off: p.Offset, Len: len(p.Raw), Rule: rule}
}

// quotedSub maps secrets found in p.Value to ranges of the command line.
func (r *SecretRules) quotedSub(p Param, in []Secret) []Secret {
	if len(in) == 0 {
		return nil
	}
	// raw[i] is the index in p.Raw of value byte i.
	var raw []int
	if p.Quoted {
		for j := 1; j < len(p.Raw)-1; j++ {
			if p.Raw[j] == '\\' && j+1 < len(p.Raw)-1 {
				j++
			}
			raw = append(raw, j)
		}
	} else {
		for j := range p.Raw {
			raw = append(raw, j)
		}
	}
	var out []Secret
	for _, s := range in {
		if s.Len <= 0 || s.Off+s.Len > len(raw) {
			continue
		}
		from := raw[s.Off]
		to := raw[s.Off+s.Len-1] + 1
		if p.Quoted && from > 1 && p.Raw[from-1] == '\\' {
			from-- // keep the escape pair whole: its backslash stays, its byte is masked
		}
		out = append(out, Secret{Off: p.Offset + from, Len: to - from, Rule: s.Rule, Quoted: p.Quoted})
	}
	return out
}

// URISecrets returns the secrets in a URL: the user:password of its
// authority and the values of token-like query parameters (rule "uri").
func (r *SecretRules) URISecrets(u []byte) []Secret {
	var out []Secret
	i := bytes.Index(u, []byte("://"))
	if i < 0 {
		return r.queryLike(u, 0, "uri")
	}
	auth := i + 3
	end := len(u)
	for j := auth; j < len(u); j++ {
		if c := u[j]; c == '/' || c == '?' || c == '#' {
			end = j
			break
		}
	}
	if at := bytes.LastIndexByte(u[auth:end], '@'); at >= 0 {
		out = append(out, Secret{Off: auth, Len: at, Rule: "uri"})
	}
	if q := bytes.IndexByte(u[end:], '?'); q >= 0 {
		out = append(out, r.queryLike(u[end+q+1:], end+q+1, "uri")...)
	}
	return out
}

// queryLike finds name=value pairs separated by '&' or ';' whose name is a
// secret parameter.
func (r *SecretRules) queryLike(b []byte, base int, rule string) []Secret {
	var out []Secret
	i := 0
	for i < len(b) {
		j := i
		for j < len(b) && b[j] != '&' && b[j] != ';' && b[j] != '#' {
			j++
		}
		if eq := bytes.IndexByte(b[i:j], '='); eq > 0 && r.IsSecretParam(string(b[i:i+eq])) && j > i+eq+1 {
			out = append(out, Secret{Off: base + i + eq + 1, Len: j - (i + eq + 1), Rule: rule})
		}
		if j < len(b) && b[j] == '#' {
			break
		}
		i = j + 1
	}
	return out
}

// HeaderSecrets returns the value of a "key:value" header unless the key is
// a PublicHeaders name; a header with no colon is redacted whole.
func HeaderSecrets(h []byte, rule string) []Secret {
	c := bytes.IndexByte(h, ':')
	if c < 0 {
		return []Secret{{Off: 0, Len: len(h), Rule: rule}}
	}
	if IsPublicHeader(string(h[:c])) || c+1 >= len(h) {
		return nil
	}
	return []Secret{{Off: c + 1, Len: len(h) - c - 1, Rule: rule}}
}

var (
	reURL    = regexp.MustCompile(`[A-Za-z][A-Za-z0-9+.-]*://[^\s"'<>\x00-\x1f]*`)
	reHeader = regexp.MustCompile(`(?mi)^(authorization|proxy-authorization|cookie|set-cookie|x-api-key|x-auth-token|api-key)[ \t]*:[ \t]*([^\r\n]+)`)
	reBearer = regexp.MustCompile(`(?i)\b(bearer|basic)[ \t]+([A-Za-z0-9._~+/=-]{6,})`)
)

// TextSecrets returns the secrets in free data (WebSocket messages, typed
// payloads, response lines): URLs (as URISecrets), name=value pairs and JSON
// "name":"value" members whose name is a secret parameter, the values of
// Authorization, Cookie and API key header lines, and "Bearer"/"Basic"
// credentials (rule "token").
func (r *SecretRules) TextSecrets(b []byte) []Secret {
	var out []Secret
	if bytes.Contains(b, []byte("://")) {
		for _, m := range reURL.FindAllIndex(b, -1) {
			for _, s := range r.URISecrets(b[m[0]:m[1]]) {
				s.Off += m[0]
				out = append(out, s)
			}
		}
	}
	// name=value and "name": "value", found from each '=' and ':' (a
	// regular expression over every line costs ten times more).
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '=':
			k := i
			for k > 0 && isKeyByte(b[k-1]) {
				k--
			}
			if k == i || !r.IsSecretParam(string(b[k:i])) {
				continue
			}
			j := i + 1
			for j < len(b) && !isValueEnd(b[j]) {
				j++
			}
			if j > i+1 {
				out = append(out, Secret{Off: i + 1, Len: j - i - 1, Rule: "token"})
			}
		case ':':
			if i < 2 || b[i-1] != '"' {
				continue
			}
			k := i - 1
			for k > 0 && isKeyByte(b[k-1]) {
				k--
			}
			if k == 0 || b[k-1] != '"' || k == i-1 || !r.IsSecretParam(string(b[k:i-1])) {
				continue
			}
			j := i + 1
			for j < len(b) && (b[j] == ' ' || b[j] == '\t') {
				j++
			}
			if j >= len(b) || b[j] != '"' {
				continue
			}
			e := j + 1
			for e < len(b) && b[e] != '"' && b[e] >= 0x20 {
				if b[e] == '\\' {
					e++
				}
				e++
			}
			if e <= len(b) && e > j+1 {
				out = append(out, Secret{Off: j + 1, Len: min(e, len(b)) - j - 1, Rule: "token"})
			}
		}
	}
	if bytes.IndexByte(b, ':') >= 0 && hasFold(b, "authorization", "cookie", "api-key", "auth-token") {
		for _, m := range reHeader.FindAllSubmatchIndex(b, -1) {
			out = append(out, Secret{Off: m[4], Len: m[5] - m[4], Rule: "token"})
		}
	}
	if hasFold(b, "bearer", "basic") {
		for _, m := range reBearer.FindAllSubmatchIndex(b, -1) {
			out = append(out, Secret{Off: m[4], Len: m[5] - m[4], Rule: "token"})
		}
	}
	return dedupe(out)
}

func isKeyByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.'
}

// isValueEnd reports whether c ends a name=value value.
func isValueEnd(c byte) bool {
	switch c {
	case '&', ';', ' ', '\t', '"', '\'', '<', '>', ',':
		return true
	}
	return c < 0x20
}

// hasFold reports whether b contains any of the lowercase words, in any case.
func hasFold(b []byte, words ...string) bool {
	for _, w := range words {
		for i := 0; i+len(w) <= len(b); i++ {
			if (b[i]|0x20) == w[0] && bytes.EqualFold(b[i:i+len(w)], []byte(w)) {
				return true
			}
		}
	}
	return false
}

// PatternSecrets returns the matches of the user's patterns in b.
func (r *SecretRules) PatternSecrets(b []byte) []Secret {
	if r == nil {
		return nil
	}
	var out []Secret
	for _, re := range r.Patterns {
		for _, m := range re.FindAllIndex(b, -1) {
			if m[1] > m[0] {
				out = append(out, Secret{Off: m[0], Len: m[1] - m[0], Rule: "pattern"})
			}
		}
	}
	return out
}

// dedupe drops secrets contained in an earlier one.
func dedupe(in []Secret) []Secret {
	out := in[:0]
	for _, s := range in {
		inside := false
		for _, o := range out {
			if s.Off >= o.Off && s.Off+s.Len <= o.Off+o.Len {
				inside = true
				break
			}
		}
		if !inside && s.Len > 0 {
			out = append(out, s)
		}
	}
	return out
}

// MaskSecret overwrites s in buf with Mask, keeping the structure the
// decoder and the firmware parse: CR and LF always; in a quoted parameter
// the backslash of each escape pair (its escaped byte is masked); outside
// one (Quoted and Free unset, as for patterns on a command line) also '"',
// '\\' and ','. It returns the number of bytes changed.
func MaskSecret(buf []byte, s Secret) int {
	end := min(s.Off+s.Len, len(buf))
	n := 0
	for i := max(s.Off, 0); i < end; i++ {
		b := buf[i]
		switch {
		case b == '\r' || b == '\n':
			continue
		case s.Quoted && b == '\\':
			// The escaped byte is masked, the backslash kept, so the value
			// still parses; a line end after it is left alone like any
			// other, or the redacted capture would lose a line.
			if i+1 < end && buf[i+1] != '\r' && buf[i+1] != '\n' {
				i++
				if buf[i] != Mask {
					buf[i] = Mask
					n++
				}
			}
			continue
		case !s.Quoted && !s.Free && (b == '"' || b == '\\' || b == ','):
			continue
		}
		if b != Mask {
			buf[i] = Mask
			n++
		}
	}
	return n
}
