package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/atbridge/atbridge/analysis"
	"github.com/atbridge/atbridge/bridge/esp"
	"github.com/atbridge/atbridge/bridge/port"
)

// ptyEmulator serves an emulated board on a pty linked at link, as a
// USB-UART the proxy opens by path; stop unplugs it.
func ptyEmulator(t *testing.T, link string) (stop func()) {
	t.Helper()
	p, err := port.Open(context.Background(), "pty:"+link, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = esp.New(&esp.Options{RestartDelay: 10 * time.Millisecond}).Serve(ctx, p)
	}()
	stopped := false
	stop = func() {
		if !stopped {
			stopped = true
			cancel()
			p.Close()
			<-done
		}
	}
	t.Cleanup(stop)
	return stop
}

// waitFor polls b until it contains want.
func waitFor(t *testing.T, b *lockedBuffer, want string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(b.String(), want); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("never saw %q in:\n%s", want, b.String())
		}
	}
}

// TestUnplugWritesNotDelivered: a proxy between a host app on a pty and a
// board on a pty that is unplugged for a while. The 50 ATs (200 bytes) the
// host writes into the gap are recorded as not delivered: the summary
// counts them apart, stats and show say so, and their transactions end as
// "device absent", not as missing results.
func TestUnplugWritesNotDelivered(t *testing.T) {
	dir := t.TempDir()
	hostLink, devLink := filepath.Join(dir, "host"), filepath.Join(dir, "dev")
	rec := filepath.Join(dir, "unplug.atcap")
	unplug := ptyEmulator(t, devLink)
	stdout, stderr, stopProxy := startCmd(t, "proxy", "--host", "pty:"+hostLink, "--device", devLink, "-w", rec)
	f := openLink(t, hostLink, stderr)
	var got []byte
	readUntil(t, f, &got, "ready\r\n")
	f.WriteString("AT\r\n")
	readUntil(t, f, &got, "OK\r\n")

	unplug()
	waitFor(t, stdout, "port_lost")
	for range 50 {
		if _, err := f.WriteString("AT\r\n"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // let the proxy read them all while the device is away
	ptyEmulator(t, devLink)
	waitFor(t, stdout, "port_reopened")
	got = nil
	readUntil(t, f, &got, "ready\r\n")
	f.WriteString("AT+GMR\r\n")
	readUntil(t, f, &got, "OK\r\n")
	if code := stopProxy(); code != exitOK && code != exitSignal {
		t.Fatalf("proxy exited %d: %s", code, stderr.String())
	}
	msg := stderr.String()
	// Delivered: AT and AT+GMR (12 bytes); not delivered: 50 ATs.
	for _, want := range []string{"12 bytes to the device", "200 bytes from the host were not delivered: the device was absent"} {
		if !strings.Contains(msg, want) {
			t.Errorf("summary lacks %q:\n%s", want, msg)
		}
	}

	out, errOut, code := execCLI(t, "", "stats", "--json", rec)
	if code != exitOK {
		t.Fatalf("stats exited %d: %s", code, errOut)
	}
	var st analysis.Stats
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatal(err)
	}
	if st.NotDelivered["to_device"] != 200 || st.DeviceAbsent != 50 || st.NoResult != 0 {
		t.Errorf("stats: not_delivered %v, device_absent %d, no_result %d; want 200 to the device, 50, 0", st.NotDelivered, st.DeviceAbsent, st.NoResult)
	}
	text, _, _ := execCLI(t, "", "stats", rec)
	if !strings.Contains(text, "not delivered") || !strings.Contains(text, "50 sent while the device was absent") {
		t.Errorf("stats text:\n%s", text)
	}

	out, _, _ = execCLI(t, "", "show", "--json", rec)
	absent, results := 0, 0
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var j struct {
			Kind string
			Tx   struct {
				Result string
				Absent bool `json:"device_absent"`
			}
		}
		if err := json.Unmarshal([]byte(line), &j); err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		if j.Kind == "transaction" {
			switch {
			case j.Tx.Absent:
				absent++
			case j.Tx.Result != "":
				results++
			default:
				t.Errorf("a transaction with neither result nor reason: %s", line)
			}
		}
	}
	if absent != 50 || results != 2 {
		t.Errorf("show --json: %d device absent, %d with results; want 50 and 2", absent, results)
	}
	text, _, _ = execCLI(t, "", "show", rec)
	if n := strings.Count(text, "NOT DELIVERED"); n == 0 || strings.Count(text, "not delivered: device absent") != 50 {
		t.Errorf("show marks %d not_delivered events, %d transactions as absent:\n%s", n, strings.Count(text, "not delivered: device absent"), text)
	}
}
