package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/atbridge/atbridge/bridge"
	"github.com/atbridge/atbridge/bridge/esp"
	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/internal/rig"
)

func tsharkLines(t *testing.T, file string, args ...string) []string {
	t.Helper()
	cmd := exec.Command(rig.NeedProgram(t, "tshark"), append([]string{"-n", "-r", file}, args...)...)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark %v: %v", args, err)
	}
	s := strings.TrimSpace(string(out))
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// TestPcapngLive runs a real proxy (a pty for the host app, the emulator
// as the device, a python3-websockets echo server) with the live pcapng
// stream attached as --pcapng attaches it: while the proxy still runs,
// tshark already decodes the command and both WebSocket frames; at the
// end the stream has the same packets as "atbridge export" makes of the
// recorded capture.
func TestPcapngLive(t *testing.T) {
	url := rig.PythonWSEcho(t)
	dir := t.TempDir()
	live := filepath.Join(dir, "live.pcapng")
	rec, err := capture.Create(filepath.Join(dir, "s.atcap"), capture.Header{
		Tool: "atbridge test", Meta: map[string]string{"command": "proxy"},
		Ports: []capture.PortInfo{{Name: "pty:" + filepath.Join(dir, "esp"), Role: "host"}, {Name: "emulate", Role: "device"}},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{stdout: &bytes.Buffer{}, stderr: &lockedBuffer{}}
	out, err := openPcapngOut(e, "proxy", live, rec.Header())
	if err != nil {
		t.Fatal(err)
	}
	px, err := bridge.OpenProxy(context.Background(), &bridge.ProxyOptions{
		Host: "pty:" + filepath.Join(dir, "esp"), Device: bridge.EmulateSpec,
		Emulator: &esp.Options{}, Recorder: rec, Observe: out.Chain(nil),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- px.Run(ctx) }()
	stop := func() {
		if cancel != nil {
			cancel()
			cancel = nil
			<-done
			px.Close()
		}
	}
	defer stop()

	host := openLink(t, filepath.Join(dir, "esp"), e.stderr.(*lockedBuffer))
	var got []byte
	host.Write([]byte("AT+WSOPEN=0,\"" + url + "\"\r\n"))
	readUntil(t, host, &got, "\r\nOK\r\n")
	host.Write([]byte("AT+WSSEND=0,4\r\n"))
	readUntil(t, host, &got, ">")
	host.Write([]byte("test"))
	readUntil(t, host, &got, "+WS_DATA:0,4,test")

	// Live: the stream shows the exchange before the proxy stops.
	deadline := time.Now().Add(10 * time.Second)
	for {
		ws := tsharkLines(t, live, "-Y", `websocket.payload.text == "test"`)
		cmds := tsharkLines(t, live, "-Y", `at && frame.p2p_dir == 0`, "-T", "fields", "-e", "_ws.col.Info")
		if len(ws) == 2 && len(cmds) == 2 && strings.Contains(cmds[1], "AT+WSSEND=0,4") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("live stream after 10 s: %d test frames, commands %q", len(ws), cmds)
		}
		time.Sleep(50 * time.Millisecond)
	}

	stop()
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	if c := tsharkLines(t, live, "-Y", `frame.comment contains "recorded on the network side"`); len(c) != 1 {
		t.Errorf("flow not labelled as recorded frames: %q", c)
	}
	exported := filepath.Join(dir, "export.pcapng")
	if _, errOut, code := execCLI(t, "", "export", filepath.Join(dir, "s.atcap"), "-o", exported); code != exitOK {
		t.Fatalf("export: %d %s", code, errOut)
	}
	// The same packets: the live stream is in input order (flushed after
	// every record), the export in time order, so compare them sorted.
	fields := []string{"-T", "fields", "-e", "frame.time_epoch", "-e", "frame.interface_name", "-e", "frame.len", "-e", "frame.comment"}
	a, b := tsharkLines(t, live, fields...), tsharkLines(t, exported, fields...)
	sort.Strings(a)
	sort.Strings(b)
	if strings.Join(a, "\n") != strings.Join(b, "\n") {
		t.Errorf("live stream (%d packets) differs from the export of the recording (%d packets)", len(a), len(b))
	}
}

// TestPcapngOutErrors: a compressed live path is refused, and a viewer
// that goes away stops the stream with one message, not the recording.
func TestPcapngOutErrors(t *testing.T) {
	e := &env{stdout: &bytes.Buffer{}, stderr: &lockedBuffer{}}
	if _, err := openPcapngOut(e, "proxy", filepath.Join(t.TempDir(), "x.pcapng.zst"), capture.Header{}); err == nil || !strings.Contains(err.Error(), "uncompressed") {
		t.Errorf("compressed live path: %v", err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	e.stdout = w
	out, err := openPcapngOut(e, "emulate", "-", capture.Header{})
	if err != nil {
		t.Fatal(err)
	}
	r.Close() // the viewer quits
	obs := out.Chain(func(*capture.Record) {})
	for i := 0; i < 3; i++ {
		obs(&capture.Record{Kind: capture.KindChunk, Time: out.Now(), Dir: 1, Data: []byte("AT\r\n")})
	}
	out.Close()
	w.Close()
	msg := e.stderr.(*lockedBuffer).String()
	if strings.Count(msg, "live pcapng stopped") != 1 {
		t.Errorf("stderr %q, want one message", msg)
	}
}
