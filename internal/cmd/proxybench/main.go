// Command proxybench measures what a man in the middle costs on a serial
// line, through real pseudo-terminals with an echoing device, side by side
// in one run:
//
//   - direct: the client on a pty whose other side echoes (the limit);
//   - socat: the client on one pty of "socat PTY,link=A,raw,echo=0
//     PTY,link=B,raw,echo=0", the echo on the other (what people use today);
//   - socat-dump: the same with -x -v and its dump written to a file, as
//     people sniff a line with socat (socat with its recording on);
//   - atbridge-bin: "atbridge proxy -w FILE --quiet" in its own process
//     (what users run, and how socat runs), the client on its pty: host
//     port, the echo on a second pty it opens as its serial device;
//   - atbridge: the same bridge.Proxy in the benchmark's own process,
//     recording to a real .atcap file (an extra row: it shares the Go
//     runtime with the client and the echo, so it is not what users get).
//
// For each it reports the round-trip latency of 64-byte messages (min,
// p50, p99) and the full-duplex echo throughput (the client writes and reads at
// once), checks every echoed byte, and for atbridge checks that the capture
// holds exactly what crossed in both directions with no byte lost.
// -duration sets the length of the throughput run (60s for the saturation
// run). Output is a markdown table.
//
// It imports bridge, capture and formats, as the CLI does.
package main

import (
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"github.com/atbridge/atbridge/formats"
)

func main() {
	rounds := flag.Int("rounds", 2000, "round trips of 64-byte messages per setup")
	duration := flag.Duration("duration", 5*time.Second, "length of each full-duplex throughput run (60s for the saturation run)")
	chunk := flag.Int("chunk", 4096, "size of the client's writes in the throughput run")
	only := flag.String("only", "direct,socat,socat-dump,atbridge-bin,atbridge", "setups to run, comma-separated (also: atbridge-norec, the in-process proxy recording nothing)")
	repeat := flag.Int("repeat", 3, "throughput runs per setup (alternating between setups); the table shows the median")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "proxybench: round-trip latency and full-duplex echo throughput through real ptys:\ndirect pty vs socat vs atbridge proxy (recording on).\n\nUsage:\n  go run ./internal/cmd/proxybench [flags]\n\nFlags:\n")
		flag.PrintDefaults()
	}
	flag.StringVar(&atbridgeBin, "bin", "", "atbridge binary for the atbridge-bin setup (default: go build one)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "proxybench:", err)
			os.Exit(1)
		}
		_ = pprof.StartCPUProfile(f)
		defer func() {
			pprof.StopCPUProfile()
			f.Close()
		}()
	}
	if err := run(*rounds, *duration, *chunk, *repeat, strings.Split(*only, ",")); err != nil {
		fmt.Fprintln(os.Stderr, "proxybench:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

type result struct {
	name          string
	min, p50, p99 time.Duration
	mbps          float64 // MB/s each way, the median of the runs
	runs          []float64
	bytes         int64
	maxGap        time.Duration
	echoOK        bool
	captureMsg    string
	cpu           cpuTicks // machine CPU time over the throughput runs
}

// run measures every setup. Latency rounds are interleaved in batches of
// 100 across the setups, and the throughput runs alternate between them,
// so that load from elsewhere on the machine hits all of them alike.
func run(rounds int, duration time.Duration, chunk, repeat int, only []string) error {
	var names []string
	for _, n := range only {
		n = strings.TrimSpace(n)
		if _, ok := setups[n]; !ok {
			return fmt.Errorf("unknown setup %q (want direct, socat, socat-dump, atbridge, atbridge-norec, atbridge-bin)", n)
		}
		names = append(names, n)
	}
	results := make([]result, len(names))
	lat := make([][]time.Duration, len(names))
	sent := make([][]byte, len(names))
	open := make([]*setup, len(names))
	for i, n := range names {
		results[i] = result{name: n, echoOK: true}
		s, err := setups[n]()
		if err != nil {
			return fmt.Errorf("%s: %w", n, err)
		}
		open[i] = s
		// Warm-up rounds, not timed.
		if _, w, err := latency(s.client, 100); err != nil {
			return fmt.Errorf("%s latency: %w", n, err)
		} else {
			sent[i] = append(sent[i], w...)
		}
	}
	for done := 0; done < rounds; done += 100 {
		batch := min(100, rounds-done)
		for i, s := range open {
			l, w, err := latency(s.client, batch)
			if err != nil {
				return fmt.Errorf("%s latency: %w", names[i], err)
			}
			lat[i] = append(lat[i], l...)
			sent[i] = append(sent[i], w...)
		}
	}
	for i, s := range open {
		want := sent[i]
		msg, err := s.close(func(formats.Dir) streamCheck { return &sliceCheck{want: want} })
		if err != nil {
			return fmt.Errorf("%s latency: %w", names[i], err)
		}
		slices.Sort(lat[i])
		r := &results[i]
		r.min, r.p50, r.p99 = lat[i][0], lat[i][len(lat[i])/2], lat[i][len(lat[i])*99/100]
		if msg != "" {
			r.captureMsg = "latency run: " + msg
		}
		fmt.Fprintf(os.Stderr, "%s: RTT min %v p50 %v p99 %v\n", names[i], r.min, r.p50, r.p99)
	}
	for rep := 0; rep < repeat; rep++ {
		for i, n := range names {
			r := &results[i]
			s, err := setups[n]()
			if err != nil {
				return fmt.Errorf("%s: %w", n, err)
			}
			c0 := readCPU()
			bytes, elapsed, gap, err := throughput(s.client, duration, chunk)
			dc := readCPU().sub(c0)
			r.cpu = cpuTicks{busy: r.cpu.busy + dc.busy, all: r.cpu.all + dc.all, ok: dc.ok}
			r.bytes += bytes
			r.maxGap = max(r.maxGap, gap)
			if err != nil {
				// A stall is a result, not a reason to stop: socat is known
				// to wedge under full-duplex load.
				s.close(nil)
				r.echoOK = false
				r.runs = append(r.runs, 0)
				fmt.Fprintf(os.Stderr, "%s: run %d: %v\n", n, rep+1, err)
				if !strings.Contains(r.captureMsg, "FAILED") {
					r.captureMsg = strings.TrimPrefix(r.captureMsg+"; FAILED: "+err.Error(), "; ")
				}
				continue
			}
			msg, err := s.close(func(formats.Dir) streamCheck { return &patternCheck{n: bytes} })
			if err != nil {
				return fmt.Errorf("%s throughput: %w", n, err)
			}
			mbps := float64(bytes) / elapsed.Seconds() / 1e6
			r.runs = append(r.runs, mbps)
			fmt.Fprintf(os.Stderr, "%s: run %d: %.2f MB/s each way, %d bytes, longest wait for data %v %s\n", n, rep+1, mbps, bytes, gap, msg)
			if msg != "" && rep == repeat-1 {
				r.captureMsg = strings.TrimPrefix(r.captureMsg+"; last throughput run: "+msg, "; ")
			}
		}
	}
	for i := range results {
		r := &results[i]
		runs := slices.Clone(r.runs)
		slices.Sort(runs)
		if len(runs) > 0 {
			r.mbps = runs[len(runs)/2]
		}
	}
	printTable(results, rounds, duration, chunk, repeat)
	return nil
}

func printTable(rs []result, rounds int, duration time.Duration, chunk, repeat int) {
	fmt.Printf("| setup | RTT min (64 B) | RTT p50 | RTT p99 | full-duplex echo, each way (median of %d) | bytes echoed | longest wait for data | machine CPU busy, CPU ms per MB | check |\n", repeat)
	fmt.Printf("|---|---|---|---|---|---|---|---|---|\n")
	var direct, soc, socDump, bin, binHTTP *result
	var atbs []*result
	for i := range rs {
		r := &rs[i]
		switch r.name {
		case "direct":
			direct = r
		case "atbridge-bin", "atbridge":
			atbs = append(atbs, r)
			if r.name == "atbridge-bin" {
				bin = r
			}
		case "atbridge-bin-http":
			binHTTP = r
		case "socat":
			soc = r
		case "socat-dump":
			socDump = r
		}
		checks := []string{}
		if r.echoOK {
			checks = append(checks, "echo byte-exact")
		}
		if r.captureMsg != "" {
			checks = append(checks, r.captureMsg)
		}
		check := strings.Join(checks, "; ")
		fmt.Printf("| %s | %s | %s | %s | %.1f MB/s | %d | %s | %s | %s |\n", r.name, us(r.min), us(r.p50), us(r.p99), r.mbps, r.bytes, r.maxGap.Round(time.Millisecond), cpuCell(r), check)
	}
	fmt.Printf("\n%d round trips per setup (after 100 untimed), interleaved in batches of 100; throughput: %d runs of %d-byte writes for %v while reading, alternating setups.\n", rounds, repeat, chunk, duration)
	if bin != nil && binHTTP != nil {
		fmt.Printf("atbridge-bin-http (a page following the live view): p50 = %.2fx atbridge-bin's, throughput = %.0f%% of it; runs %s vs %s MB/s\n",
			float64(binHTTP.p50)/float64(bin.p50), 100*binHTTP.mbps/bin.mbps, runList(binHTTP.runs), runList(bin.runs))
	}
	for _, atb := range atbs {
		if direct != nil {
			fmt.Printf("%s: p50 = %.2fx direct (target <= 2x); throughput = %.0f%% of direct (target >= 60%%)\n",
				atb.name, float64(atb.p50)/float64(direct.p50), 100*atb.mbps/direct.mbps)
		}
		if soc != nil {
			fmt.Printf("%s: socat p50 = %.2fx atbridge's (target >= 3x)\n", atb.name, float64(soc.p50)/float64(atb.p50))
			if direct != nil {
				fmt.Printf("  3x better than socat means a p50 of at most %s; the direct pty, with no proxy at all, has %s\n", us(soc.p50/3), us(direct.p50))
			}
		}
		if socDump != nil {
			fmt.Printf("%s: socat -x -v (recording) p50 = %.2fx atbridge's (target >= 3x)\n", atb.name, float64(socDump.p50)/float64(atb.p50))
		}
	}
}

// cpuCell is the machine's CPU use over a setup's throughput runs: the
// share of both cores busy, and CPU time per MB echoed (each way).
func cpuCell(r *result) string {
	if !r.cpu.ok || r.cpu.all <= 0 || r.bytes <= 0 {
		return "n/a"
	}
	ms := float64(r.cpu.busy) * 10 / (float64(r.bytes) / 1e6) // 100 ticks a second
	return fmt.Sprintf("%.0f%%, %.1f ms", 100*float64(r.cpu.busy)/float64(r.cpu.all), ms)
}

func us(d time.Duration) string { return fmt.Sprintf("%.1f µs", float64(d)/1e3) }

// latency sends rounds 64-byte messages one at a time and times each echo.
func latency(c *os.File, rounds int) ([]time.Duration, []byte, error) {
	msg := make([]byte, 64)
	got := make([]byte, 64)
	var sent []byte
	var lat []time.Duration
	for i := 0; i < rounds; i++ {
		if _, err := rand.Read(msg); err != nil {
			return nil, nil, err
		}
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		start := time.Now()
		if _, err := c.Write(msg); err != nil {
			return nil, nil, err
		}
		if _, err := io.ReadFull(c, got); err != nil {
			return nil, nil, fmt.Errorf("round %d: %w", i, err)
		}
		d := time.Since(start)
		if string(got) != string(msg) {
			return nil, nil, fmt.Errorf("round %d: echo differs", i)
		}
		sent = append(sent, msg...)
		lat = append(lat, d)
	}
	return lat, sent, nil
}

// pattern is the throughput stream: a random table repeated with a prime
// period, so shifted or dropped bytes show.
var pattern = func() []byte {
	b := make([]byte, 65521)
	_, _ = rand.Read(b)
	return b
}()

// patternAt fills b with the stream from offset off.
func patternAt(b []byte, off int64) {
	p := int(off % int64(len(pattern)))
	for i := 0; i < len(b); {
		n := copy(b[i:], pattern[p:])
		i += n
		p = 0
	}
}

// throughput writes the pattern for d while reading the echo at once; it
// returns the bytes echoed and verified, the time taken and the longest
// wait between reads.
func throughput(c *os.File, d time.Duration, chunk int) (int64, time.Duration, time.Duration, error) {
	written := make(chan int64, 1)
	werr := make(chan error, 1)
	start := time.Now()
	go func() {
		var off int64
		b := make([]byte, chunk)
		for time.Since(start) < d {
			patternAt(b, off)
			n, err := c.Write(b)
			off += int64(n)
			if err != nil {
				werr <- err
				written <- off
				return
			}
		}
		werr <- nil
		written <- off
	}()
	var got int64
	var maxGap time.Duration
	buf := make([]byte, 64<<10)
	want := make([]byte, 64<<10)
	last := time.Now()
	total := int64(-1)
	for total < 0 || got < total {
		if total < 0 {
			select {
			case total = <-written:
				if err := <-werr; err != nil {
					return got, 0, maxGap, err
				}
				continue
			default:
			}
		}
		// Short deadlines, so that the writer's end is noticed even when
		// every byte is already back; a stall is 5 s without data.
		_ = c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		n, err := c.Read(buf)
		now := time.Now()
		if n > 0 {
			maxGap = max(maxGap, now.Sub(last))
			last = now
			patternAt(want[:n], got)
			if string(buf[:n]) != string(want[:n]) {
				return got, 0, maxGap, fmt.Errorf("echo differs at byte %d", got)
			}
			got += int64(n)
		}
		if err != nil {
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				return got, 0, maxGap, fmt.Errorf("failed after %d bytes: %w", got, err)
			}
			if now.Sub(last) > 5*time.Second {
				return got, 0, maxGap, fmt.Errorf("stalled: no echo for 5 s after %d bytes", got)
			}
		}
	}
	return got, time.Since(start), maxGap, nil
}

// streamCheck verifies one direction of a capture as it is read.
type streamCheck interface {
	feed([]byte) error
	done() error
}

type sliceCheck struct {
	want []byte
	off  int
}

func (s *sliceCheck) feed(b []byte) error {
	if s.off+len(b) > len(s.want) || string(s.want[s.off:s.off+len(b)]) != string(b) {
		return fmt.Errorf("capture differs at byte %d", s.off)
	}
	s.off += len(b)
	return nil
}

func (s *sliceCheck) done() error {
	if s.off != len(s.want) {
		return fmt.Errorf("capture holds %d of %d bytes", s.off, len(s.want))
	}
	return nil
}

type patternCheck struct {
	n, off int64
	buf    []byte
}

func (p *patternCheck) feed(b []byte) error {
	if cap(p.buf) < len(b) {
		p.buf = make([]byte, len(b))
	}
	w := p.buf[:len(b)]
	patternAt(w, p.off)
	if string(w) != string(b) {
		return fmt.Errorf("capture differs at byte %d", p.off)
	}
	p.off += int64(len(b))
	return nil
}

func (p *patternCheck) done() error {
	if p.off != p.n {
		return fmt.Errorf("capture holds %d of %d bytes", p.off, p.n)
	}
	return nil
}

func runList(v []float64) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = fmt.Sprintf("%.1f", x)
	}
	return strings.Join(s, ", ")
}
