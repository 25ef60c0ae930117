// Command viewbench measures how fast "atbridge view" opens a big capture:
// the time from starting the command to the page's first rows, and to a
// page from the middle of the capture (a seek through its index), side by
// side with "atbridge stats" on the same file, which reads it all.
//
// The capture is realistic ESP-AT traffic from internal/atcorpus (64 MB of
// it, repeated with its times shifted until the file has -size bytes of
// traffic), written and compacted as "atbridge import" writes files. It is
// kept in -file for reruns.
//
//	go run ./internal/cmd/viewbench -size 1GB
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/coder/websocket"

	"github.com/atbridge/atbridge/bridge"
	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/formats"
	"github.com/atbridge/atbridge/internal/atcorpus"
)

func main() {
	size := flag.String("size", "1GB", "bytes of traffic in the capture")
	file := flag.String("file", filepath.Join(os.TempDir(), "viewbench.atcap"), "the capture (made when missing or of another size)")
	bin := flag.String("bin", "", "atbridge binary (default: go build one)")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "viewbench: how fast atbridge view opens a big capture, against atbridge stats reading it all.\n\nUsage:\n  go run ./internal/cmd/viewbench [flags]\n\nFlags:\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	sp, err := bridge.ParseSplit(*size)
	if err != nil || sp.Size <= 0 {
		fmt.Fprintln(os.Stderr, "viewbench: -size wants a size such as 1GB")
		os.Exit(2)
	}
	if err := run(sp.Size, *file, *bin); err != nil {
		fmt.Fprintln(os.Stderr, "viewbench:", err)
		os.Exit(1)
	}
}

func run(size int64, file, bin string) error {
	if err := ensureCapture(file, size); err != nil {
		return err
	}
	if bin == "" {
		bin = filepath.Join(os.TempDir(), fmt.Sprintf("viewbench-atbridge-%d", os.Getpid()))
		if out, err := exec.Command("go", "build", "-o", bin, "github.com/atbridge/atbridge/cmd/atbridge").CombinedOutput(); err != nil {
			return fmt.Errorf("go build atbridge: %v: %s", err, out)
		}
		defer os.Remove(bin)
	}
	fi, _ := os.Stat(file)
	fmt.Printf("Capture %s: %.2f GB of traffic, %.0f MB on disk.\n\n", file, float64(size)/1e9, float64(fi.Size())/1e6)
	fmt.Println("| what | time |")
	fmt.Println("|---|---:|")
	for round := 0; round < 2; round++ {
		first, mid, rows, err := viewTimes(bin, file)
		if err != nil {
			return err
		}
		fmt.Printf("| atbridge view: start to the page's first %d rows (run %d) | %s |\n", rows, round+1, first.Round(time.Millisecond))
		fmt.Printf("| atbridge view: then a page from the middle (a seek, run %d) | %s |\n", round+1, mid.Round(time.Millisecond))
	}
	start := time.Now()
	if out, err := exec.Command(bin, "stats", file).CombinedOutput(); err != nil {
		return fmt.Errorf("atbridge stats: %v: %s", err, out)
	}
	fmt.Printf("| atbridge stats: reads it all (the baseline) | %s |\n", time.Since(start).Round(time.Millisecond))
	return nil
}

// ensureCapture writes the benchmark's capture unless file already holds
// one of size bytes of traffic.
func ensureCapture(file string, size int64) error {
	if r, err := capture.Open(file, nil); err == nil {
		ok := r.Header().Meta["viewbench_size"] == fmt.Sprint(size)
		r.Close()
		if ok {
			return nil
		}
	}
	fmt.Fprintf(os.Stderr, "viewbench: writing %s (%d bytes of traffic)...\n", file, size)
	w, err := capture.Create(file, capture.Header{Tool: "viewbench", Meta: map[string]string{"viewbench_size": fmt.Sprint(size)},
		Ports: []capture.PortInfo{{Name: "host", Role: "host"}, {Name: "device", Role: "device"}}}, &capture.WriterOptions{FlushInterval: -1, BlockSize: capture.CompactBlockSize})
	if err != nil {
		return err
	}
	chunks := atcorpus.Generate(7, 64<<20)
	span := chunks[len(chunks)-1].Time + int64(time.Second)
	var written int64
	for rep := int64(0); written < size; rep++ {
		for _, c := range chunks {
			p := capture.PortDevice
			if c.Dir == formats.ToDevice {
				p = capture.PortHost
			}
			if err := w.WriteChunk(rep*span+c.Time, p, c.Dir, c.Data); err != nil {
				return err
			}
			written += int64(len(c.Data))
			if written >= size {
				break
			}
		}
	}
	return w.Close()
}

var urlRE = regexp.MustCompile(`at (http://\S+)`)

// viewTimes starts "atbridge view" and times the first page and a page
// from the middle, as the page asks for them.
func viewTimes(bin, file string) (first, mid time.Duration, rows int, err error) {
	start := time.Now()
	cmd := exec.Command(bin, "view", file)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		return 0, 0, 0, err
	}
	defer func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	}()
	sc := bufio.NewScanner(stderr)
	var url string
	for url == "" && sc.Scan() {
		if m := urlRE.FindStringSubmatch(sc.Text()); m != nil {
			url = m[1]
		}
	}
	go io.Copy(io.Discard, stderr)
	if url == "" {
		return 0, 0, 0, errors.New("atbridge view printed no URL")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	host := strings.SplitN(strings.TrimPrefix(url, "http://"), "/", 2)[0]
	ws := strings.Replace(strings.Replace(url, "http://", "ws://", 1), "/?", "/ws?", 1)
	c, _, err := websocket.Dial(ctx, ws, &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {"http://" + host}}})
	if err != nil {
		return 0, 0, 0, err
	}
	defer c.CloseNow()
	c.SetReadLimit(64 << 20)
	var duration int64
	page := func(from int64, seq int) (int, error) {
		req, _ := json.Marshal(map[string]any{"type": "page", "from": from, "n": 1000, "seq": seq})
		if err := c.Write(ctx, websocket.MessageText, req); err != nil {
			return 0, err
		}
		for {
			_, b, err := c.Read(ctx)
			if err != nil {
				return 0, err
			}
			var m struct {
				Type     string            `json:"type"`
				Duration int64             `json:"duration_ns"`
				Seq      int               `json:"seq"`
				Rows     []json.RawMessage `json:"rows"`
				Error    string            `json:"error"`
			}
			if json.Unmarshal(b, &m) != nil {
				continue
			}
			if m.Type == "hello" {
				duration = m.Duration
			}
			if m.Type == "page" && m.Seq == seq {
				if m.Error != "" {
					return 0, errors.New(m.Error)
				}
				return len(m.Rows), nil
			}
		}
	}
	if rows, err = page(0, 1); err != nil {
		return 0, 0, 0, err
	}
	first = time.Since(start)
	t := time.Now()
	if _, err := page(duration/2, 2); err != nil {
		return 0, 0, 0, err
	}
	return first, time.Since(t), rows, nil
}
