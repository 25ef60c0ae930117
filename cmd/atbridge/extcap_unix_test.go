//go:build unix

package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/atbridge/atbridge/internal/rig"
)

// dumpcapFIFO makes a FIFO and has tshark capture from it (through
// dumpcap, the way Wireshark reads an extcap's FIFO) into a pcapng file.
// wait stops tshark after the writer closed the FIFO and returns the file.
func dumpcapFIFO(t *testing.T) (fifo string, wait func() string) {
	t.Helper()
	ts := rig.NeedProgram(t, "tshark")
	dir := t.TempDir()
	fifo = filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "got.pcapng")
	cmd := exec.Command(ts, "-i", fifo, "-w", out)
	cmd.Env = append(os.Environ(), "HOME="+dir)
	errf, err := os.Create(filepath.Join(dir, "tshark.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = errf
	// tshark runs dumpcap: put both in a process group to stop them together.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{}) // closed when tshark has exited
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		errf.Close()
	})
	logText := func() string { b, _ := os.ReadFile(errf.Name()); return string(b) }
	return fifo, func() string {
		select {
		case <-done: // dumpcap ends at the FIFO's end of file
		case <-time.After(15 * time.Second):
			t.Fatalf("tshark did not finish: %s", logText())
		}
		return out
	}
}

// TestExtcapCaptureFile plays a capture into a FIFO read by dumpcap, as a
// Wireshark capture on the atbridge-file interface does.
func TestExtcapCaptureFile(t *testing.T) {
	dir := t.TempDir()
	in := sessionAtcap(t, dir, "seed-tcp")
	for _, pace := range []bool{false, true} {
		fifo, wait := dumpcapFIFO(t)
		args := []string{"extcap", "--capture", "--extcap-interface", extcapFile, "--fifo", fifo, "--file", in, "--extcap-version=4.0"}
		if pace {
			// seed-tcp lasts 10 s: play only its first part, then stop as
			// Wireshark does (SIGTERM cancels the context).
			ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
			code := run(ctx, append(args, "--pace"), &env{stdin: strings.NewReader(""), stdout: &strings.Builder{}, stderr: &lockedBuffer{}, getenv: os.Getenv, isTerminal: func(any) bool { return false }})
			cancel()
			if code != exitOK && code != exitSignal {
				t.Fatalf("paced capture: exit %d", code)
			}
			got := wait()
			// The session lasts 10 s: some packets came, not all 44.
			if n := len(tsharkLines(t, got)); n == 0 || n >= 44 {
				t.Errorf("paced for 1.5 s: %d packets, want the first few", n)
			}
			continue
		}
		if _, errOut, code := execCLI(t, "", args...); code != exitOK {
			t.Fatalf("capture: exit %d: %s", code, errOut)
		}
		got := wait()
		ifs := strings.Join(tsharkLines(t, got, "-T", "fields", "-e", "frame.interface_name"), " ")
		for _, want := range []string{"uart-raw-to_device", "uart-at", "ws-link0"} {
			if !strings.Contains(ifs, want) {
				t.Errorf("no packets on %s", want)
			}
		}
		if ws := tsharkLines(t, got, "-Y", `websocket.payload.text == "test"`); len(ws) != 2 {
			t.Errorf("%d test frames through dumpcap, want 2", len(ws))
		}
	}
}

// TestExtcapCaptureEmulate runs the atbridge-emulate interface as
// Wireshark would: a host app talks to the emulator on a pty while dumpcap
// reads the FIFO; SIGTERM (a cancelled context) ends the capture.
func TestExtcapCaptureEmulate(t *testing.T) {
	dir := t.TempDir()
	fifo, wait := dumpcapFIFO(t)
	link := filepath.Join(dir, "esp")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stderr := &lockedBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"extcap", "--capture", "--extcap-interface", extcapEmulate, "--fifo", fifo, "--port", "pty:" + link, "--write", filepath.Join(dir, "kept.atcap")},
			&env{stdin: strings.NewReader(""), stdout: &strings.Builder{}, stderr: stderr, getenv: os.Getenv, isTerminal: func(any) bool { return false }})
	}()
	host := openLink(t, link, stderr)
	var got []byte
	host.Write([]byte("AT+GMR\r\n"))
	readUntil(t, host, &got, "\r\nOK\r\n")
	host.Write([]byte("AT+CWMODE=1\r\n"))
	readUntil(t, host, &got, "AT+CWMODE=1\r\n\r\nOK\r\n")
	time.Sleep(100 * time.Millisecond) // the recording goroutine polls every 2 ms
	cancel()
	if code := <-done; code != exitOK && code != exitSignal {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	out := wait()
	cmds := tsharkLines(t, out, "-Y", "at && frame.p2p_dir == 0", "-T", "fields", "-e", "_ws.col.Info")
	if len(cmds) != 2 || !strings.Contains(cmds[0], "AT+GMR") || !strings.Contains(cmds[1], "AT+CWMODE=1") {
		t.Errorf("commands %q", cmds)
	}
	if _, err := os.Stat(filepath.Join(dir, "kept.atcap")); err != nil {
		t.Errorf("--write: %v", err)
	}
}
