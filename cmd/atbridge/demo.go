package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/atbridge/atbridge/bridge/esp"

	"github.com/coder/websocket"

	"github.com/atbridge/atbridge/bridge"
	"github.com/atbridge/atbridge/bridge/port"
	"github.com/atbridge/atbridge/capture"
)

func init() {
	register(&command{
		name:    "demo",
		summary: "See what atbridge does in one run, no hardware: an emulated ESP32, a proxy, a scripted host app and a WebSocket echo server",
		usage:   "atbridge demo [-w demo.atcap]",
		examples: `  atbridge demo
  atbridge show demo.atcap
  atbridge export demo.atcap -o demo.pcapng`,
		setup: func(fs *flag.FlagSet) func(context.Context, *env, []string) int {
			out := fs.String("w", "demo.atcap", "where to write the capture (a .pcapng export goes next to it)")
			quiet := fs.Bool("quiet", false, "print only the summary and the next commands, not the transcript and stats")
			force := fs.Bool("force", false, "replace the capture and its .pcapng if they exist (each stays whole until the new one is complete)")
			return func(ctx context.Context, e *env, args []string) int {
				if len(args) > 0 {
					fmt.Fprintf(e.stderr, "atbridge demo: unexpected argument %q\n", args[0])
					return exitFailure
				}
				return runDemo(ctx, e, *out, *quiet, *force)
			}
		},
	})
}

// demoStep is one exchange of the scripted host app: what it types, and
// the texts that must arrive (in any order) before it goes on.
type demoStep struct {
	send string
	want []string
}

// demoScript is the seed scenario (esp-at.md §5) as a host app plays it.
func demoScript(uri string) []demoStep {
	return []demoStep{
		{"", []string{"ready\r\n"}},
		{"AT\r\n", []string{"OK\r\n"}},
		{"AT+GMR\r\n", []string{"OK\r\n"}},
		{"AT+CWMODE=1\r\n", []string{"OK\r\n"}},
		{"AT+CWJAP=\"demo-ap\",\"password\"\r\n", []string{"WIFI GOT IP\r\n", "OK\r\n"}},
		{"AT+CIPSNTPCFG=1,8,\"pool.ntp.org\"\r\n", []string{"OK\r\n", "+TIME_UPDATED\r\n"}},
		{"AT+CIPSNTPTIME?\r\n", []string{"+CIPSNTPTIME:", "OK\r\n"}},
		{"AT+WSCFG=0,30,600,4096\r\n", []string{"OK\r\n"}},
		{"AT+WSOPEN=0,\"" + uri + "\"\r\n", []string{"+WS_CONNECTED:0\r\n", "OK\r\n"}},
		{"AT+WSSEND=0,4\r\n", []string{">"}},
		{"test", []string{"SEND OK\r\n", "+WS_DATA:0,4,test\r\n"}},
		{"AT+WSSEND=0,6,2\r\n", []string{">"}},
		{"\x00\x01\x02\r\n\xff", []string{"SEND OK\r\n", "+WS_DATA:0,6,\x00\x01\x02\r\n\xff\r\n"}},
		{"AT+WSOPEN?\r\n", []string{"+WSOPEN:0,", "OK\r\n"}},
		// "bye" makes the echo server close the link: a close handshake
		// with code 1000, then +WS_CLOSED.
		{"AT+WSSEND=0,3\r\n", []string{">"}},
		{"bye", []string{"SEND OK\r\n", "+WS_CLOSED:0\r\n"}},
		{"AT+WSOPEN?\r\n", []string{"OK\r\n"}},
	}
}

func runDemo(ctx context.Context, e *env, out string, quiet, force bool) int {
	fail := func(format string, a ...any) int {
		fmt.Fprintf(e.stderr, "atbridge demo: "+format+"\n", a...)
		return exitFailure
	}
	pcap := strings.TrimSuffix(out, filepath.Ext(out)) + ".pcapng"
	for _, p := range []string{out, pcap} {
		if err := refuseExisting(p, force); err != nil {
			return fail("%v", err)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()

	echo, err := startEchoServer()
	if err != nil {
		return fail("starting the WebSocket echo server: %v", err)
	}
	defer echo.close()

	dir, err := os.MkdirTemp("", "atbridge-demo-")
	if err != nil {
		return fail("%v", err)
	}
	defer os.RemoveAll(dir)
	hostLink := filepath.Join(dir, "host")

	dst, err := createOutput(out, force)
	if err != nil {
		return fail("%v", err)
	}
	rec, err := capture.Create(dst.Name(), capture.Header{
		Tool: "atbridge " + toolVersion(),
		Ports: []capture.PortInfo{{Name: "pty:" + hostLink, Role: "host"}, {Name: bridge.EmulateSpec, Role: "device"},
			{Name: bridge.EmulateSpec, Role: "log", Line: port.LineDefaults(capture.LineSettings{})}},
		Meta: map[string]string{"command": "demo", "notes": "atbridge demo: scripted host app, in-process emulator, local echo server at " + echo.url},
	}, nil)
	if err != nil {
		dst.Abort()
		return fail("%v", err)
	}
	px, err := bridge.OpenProxy(ctx, &bridge.ProxyOptions{
		Host:     "pty:" + hostLink,
		Device:   bridge.EmulateSpec,
		LogPort:  bridge.EmulateSpec, // the emulator's console too, as --log-port records a board's
		Recorder: rec,
		Emulator: &esp.Options{Version: "atbridge " + toolVersion(), RestartDelay: 50 * time.Millisecond},
	})
	if err != nil {
		rec.Close()
		dst.Abort()
		return fail("%v", err)
	}
	fmt.Fprintf(e.stderr, "atbridge demo: host app <-> %s (pty) <-> proxy <-> emulated ESP32 <-> ws echo server %s\n", hostLink, echo.url)
	runCtx, stopRun := context.WithCancel(ctx)
	runErr := make(chan error, 1)
	go func() { runErr <- px.Run(runCtx) }()

	scriptErr := playDemo(ctx, hostLink, demoScript(echo.url), px)
	stopRun()
	if err := <-runErr; err != nil && scriptErr == nil {
		scriptErr = err
	}
	if err := rec.Close(); err != nil && scriptErr == nil {
		scriptErr = err
	}
	if err := dst.Commit(); err != nil && scriptErr == nil {
		scriptErr = err
	}
	if scriptErr != nil {
		return fail("%v (the capture so far is in %s)", scriptErr, out)
	}

	if !quiet {
		fmt.Fprintf(e.stdout, "\n== the decoded transcript (atbridge show %s) ==\n", out)
		if code := runShow(ctx, e, &showFlags{link: -1}, []string{out}); code != exitOK {
			return code
		}
		fmt.Fprintf(e.stdout, "\n== the summary (atbridge stats %s) ==\n", out)
		if code := runStats(ctx, e, []string{out}, false); code != exitOK {
			return code
		}
	}
	exported := false
	if _, ok := commands["export"]; ok {
		var msg bytes.Buffer
		quietEnv := &env{stdin: e.stdin, stdout: &msg, stderr: &msg, getenv: e.getenv}
		if run(ctx, []string{"export", "--force=" + fmt.Sprint(force), out, "-o", pcap}, quietEnv) == exitOK {
			exported = true
		} else {
			fmt.Fprintf(e.stderr, "atbridge demo: export to %s failed: %s", pcap, msg.String())
		}
	}
	fmt.Fprintf(e.stdout, "\nWrote %s", out)
	if exported {
		fmt.Fprintf(e.stdout, " and %s", pcap)
	}
	fmt.Fprintf(e.stdout, ". Next:\n")
	self := invocation()
	next := [][2]string{
		{self + " show " + out, "the transcript again (--raw for bytes, --json for jq)"},
		{self + " stats " + out, "latencies, results, WebSocket messages"},
	}
	if exported {
		next = append(next, [2]string{"wireshark " + pcap, "serial, AT and WebSocket views"})
	}
	next = append(next,
		[2]string{self + " report " + out + " -o demo.html", "one page to attach to a bug report"},
		[2]string{self + " emulate --port pty:/tmp/esp", "an ESP32 for your own host app"},
		[2]string{self + " proxy --host pty:/tmp/esp --device /dev/ttyUSB0 -w session.atcap", "your real board"},
	)
	width := 0
	for _, n := range next {
		width = max(width, len(n[0]))
	}
	for _, n := range next {
		fmt.Fprintf(e.stdout, "  %-*s  # %s\n", width, n[0], n[1])
	}
	return exitOK
}

// playDemo is the scripted host app: it opens the pty link as a serial
// port, as a PC program would, and plays the steps, putting a marker in the
// capture before each.
func playDemo(ctx context.Context, link string, steps []demoStep, px *bridge.Proxy) error {
	pt, err := port.Open(ctx, link, nil)
	if err != nil {
		return fmt.Errorf("host app: %w", err)
	}
	h := &demoHost{port: pt, more: make(chan struct{}, 1)}
	h.wg.Add(1)
	go h.read()
	defer func() {
		pt.Close()
		h.wg.Wait()
	}()
	for _, s := range steps {
		if strings.HasPrefix(s.send, "AT+WSOPEN=") {
			px.Mark("the host app opens a WebSocket to the echo server")
		}
		if s.send != "" {
			if _, err := pt.Write([]byte(s.send)); err != nil {
				return fmt.Errorf("host app: %w", err)
			}
		}
		if err := h.await(ctx, s.want, 5*time.Second); err != nil {
			return fmt.Errorf("host app, after sending %q: %w", s.send, err)
		}
	}
	return nil
}

// demoHost collects what the host app reads.
type demoHost struct {
	port port.Port
	wg   sync.WaitGroup
	mu   sync.Mutex
	buf  []byte
	err  error
	more chan struct{}
}

func (h *demoHost) read() {
	defer h.wg.Done()
	b := make([]byte, 4096)
	for {
		n, err := h.port.Read(b)
		h.mu.Lock()
		h.buf = append(h.buf, b[:n]...)
		h.err = err
		h.mu.Unlock()
		select {
		case h.more <- struct{}{}:
		default:
		}
		if err != nil {
			return
		}
	}
}

// await waits until every text in want has arrived, then consumes input up
// to the last of them.
func (h *demoHost) await(ctx context.Context, want []string, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		h.mu.Lock()
		end, all := 0, true
		for _, w := range want {
			i := bytes.Index(h.buf, []byte(w))
			if i < 0 {
				all = false
				break
			}
			end = max(end, i+len(w))
		}
		if all {
			h.buf = h.buf[end:]
		}
		got, rerr := string(h.buf), h.err
		h.mu.Unlock()
		if all {
			return nil
		}
		if rerr != nil {
			return rerr
		}
		select {
		case <-h.more:
		case <-timer.C:
			return fmt.Errorf("waited %v for %q; got %q", d, want, got)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// echoServer is the demo's local WebSocket echo server (coder/websocket):
// each message comes back with its type, except the text "bye", which
// closes the connection with 1000 "bye".
type echoServer struct {
	url  string
	srv  *http.Server
	done chan struct{}
}

func startEchoServer() (*echoServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &echoServer{url: "ws://" + ln.Addr().String() + "/echo", done: make(chan struct{})}
	s.srv = &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		for {
			typ, data, err := c.Read(r.Context())
			if err != nil {
				return
			}
			if typ == websocket.MessageText && string(data) == "bye" {
				_ = c.Close(websocket.StatusNormalClosure, "bye")
				return
			}
			if err := c.Write(r.Context(), typ, data); err != nil {
				return
			}
		}
	})}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintln(io.Discard, err)
		}
	}()
	return s, nil
}

func (s *echoServer) close() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = s.srv.Shutdown(ctx)
	_ = s.srv.Close()
	<-s.done
}

// invocation is how the person who ran the demo runs atbridge again:
// "atbridge" when the atbridge on PATH is this program; "go run
// ./cmd/atbridge" when this is a go run build (its binary lives in Go's
// build cache, and nothing is on PATH); otherwise the path it was started
// by (./atbridge, say).
func invocation() string {
	exe, err := os.Executable()
	if err != nil {
		return "atbridge"
	}
	if p, err := exec.LookPath("atbridge"); err == nil {
		if sameFile(p, exe) {
			return "atbridge"
		}
	}
	if strings.Contains(exe, string(filepath.Separator)+"go-build") {
		return "go run ./cmd/atbridge"
	}
	return os.Args[0]
}
