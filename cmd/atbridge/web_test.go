package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/internal/rig"
	"github.com/atbridge/atbridge/internal/web"
)

var liveURLRE = regexp.MustCompile(`live view at (http://\S+)`)

// waitURL returns the live view's URL from a command's stderr.
func waitURL(t *testing.T, stderr *lockedBuffer) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if m := liveURLRE.FindStringSubmatch(stderr.String()); m != nil {
			return m[1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no live view URL printed:\n%s", stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestLiveViewInBrowser: "atbridge proxy --device emulate --http" with a
// host app on a pty, and the page in headless Chromium. The page follows
// the session (the commands, their results, the transactions with their
// latency chart), its marker lands in the capture, its download is the
// capture so far; without the token, or from another origin, nothing is
// served.
func TestLiveViewInBrowser(t *testing.T) {
	b := rig.StartBrowser(t)
	dir := t.TempDir()
	host, rec := filepath.Join(dir, "host"), filepath.Join(dir, "live.atcap")
	_, pxErr, stop := startCmd(t, "proxy", "--host", "pty:"+host, "--device", "emulate", "-w", rec, "--quiet", "--http", "127.0.0.1:0")
	url := waitURL(t, pxErr)
	f := openLink(t, host, pxErr)
	var got []byte
	send := func(cmd, want string) {
		got = got[:0]
		f.Write([]byte(cmd))
		readUntil(t, f, &got, want)
	}
	// A host app waits for the board's ready before its first command;
	// an AT sent during the emulated boot is answered after ready, and the
	// transcript would show it unanswered.
	readUntil(t, f, &got, "ready\r\n")
	send("AT\r\n", "\r\nOK\r\n")

	p, err := b.Open(url)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.WaitFor(`document.body.dataset.ready === "1"`, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	// Rows that came before the page opened arrive with its hello.
	if err := p.WaitFor(`atbridge.texts().some(function (x) { return x.indexOf("transaction AT AT → OK") === 0 })`, 10*time.Second); err != nil {
		t.Fatalf("the page lacks the AT sent before it opened: %v", err)
	}
	send("AT+GMR\r\n", "\r\nOK\r\n")
	send("AT+BOGUS=1\r\n", "ERROR\r\n")
	if err := p.WaitFor(`atbridge.texts().some(function (x) { return /^transaction \+BOGUS AT\+BOGUS=1 → ERROR/.test(x) })`, 10*time.Second); err != nil {
		var texts []string
		p.Eval(`atbridge.texts()`, &texts)
		t.Fatalf("the page did not follow the session: %v\n%s", err, strings.Join(texts, "\n"))
	}
	if err := p.WaitFor(`atbridge.latency().indexOf("+GMR") >= 0 && document.querySelector('#lat .bar[data-cmd="+GMR"]')`, 5*time.Second); err != nil {
		t.Errorf("no latency bar for +GMR: %v", err)
	}
	var rendered, errRows int
	p.Eval(`document.querySelectorAll("#spacer .row").length`, &rendered)
	p.Eval(`document.querySelectorAll("#spacer .row.err").length`, &errRows)
	if rendered < 5 || errRows == 0 {
		t.Errorf("%d transcript rows in the DOM, %d marked as errors", rendered, errRows)
	}
	// Search filters the rows.
	var shown int
	p.Eval(`(function(){ var s = document.getElementById("search"); s.value = "bogus"; s.dispatchEvent(new Event("input")); return 0 })()`, nil)
	if err := p.WaitFor(`atbridge.shown() > 0 && atbridge.shown() < atbridge.rows()`, 5*time.Second); err != nil {
		t.Errorf("search did not filter: %v", err)
	}
	p.Eval(`atbridge.shown()`, &shown)

	// A marker typed in the page, and the download.
	p.Eval(`atbridge.mark("seen in the page")`, nil)
	if err := p.WaitFor(`document.getElementById("mark-done").textContent === "marked: seen in the page"`, 5*time.Second); err != nil {
		t.Error(err)
	}
	var head string
	if err := p.Eval(`fetch(document.getElementById("download").href).then(function (r) { return r.arrayBuffer() }).then(function (b) { return String.fromCharCode.apply(null, new Uint8Array(b.slice(0, 6))) + ":" + b.byteLength })`, &head); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(head, "ATCAP") {
		t.Errorf("download starts %q, want a capture", head)
	}

	// No token, a wrong one, another origin, another Host: refused.
	base := strings.SplitN(url, "?", 2)[0]
	for _, u := range []string{base, base + "?token=0000", base + "capture.atcap"} {
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("GET %s: %d, want 403", u, resp.StatusCode)
		}
	}
	wsURL := strings.Replace(strings.Replace(url, "http://", "ws://", 1), "/?", "/ws?", 1)
	if c, _, err := websocket.Dial(context.Background(), wsURL, &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {"http://evil.example"}}}); err == nil {
		c.CloseNow()
		t.Error("a page of another origin opened the live view's WebSocket")
	}
	req, _ := http.NewRequest("GET", url, nil)
	req.Host = "rebound.example:80"
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("Host rebound.example: %d, want 403", resp.StatusCode)
		}
	}

	if code := stop(); code != exitOK {
		t.Fatalf("proxy exit %d:\n%s", code, pxErr.String())
	}
	if err := p.WaitFor(`document.getElementById("status").textContent === "the session ended"`, 5*time.Second); err != nil {
		t.Errorf("the page was not told the session ended: %v", err)
	}
	_, recs := readCapture(t, rec)
	marked := false
	for _, r := range recs {
		marked = marked || (r.Kind == capture.KindEvent && r.Event.Type == capture.EvMarker && r.Event.Text == "seen in the page")
	}
	if !marked {
		t.Error("the page's marker is not in the capture")
	}
}

// TestViewPages: paging through a capture as the view's page does, 50 rows
// at a time from each page's next, gives every row "show --json" gives,
// in order, none lost or doubled at the pages' edges.
func TestViewPages(t *testing.T) {
	paths, _ := filepath.Glob("../../testdata/*.atcap")
	paths = append(paths, "../../testdata/log/panic.atcap")
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) { testViewPages(t, path) })
	}
}

func testViewPages(t *testing.T, path string) {
	out, _, code := execCLI(t, "", "show", "--json", path)
	if code != exitOK {
		t.Fatal(code)
	}
	var want []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if r, ok := jsonRow([]byte(l)); ok {
			want = append(want, fmt.Sprint(r))
		}
	}
	var got []string
	pages := 0
	for from := int64(0); from >= 0; pages++ {
		rows, next, err := viewPage(context.Background(), path, from, 17)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			got = append(got, fmt.Sprint(r))
		}
		if next >= 0 && next <= from {
			t.Fatalf("page from %d: next %d does not move on", from, next)
		}
		from = next
	}
	if pages < len(want)/17 {
		t.Fatalf("%d pages for %d rows", pages, len(want))
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("pages give %d rows, show %d; first difference:\n%s", len(got), len(want), firstDiff(got, want))
	}
}

func firstDiff(a, b []string) string {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return fmt.Sprintf("row %d:\n got  %s\n want %s", i, a[i], b[i])
		}
	}
	return "one is a prefix of the other"
}

// TestViewInBrowser: "atbridge view" on a saved capture: the page loads
// its first page of rows, seeking to a time shows the rows from there.
func TestViewInBrowser(t *testing.T) {
	b := rig.StartBrowser(t)
	_, errOut, stop := startCmd(t, "view", "../../testdata/secrets.atcap")
	m := regexp.MustCompile(`at (http://\S+)`).FindStringSubmatch(waitStderr(t, errOut, "open that URL"))
	p, err := b.Open(m[1])
	if err != nil {
		t.Fatal(err)
	}
	if err := p.WaitFor(`document.body.dataset.page === "1" && atbridge.rows() > 20`, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	var texts []string
	p.Eval(`atbridge.texts()`, &texts)
	if !strings.Contains(strings.Join(texts, "\n"), "AT+GMR") {
		t.Errorf("the first page lacks AT+GMR:\n%s", strings.Join(texts, "\n"))
	}
	var first float64
	p.Eval(`(function(){ var s = atbridge.seek(2e9); return s })()`, nil)
	if err := p.WaitFor(`document.body.dataset.page === "2"`, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	p.Eval(`atbridge.firstTime()`, &first)
	if first < 2e9 {
		t.Errorf("after seeking to 2s the first row is at %v ns", first)
	}
	if code := stop(); code != exitOK {
		t.Errorf("view exit %d", code)
	}
}

// waitStderr waits until a command's stderr holds want and returns it.
func waitStderr(t *testing.T, b *lockedBuffer, want string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(b.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("stderr lacks %q:\n%s", want, b.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	return b.String()
}

// followRows reads the live view's WebSocket as its page does until a row
// says want, and returns the rows' texts.
func followRows(t *testing.T, url, want string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	base := strings.SplitN(strings.TrimPrefix(url, "http://"), "/", 2)[0]
	wsURL := strings.Replace(strings.Replace(url, "http://", "ws://", 1), "/?", "/ws?", 1)
	c, _, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {"http://" + base}}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	var texts []string
	for {
		_, b, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("%v before a row %q; rows:\n%s", err, want, strings.Join(texts, "\n"))
		}
		var m struct {
			Type    string    `json:"type"`
			Rows    []web.Row `json:"rows"`
			History []web.Row `json:"history"`
		}
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		for _, r := range append(m.History, m.Rows...) {
			texts = append(texts, r.Kind+" "+r.Text)
			if strings.Contains(r.Kind+" "+r.Text, want) {
				return texts
			}
		}
	}
}

// TestLiveViewEmulateMock: emulate --http and mock --http serve the same
// live view of their sessions.
func TestLiveViewEmulateMock(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name, link string
		args       []string
	}{
		{"emulate", filepath.Join(dir, "emu"), []string{"emulate", "--port", "pty:" + filepath.Join(dir, "emu"), "--http", "127.0.0.1:0"}},
		{"mock", filepath.Join(dir, "mock"), []string{"mock", "../../testdata/secrets.atcap", "--port", "pty:" + filepath.Join(dir, "mock"), "--http", "127.0.0.1:0", "--timing", "fast"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, errOut, stop := startCmd(t, c.args...)
			url := waitURL(t, errOut)
			f := openLink(t, c.link, errOut)
			f.Write([]byte("AT\r\n"))
			followRows(t, url, "transaction AT → ")
			stop()
		})
	}
}
