package esp

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The HTTP client commands (docs/esp-at-surface.md §5; DOC-HTTP): AT+HTTPCLIENT,
// AT+HTTPGETSIZE, AT+HTTPCGET, AT+HTTPCPOST, AT+HTTPCPUT, AT+HTTPURLCFG and
// AT+HTTPCHEAD, over Go's net/http against the real server.
//
// The body comes back as the firmware's event handler prints it (§5.1):
// one "+<CMD>:<n>,<n bytes>\r\n" per read of at most the receive buffer,
// the CRLF not counted, all before the final result. A status of 300 or
// more ends in ERROR, with ERR CODE:0x010a7<status> under AT+SYSLOG=1 (DOC-HTTP
// "HTTP AT Error Codes": 0x7000 + status); redirects are not followed ("The
// command does not support redirection"), and the body read so far has
// already been printed (a choice: the handler prints data as it arrives and
// the status is checked after the transfer). A failed connection is
// ERR CODE:0x010a7000.

const (
	// httpBufDefault is ESP-IDF's esp_http_client buffer (512 bytes,
	// DEFAULT_HTTP_BUF_SIZE): the largest +HTTPCLIENT, +HTTPCPOST or
	// +HTTPCPUT piece, as EX-HTTP's 512-byte pieces show.
	httpBufDefault = 512
	// httpCGETRx is AT+HTTPCGET's and AT+HTTPGETSIZE's default <rx size>.
	httpCGETRx = 2048
	// httpTimeoutDefault is the commands' default <timeout> (DOC-HTTP).
	httpTimeoutDefault = 5000 * time.Millisecond
	// httpUserAgent is what ESP-IDF's HTTP client sends by default.
	httpUserAgent = "ESP32 HTTP Client/1.0"
	// httpURLMax bounds AT+HTTPURLCFG (8..8192, DOC-HTTP).
	httpURLMax = 8192
)

// httpContentTypes are <content-type> 0..3 of AT+HTTPCLIENT.
var httpContentTypes = []string{"application/x-www-form-urlencoded", "application/json", "multipart/form-data", "text/xml"}

// httpState is what the HTTP commands keep between calls; none of it is
// saved to flash.
type httpState struct {
	url     string   // AT+HTTPURLCFG; "" when unset
	headers []string // AT+HTTPCHEAD, "key: value", in order
}

// httpErr is a failed request with its extension code (0x7000 + status,
// or 0x7000 for a connection that failed).
type httpErr struct {
	code int
	why  string
}

func (e *httpErr) Error() string { return e.why }

// httpReq is one request to make.
type httpReq struct {
	method  string
	url     string
	body    []byte
	ctype   string   // Content-Type; "" for none
	headers []string // "key: value" from the command
	rx      int      // largest piece printed
	timeout time.Duration
	prefix  string // "+HTTPCLIENT" ...
	head    bool   // print the response headers instead of the body (opt 1)
}

// do makes r and prints the response as the firmware does. It returns
// the response's size in bytes (the body, or for HEAD its Content-Length).
func (c *call) httpDo(r *httpReq) (int64, error) {
	e := c.e
	u, err := url.Parse(r.url)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return 0, &httpErr{code: 0x7000, why: fmt.Sprintf("bad URL %q (want http:// or https://)", r.url)}
	}
	if f := e.dialFilter; f != nil {
		if err := f(u.Host); err != nil {
			return 0, &httpErr{code: 0x7000, why: err.Error()}
		}
	}
	ctx, cancel := context.WithTimeout(c.ctx, r.timeout)
	defer cancel()
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, r.url, body)
	if err != nil {
		return 0, &httpErr{code: 0x7000, why: err.Error()}
	}
	req.Header.Set("User-Agent", httpUserAgent)
	if r.ctype != "" {
		req.Header.Set("Content-Type", r.ctype)
	}
	// The command's own headers first, then AT+HTTPCHEAD's, which
	// "override same-key headers" (§5.2).
	e.mu.Lock()
	global := e.st.http.headers
	e.mu.Unlock()
	for _, h := range append(append([]string(nil), r.headers...), global...) {
		k, v, ok := strings.Cut(h, ":")
		if !ok || strings.TrimSpace(k) == "" {
			continue
		}
		req.Header.Set(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	client := &http.Client{
		Transport: &http.Transport{
			Proxy:             nil,
			DialContext:       (&net.Dialer{Timeout: e.opts.NetworkTimeout, Resolver: e.resolver()}).DialContext,
			DisableKeepAlives: true,
			// The firmware's default (AT+HTTPCFG auth_mode 0) checks no
			// certificate; TLS 1.2 as ESP-IDF's mbedTLS.
			TLSClientConfig:    &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12},
			DisableCompression: true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, &httpErr{code: 0x7000, why: "connection failed: " + err.Error()}
	}
	defer resp.Body.Close()
	var size int64
	if r.head {
		size = resp.ContentLength
		c.httpHeaders(r.prefix, resp)
	} else {
		buf := make([]byte, r.rx)
		for {
			n, rerr := resp.Body.Read(buf)
			if n > 0 {
				size += int64(n)
				if r.prefix != "" {
					c.write(append(append([]byte(r.prefix+":"+strconv.Itoa(n)+","), buf[:n]...), '\r', '\n'))
				}
			}
			if rerr != nil {
				if !errors.Is(rerr, io.EOF) {
					return size, &httpErr{code: 0x7000, why: "reading the body: " + rerr.Error()}
				}
				break
			}
		}
	}
	if resp.StatusCode >= 300 {
		return size, &httpErr{code: 0x7000 + resp.StatusCode, why: "the server answered " + resp.Status}
	}
	return size, nil
}

// httpHeaders prints a HEAD response's headers, one
// "+HTTPCLIENT:<len>,<key>: <value>\r\n" each (§5.1). Go keeps no header
// order, so they come sorted by name (a difference from a board, which
// prints them as they arrive).
func (c *call) httpHeaders(prefix string, resp *http.Response) {
	hs := resp.Header.Clone()
	if resp.ContentLength >= 0 && hs.Get("Content-Length") == "" {
		hs.Set("Content-Length", strconv.FormatInt(resp.ContentLength, 10))
	}
	keys := make([]string, 0, len(hs))
	for k := range hs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, v := range hs[k] {
			line := k + ": " + v
			c.print(fmt.Sprintf("%s:%d,%s\r\n", prefix, len(line), line))
		}
	}
}

// httpFail answers a failed request: ERR CODE:0x010a7xxx under
// AT+SYSLOG=1, then ERROR (or SEND FAIL after a prompt's data).
func (c *call) httpFail(err error, sendFail bool) result {
	code := 0x7000
	var he *httpErr
	if errors.As(err, &he) {
		code = he.code
	}
	c.e.mu.Lock()
	syslog := c.e.st.syslog
	c.e.mu.Unlock()
	if syslog {
		c.print(fmt.Sprintf("ERR CODE:0x010a%04x\r\n", code))
	}
	c.e.log.Info("answered ERROR: HTTP request failed", "cmd", string(c.cmd.Line), "err", err)
	if sendFail {
		return resSendFail
	}
	return resError
}

// httpURLParam reads parameter i as a URL; "" means AT+HTTPURLCFG's.
func (c *call) httpURLParam(i int, what string) (string, result, bool) {
	u, res, ok := c.quotedParam(i, 0, 256, what)
	if !ok {
		return "", res, false
	}
	if u == "" {
		if u = c.e.storedURL(); u == "" {
			return "", c.badValue(i, what+` is "" and AT+HTTPURLCFG set none`), false
		}
	}
	return u, resOK, true
}

// storedURL is AT+HTTPURLCFG's URL, which a url of "" stands for.
func (e *Emulator) storedURL() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.st.http.url
}

// cmdHTTPCLIENT is AT+HTTPCLIENT=<opt>,<content-type>,<"url">,[<"host">],[<"path">],<transport_type>[,<"data">][,<"http_req_header">]...
func cmdHTTPCLIENT(c *call) result {
	p := c.cmd.Params
	if len(p) < 6 {
		return c.paramErr("0x01060000", "AT+HTTPCLIENT takes at least 6 parameters")
	}
	opt, res, ok := c.reqInt(0, 1, 5, "AT+HTTPCLIENT opt")
	if !ok {
		return res
	}
	ct, res, ok := c.optInt(1, 0, 3, 0, "AT+HTTPCLIENT content-type")
	if !ok {
		return res
	}
	tr, res, ok := c.optInt(5, 1, 2, 1, "AT+HTTPCLIENT transport_type")
	if !ok {
		return res
	}
	var parts [3]string // url, host, path
	for i := range parts {
		pp := p[i+2]
		if pp.Empty {
			continue
		}
		if !pp.Quoted {
			return c.badType(i+2, "AT+HTTPCLIENT url, host and path must be quoted strings")
		}
		parts[i] = pp.Value
	}
	u := parts[0]
	if u == "" && parts[1] != "" {
		scheme := "http"
		if tr == 2 {
			scheme = "https"
		}
		path := parts[2]
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		u = scheme + "://" + parts[1] + path
	}
	if u == "" {
		u = c.e.storedURL()
	}
	if u == "" {
		return c.badValue(2, "AT+HTTPCLIENT needs a url, or host and path")
	}
	rest := p[6:]
	var body []byte
	if opt == 3 {
		// "If <opt> is a POST request, this parameter holds the data".
		if len(rest) > 0 {
			if !rest[0].Quoted && !rest[0].Empty {
				return c.badType(6, "AT+HTTPCLIENT data must be a quoted string")
			}
			body, rest = []byte(rest[0].Value), rest[1:]
		} else {
			body = []byte{}
		}
	}
	var headers []string
	for i, h := range rest {
		if !h.Quoted {
			return c.badType(len(p)-len(rest)+i, "AT+HTTPCLIENT headers must be quoted strings")
		}
		headers = append(headers, h.Value)
	}
	r := &httpReq{
		method:  [...]string{"", http.MethodHead, http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete}[opt],
		url:     u,
		body:    body,
		headers: headers,
		rx:      httpBufDefault,
		timeout: httpTimeoutDefault,
		prefix:  "+HTTPCLIENT",
		head:    opt == 1,
	}
	if body != nil || opt == 4 {
		r.ctype = httpContentTypes[ct]
	}
	if _, err := c.httpDo(r); err != nil {
		if c.ctx.Err() != nil {
			return resNone
		}
		return c.httpFail(err, false)
	}
	return resOK
}

// getArgs reads the <"url">[,<tx size>][,<rx size>][,<timeout>] of
// AT+HTTPGETSIZE and AT+HTTPCGET.
func (c *call) getArgs(name string) (u string, rx int, tmo time.Duration, res result, ok bool) {
	if n := len(c.cmd.Params); n < 1 || n > 4 {
		return "", 0, 0, c.paramErr("0x01060000", name+" takes 1..4 parameters"), false
	}
	if u, res, ok = c.httpURLParam(0, name+"'s url"); !ok {
		return
	}
	if _, res, ok = c.optInt(1, 0, 10240, 2048, name+"'s tx size"); !ok {
		return
	}
	rxv, res, ok := c.optInt(2, 0, 10240, httpCGETRx, name+"'s rx size")
	if !ok {
		return
	}
	t, res, ok := c.optInt(3, 0, 180000, int64(httpTimeoutDefault/time.Millisecond), name+"'s timeout (ms)")
	if !ok {
		return
	}
	rx, tmo = int(rxv), time.Duration(t)*time.Millisecond
	if rx == 0 {
		rx = httpBufDefault // a choice: 0 is ESP-IDF's default buffer
	}
	if tmo == 0 {
		tmo = c.e.opts.NetworkTimeout
	}
	return u, rx, tmo, resOK, true
}

// cmdHTTPGETSIZE prints +HTTPGETSIZE:<size> of a GET's body: the
// Content-Length, or for a chunked body the bytes counted (a choice).
func cmdHTTPGETSIZE(c *call) result {
	u, rx, tmo, res, ok := c.getArgs("AT+HTTPGETSIZE")
	if !ok {
		return res
	}
	size, err := c.httpDo(&httpReq{method: http.MethodGet, url: u, rx: rx, timeout: tmo})
	if err != nil {
		if c.ctx.Err() != nil {
			return resNone
		}
		return c.httpFail(err, false)
	}
	c.print(fmt.Sprintf("+HTTPGETSIZE:%d\r\n", size))
	return resOK
}

// cmdHTTPCGET is AT+HTTPCGET=<"url">[,<tx size>][,<rx size>][,<timeout>]:
// +HTTPCGET:<n>,<data> pieces of at most <rx size>, then OK.
func cmdHTTPCGET(c *call) result {
	u, rx, tmo, res, ok := c.getArgs("AT+HTTPCGET")
	if !ok {
		return res
	}
	if _, err := c.httpDo(&httpReq{method: http.MethodGet, url: u, rx: rx, timeout: tmo, prefix: "+HTTPCGET"}); err != nil {
		if c.ctx.Err() != nil {
			return resNone
		}
		return c.httpFail(err, false)
	}
	return resOK
}

// httpSend is AT+HTTPCPOST and AT+HTTPCPUT:
// =<"url">,<length>[,<http_req_header_cnt>][,<"http_req_header">...]. The
// prompt takes exactly <length> bytes; the server's body comes back as
// +HTTPCPOST:<n>,<data> pieces, then SEND OK or SEND FAIL.
func httpSend(method, name string) func(*call) result {
	prefix := "+" + name[3:]
	return func(c *call) result {
		p := c.cmd.Params
		if len(p) < 2 {
			return c.paramErr("0x01060000", name+" takes <url>,<length>[,<header count>][,<headers>...]")
		}
		u, res, ok := c.httpURLParam(0, name+"'s url")
		if !ok {
			return res
		}
		// "The maximum length is equal to the system allocable heap size":
		// the emulator takes what an ESP32's heap could (a choice).
		n, res, ok := c.reqInt(1, 1, 128*1024, name+"'s length")
		if !ok {
			return res
		}
		cnt, res, ok := c.optInt(2, 0, 64, 0, name+"'s header count")
		if !ok {
			return res
		}
		hs := p[min(3, len(p)):]
		if int(cnt) != len(hs) {
			return c.badValue(2, fmt.Sprintf("%s: header count %d but %d headers", name, cnt, len(hs)))
		}
		var headers []string
		for i, h := range hs {
			if !h.Quoted {
				return c.badType(3+i, name+" headers must be quoted strings")
			}
			headers = append(headers, h.Value)
		}
		data := c.readPrompt(int(n))
		if data == nil {
			return resNone
		}
		r := &httpReq{method: method, url: u, body: data, ctype: httpContentTypes[0], headers: headers,
			rx: httpBufDefault, timeout: httpTimeoutDefault, prefix: prefix}
		if _, err := c.httpDo(r); err != nil {
			if c.ctx.Err() != nil {
				return resNone
			}
			return c.httpFail(err, true)
		}
		return resSendOK
	}
}

// cmdHTTPURLCFGSet is AT+HTTPURLCFG=<len>: 0 clears; 8..8192 takes the URL
// after the prompt and answers "SET OK" (LIB-HTTP), the one command whose
// final word that is.
func cmdHTTPURLCFGSet(c *call) result {
	v, ok := c.intParams(1)
	if !ok || v[0] != 0 && (v[0] < 8 || v[0] > httpURLMax) {
		return c.paramErr("0x01070000", "AT+HTTPURLCFG length must be 0 or 8..8192")
	}
	if v[0] == 0 {
		c.e.mu.Lock()
		c.e.st.http.url = ""
		c.e.mu.Unlock()
		return resOK
	}
	data := c.readPrompt(int(v[0]))
	if data == nil {
		return resNone
	}
	u, err := url.Parse(string(data))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return c.errorf("AT+HTTPURLCFG: not an http:// or https:// URL", "url", string(data))
	}
	c.e.mu.Lock()
	c.e.st.http.url = string(data)
	c.e.mu.Unlock()
	c.final = []byte("\r\nSET OK\r\n")
	return resOK
}

// cmdHTTPURLCFGQuery prints +HTTPURLCFG:<len>,<url> when one is set, and
// only OK otherwise (esp-at-surface.md §10.11).
func cmdHTTPURLCFGQuery(c *call) result {
	if u := c.e.storedURL(); u != "" {
		c.print(fmt.Sprintf("+HTTPURLCFG:%d,%s\r\n", len(u), u))
	}
	return resOK
}

// cmdHTTPCHEADSet is AT+HTTPCHEAD=<req_header_len>: 0 clears every header;
// otherwise one "key: value" header after the prompt, kept for every HTTP
// command (a header with a key already set replaces it).
func cmdHTTPCHEADSet(c *call) result {
	v, ok := c.intParams(1)
	if !ok || v[0] < 0 || v[0] > 2048 {
		// 2048 is a choice: the docs give no limit.
		return c.paramErr("0x01070000", "AT+HTTPCHEAD length must be 0..2048")
	}
	if v[0] == 0 {
		c.e.mu.Lock()
		c.e.st.http.headers = nil
		c.e.mu.Unlock()
		return resOK
	}
	data := c.readPrompt(int(v[0]))
	if data == nil {
		return resNone
	}
	k, _, found := strings.Cut(string(data), ":")
	if !found || strings.TrimSpace(k) == "" {
		return c.errorf("AT+HTTPCHEAD: not a \"key: value\" header", "header", string(data))
	}
	c.e.mu.Lock()
	var hs []string
	for _, h := range c.e.st.http.headers {
		if hk, _, _ := strings.Cut(h, ":"); !strings.EqualFold(strings.TrimSpace(hk), strings.TrimSpace(k)) {
			hs = append(hs, h)
		}
	}
	c.e.st.http.headers = append(hs, string(data))
	c.e.mu.Unlock()
	return resOK
}

// cmdHTTPCHEADQuery prints +HTTPCHEAD:<index>,"<key>:<value>" per header
// (LIB-HTTP "%s:%d,\"%s:%s\"").
func cmdHTTPCHEADQuery(c *call) result {
	c.e.mu.Lock()
	hs := c.e.st.http.headers
	c.e.mu.Unlock()
	for i, h := range hs {
		k, v, _ := strings.Cut(h, ":")
		c.print(fmt.Sprintf("+HTTPCHEAD:%d,\"%s:%s\"\r\n", i, strings.TrimSpace(k), strings.TrimSpace(v)))
	}
	return resOK
}

func httpCommands(t map[string]handler) {
	t["+HTTPCLIENT"] = handler{set: cmdHTTPCLIENT}
	t["+HTTPGETSIZE"] = handler{set: cmdHTTPGETSIZE}
	t["+HTTPCGET"] = handler{set: cmdHTTPCGET}
	t["+HTTPCPOST"] = handler{set: httpSend(http.MethodPost, "AT+HTTPCPOST")}
	t["+HTTPCPUT"] = handler{set: httpSend(http.MethodPut, "AT+HTTPCPUT")}
	t["+HTTPURLCFG"] = handler{query: cmdHTTPURLCFGQuery, set: cmdHTTPURLCFGSet}
	t["+HTTPCHEAD"] = handler{query: cmdHTTPCHEADQuery, set: cmdHTTPCHEADSet}
}
