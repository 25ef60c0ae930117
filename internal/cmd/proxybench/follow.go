package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// lineBuffer is a process's stderr, kept to find the live view's URL.
type lineBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lineBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lineBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

var liveURL = regexp.MustCompile(`live view at (http://\S+)`)

// follower reads the live view's WebSocket as a page does.
type follower struct {
	done          chan struct{}
	rows, skipped int64
}

// follow connects to the live view whose URL the proxy prints on stderr.
func follow(stderr *lineBuffer) (*follower, error) {
	var url string
	for i := 0; url == ""; i++ {
		if m := liveURL.FindStringSubmatch(stderr.String()); m != nil {
			url = m[1]
		} else if i > 500 {
			return nil, errors.New("atbridge proxy --http printed no URL")
		}
		time.Sleep(10 * time.Millisecond)
	}
	host := strings.SplitN(strings.TrimPrefix(url, "http://"), "/", 2)[0]
	ws := strings.Replace(strings.Replace(url, "http://", "ws://", 1), "/?", "/ws?", 1)
	c, _, err := websocket.Dial(context.Background(), ws, &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {"http://" + host}}})
	if err != nil {
		return nil, err
	}
	c.SetReadLimit(64 << 20)
	f := &follower{done: make(chan struct{})}
	go func() {
		defer close(f.done)
		defer c.CloseNow()
		for {
			_, b, err := c.Read(context.Background())
			if err != nil {
				return
			}
			var m struct {
				Type string `json:"type"`
			}
			if json.Unmarshal(b, &m) != nil {
				continue
			}
			switch m.Type {
			case "rows":
				var r struct {
					Rows []json.RawMessage `json:"rows"`
				}
				if json.Unmarshal(b, &r) == nil {
					f.rows += int64(len(r.Rows))
				}
			case "skipped":
				var s struct {
					Rows int64 `json:"rows"`
				}
				if json.Unmarshal(b, &s) == nil {
					f.skipped += s.Rows
				}
			}
		}
	}()
	return f, nil
}

// wait waits for the proxy to end the page's connection.
func (f *follower) wait() (rows, skipped int64) {
	<-f.done
	return f.rows, f.skipped
}
