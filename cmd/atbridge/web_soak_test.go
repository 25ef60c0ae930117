package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/atbridge/atbridge/internal/rig"
)

// TestLiveViewSoak follows a session at full rate in headless Chromium:
// "atbridge proxy --device emulate --http" with a host app that sends
// commands back to back as fast as the emulator answers, and the page
// attached all along. Every sampling period it reads the page's JavaScript
// heap (after a GC) and row count and this process's Go heap (the proxy and
// the emulator run in it): the page keeps at most its 20,000 rows and
// neither heap grows once warm. ATBRIDGE_SOAK sets the length (20s by
// default; the README's figures are from ATBRIDGE_SOAK=10m).
func TestLiveViewSoak(t *testing.T) {
	length := 20 * time.Second
	if s := os.Getenv("ATBRIDGE_SOAK"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			t.Fatalf("ATBRIDGE_SOAK=%q: %v", s, err)
		}
		length = d
	}
	b := rig.StartBrowser(t)
	dir := t.TempDir()
	host := filepath.Join(dir, "host")
	_, pxErr, stop := startCmd(t, "proxy", "--host", "pty:"+host, "--device", "emulate", "-w", filepath.Join(dir, "soak.atcap"), "--quiet", "--http", "127.0.0.1:0")
	url := waitURL(t, pxErr)
	f := openLink(t, host, pxErr)
	p, err := b.Open(url)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.WaitFor(`document.body.dataset.ready === "1"`, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	sent := make(chan int, 1)
	go func() { // the host app: command, answer, next command
		n := 0
		buf := make([]byte, 4096)
		var got []byte
		cmds := []string{"AT\r\n", "AT+GMR\r\n", "AT+CWMODE?\r\n", "AT+CIPSTATUS\r\n", "AT+SYSRAM?\r\n"}
		for {
			select {
			case <-done:
				sent <- n
				return
			default:
			}
			f.Write([]byte(cmds[n%len(cmds)]))
			n++
			got = got[:0]
			f.SetReadDeadline(time.Now().Add(5 * time.Second))
			for !strings.Contains(string(got), "OK\r\n") && !strings.Contains(string(got), "ERROR\r\n") {
				k, err := f.Read(buf)
				if err != nil {
					sent <- n
					return
				}
				got = append(got, buf[:k]...)
			}
		}
	}()
	period := max(length/10, 2*time.Second)
	var table []string
	var pageHeaps, goHeaps []int64
	start := time.Now()
	for time.Since(start) < length {
		time.Sleep(period)
		heap, err := p.HeapUsed()
		if err != nil {
			t.Fatal(err)
		}
		var rows, total int
		p.Eval(`atbridge.rows()`, &rows)
		p.Eval(`atbridge.total()`, &total)
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		pageHeaps, goHeaps = append(pageHeaps, heap), append(goHeaps, int64(ms.HeapAlloc))
		table = append(table, fmt.Sprintf("| %s | %d | %d | %.1f | %.1f |", time.Since(start).Round(time.Second), total, rows, float64(heap)/(1<<20), float64(ms.HeapAlloc)/(1<<20)))
		if rows > 20000 {
			t.Errorf("the page holds %d rows, past its 20,000", rows)
		}
	}
	close(done)
	n := <-sent
	if code := stop(); code != exitOK {
		t.Fatalf("proxy exit %d:\n%s", code, pxErr.String())
	}
	t.Logf("%s of back-to-back commands: %d sent\n| time | rows the page got | rows it holds | page JS heap (MiB) | Go heap (MiB) |\n|---:|---:|---:|---:|---:|\n%s",
		length, n, strings.Join(table, "\n"))
	if len(pageHeaps) >= 4 {
		warm, last := pageHeaps[len(pageHeaps)/2], pageHeaps[len(pageHeaps)-1]
		if last > 2*warm+8<<20 {
			t.Errorf("the page's heap grew from %d to %d bytes after warming up", warm, last)
		}
		gwarm, glast := goHeaps[len(goHeaps)/2], goHeaps[len(goHeaps)-1]
		if glast > 2*gwarm+32<<20 {
			t.Errorf("the process's heap grew from %d to %d bytes after warming up", gwarm, glast)
		}
	}
	if n < 100 {
		t.Errorf("only %d commands went through", n)
	}
}
