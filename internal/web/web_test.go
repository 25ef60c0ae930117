package web

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/atbridge/atbridge/capture"
)

func dial(t *testing.T, s *Server) *websocket.Conn {
	t.Helper()
	host := s.Addr().String()
	c, _, err := websocket.Dial(context.Background(), "ws://"+host+"/ws?token="+s.token, &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {"http://" + host}}})
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadLimit(64 << 20)
	return c
}

// TestSlowPage: a page that stops reading falls behind; the recording
// side's Add never waits for it, and when it reads again it is told how
// many rows it skipped before the rows that still reach it.
func TestSlowPage(t *testing.T) {
	s, err := Start(Options{Addr: "127.0.0.1:0", Live: true, Header: capture.Header{}, ClientQueue: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c := dial(t, s)
	defer c.CloseNow()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, _, err := c.Read(ctx); err != nil { // hello
		t.Fatal(err)
	}
	// The page reads nothing while 50 batches of 1,000 rows go out.
	big := strings.Repeat("x", 100)
	start := time.Now()
	for i := 0; i < 50; i++ {
		rows := make([]Row, 1000)
		for j := range rows {
			rows[j] = Row{T: int64(i*1000 + j), Kind: "urc", Text: big}
		}
		s.Add(rows...)
		time.Sleep(Tick + 20*time.Millisecond)
	}
	if d := time.Since(start); d > 50*(Tick+20*time.Millisecond)+2*time.Second {
		t.Errorf("Add took %s with a page not reading", d)
	}
	var got, skipped int64
	for got+skipped < 50000 {
		_, b, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("after %d rows and %d skipped: %v", got, skipped, err)
		}
		var m struct {
			Type string          `json:"type"`
			Rows json.RawMessage `json:"rows"`
		}
		json.Unmarshal(b, &m)
		switch m.Type {
		case "rows":
			var rs []Row
			if err := json.Unmarshal(m.Rows, &rs); err != nil {
				t.Fatal(err)
			}
			got += int64(len(rs))
		case "skipped":
			var n int64
			json.Unmarshal(m.Rows, &n)
			skipped += n
		}
	}
	if skipped == 0 || got+skipped != 50000 {
		t.Errorf("got %d rows and was told of %d skipped, want 50000 in all and some skipped", got, skipped)
	}
}

// TestAccess: the token, the Host header and the page's origin.
func TestAccess(t *testing.T) {
	s, err := Start(Options{Addr: "127.0.0.1:0", Live: true, Token: "t0ken"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	base := "http://" + s.Addr().String()
	for _, c := range []struct {
		url, host string
		want      int
	}{
		{base + "/?token=t0ken", "", 200},
		{base + "/", "", 403},
		{base + "/?token=t0ke", "", 403},
		{base + "/?token=t0ken", "attacker.example", 403},
		{base + "/capture.atcap?token=t0ken", "", 404}, // no download in this session
		{base + "/nothing?token=t0ken", "", 404},
	} {
		req, _ := http.NewRequest("GET", c.url, nil)
		if c.host != "" {
			req.Host = c.host
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("GET %s (Host %q): %d, want %d", c.url, c.host, resp.StatusCode, c.want)
		}
	}
	if _, _, err := websocket.Dial(context.Background(), "ws://"+s.Addr().String()+"/ws?token=t0ken",
		&websocket.DialOptions{HTTPHeader: http.Header{"Origin": {"http://evil.example"}}}); err == nil {
		t.Error("another origin opened the WebSocket")
	}
	if _, err := Start(Options{Addr: "nonsense", Live: true}); err == nil || !strings.Contains(err.Error(), "--http") {
		t.Errorf("a bad address: %v", err)
	}
}

// FuzzRowJSON: a row read back from the page's wire form is the row.
func FuzzRowJSON(f *testing.F) {
	f.Add(int64(5), "to_host", "urc", "+WS_DATA", 0, "\x00\xff</script>", 1, int64(7))
	f.Fuzz(func(t *testing.T, tm int64, dir, kind, name string, link int, text string, flags int, lat int64) {
		r := Row{T: tm, Dir: dir, Kind: kind, Name: name, Link: link, Text: text, Flags: flags, LatencyNS: lat}
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		var back Row
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if back.T != r.T || back.Link != r.Link || back.Flags != r.Flags || back.LatencyNS != r.LatencyNS {
			t.Fatalf("%+v came back as %+v", r, back)
		}
		var junk Row
		_ = json.Unmarshal([]byte(text), &junk) // arbitrary input: an error, never a panic
	})
}
