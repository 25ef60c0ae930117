package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/atbridge/atbridge/formats"
	"github.com/atbridge/atbridge/internal/rig"
	"github.com/atbridge/atbridge/replay"
)

// hostStep is one step of the scripted host app: send Send, then read
// until one of Until arrives, or, when All is set, until all of All have
// (in any order).
type hostStep struct {
	Send  string
	Until []string
	All   []string
}

// hostSteps is the scripted host app's session: basic, Wi-Fi and SNTP
// commands (AT+CIPSNTPTIME? answers a volatile date), then a WebSocket
// round trip through a real echo server at url.
func hostSteps(url string) []hostStep {
	res := []string{"\r\nOK\r\n", "\r\nERROR\r\n"}
	var st []hostStep
	for _, c := range []string{"AT", "AT+GMR", "AT+CWMODE=1", `AT+CWJAP="espressif","1234567890"`, "AT+CIPSNTPTIME?",
		`AT+WSOPEN=0,"` + url + `"`} {
		st = append(st, hostStep{Send: c + "\r\n", Until: res})
	}
	st = append(st,
		hostStep{Send: "AT+WSSEND=0,4\r\n", Until: []string{">", "\r\nERROR\r\n"}},
		// A host app types its next command after the final result: the
		// firmware does not order SEND OK and the echo's +WS_DATA, and a
		// command typed while AT+WSSEND runs is answered busy p....
		hostStep{Send: "test", All: []string{"\r\nSEND OK\r\n", "+WS_DATA:0,4,test\r\n"}})
	for _, c := range []string{"AT+WSCLOSE=0", "ATE0", "AT", "AT+CWMODE?"} {
		st = append(st, hostStep{Send: c + "\r\n", Until: res})
	}
	return st
}

// hostTxs is the number of transactions hostSteps makes.
const hostTxs = 11

// openPtyLink opens a pty link once it appears, failing if the command ends.
func openPtyLink(t *testing.T, link string, done <-chan int, stderr *lockedBuffer) *os.File {
	t.Helper()
	for i := 0; ; i++ {
		if f, err := os.OpenFile(link, os.O_RDWR, 0); err == nil {
			return f
		}
		select {
		case code := <-done:
			t.Fatalf("command exited with %d before its pty appeared: %s", code, stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
		if i > 500 {
			t.Fatalf("the pty link never appeared: %s", stderr.String())
		}
	}
}

// hostApp plays steps on f and returns every byte the device sent.
func hostApp(t *testing.T, f *os.File, steps []hostStep) []byte {
	t.Helper()
	var got []byte
	buf := make([]byte, 4096)
	readUntil := func(from int, all bool, want ...string) {
		_ = f.SetReadDeadline(time.Now().Add(10 * time.Second))
		for {
			found := 0
			for _, w := range want {
				if bytes.Contains(got[from:], []byte(w)) {
					found++
				}
			}
			if found == len(want) || (!all && found > 0) {
				return
			}
			n, err := f.Read(buf)
			got = append(got, buf[:n]...)
			if err != nil {
				t.Fatalf("host app: %v after %q", err, got)
			}
		}
	}
	readUntil(0, false, "ready\r\n")
	for _, st := range steps {
		from := len(got)
		if _, err := f.Write([]byte(st.Send)); err != nil {
			t.Fatal(err)
		}
		if len(st.All) > 0 {
			readUntil(from, true, st.All...)
		} else {
			readUntil(from, false, st.Until...)
		}
	}
	return got
}

// startCLI runs atbridge with args in the background.
func startCLI(ctx context.Context, args ...string) (<-chan int, *lockedBuffer, *lockedBuffer) {
	var stdout, stderr lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, args, &env{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr,
			getenv: func(string) string { return "" }, isTerminal: func(any) bool { return false }})
	}()
	return done, &stdout, &stderr
}

// recordThroughProxy records the scripted host app's session through
// "atbridge proxy --host pty:... --device emulate -w" on a real pty, the
// emulator's WebSocket link going to a real echo server.
func recordThroughProxy(t *testing.T, dir, url string) (string, []byte) {
	t.Helper()
	link := filepath.Join(dir, "esp")
	rec := filepath.Join(dir, "good.atcap")
	ctx, cancel := context.WithCancel(context.Background())
	done, _, stderr := startCLI(ctx, "proxy", "--host", "pty:"+link, "--device", "emulate", "-w", rec)
	f := openPtyLink(t, link, done, stderr)
	answers := hostApp(t, f, hostSteps(url))
	f.Close()
	cancel()
	if code := <-done; code != exitOK && code != exitSignal {
		t.Fatalf("proxy exited %d: %s", code, stderr.String())
	}
	t.Cleanup(func() {
		if t.Failed() {
			if b, err := os.ReadFile(rec); err == nil {
				keep := filepath.Join(os.TempDir(), "atbridge-"+strings.ReplaceAll(t.Name(), "/", "_")+".atcap")
				if os.WriteFile(keep, b, 0o600) == nil {
					t.Logf("the recording is kept at %s", keep)
				}
			}
		}
	})
	return rec, answers
}

func TestMockReplayDiffRoundTrip(t *testing.T) {
	dir := t.TempDir()
	url := rig.PythonWSEcho(t)
	rec, answers := recordThroughProxy(t, dir, url)
	s, err := replay.Load(rec)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Txs) != hostTxs {
		t.Fatalf("recording has %d transactions, want %d", len(s.Txs), hostTxs)
	}

	t.Run("mock to the host app gives byte-identical answers", func(t *testing.T) {
		link := filepath.Join(dir, "mock")
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		done, _, stderr := startCLI(ctx, "mock", rec, "--port", "pty:"+link, "--timing", "fast", "--match", "strict", "--linger", "200ms", "-w", filepath.Join(dir, "mock.atcap"))
		f := openPtyLink(t, link, done, stderr)
		got := hostApp(t, f, hostSteps(url))
		code := <-done
		f.Close()
		if code != exitOK {
			t.Fatalf("mock exited %d: %s", code, stderr.String())
		}
		if !bytes.Equal(got, answers) {
			t.Errorf("mock answers differ from the recorded ones:\n got  %q\n want %q", got, answers)
		}
		if ms, err := replay.Load(filepath.Join(dir, "mock.atcap")); err != nil || len(ms.Txs) != hostTxs {
			t.Errorf("mock recording: %v, %d transactions", err, len(ms.Txs))
		}
	})

	for _, dev := range []string{"emulate", "mock:" + rec} {
		t.Run("replay against "+strings.SplitN(dev, ":", 2)[0], func(t *testing.T) {
			out, errOut, code := execCLI(t, "", "replay", rec, "--device", dev, "-w", filepath.Join(dir, "run-"+strings.SplitN(dev, ":", 2)[0]+".atcap"))
			if code != exitOK {
				t.Fatalf("replay exited %d:\n%s\n%s", code, out, errOut)
			}
			if !strings.Contains(out, "EQUAL: 11 transactions: 11 equal") {
				t.Errorf("report:\n%s", out)
			}
		})
	}

	// A changed device: the dev firmware's AT+GMR names another version.
	// Every report form must point at transaction #2.
	t.Run("changed device", func(t *testing.T) {
		junit := filepath.Join(dir, "replay.xml")
		out, errOut, code := execCLI(t, "", "replay", rec, "--device", "emulate", "--firmware", "dev", "--junit", junit)
		if code != exitProblem {
			t.Fatalf("replay exited %d, want 1:\n%s\n%s", code, out, errOut)
		}
		if !strings.Contains(out, "! #2 AT+GMR: DIFFERENT") || !strings.Contains(out, "5.0.1.0-dev(32ff6e1") || strings.Contains(out, "! #3") {
			t.Errorf("text report does not single out #2 AT+GMR:\n%s", out)
		}
		jout, _, code := execCLI(t, "", "replay", rec, "--device", "emulate", "--firmware", "dev", "--json")
		if code != exitProblem {
			t.Fatalf("--json exited %d", code)
		}
		var rep replay.Report
		if err := json.Unmarshal([]byte(jout), &rep); err != nil {
			t.Fatalf("--json: %v\n%s", err, jout)
		}
		var bad []int
		for _, tx := range rep.Transactions {
			if tx.Status != replay.StatusEqual {
				bad = append(bad, tx.Expected.Index)
			}
		}
		if len(bad) != 1 || bad[0] != 2 || rep.Summary.Different != 1 {
			t.Errorf("JSON report: transactions not equal %v, summary %+v", bad, rep.Summary)
		}
		x, err := os.ReadFile(junit)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(x, []byte(`<testcase name="#2 AT+GMR"`)) || bytes.Count(x, []byte("<failure ")) != 1 {
			t.Errorf("JUnit report does not fail exactly #2:\n%s", x)
		}
		validateJUnit(t, junit)
	})

	t.Run("diff of a modified capture", func(t *testing.T) {
		other := filepath.Join(dir, "run-dev.atcap")
		if _, _, code := execCLI(t, "", "replay", rec, "--device", "emulate", "--firmware", "dev", "-w", other); code != exitProblem {
			t.Fatalf("replay exited %d", code)
		}
		out, _, code := execCLI(t, "", "diff", rec, other)
		if code != exitProblem || !strings.Contains(out, "! #2 AT+GMR: DIFFERENT") {
			t.Errorf("diff exited %d:\n%s", code, out)
		}
		out, _, code = execCLI(t, "", "diff", rec, rec)
		if code != exitOK {
			t.Errorf("diff of a capture with itself exited %d:\n%s", code, out)
		}
	})
}

// validateJUnit checks a JUnit file against the schema CI systems read
// (replay/testdata/junit.xsd) with xmllint.
func validateJUnit(t *testing.T, path string) {
	t.Helper()
	xmllint := rig.NeedProgram(t, "xmllint")
	out, err := exec.Command(xmllint, "--noout", "--schema", filepath.Join("..", "..", "replay", "testdata", "junit.xsd"), path).CombinedOutput()
	if err != nil {
		t.Errorf("JUnit file does not validate: %v\n%s", err, out)
	}
}

func TestMockMissIsReported(t *testing.T) {
	dir := t.TempDir()
	rec, _ := recordThroughProxy(t, dir, rig.PythonWSEcho(t))
	link := filepath.Join(dir, "mock")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done, _, stderr := startCLI(ctx, "mock", rec, "--port", "pty:"+link, "--timing", "fast", "--linger", "100ms")
	f := openPtyLink(t, link, done, stderr)
	defer f.Close()
	buf := make([]byte, 256)
	var got []byte
	_ = f.SetReadDeadline(time.Now().Add(10 * time.Second))
	f.Write([]byte("AT\r\n"))
	for !bytes.Contains(got, []byte("OK\r\n")) {
		n, err := f.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			t.Fatalf("%v after %q", err, got)
		}
	}
	f.Write([]byte("AT+GMX\r\n"))
	for !bytes.Contains(got, []byte("ERROR\r\n")) {
		n, err := f.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			t.Fatalf("%v after %q", err, got)
		}
	}
	if !bytes.HasSuffix(got, []byte("AT+GMX\r\n\r\nERROR\r\n")) {
		t.Errorf("a miss must be echoed and answered ERROR: %q", got)
	}
	cancel()
	if code := <-done; code != exitProblem {
		t.Errorf("mock exited %d, want 1", code)
	}
	msg := stderr.String()
	for _, want := range []string{`expected command "AT+GMR", got "AT+GMX"`, "transaction #2", `closest recorded command: "AT+GMR" (#2)`, "1 misses"} {
		if !strings.Contains(msg, want) {
			t.Errorf("stderr lacks %q:\n%s", want, msg)
		}
	}
	_ = formats.ToHost
}
