package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/atbridge/atbridge/bridge"
	"github.com/atbridge/atbridge/bridge/port"
	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/formats"
)

// setup is one way of putting an echoing device behind a pty.
type setup struct {
	client *os.File
	// close tears the setup down; for atbridge it then checks the capture
	// of each direction with the checker mk returns (nil: no check) and
	// says what it found.
	close func(mk func(formats.Dir) streamCheck) (string, error)
}

var setups = map[string]func() (*setup, error){
	"direct": directSetup,
	"socat":  func() (*setup, error) { return socatSetup(false) },
	// socat-dump is socat as people sniff with it: -x -v, its hex and text
	// dump of every transfer written to a file (its "recording on").
	"socat-dump": func() (*setup, error) { return socatSetup(true) },
	"atbridge":   func() (*setup, error) { return atbridgeSetup(true) },
	// atbridge-norec is the proxy with a Recorder that drops everything:
	// what forwarding alone costs (not part of the default run).
	"atbridge-norec": func() (*setup, error) { return atbridgeSetup(false) },
	// atbridge-bin is "atbridge proxy -w FILE --quiet" in its own process.
	"atbridge-bin": func() (*setup, error) { return atbridgeBinSetup(false) },
	// atbridge-bin-http is atbridge-bin with --http and a page following
	// it over the live view's WebSocket, reading every message as fast as
	// it comes (what a browser tab does, without the rendering).
	"atbridge-bin-http": func() (*setup, error) { return atbridgeBinSetup(true) },
}

// discard is a Recorder that keeps nothing.
type discard struct{ start time.Time }

func (d discard) Now() int64                { return int64(time.Since(d.start)) }
func (discard) Write(*capture.Record) error { return nil }

// echoPort echoes everything read from p until it fails.
func echoPort(p io.ReadWriter) chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = io.Copy(p, p)
	}()
	return done
}

func directSetup() (*setup, error) {
	dir, err := os.MkdirTemp("", "proxybench-")
	if err != nil {
		return nil, err
	}
	link := filepath.Join(dir, "direct")
	dev, err := port.Open(context.Background(), "pty:"+link, nil)
	if err != nil {
		return nil, err
	}
	echoed := echoPort(dev)
	c, err := os.OpenFile(link, os.O_RDWR, 0)
	if err != nil {
		dev.Close()
		return nil, err
	}
	return &setup{client: c, close: func(func(formats.Dir) streamCheck) (string, error) {
		c.Close()
		dev.Close()
		<-echoed
		os.RemoveAll(dir)
		return "", nil
	}}, nil
}

func socatSetup(dump bool) (*setup, error) {
	path, err := exec.LookPath("socat")
	if err != nil {
		return nil, fmt.Errorf("socat is not installed (apt-get install socat): %w", err)
	}
	dir, err := os.MkdirTemp("", "proxybench-")
	if err != nil {
		return nil, err
	}
	a, b := filepath.Join(dir, "A"), filepath.Join(dir, "B")
	args := []string{"PTY,link=" + a + ",raw,echo=0", "PTY,link=" + b + ",raw,echo=0"}
	if dump {
		args = append([]string{"-x", "-v"}, args...)
	}
	cmd := exec.Command(path, args...)
	if dump {
		f, err := os.Create(filepath.Join(dir, "dump"))
		if err != nil {
			return nil, err
		}
		defer f.Close() // the child has its own copy
		cmd.Stderr = f
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	stop := func() {
		_ = cmd.Process.Kill()
		<-waited
		os.RemoveAll(dir)
	}
	var dev, c *os.File
	for i := 0; ; i++ {
		if dev == nil {
			dev, _ = os.OpenFile(b, os.O_RDWR, 0)
		}
		if dev != nil {
			if c, err = os.OpenFile(a, os.O_RDWR, 0); err == nil {
				break
			}
		}
		if i > 500 {
			stop()
			return nil, errors.New("socat's pty links did not appear")
		}
		time.Sleep(10 * time.Millisecond)
	}
	echoed := echoPort(dev)
	return &setup{client: c, close: func(func(formats.Dir) streamCheck) (string, error) {
		c.Close()
		dev.Close()
		<-echoed
		stop()
		return "", nil
	}}, nil
}

func atbridgeSetup(record bool) (*setup, error) {
	dir, err := os.MkdirTemp("", "proxybench-")
	if err != nil {
		return nil, err
	}
	devLink, hostLink, capPath := filepath.Join(dir, "dev"), filepath.Join(dir, "host"), filepath.Join(dir, "bench.atcap")
	dev, err := port.Open(context.Background(), "pty:"+devLink, nil)
	if err != nil {
		return nil, err
	}
	echoed := echoPort(dev)
	w, err := capture.Create(capPath, capture.Header{Tool: "proxybench", Ports: []capture.PortInfo{
		{Name: "pty:" + hostLink, Role: "host"}, {Name: devLink, Role: "device"}}}, nil)
	if err != nil {
		return nil, err
	}
	var rec bridge.Recorder = w
	if !record {
		rec = discard{time.Now()}
	}
	px, err := bridge.OpenProxy(context.Background(), &bridge.ProxyOptions{Host: "pty:" + hostLink, Device: devLink, Recorder: rec})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	runErr := make(chan error, 1)
	go func() { runErr <- px.Run(ctx) }()
	c, err := os.OpenFile(hostLink, os.O_RDWR, 0)
	if err != nil {
		cancel()
		<-runErr
		return nil, err
	}
	return &setup{client: c, close: func(mk func(formats.Dir) streamCheck) (string, error) {
		c.Close()
		cancel()
		err := <-runErr
		dev.Close()
		<-echoed
		defer os.RemoveAll(dir)
		if err != nil {
			return "", err
		}
		if err := w.Close(); err != nil {
			return "", err
		}
		st := px.Stats()
		if mk == nil || !record {
			return "", nil
		}
		toDev, toHost := mk(formats.ToDevice), mk(formats.ToHost)
		if err := checkCapture(capPath, toDev, toHost); err != nil {
			return "", err
		}
		fi, _ := os.Stat(capPath)
		return fmt.Sprintf("capture byte-exact both ways, %d bytes lost, %d records, %.1f MB file", st.Queue.LostBytes, st.Queue.Records, float64(fi.Size())/1e6), nil
	}}, nil
}

func checkCapture(path string, toDev, toHost streamCheck) error {
	r, err := capture.Open(path, nil)
	if err != nil {
		return err
	}
	defer r.Close()
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if rec.Kind == capture.KindEvent && rec.Event.Type == capture.EvBytesLost {
			return fmt.Errorf("capture: %d bytes lost %v", rec.Event.Count, rec.Dir)
		}
		if rec.Kind != capture.KindChunk {
			continue
		}
		c := toDev
		if rec.Dir == formats.ToHost {
			c = toHost
		}
		if err := c.feed(rec.Data); err != nil {
			return fmt.Errorf("%v: %w", rec.Dir, err)
		}
	}
	if err := toDev.done(); err != nil {
		return fmt.Errorf("to_device: %w", err)
	}
	if err := toHost.done(); err != nil {
		return fmt.Errorf("to_host: %w", err)
	}
	return nil
}

// atbridgeBin is the path of a built atbridge for the atbridge-bin setup
// (-bin); empty means go build it once.
var atbridgeBin string

// atbridgeBinSetup runs "atbridge proxy" as its own process, as a user
// would (and as socat runs), and checks its capture after SIGINT.
func atbridgeBinSetup(http bool) (*setup, error) {
	dir, err := os.MkdirTemp("", "proxybench-")
	if err != nil {
		return nil, err
	}
	if atbridgeBin == "" {
		atbridgeBin = filepath.Join(os.TempDir(), fmt.Sprintf("proxybench-atbridge-%d", os.Getpid()))
		out, err := exec.Command("go", "build", "-o", atbridgeBin, "github.com/atbridge/atbridge/cmd/atbridge").CombinedOutput()
		if err != nil {
			return nil, fmt.Errorf("go build atbridge: %v: %s", err, out)
		}
	}
	devLink, hostLink, capPath := filepath.Join(dir, "dev"), filepath.Join(dir, "host"), filepath.Join(dir, "bench.atcap")
	dev, err := port.Open(context.Background(), "pty:"+devLink, nil)
	if err != nil {
		return nil, err
	}
	echoed := echoPort(dev)
	args := []string{"proxy", "--host", "pty:" + hostLink, "--device", devLink, "-w", capPath, "--quiet"}
	var stderr *lineBuffer
	if http {
		args = append(args, "--http", "127.0.0.1:0")
		stderr = &lineBuffer{}
	}
	cmd := exec.Command(atbridgeBin, args...)
	cmd.Stderr = io.Discard
	if stderr != nil {
		cmd.Stderr = stderr
	}
	if err := cmd.Start(); err != nil {
		dev.Close()
		return nil, err
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	var c *os.File
	for i := 0; ; i++ {
		if c, err = os.OpenFile(hostLink, os.O_RDWR, 0); err == nil {
			break
		}
		if i > 1000 {
			_ = cmd.Process.Kill()
			<-waited
			dev.Close()
			return nil, errors.New("atbridge proxy's pty link did not appear")
		}
		time.Sleep(10 * time.Millisecond)
	}
	var page *follower
	if http {
		if page, err = follow(stderr); err != nil {
			c.Close()
			_ = cmd.Process.Kill()
			<-waited
			dev.Close()
			return nil, err
		}
	}
	return &setup{client: c, close: func(mk func(formats.Dir) streamCheck) (string, error) {
		c.Close()
		_ = cmd.Process.Signal(os.Interrupt)
		err := <-waited
		dev.Close()
		<-echoed
		defer os.RemoveAll(dir)
		if err != nil {
			return "", fmt.Errorf("atbridge proxy: %w", err)
		}
		followed := ""
		if page != nil {
			rows, skipped := page.wait()
			followed = fmt.Sprintf("; the page followed %d rows, was told of %d skipped", rows, skipped)
		}
		if mk == nil {
			return followed, nil
		}
		if err := checkCapture(capPath, mk(formats.ToDevice), mk(formats.ToHost)); err != nil {
			return "", err
		}
		fi, _ := os.Stat(capPath)
		return fmt.Sprintf("capture byte-exact both ways, no bytes lost, %.1f MB file%s", float64(fi.Size())/1e6, followed), nil
	}}, nil
}
