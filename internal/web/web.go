// Package web serves atbridge's live view: one page, embedded in the
// binary, that follows a session as it is recorded ("proxy", "sniff",
// "emulate" and "mock" with --http) or browses a saved capture ("atbridge
// view"), over a WebSocket.
//
// The page shows the decoded transcript (the rows of "atbridge report",
// log UART lines too), WebSocket frames, link states, a per-command latency
// chart, search and filters; it sends markers (the only thing it can change)
// and downloads the capture so far. It loads nothing from the network.
//
// Access: the server listens on loopback unless given a host, and every
// request must carry the random token of the URL printed at start; the
// WebSocket also checks the page's origin (coder/websocket's same-origin
// rule) and every request's Host header is checked against the address
// served, so a web page elsewhere cannot reach it through DNS rebinding.
//
// It never slows the recording: Add only appends to a batch under a mutex;
// a goroutine hands each batch to every page through a bounded queue, and a
// page that falls behind is told how many rows it skipped.
package web

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/internal/report"
)

//go:embed live.html
var pageHTML string

//go:embed live.js
var pageJS string

//go:embed live.css
var pageCSS string

var page = template.Must(template.New("live").Parse(pageHTML))

// Row is one transcript row, as the report's: time since the capture's
// start, direction, kind, name, link (-1 for none), text, flags
// (report.FlagError, report.FlagLost) and, for a transaction, its latency.
type Row struct {
	T         int64
	Dir       string
	Kind      string
	Name      string
	Link      int
	Text      string
	Flags     int
	LatencyNS int64
}

// MarshalJSON writes a row as a compact array: [t,dir,kind,name,link,text,flags,latency].
func (r Row) MarshalJSON() ([]byte, error) {
	return json.Marshal([]any{r.T, r.Dir, r.Kind, r.Name, r.Link, r.Text, r.Flags, r.LatencyNS})
}

// UnmarshalJSON reads the array form.
func (r *Row) UnmarshalJSON(b []byte) error {
	var a []json.RawMessage
	if err := json.Unmarshal(b, &a); err != nil {
		return err
	}
	if len(a) != 8 {
		return fmt.Errorf("web: a row has %d fields, want 8", len(a))
	}
	for i, p := range []any{&r.T, &r.Dir, &r.Kind, &r.Name, &r.Link, &r.Text, &r.Flags, &r.LatencyNS} {
		if err := json.Unmarshal(a[i], p); err != nil {
			return err
		}
	}
	return nil
}

// Options configure a Server.
type Options struct {
	// Addr is HOST:PORT to listen on; with no host, loopback
	// (127.0.0.1). Port 0 picks one.
	Addr string
	// Title names what is shown: the capture's file, or the command.
	Title  string
	Header capture.Header
	// Live says the page follows a session; otherwise it browses a saved
	// capture through Page.
	Live bool
	// Mark records a marker typed in the page; nil: the page has no
	// marker box.
	Mark func(text string)
	// Download opens the capture so far and names it; nil: no download.
	Download func() (io.ReadCloser, string, error)
	// Page reads at most n rows of a saved capture from time from on, and
	// the time to go on from (-1 at its end). Required unless Live.
	Page func(ctx context.Context, from int64, n int) (rows []Row, next int64, err error)
	// DurationNS is a saved capture's length (from its index).
	DurationNS int64
	// History is how many recent rows a page that joins late gets
	// (DefaultHistory when zero); ClientQueue how many batches a page may
	// be behind before its rows are skipped (DefaultClientQueue).
	History, ClientQueue int
	// Token replaces the random token (tests).
	Token string
}

// Defaults of Options.
const (
	DefaultHistory     = 5000
	DefaultClientQueue = 64
	// Tick is how often added rows go out to the pages.
	Tick = 100 * time.Millisecond
)

// Server is a running live view.
type Server struct {
	opts  Options
	ln    net.Listener
	srv   *http.Server
	token string
	url   string
	hosts map[string]bool // Host headers accepted

	mu       sync.Mutex
	pending  []Row
	history  []Row // the last History rows, oldest first
	clients  map[*client]struct{}
	skipped  int64 // records the recording side's view skipped, to tell pages
	skipWhy  string
	closed   bool
	rowsSent int64

	stop chan struct{}
	done chan struct{}
}

type client struct {
	ch      chan []byte
	mu      sync.Mutex
	skipped int64
}

// Start listens and serves. The caller prints URL.
func Start(o Options) (*Server, error) {
	if !o.Live && o.Page == nil {
		return nil, errors.New("web: a saved capture needs Options.Page")
	}
	if o.History <= 0 {
		o.History = DefaultHistory
	}
	if o.ClientQueue <= 0 {
		o.ClientQueue = DefaultClientQueue
	}
	host, port, err := net.SplitHostPort(o.Addr)
	if err != nil {
		return nil, fmt.Errorf("--http %q: want HOST:PORT or :PORT (%v)", o.Addr, err)
	}
	if host == "" {
		host = "127.0.0.1"
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, port))
	if err != nil {
		return nil, fmt.Errorf("--http %s: %w", o.Addr, err)
	}
	s := &Server{opts: o, ln: ln, token: o.Token, clients: map[*client]struct{}{}, stop: make(chan struct{}), done: make(chan struct{})}
	if s.token == "" {
		b := make([]byte, 16)
		rand.Read(b)
		s.token = hex.EncodeToString(b)
	}
	addr := ln.Addr().(*net.TCPAddr)
	shown := host
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		shown = "127.0.0.1"
	}
	hp := net.JoinHostPort(shown, strconv.Itoa(addr.Port))
	s.url = "http://" + hp + "/?token=" + s.token
	s.hosts = map[string]bool{hp: true, net.JoinHostPort("localhost", strconv.Itoa(addr.Port)): true,
		net.JoinHostPort("127.0.0.1", strconv.Itoa(addr.Port)): true, net.JoinHostPort("::1", strconv.Itoa(addr.Port)): true}
	if ip := net.ParseIP(host); host != "" && (ip == nil || !ip.IsLoopback()) {
		s.hosts = nil // served beyond loopback: any name of this machine
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/", s.handlePage)
	mux.HandleFunc("/ws", s.handleWS)
	mux.HandleFunc("/capture.atcap", s.handleDownload)
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go s.srv.Serve(ln)
	go s.run()
	return s, nil
}

// URL is the page's address with its token.
func (s *Server) URL() string { return s.url }

// Addr is the address listened on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Add queues rows for the pages. It never blocks on them.
func (s *Server) Add(rows ...Row) {
	s.mu.Lock()
	if !s.closed {
		s.pending = append(s.pending, rows...)
	}
	s.mu.Unlock()
}

// Skipped tells the pages that the recording side skipped n records
// before they became rows, and why: the capture has them.
func (s *Server) Skipped(n int64, why string) {
	s.mu.Lock()
	s.skipped += n
	s.skipWhy = why
	s.mu.Unlock()
}

// Close says "end" to the pages, stops serving and waits.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	close(s.stop)
	<-s.done
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = s.srv.Close()
	}
	return err
}

// RowsSent counts rows handed to pages' queues (tests, benchmarks).
func (s *Server) RowsSent() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rowsSent
}

func (s *Server) run() {
	defer close(s.done)
	t := time.NewTicker(Tick)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			s.flush()
			s.broadcast(mustJSON(map[string]any{"type": "end"}), 0)
			s.mu.Lock()
			for c := range s.clients {
				close(c.ch)
				delete(s.clients, c)
			}
			s.mu.Unlock()
			return
		case <-t.C:
			s.flush()
		}
	}
}

// flush sends the pending rows as one message to every page.
func (s *Server) flush() {
	s.mu.Lock()
	rows, skipped, why := s.pending, s.skipped, s.skipWhy
	s.pending, s.skipped = nil, 0
	s.history = append(s.history, rows...)
	if over := len(s.history) - s.opts.History; over > 0 {
		s.history = append(s.history[:0:0], s.history[over:]...)
	}
	s.mu.Unlock()
	if skipped > 0 {
		s.broadcast(mustJSON(map[string]any{"type": "skipped", "rows": skipped, "why": why}), 0)
	}
	if len(rows) > 0 {
		s.broadcast(mustJSON(map[string]any{"type": "rows", "rows": rows}), len(rows))
	}
	s.tellSkipped()
}

// tellSkipped queues, for each page that skipped rows and has room again,
// how many: a page that caught up hears of it even when no row follows.
func (s *Server) tellSkipped() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.clients {
		c.mu.Lock()
		if c.skipped > 0 {
			select {
			case c.ch <- skippedMsg(c.skipped):
				c.skipped = 0
			default:
			}
		}
		c.mu.Unlock()
	}
}

func skippedMsg(n int64) []byte {
	return mustJSON(map[string]any{"type": "skipped", "rows": n, "why": "this page fell behind; the capture has them"})
}

// broadcast queues msg for every page; a page whose queue is full skips it
// and will be told how many rows.
func (s *Server) broadcast(msg []byte, rows int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.clients {
		select {
		case c.ch <- msg:
			s.rowsSent += int64(rows)
		default:
			c.mu.Lock()
			c.skipped += int64(rows)
			c.mu.Unlock()
		}
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only maps of plain values are marshalled
	}
	return b
}

// allowed checks the token and the Host header.
func (s *Server) allowed(w http.ResponseWriter, r *http.Request) bool {
	if s.hosts != nil && !s.hosts[r.Host] {
		http.Error(w, "atbridge: this live view answers on "+s.ln.Addr().String()+" only", http.StatusForbidden)
		return false
	}
	tok := r.URL.Query().Get("token")
	if subtle.ConstantTimeCompare([]byte(tok), []byte(s.token)) != 1 {
		http.Error(w, "atbridge: the token in the URL is missing or wrong: open the URL atbridge printed at start", http.StatusForbidden)
		return false
	}
	return true
}

func (s *Server) handlePage(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" {
		http.NotFound(w, r)
		return
	}
	if !s.allowed(w, r) {
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("Referrer-Policy", "no-referrer")
	cfg := mustJSON(map[string]any{"title": s.opts.Title, "live": s.opts.Live, "marks": s.opts.Mark != nil,
		"download": s.opts.Download != nil, "tool": s.opts.Header.Tool})
	page.Execute(w, struct {
		Title     string
		Live      bool
		CSS       template.CSS
		JS        template.JS
		Config    template.JS
		ReportCSS template.CSS
	}{s.opts.Title, s.opts.Live, template.CSS(pageCSS), template.JS(report.LanesJS() + "\n" + pageJS), template.JS(cfg), template.CSS(report.CSS())})
}

func (s *Server) handleDownload(w http.ResponseWriter, r *http.Request) {
	if !s.allowed(w, r) {
		return
	}
	if s.opts.Download == nil {
		http.Error(w, "atbridge: this session has no capture to download", http.StatusNotFound)
		return
	}
	rc, name, err := s.opts.Download()
	if err != nil {
		http.Error(w, "atbridge: "+err.Error(), http.StatusInternalServerError)
		return
	}
	defer rc.Close()
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", `attachment; filename="`+strings.ReplaceAll(name, `"`, "")+`"`)
	io.Copy(w, rc)
}

// hello is the first message a page gets.
func (s *Server) hello() []byte {
	h := s.opts.Header
	ports := []map[string]string{}
	for _, p := range h.Ports {
		ports = append(ports, map[string]string{"name": p.Name, "role": p.Role, "line": p.Line.String()})
	}
	s.mu.Lock()
	hist := append([]Row(nil), s.history...)
	s.mu.Unlock()
	return mustJSON(map[string]any{"type": "hello", "title": s.opts.Title, "live": s.opts.Live,
		"start": h.Start.UTC().Format(time.RFC3339Nano), "tool": h.Tool, "ports": ports,
		"duration_ns": s.opts.DurationNS, "history": hist})
}

// maxMarker bounds a marker's text.
const maxMarker = 200

func (s *Server) handleWS(w http.ResponseWriter, r *http.Request) {
	if !s.allowed(w, r) {
		return
	}
	// The default options check the Origin header against the Host: a
	// page elsewhere cannot open it even with the token.
	conn, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	conn.SetReadLimit(64 << 10)
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	defer conn.CloseNow()
	c := &client{ch: make(chan []byte, s.opts.ClientQueue)}
	hello := s.hello()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		conn.Close(websocket.StatusGoingAway, "session ended")
		return
	}
	s.clients[c] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		if _, ok := s.clients[c]; ok {
			delete(s.clients, c)
		}
		s.mu.Unlock()
	}()
	out := make(chan []byte, 4) // replies to the page's requests
	go s.readLoop(ctx, cancel, conn, out)
	write := func(b []byte) error {
		wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
		defer wcancel()
		return conn.Write(wctx, websocket.MessageText, b)
	}
	if write(hello) != nil {
		return
	}
	for {
		select {
		case <-ctx.Done():
			return
		case b := <-out:
			if write(b) != nil {
				return
			}
		case b, ok := <-c.ch:
			if !ok {
				conn.Close(websocket.StatusNormalClosure, "session ended")
				return
			}
			c.mu.Lock()
			n := c.skipped
			c.skipped = 0
			c.mu.Unlock()
			if n > 0 {
				if write(skippedMsg(n)) != nil {
					return
				}
			}
			if write(b) != nil {
				return
			}
		}
	}
}

// readLoop reads the page's requests: markers (live) and pages of a saved
// capture.
func (s *Server) readLoop(ctx context.Context, cancel context.CancelFunc, conn *websocket.Conn, out chan<- []byte) {
	defer cancel()
	for {
		_, b, err := conn.Read(ctx)
		if err != nil {
			return
		}
		var req struct {
			Type string `json:"type"`
			Text string `json:"text"`
			From int64  `json:"from"`
			N    int    `json:"n"`
			Seq  int    `json:"seq"`
		}
		if json.Unmarshal(b, &req) != nil {
			continue
		}
		var reply []byte
		switch req.Type {
		case "marker":
			t := strings.TrimSpace(req.Text)
			if s.opts.Mark == nil || !s.opts.Live || t == "" {
				continue
			}
			if len(t) > maxMarker {
				t = t[:maxMarker]
			}
			s.opts.Mark(t)
			reply = mustJSON(map[string]any{"type": "marked", "text": t})
		case "page":
			if s.opts.Page == nil {
				continue
			}
			n := min(max(req.N, 1), 5000)
			rows, next, err := s.opts.Page(ctx, max(req.From, 0), n)
			msg := map[string]any{"type": "page", "seq": req.Seq, "from": req.From, "next": next, "rows": rows}
			if err != nil {
				msg["error"] = err.Error()
			}
			if rows == nil {
				msg["rows"] = []Row{}
			}
			reply = mustJSON(msg)
		default:
			continue
		}
		select {
		case out <- reply:
		case <-ctx.Done():
			return
		}
	}
}
