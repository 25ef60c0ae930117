package esp

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/atbridge/atbridge/internal/rig"
)

// The bytes below are typed from DOC-HTTP and docs/esp-at-surface.md §5,
// not from the emulator; the server is a real one on loopback
// (internal/rig/httpserver.go).

// readPieces reads "+<CMD>:<n>,<n bytes>\r\n" pieces up to the final
// result and returns the data, the pieces' sizes and the result line.
func readPieces(t *testing.T, h *emuHost, prefix string) (data []byte, sizes []int, final string) {
	t.Helper()
	re := regexp.MustCompile(`^` + regexp.QuoteMeta(prefix) + `:(\d+),`)
	finals := []string{"\r\nOK\r\n", "\r\nSEND OK\r\n", "\r\nSEND FAIL\r\n", "\r\nERROR\r\n", "ERR CODE"}
	for {
		// Grow the look until it is a piece's header or a final result.
		var head []byte
		for n := 1; ; n++ {
			head, _ = h.WaitLen(n, rig.Timeout)
			if re.Match(head) {
				break
			}
			for _, f := range finals {
				if bytes.HasPrefix(head, []byte(f)) {
					return data, sizes, h.readUntilResult()
				}
			}
			if len(head) < n || n > len(prefix)+8 {
				t.Fatalf("want %s:<n>, or a result, got %q", prefix, head)
			}
		}
		m := re.FindSubmatch(head)
		n, _ := strconv.Atoi(string(m[1]))
		h.Consume(len(m[0]))
		got, ok := h.WaitLen(n+2, rig.Timeout)
		if !ok || string(got[n:n+2]) != "\r\n" {
			t.Fatalf("%s:%d: data or CRLF missing, got %q", prefix, n, got)
		}
		data = append(data, got[:n]...)
		sizes = append(sizes, n)
		h.Consume(n + 2)
	}
}

// httpCmd sends line and checks its echo.
func httpCmd(h *emuHost, line string) {
	h.t.Helper()
	h.Send(line + "\r\n")
	h.Expect(line + "\r\n")
}

func TestEmuHTTPClient(t *testing.T) {
	base := rig.StartHTTP(t, false)
	h, sink := startEmuRecorded(t)
	h.Cmd(`AT+HTTPCLIENT=2,0,"`+base+`/get",,,1`, "+HTTPCLIENT:5,hello\r\n\r\nOK\r\n")
	// host and path instead of the url (the docs' second form).
	host := strings.TrimPrefix(base, "http://")
	h.Cmd(`AT+HTTPCLIENT=2,0,"","`+host+`","/get",1`, "+HTTPCLIENT:5,hello\r\n\r\nOK\r\n")
	// A body that imitates result lines is counted, not scanned.
	h.Cmd(`AT+HTTPCLIENT=2,0,"`+base+`/imitate",,,1`, fmt.Sprintf("+HTTPCLIENT:%d,%s\r\n\r\nOK\r\n", len(rig.HTTPBody), rig.HTTPBody))
	// POST with the data field and a header field.
	echo := "POST\napplication/json\nyes\n\n" + httpUserAgent + "\nfield1=value1&field2=value2"
	h.Cmd(`AT+HTTPCLIENT=3,1,"`+base+`/echo",,,1,"field1=value1&field2=value2","X-Test: yes"`,
		fmt.Sprintf("+HTTPCLIENT:%d,%s\r\n\r\nOK\r\n", len(echo), echo))
	// HEAD: one line per header, <len> counting "key: value".
	httpCmd(h, `AT+HTTPCLIENT=1,0,"`+base+`/get",,,1`)
	line := regexp.MustCompile(`^\+HTTPCLIENT:(\d+),([^\r]*)\r\n`)
	var heads []string
	for {
		b, _ := h.WaitLen(len("\r\nOK\r\n"), rig.Timeout)
		if bytes.HasPrefix(b, []byte("\r\nOK\r\n")) {
			h.Consume(6)
			break
		}
		for !bytes.Contains(b, []byte("\r\n")) {
			b, _ = h.WaitLen(len(b)+1, rig.Timeout)
		}
		m := line.FindSubmatch(b)
		if m == nil {
			t.Fatalf("HEAD: want +HTTPCLIENT:<len>,<key>: <value>, got %q", b)
		}
		if n, _ := strconv.Atoi(string(m[1])); n != len(m[2]) {
			t.Errorf("HEAD line %q: len %d", m[2], n)
		}
		heads = append(heads, string(m[2]))
		h.Consume(len(m[0]))
	}
	if !strings.Contains(strings.Join(heads, "|"), "Content-Length: 5") {
		t.Errorf("HEAD headers %q lack Content-Length: 5", heads)
	}

	h.Cmd("AT+SYSLOG=1", "\r\nOK\r\n")
	// 404: the body, then the error code 0x7000+404 (DOC-HTTP 0x7194).
	h.Cmd(`AT+HTTPCLIENT=2,0,"`+base+`/missing",,,1`, "+HTTPCLIENT:8,not here\r\nERR CODE:0x010a7194\r\n\r\nERROR\r\n")
	// No redirects: 302 is an error (0x7000+302).
	httpCmd(h, `AT+HTTPCLIENT=2,0,"`+base+`/redirect",,,1`)
	if _, _, final := readPieces(t, h, "+HTTPCLIENT"); final != "ERR CODE:0x010a712e\r\n\r\nERROR\r\n" {
		t.Errorf("redirect: %q", final)
	}
	h.Cmd(fmt.Sprintf(`AT+HTTPCLIENT=2,0,"http://127.0.0.1:%d/",,,1`, closedPort(t)), "ERR CODE:0x010a7000\r\n\r\nERROR\r\n")
	h.Cmd("AT+SYSLOG=0", "\r\nOK\r\n")
	for _, bad := range []string{
		`AT+HTTPCLIENT=6,0,"` + base + `/get",,,1`,
		`AT+HTTPCLIENT=2,4,"` + base + `/get",,,1`,
		`AT+HTTPCLIENT=2,0,"` + base + `/get",,,3`,
		`AT+HTTPCLIENT=2,0,"ftp://127.0.0.1/x",,,1`,
		`AT+HTTPCLIENT=2,0,"",,,1`,
		`AT+HTTPCLIENT=2,0,"` + base + `/get"`,
	} {
		h.Cmd(bad, "\r\nERROR\r\n")
	}
	checkDecodes(t, sink, "+HTTPCLIENT")
}

func TestEmuHTTPCGET(t *testing.T) {
	base := rig.StartHTTP(t, false)
	h, sink := startEmuRecorded(t)
	httpCmd(h, `AT+HTTPCGET="`+base+`/big"`)
	data, sizes, final := readPieces(t, h, "+HTTPCGET")
	if final != "\r\nOK\r\n" || !bytes.Equal(data, rig.BigBody(100000)) {
		t.Fatalf("100000-byte body: got %d bytes, final %q", len(data), final)
	}
	for _, n := range sizes {
		if n > httpCGETRx {
			t.Fatalf("a +HTTPCGET piece of %d bytes, over the 2048-byte rx size", n)
		}
	}
	httpCmd(h, `AT+HTTPCGET="`+base+`/big",2048,512,10000`)
	data, sizes, _ = readPieces(t, h, "+HTTPCGET")
	for _, n := range sizes {
		if n > 512 {
			t.Fatalf("a +HTTPCGET piece of %d bytes with rx size 512", n)
		}
	}
	if len(data) != 100000 {
		t.Fatalf("rx size 512: %d bytes", len(data))
	}
	httpCmd(h, `AT+HTTPCGET="`+base+`/chunked"`)
	if data, _, final = readPieces(t, h, "+HTTPCGET"); string(data) != "one,two,three" || final != "\r\nOK\r\n" {
		t.Fatalf("chunked: %q %q", data, final)
	}
	h.Cmd(`AT+HTTPGETSIZE="`+base+`/big"`, "+HTTPGETSIZE:100000\r\n\r\nOK\r\n")
	h.Cmd(`AT+HTTPGETSIZE="`+base+`/chunked"`, "+HTTPGETSIZE:13\r\n\r\nOK\r\n")
	h.Cmd(`AT+HTTPGETSIZE="`+base+`/missing"`, "\r\nERROR\r\n")
	for _, bad := range []string{`AT+HTTPCGET="` + base + `/get",10241`, `AT+HTTPCGET="` + base + `/get",1,1,180001`, `AT+HTTPCGET=1`, `AT+HTTPGETSIZE`} {
		h.Cmd(bad, "\r\nERROR\r\n")
	}
	checkDecodes(t, sink, "+HTTPCGET", "+HTTPGETSIZE")
}

// TestEmuHTTPSend: AT+HTTPCPOST and AT+HTTPCPUT take their body after the
// prompt, whatever it imitates; AT+HTTPCHEAD's headers go with every
// command; AT+HTTPURLCFG's long URL serves a url of "".
func TestEmuHTTPSend(t *testing.T) {
	base := rig.StartHTTP(t, false)
	h, sink := startEmuRecorded(t)
	body := "\r\nOK\r\nERROR"
	for _, m := range []string{"POST", "PUT"} {
		h.Cmd(fmt.Sprintf(`AT+HTTPC%s="%s/echo",%d,1,"X-Test: p"`, m, base, len(body)), "\r\nOK\r\n\r\n>")
		h.Send(body)
		echo := m + "\napplication/x-www-form-urlencoded\np\n\n" + httpUserAgent + "\n" + body
		h.Expect(fmt.Sprintf("+HTTPC%s:%d,%s\r\n\r\nSEND OK\r\n", m, len(echo), echo))
	}
	h.Cmd(`AT+HTTPCPOST="`+base+`/missing",2`, "\r\nOK\r\n\r\n>")
	h.Send("xy")
	h.Expect("+HTTPCPOST:8,not here\r\n\r\nSEND FAIL\r\n")
	for _, bad := range []string{`AT+HTTPCPOST="` + base + `/echo",0`, `AT+HTTPCPOST="` + base + `/echo",4,2,"a: b"`, `AT+HTTPCPUT="` + base + `/echo"`} {
		h.Cmd(bad, "\r\nERROR\r\n")
	}

	hdr := "Authorization: abc123"
	h.Cmd(fmt.Sprintf("AT+HTTPCHEAD=%d", len(hdr)), "\r\nOK\r\n\r\n>")
	h.Send(hdr)
	h.Expect("\r\nOK\r\n")
	h.Cmd("AT+HTTPCHEAD?", "+HTTPCHEAD:0,\"Authorization:abc123\"\r\n\r\nOK\r\n")

	long := base + "/echo?q=" + strings.Repeat("a", 300)
	h.Cmd("AT+HTTPURLCFG?", "\r\nOK\r\n")
	h.Cmd(fmt.Sprintf("AT+HTTPURLCFG=%d", len(long)), "\r\nOK\r\n\r\n>")
	h.Send(long)
	h.Expect("\r\nSET OK\r\n")
	h.Cmd("AT+HTTPURLCFG?", fmt.Sprintf("+HTTPURLCFG:%d,%s\r\n\r\nOK\r\n", len(long), long))
	echo := "GET\n\n\nabc123\n" + httpUserAgent + "\n"
	h.Cmd(`AT+HTTPCGET=""`, fmt.Sprintf("+HTTPCGET:%d,%s\r\n\r\nOK\r\n", len(echo), echo))
	h.Cmd("AT+HTTPCHEAD=0", "\r\nOK\r\n")
	h.Cmd("AT+HTTPCHEAD?", "\r\nOK\r\n")
	h.Cmd("AT+HTTPURLCFG=0", "\r\nOK\r\n")
	h.Cmd("AT+HTTPURLCFG?", "\r\nOK\r\n")
	h.Cmd(`AT+HTTPCGET=""`, "\r\nERROR\r\n")
	h.Cmd("AT+HTTPURLCFG=7", "\r\nERROR\r\n")
	h.Cmd("AT+HTTPURLCFG=8", "\r\nOK\r\n\r\n>")
	h.Send("notaurl!")
	h.Expect("\r\nERROR\r\n")
	checkDecodes(t, sink, "+HTTPCPOST", "+HTTPCPUT", "+HTTPCHEAD", "+HTTPURLCFG", "+HTTPCGET")
}

func TestEmuHTTPS(t *testing.T) {
	base := rig.StartHTTP(t, true)
	h := startEmu(t, nil)
	h.Cmd(`AT+HTTPCLIENT=2,0,"`+base+`/get",,,2`, "+HTTPCLIENT:5,hello\r\n\r\nOK\r\n")
	host := strings.TrimPrefix(base, "https://")
	h.Cmd(`AT+HTTPCLIENT=2,0,"","`+host+`","get",2`, "+HTTPCLIENT:5,hello\r\n\r\nOK\r\n")
	h.Cmd(`AT+HTTPCGET="`+base+`/get"`, "+HTTPCGET:5,hello\r\n\r\nOK\r\n")
}
