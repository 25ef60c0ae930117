package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/atbridge/atbridge/analysis"
	"github.com/atbridge/atbridge/internal/rig"
)

// TestLatencySplitRecoversServerDelay is the proof of the latency split: a
// host on a real pty talks through "atbridge proxy" to the in-process
// emulator, whose WebSocket link goes to an echo server that holds every
// echo back by a known delay. From the recorded capture alone, the split
// of each AT+WSSEND → +WS_DATA exchange puts that delay in the network
// segment (within 1 ms at the median), and the serial segments are the
// byte counts at the recorded line's character time.
func TestLatencySplitRecoversServerDelay(t *testing.T) {
	const delay = 40 * time.Millisecond
	for _, tc := range []struct {
		name string
		args []string
		bits float64 // per character: start, data, parity, stop
		baud float64
	}{
		{"115200 8N1", []string{"--baud", "115200"}, 10, 115200},
		{"57600 8E2", []string{"--baud", "57600", "--parity", "E", "--stopbits", "2"}, 12, 57600},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := rig.NewWSEchoServer(t, nil)
			srv.Delay.Store(int64(delay))
			dir := t.TempDir()
			link, rec := filepath.Join(dir, "esp"), filepath.Join(dir, "lat.atcap")
			_, stderr, stop := startCmd(t, append([]string{"proxy", "--host", "pty:" + link, "--device", "emulate", "-w", rec}, tc.args...)...)
			f := openLink(t, link, stderr)
			var got []byte
			cmd := func(line, want string) {
				t.Helper()
				if _, err := f.Write([]byte(line)); err != nil {
					t.Fatal(err)
				}
				readUntil(t, f, &got, want)
				got = got[:0]
			}
			readUntil(t, f, &got, "ready\r\n")
			got = got[:0]
			cmd("AT\r\n", "\r\nOK\r\n")
			cmd("AT+CWMODE=1\r\n", "\r\nOK\r\n")
			cmd("AT+CWJAP=\"ap\",\"password\"\r\n", "\r\nOK\r\n")
			cmd("AT+WSCFG=0,30,600,4096\r\n", "\r\nOK\r\n")
			cmd("AT+WSOPEN=0,\""+srv.URL+"/echo\"\r\n", "\r\nOK\r\n")
			const n = 5
			for i := range n {
				cmd("AT+WSSEND=0,5\r\n", ">")
				cmd(fmt.Sprintf("ping%d", i), fmt.Sprintf("+WS_DATA:0,5,ping%d", i))
			}
			if code := stop(); code != exitOK {
				t.Fatalf("proxy exit %d: %s", code, stderr.String())
			}

			if *updateGoldens && tc.baud == 115200 {
				// The README's example: a real recording, refreshed with -update.
				b, err := os.ReadFile(rec)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile("../../testdata/latency.atcap", b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			st, err := analysis.ReadLatency(context.Background(), rec)
			if err != nil {
				t.Fatal(err)
			}
			serial := func(bytes int) int64 { return int64(math.Round(float64(bytes) * tc.bits * 1e9 / tc.baud)) }
			seg := func(s *analysis.SplitStats, name string) analysis.Dist {
				t.Helper()
				g := s.Segment(name)
				if g == nil {
					t.Fatalf("%s has no %q segment: %+v", s.Name, name, s.Segments)
				}
				return g.Dist
			}
			find := func(list []*analysis.SplitStats, name string) *analysis.SplitStats {
				t.Helper()
				for _, s := range list {
					if s.Name == name {
						return s
					}
				}
				t.Fatalf("no %q in the split", name)
				return nil
			}
			if st.Wire {
				t.Errorf("the emulated device has no wire, but the split says it has")
			}

			// Serial: bytes at the line's character time, exactly.
			at := find(st.Commands, "AT")
			if d := seg(at, analysis.SegToDevice); d.MaxNS != serial(len("AT\r\n")) {
				t.Errorf("AT host→ESP32 %d ns, want %d (4 bytes × %.0f bits at %.0f baud)", d.MaxNS, serial(4), tc.bits, tc.baud)
			}
			if d := seg(at, analysis.SegToHost); d.MaxNS != serial(len("\r\nOK\r\n")) {
				t.Errorf("AT ESP32→host %d ns, want %d (the echo excluded)", d.MaxNS, serial(6))
			}
			send := find(st.Commands, "+WSSEND")
			if d := seg(send, analysis.SegToDevice); d.Count != n || d.P50NS != serial(len("AT+WSSEND=0,5\r\n")+5) || d.MaxNS != d.P50NS {
				t.Errorf("AT+WSSEND host→ESP32 %+v, want %d × %d ns", d, n, serial(20))
			}

			// The exchange: the server's delay is the network segment.
			ex := find(st.Exchanges, "+WSSEND→+WS_DATA link 0")
			if ex.Count != n || ex.WithFrames != n {
				t.Fatalf("exchanges %d, with frames %d; want %d of each", ex.Count, ex.WithFrames, n)
			}
			if d := seg(ex, analysis.SegToDevice); d.MaxNS != serial(5) {
				t.Errorf("exchange host→ESP32 %d ns, want %d", d.MaxNS, serial(5))
			}
			// The sleep behind the delay overshoots on a loaded machine, so
			// each message's network segment is held to what the server
			// really held it (at least the delay): the rest is loopback.
			held := srv.Held()
			net := seg(ex, analysis.SegNetwork)
			if len(held) != n || len(net.Samples) != n {
				t.Fatalf("the server held %d echoes and the split has %d network samples, want %d", len(held), len(net.Samples), n)
			}
			over := make([]time.Duration, n)
			for i, h := range held {
				if h < delay {
					t.Fatalf("the server held an echo %v, less than its delay %v", h, delay)
				}
				if net.Samples[i] < int64(delay) {
					t.Errorf("network segment %v is shorter than the server's delay %v: the frames do not bracket it", time.Duration(net.Samples[i]), delay)
				}
				over[i] = time.Duration(net.Samples[i]) - h
			}
			slices.Sort(over)
			if med := over[n/2]; med < -time.Millisecond || med > time.Millisecond {
				t.Errorf("network segment minus the server's hold: median %v, want within 1ms (network %v, held %v)", med, net.Samples, held)
			}
			rt := seg(ex, analysis.SegRoundTrip)
			proc := seg(ex, analysis.SegProcessing)
			toHost := seg(ex, analysis.SegToHost)
			if rt.MaxNS < net.MaxNS || proc.Count != n || toHost.MaxNS <= 0 {
				t.Errorf("round trip %+v, processing %+v, ESP32→host %+v", rt, proc, toHost)
			}
			t.Logf("network p50 %v (injected %v, network minus hold p50 %v), processing p50 %v, ESP32→host %v", time.Duration(net.P50NS), delay, over[n/2], time.Duration(proc.P50NS), time.Duration(toHost.P50NS))
		})
	}
}

// TestStatsLatencyCommand: "stats --latency" prints the split of the
// README's example capture as a table and as JSON, and "report" shows it.
func TestStatsLatencyCommand(t *testing.T) {
	path := filepath.Join("..", "..", "testdata", "latency.atcap")
	out, errOut, code := execCLI(t, "", "stats", "--latency", path)
	for _, want := range []string{"line  115200 8N1; no wire", "+WSSEND→+WS_DATA link 0 (5 with frames)", "network", "host→ESP32", "ESP32→host", "round trip"} {
		if code != exitOK || !strings.Contains(out, want) {
			t.Errorf("exit %d, no %q in\n%s%s", code, want, out, errOut)
		}
	}
	out, _, code = execCLI(t, "", "stats", "--latency", "--json", path)
	var st analysis.LatencyStats
	if err := json.Unmarshal([]byte(out), &st); err != nil || code != exitOK {
		t.Fatalf("exit %d, %v:\n%s", code, err, out)
	}
	if len(st.Exchanges) != 1 || st.Exchanges[0].Segment(analysis.SegNetwork) == nil || st.Exchanges[0].Segment(analysis.SegNetwork).P50NS < int64(40*time.Millisecond) {
		t.Errorf("json exchanges %+v", st.Exchanges)
	}
	if _, errOut, code := execCLI(t, "", "stats", "--latency"); code != exitFailure || !strings.Contains(errOut, "want one capture FILE") {
		t.Errorf("no file: exit %d, %s", code, errOut)
	}
	html := filepath.Join(t.TempDir(), "r.html")
	if _, errOut, code := execCLI(t, "", "report", path, "-o", html); code != exitOK {
		t.Fatalf("report: exit %d: %s", code, errOut)
	}
	b, err := os.ReadFile(html)
	if err != nil || !strings.Contains(string(b), "Latency by segment") || !strings.Contains(string(b), "network: p50") {
		t.Errorf("the report has no latency split (%v)", err)
	}
}
