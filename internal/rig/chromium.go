package rig

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// ChromiumPath returns the headless browser the page tests use, or skips
// the test (fails it under CI=true, where .ci/run installs chromium).
func ChromiumPath(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed (.ci/run must install it)")
	}
	t.Skip("chromium is not installed")
	return ""
}

// Browser is a headless Chromium driven over the DevTools protocol (CDP)
// on its own WebSocket: a page is opened at a URL and JavaScript is
// evaluated in it, as a person's browser would run it. No CDP library:
// the protocol is JSON messages with ids.
type Browser struct {
	cmd  *exec.Cmd
	conn *websocket.Conn
	ctx  context.Context
	stop context.CancelFunc

	mu      sync.Mutex
	id      int
	waiting map[int]chan cdpReply
	readErr error
}

type cdpReply struct {
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Message string `json:"message"`
	} `json:"error"`
}

var devtoolsRE = regexp.MustCompile(`DevTools listening on (ws://\S+)`)

// StartBrowser starts headless Chromium with a throwaway profile, kept off
// the network but for the pages it is told to open.
func StartBrowser(t testing.TB) *Browser {
	t.Helper()
	bin := ChromiumPath(t)
	// Not t.TempDir: the browser's helper processes may still be writing
	// to the profile when the test ends; it is removed after them, best
	// effort.
	profile, err := os.MkdirTemp("", "atbridge-chromium")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
		"--disable-background-timer-throttling", "--disable-renderer-backgrounding",
		"--remote-debugging-port=0", "--user-data-dir="+profile, "about:blank")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start chromium: %v", err)
	}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := devtoolsRE.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
	}()
	var url string
	select {
	case url = <-found:
	case <-time.After(30 * time.Second):
		cancel()
		cmd.Wait()
		t.Fatal("chromium did not say where its DevTools listen within 30s")
	}
	conn, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		cancel()
		cmd.Wait()
		t.Fatalf("DevTools %s: %v", url, err)
	}
	conn.SetReadLimit(64 << 20)
	b := &Browser{cmd: cmd, conn: conn, ctx: ctx, stop: cancel, waiting: map[int]chan cdpReply{}}
	go b.read()
	t.Cleanup(func() {
		b.Close()
		for i := 0; i < 20 && os.RemoveAll(profile) != nil; i++ {
			time.Sleep(50 * time.Millisecond)
		}
	})
	return b
}

func (b *Browser) read() {
	for {
		_, data, err := b.conn.Read(b.ctx)
		if err != nil {
			b.mu.Lock()
			b.readErr = err
			for id, ch := range b.waiting {
				close(ch)
				delete(b.waiting, id)
			}
			b.mu.Unlock()
			return
		}
		var m struct {
			ID int `json:"id"`
			cdpReply
		}
		if json.Unmarshal(data, &m) != nil || m.ID == 0 {
			continue // an event
		}
		b.mu.Lock()
		ch := b.waiting[m.ID]
		delete(b.waiting, m.ID)
		b.mu.Unlock()
		if ch != nil {
			ch <- m.cdpReply
		}
	}
}

// call sends one CDP command (to a page's session when session is set)
// and decodes its result into out.
func (b *Browser) call(session, method string, params, out any) error {
	b.mu.Lock()
	if b.readErr != nil {
		b.mu.Unlock()
		return fmt.Errorf("chromium's DevTools connection: %w", b.readErr)
	}
	b.id++
	id := b.id
	ch := make(chan cdpReply, 1)
	b.waiting[id] = ch
	b.mu.Unlock()
	msg := map[string]any{"id": id, "method": method, "params": params}
	if session != "" {
		msg["sessionId"] = session
	}
	data, _ := json.Marshal(msg)
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := b.conn.Write(ctx, websocket.MessageText, data); err != nil {
		return err
	}
	select {
	case r, ok := <-ch:
		if !ok {
			return errors.New("chromium closed its DevTools connection")
		}
		if r.Error != nil {
			return fmt.Errorf("%s: %s", method, r.Error.Message)
		}
		if out != nil {
			return json.Unmarshal(r.Result, out)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%s: no answer from chromium in 30s", method)
	}
}

// Page is a tab.
type Page struct {
	b       *Browser
	session string
}

// Open opens url in a new tab.
func (b *Browser) Open(url string) (*Page, error) {
	var tgt struct {
		TargetID string `json:"targetId"`
	}
	if err := b.call("", "Target.createTarget", map[string]any{"url": url}, &tgt); err != nil {
		return nil, err
	}
	var att struct {
		SessionID string `json:"sessionId"`
	}
	if err := b.call("", "Target.attachToTarget", map[string]any{"targetId": tgt.TargetID, "flatten": true}, &att); err != nil {
		return nil, err
	}
	return &Page{b: b, session: att.SessionID}, nil
}

// Eval evaluates a JavaScript expression in the page and decodes its value
// (JSON-serialisable) into out.
func (p *Page) Eval(expr string, out any) error {
	var r struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		Exception *struct {
			Text      string `json:"text"`
			Exception struct {
				Description string `json:"description"`
			} `json:"exception"`
		} `json:"exceptionDetails"`
	}
	if err := p.b.call(p.session, "Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true, "awaitPromise": true}, &r); err != nil {
		return err
	}
	if r.Exception != nil {
		return fmt.Errorf("%s: %s %s", expr, r.Exception.Text, r.Exception.Exception.Description)
	}
	if out == nil || len(r.Result.Value) == 0 {
		return nil
	}
	return json.Unmarshal(r.Result.Value, out)
}

// WaitFor evaluates expr until it is true or the timeout passes.
func (p *Page) WaitFor(expr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		var ok bool
		err := p.Eval("!!("+expr+")", &ok)
		if err == nil && ok {
			return nil
		}
		if time.Now().After(deadline) {
			if err != nil {
				return err
			}
			return fmt.Errorf("%s still false after %s", expr, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// HeapUsed returns the page's JavaScript heap in use, after a garbage
// collection.
func (p *Page) HeapUsed() (int64, error) {
	_ = p.b.call(p.session, "HeapProfiler.collectGarbage", map[string]any{}, nil)
	var h struct {
		UsedSize float64 `json:"usedSize"`
	}
	if err := p.b.call(p.session, "Runtime.getHeapUsage", map[string]any{}, &h); err != nil {
		return 0, err
	}
	return int64(h.UsedSize), nil
}

// Close ends the browser.
func (b *Browser) Close() {
	b.conn.Close(websocket.StatusNormalClosure, "")
	b.stop()
	b.cmd.Wait()
}
