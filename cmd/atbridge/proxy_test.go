package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/atbridge/atbridge/bridge/port"
	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/formats"
	"github.com/atbridge/atbridge/formats/view"
)

// startCmd runs atbridge with args in the background; stop cancels it as
// Ctrl-C would and returns its exit code.
func startCmd(t *testing.T, args ...string) (stdout, stderr *lockedBuffer, stop func() int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stdout, stderr = &lockedBuffer{}, &lockedBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, args, &env{
			stdin: strings.NewReader(""), stdout: stdout, stderr: stderr,
			getenv: func(string) string { return "" }, isTerminal: func(any) bool { return false },
		})
	}()
	stopped, code := false, 0
	stop = func() int {
		if !stopped {
			stopped = true
			cancel()
			code = <-done
		}
		return code
	}
	t.Cleanup(func() { stop() })
	return stdout, stderr, stop
}

// openLink waits for a pty link to appear and opens it.
func openLink(t *testing.T, link string, stderr *lockedBuffer) *os.File {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		f, err := os.OpenFile(link, os.O_RDWR, 0)
		if err == nil {
			t.Cleanup(func() { f.Close() })
			return f
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never appeared: %s", link, stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// readUntil reads f until got contains want.
func readUntil(t *testing.T, f *os.File, got *[]byte, want string) {
	t.Helper()
	buf := make([]byte, 4096)
	_ = f.SetReadDeadline(time.Now().Add(10 * time.Second))
	for !bytes.Contains(*got, []byte(want)) {
		n, err := f.Read(buf)
		*got = append(*got, buf[:n]...)
		if err != nil {
			t.Fatalf("read: %v; got %q", err, *got)
		}
	}
}

func readRecords(t *testing.T, path string) []capture.Record {
	t.Helper()
	r, err := capture.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out []capture.Record
	for {
		rc, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, *rc)
	}
}

func chunks(recs []capture.Record, dir formats.Dir) string {
	var b []byte
	for _, r := range recs {
		if r.Kind == capture.KindChunk && r.Dir == dir {
			b = append(b, r.Data...)
		}
	}
	return string(b)
}

// TestProxyCommand runs "atbridge proxy" with the emulator as the device,
// talks to it through the pty, stops it as Ctrl-C would, and checks the
// live view and the capture.
func TestProxyCommand(t *testing.T) {
	for _, raw := range []bool{false, true} {
		t.Run(map[bool]string{false: "decoded", true: "raw"}[raw], func(t *testing.T) {
			dir := t.TempDir()
			link := filepath.Join(dir, "esp")
			rec := filepath.Join(dir, "s.atcap")
			live := filepath.Join(dir, "live.pcapng")
			args := []string{"proxy", "--host", "pty:" + link, "--device", "emulate", "-w", rec, "--baud", "921600"}
			if raw {
				args = append(args, "--raw")
			} else {
				args = append(args, "--pcapng", live)
			}
			stdout, stderr, stop := startCmd(t, args...)
			f := openLink(t, link, stderr)
			var got []byte
			readUntil(t, f, &got, "ready\r\n")
			if _, err := f.Write([]byte("AT+GMR\r\n")); err != nil {
				t.Fatal(err)
			}
			readUntil(t, f, &got, "\r\nOK\r\n")
			if code := stop(); code != exitOK {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
			recs := readRecords(t, rec)
			if chunks(recs, formats.ToDevice) != "AT+GMR\r\n" || chunks(recs, formats.ToHost) != string(got) {
				t.Errorf("capture: to_device %q, to_host %q; host saw %q", chunks(recs, formats.ToDevice), chunks(recs, formats.ToHost), got)
			}
			want := "command  AT+GMR"
			if raw {
				want = "chunk    port 0, 8 bytes"
			}
			if !strings.Contains(stdout.String(), want) {
				t.Errorf("live view lacks %q:\n%s", want, stdout.String())
			}
			if !strings.Contains(stdout.String(), "921600 8N1") || !strings.Contains(stderr.String(), "next: atbridge show") {
				t.Errorf("stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
			}
			if !raw {
				checkLivePcapng(t, live, "+GMR")
			}
		})
	}
}

// TestProxyCommandMarkers: on a terminal, each line typed on stdin
// becomes a marker in the capture.
func TestProxyCommandMarkers(t *testing.T) {
	dir := t.TempDir()
	link := filepath.Join(dir, "esp")
	rec := filepath.Join(dir, "m.atcap")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"proxy", "--host", "pty:" + link, "--device", "emulate", "-w", rec}, &env{
			stdin: strings.NewReader("pressed reset\n\nsecond try\n"), stdout: &stdout, stderr: &stderr,
			getenv: func(string) string { return "" }, isTerminal: func(any) bool { return true },
		})
	}()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(stdout.String(), "MARKER: second try") {
		if time.Now().After(deadline) {
			cancel()
			<-done
			t.Fatalf("no marker in the live view:\n%s\n%s", stdout.String(), stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if code := <-done; code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var marks []string
	for _, r := range readRecords(t, rec) {
		if r.Kind == capture.KindEvent && r.Event.Type == capture.EvMarker {
			marks = append(marks, r.Event.Text)
		}
	}
	if strings.Join(marks, "|") != "pressed reset|second try" {
		t.Errorf("markers %q", marks)
	}
}

// gatedWriter blocks every Write until open is closed: a terminal paused
// with Ctrl-S.
type gatedWriter struct {
	open chan struct{}
	lockedBuffer
}

func (g *gatedWriter) Write(p []byte) (int, error) {
	<-g.open
	return g.lockedBuffer.Write(p)
}

// TestProxyCommandPausedTerminal: a live view that cannot write costs
// lines of the live view, never records of the capture.
func TestProxyCommandPausedTerminal(t *testing.T) {
	dir := t.TempDir()
	link := filepath.Join(dir, "esp")
	rec := filepath.Join(dir, "p.atcap")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stdout := &gatedWriter{open: make(chan struct{})}
	var stderr lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"proxy", "--host", "pty:" + link, "--device", "emulate", "-w", rec}, &env{
			stdin: strings.NewReader(""), stdout: stdout, stderr: &stderr,
			getenv: func(string) string { return "" }, isTerminal: func(any) bool { return false },
		})
	}()
	f := openLink(t, link, &stderr)
	var got []byte
	readUntil(t, f, &got, "ready\r\n")
	const n = 4000 // more records than the live view may queue
	var sent bytes.Buffer
	for i := 0; i < n; i++ {
		line := fmt.Sprintf("AT+CWMODE=%d\r\n", i%3+1)
		sent.WriteString(line)
		if _, err := f.Write([]byte(line)); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 4096)
		_ = f.SetReadDeadline(time.Now().Add(10 * time.Second))
		for bytes.Count(got, []byte("\r\nOK\r\n")) < i+1 {
			k, err := f.Read(buf)
			got = append(got, buf[:k]...)
			if err != nil {
				t.Fatalf("command %d: %v", i, err)
			}
		}
	}
	cancel()
	close(stdout.open)
	if code := <-done; code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	recs := readRecords(t, rec)
	if chunks(recs, formats.ToDevice) != sent.String() || chunks(recs, formats.ToHost) != string(got) {
		t.Error("the capture lost traffic while the terminal was paused")
	}
	for _, r := range recs {
		if r.Kind == capture.KindEvent && r.Event.Type == capture.EvBytesLost {
			t.Errorf("bytes lost: %+v", r.Event)
		}
	}
	if !strings.Contains(stdout.String(), "records not shown") {
		t.Errorf("the live view does not say it skipped records:\n%.2000s", stdout.String())
	}
}

// TestProxyCommandQuietSplit: no live view, and --split by time gives
// numbered files that together hold everything.
func TestProxyCommandQuietSplit(t *testing.T) {
	dir := t.TempDir()
	link := filepath.Join(dir, "esp")
	stdout, stderr, stop := startCmd(t, "proxy", "--host", "pty:"+link, "--device", "emulate", "-w", filepath.Join(dir, "s.atcap"), "--quiet", "--split", "50ms")
	f := openLink(t, link, stderr)
	var got []byte
	readUntil(t, f, &got, "ready\r\n")
	for i := 0; i < 4; i++ {
		if _, err := f.Write([]byte("AT\r\n")); err != nil {
			t.Fatal(err)
		}
		readUntil(t, f, &got, strings.Repeat("AT\r\n\r\nOK\r\n", i+1))
		time.Sleep(60 * time.Millisecond)
	}
	if code := stop(); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if stdout.String() != "" {
		t.Errorf("--quiet printed %q", stdout.String())
	}
	files, _ := filepath.Glob(filepath.Join(dir, "s-*.atcap"))
	if len(files) < 2 {
		t.Fatalf("files %v", files)
	}
	var toDev string
	for _, f := range files {
		toDev += chunks(readRecords(t, f), formats.ToDevice)
	}
	if toDev != strings.Repeat("AT\r\n", 4) {
		t.Errorf("to_device across files %q", toDev)
	}
}

// TestSniffCommand: two receive-only "adapters" (pty links) hear the two
// TX lines; the sniffer records both and writes nothing back.
func TestSniffCommand(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	hostTX, err := port.Open(ctx, "pty:"+filepath.Join(dir, "hrx"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer hostTX.Close()
	devTX, err := port.Open(ctx, "pty:"+filepath.Join(dir, "drx"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer devTX.Close()
	rec := filepath.Join(dir, "y.atcap")
	stdout, stderr, stop := startCmd(t, "sniff", "--host-rx", filepath.Join(dir, "hrx"), "--device-rx", filepath.Join(dir, "drx"), "-w", rec)
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(stdout.String(), "port_opened: port 1") {
		if time.Now().After(deadline) {
			t.Fatalf("sniff did not start: %s", stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := hostTX.Write([]byte("AT\r\n")); err != nil {
		t.Fatal(err)
	}
	if _, err := devTX.Write([]byte("AT\r\n\r\nOK\r\n")); err != nil {
		t.Fatal(err)
	}
	for !strings.Contains(stdout.String(), "result   OK") {
		if time.Now().After(deadline) {
			t.Fatalf("nothing decoded: %s", stdout.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if code := stop(); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	recs := readRecords(t, rec)
	if chunks(recs, formats.ToDevice) != "AT\r\n" || chunks(recs, formats.ToHost) != "AT\r\n\r\nOK\r\n" {
		t.Errorf("capture %q %q", chunks(recs, formats.ToDevice), chunks(recs, formats.ToHost))
	}
	// Nothing came back on either line.
	for _, p := range []port.Port{hostTX, devTX} {
		got := make(chan int, 1)
		go func() {
			n, _ := p.Read(make([]byte, 64))
			got <- n
		}()
		select {
		case n := <-got:
			if n > 0 {
				t.Errorf("the sniffer wrote %d bytes to %s", n, p.Name())
			}
		case <-time.After(100 * time.Millisecond):
		}
		p.Close() // ends the read
	}
}

func TestProxyBadFlags(t *testing.T) {
	out := filepath.Join(t.TempDir(), "x.atcap")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"proxy", "--host", "pty:/tmp/x"}, "give --host and --device"},
		{[]string{"proxy", "--host", "pty:/tmp/x", "--device", "emulate"}, "-w FILE.atcap is required"},
		{[]string{"proxy", "--host", "pty:/tmp/x", "--device", "emulate", "-w", "x.atcap", "--parity", "Q"}, "--parity"},
		{[]string{"proxy", "--host", "pty:/tmp/x", "--device", "emulate", "-w", "x.atcap", "--split", "soon"}, "--split"},
		{[]string{"proxy", "--ws-tap", "8765"}, "want LISTEN=UPSTREAM"},
		{[]string{"proxy", "--ws-tap", "127.0.0.1:0=wss://example.com", "-w", out}, "--ws-tap-cert"},
		{[]string{"sniff", "--host-rx", "/dev/null"}, "give both"},
	} {
		_, stderr, code := execCLI(t, "", tc.args...)
		if code != exitFailure || !strings.Contains(stderr, tc.want) {
			t.Errorf("%q: exit %d, stderr %q; want 2 and %q", tc.args, code, stderr, tc.want)
		}
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a failed start left an empty capture behind")
	}
}

// TestDemoCommand is the README's first command: it must finish in seconds
// with exit 0 and leave a capture holding the whole scenario.
func TestDemoCommand(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "demo.atcap")
	stdout, stderr, code := execCLI(t, "", "demo", "-w", out)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"+WS_DATA:0,4", "WIFI GOT IP", "+TIME_UPDATED", "ws_closed: link 0 code 1000", "lost bytes  0", "Next:", "atbridge show " + out} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	recs := readRecords(t, out)
	if !strings.Contains(chunks(recs, formats.ToHost), "+WS_DATA:0,6,\x00\x01\x02\r\n\xff\r\n") {
		t.Error("the binary echo is not in the capture")
	}
	if _, ok := commands["export"]; ok {
		if _, err := os.Stat(filepath.Join(dir, "demo.pcapng")); err != nil {
			t.Errorf("no pcapng next to the capture: %v", err)
		}
	}
}

// TestProxyCommandTapOnly: "atbridge proxy --ws-tap" with no serial ports
// records the frames of a WebSocket session through the tap.
func TestProxyCommandTapOnly(t *testing.T) {
	echo, err := startEchoServer()
	if err != nil {
		t.Fatal(err)
	}
	defer echo.close()
	rec := filepath.Join(t.TempDir(), "tap.atcap")
	stdout, stderr, stop := startCmd(t, "proxy", "--ws-tap", "127.0.0.1:0="+echo.url, "-w", rec)
	var addr string
	deadline := time.Now().Add(10 * time.Second)
	for addr == "" {
		if _, rest, ok := strings.Cut(stderr.String(), "WebSocket tap listening on "); ok {
			addr, _, _ = strings.Cut(rest, ",")
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no tap address: %s", stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	ctx := context.Background()
	c, _, err := websocket.Dial(ctx, "ws://"+addr+"/echo", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Write(ctx, websocket.MessageText, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	if _, b, err := c.Read(ctx); err != nil || string(b) != "hello" {
		t.Fatalf("echo %q %v", b, err)
	}
	if err := c.Write(ctx, websocket.MessageText, []byte("bye")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Read(ctx); websocket.CloseStatus(err) != websocket.StatusNormalClosure {
		t.Fatalf("read: %v, want a normal close", err)
	}
	for !strings.Contains(stdout.String(), "ws_closed") {
		if time.Now().After(deadline) {
			t.Fatalf("no ws_closed in the live view:\n%s", stdout.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if code := stop(); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var frames []string
	for _, r := range readRecords(t, rec) {
		if r.Kind == capture.KindFrame {
			frames = append(frames, fmt.Sprintf("%s %s %q", r.Dir, view.OpcodeName(int(r.Frame.Opcode)), r.Data))
		}
	}
	want := []string{`to_server text "hello"`, `to_client text "hello"`, `to_server text "bye"`, `to_client close "\x03\xe8bye"`, `to_server close "\x03\xe8bye"`}
	if strings.Join(frames, "\n") != strings.Join(want, "\n") {
		t.Errorf("frames\n%s\nwant\n%s", strings.Join(frames, "\n"), strings.Join(want, "\n"))
	}
}

// TestProxyCommandWait: with --wait the proxy waits for a device that is
// not there yet (here a pty the emulator creates later), says so, and then
// forwards and records as usual; stopped while waiting, it exits as
// interrupted and leaves no capture behind.
func TestProxyCommandWait(t *testing.T) {
	dir := t.TempDir()
	host, dev := filepath.Join(dir, "host"), filepath.Join(dir, "dev")
	rec := filepath.Join(dir, "s.atcap")
	_, stderr, stop := startCmd(t, "proxy", "--host", "pty:"+host, "--device", dev, "-w", rec, "--quiet", "--wait")
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(stderr.String(), "waiting for the device port "+dev) {
		if time.Now().After(deadline) {
			t.Fatalf("no waiting line: %s", stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	_, emuErr, stopEmu := startCmd(t, "emulate", "--port", "pty:"+dev)
	f := openLink(t, host, stderr)
	var got []byte
	if _, err := f.Write([]byte("AT\r\n")); err != nil {
		t.Fatal(err)
	}
	readUntil(t, f, &got, "\r\nOK\r\n")
	if code := stop(); code != exitOK {
		t.Fatalf("proxy exit %d: %s", code, stderr.String())
	}
	stopEmu()
	recs := readRecords(t, rec)
	if !strings.Contains(chunks(recs, formats.ToDevice), "AT\r\n") || !strings.Contains(chunks(recs, formats.ToHost), "OK\r\n") {
		t.Errorf("capture: to_device %q, to_host %q; emulator: %s", chunks(recs, formats.ToDevice), chunks(recs, formats.ToHost), emuErr.String())
	}

	rec2 := filepath.Join(dir, "never.atcap")
	_, stderr2, stop2 := startCmd(t, "proxy", "--host", "pty:"+filepath.Join(dir, "h2"), "--device", filepath.Join(dir, "none"), "-w", rec2, "--wait")
	for !strings.Contains(stderr2.String(), "waiting for the device port") {
		if time.Now().After(deadline) {
			t.Fatalf("no waiting line: %s", stderr2.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if code := stop2(); code != exitSignal {
		t.Errorf("stopped while waiting: exit %d, want %d: %s", code, exitSignal, stderr2.String())
	}
	if _, err := os.Stat(rec2); err == nil {
		t.Errorf("%s left behind with nothing recorded", rec2)
	}
}
