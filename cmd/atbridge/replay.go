package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/atbridge/atbridge/bridge/esp"

	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/replay"
)

func init() {
	register(&command{
		name:    "replay",
		summary: "Send the host side of a capture to a device and compare its answers transaction by transaction",
		usage:   "atbridge replay [flags] FILE.atcap --device PORT|emulate|mock:OTHER.atcap",
		examples: `  # a new firmware on the board: same commands, same answers?
  atbridge replay good.atcap --device /dev/ttyUSB0

  # against the emulator (dev firmware), with a JUnit file for CI and a recording of the run
  atbridge replay good.atcap --device emulate --firmware dev --junit replay.xml -w run.atcap

  # against another capture played by the mock; fail commands more than twice as slow
  atbridge replay good.atcap --device mock:other.atcap --max-slowdown 2x

  # a board on a USB-UART at 921600 with RTS/CTS (AT+UART_CUR is followed)
  atbridge replay good.atcap --device /dev/ttyUSB0 --baud 921600 --rtscts`,
		setup: setupReplay,
	})
}

type replayFlags struct {
	device   string
	pacing   string
	timeout  time.Duration
	write    string
	firmware string
	cmp      compareFlags
	line     lineFlags
}

func setupReplay(fs *flag.FlagSet) func(context.Context, *env, []string) int {
	var f replayFlags
	fs.StringVar(&f.device, "device", "", "the device: a serial device, pty:PATH, tcp:HOST:PORT, rfc2217://HOST:PORT, emulate, or mock:OTHER.atcap")
	fs.StringVar(&f.pacing, "pacing", "lockstep", "lockstep (wait for each result), fast (send each input at once), recorded (send at recorded times), or scale=N (recorded delays times N)")
	fs.DurationVar(&f.timeout, "timeout", 5*time.Second, "how long to wait for each final result or prompt")
	fs.StringVar(&f.write, "w", "", "record the run to this .atcap file")
	fs.StringVar(&f.firmware, "firmware", "release", "with --device emulate: release or dev")
	f.line.register(fs, "--device", "an AT+UART_CUR in the capture changes it after the device's OK; not used by emulate and mock:")
	f.cmp.register(fs)
	return func(ctx context.Context, e *env, args []string) int {
		pos := args
		if len(pos) != 1 {
			fmt.Fprintf(e.stderr, "atbridge replay: want one capture; run \"atbridge replay --help\"\n")
			return exitFailure
		}
		return runReplay(ctx, e, pos[0], &f)
	}
}

// openDevice returns the device to replay to and a stop func that ends
// whatever runs behind it (emulator, mock) and waits for it.
func openDevice(ctx context.Context, e *env, f *replayFlags, line capture.LineSettings, rules *replay.Rules) (io.ReadWriter, *followedPort, func() error, error) {
	switch {
	case f.device == "emulate":
		fw, err := esp.ParseFirmware(f.firmware)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("--firmware: %w", err)
		}
		return inProcess(ctx, func(ctx context.Context, c net.Conn) error {
			return esp.New(&esp.Options{Firmware: fw, Version: "atbridge " + toolVersion()}).Serve(ctx, c)
		})
	case strings.HasPrefix(f.device, "mock:"):
		s, err := replay.Load(strings.TrimPrefix(f.device, "mock:"))
		if err != nil {
			return nil, nil, nil, err
		}
		return inProcess(ctx, func(ctx context.Context, c net.Conn) error {
			return replay.NewMock(s, &replay.MockOptions{Rules: rules}).Serve(ctx, c)
		})
	}
	p, err := openFollowed(ctx, e.stderr, "replay", f.device, line, true)
	if err != nil {
		return nil, nil, nil, err
	}
	return p, p, p.Close, nil
}

// inProcess runs serve on one end of an in-memory pipe and returns the
// other end.
func inProcess(ctx context.Context, serve func(context.Context, net.Conn) error) (io.ReadWriter, *followedPort, func() error, error) {
	ctx, cancel := context.WithCancel(ctx)
	a, b := net.Pipe()
	var wg sync.WaitGroup
	var err error
	wg.Add(1)
	go func() {
		defer wg.Done()
		err = serve(ctx, a)
	}()
	return b, nil, func() error {
		cancel()
		b.Close()
		a.Close()
		wg.Wait()
		return err
	}, nil
}

// devLine is the device port's line settings, zero for an in-process
// device.
func devLine(fp *followedPort) capture.LineSettings {
	if fp == nil {
		return capture.LineSettings{}
	}
	return fp.Line()
}

func runReplay(ctx context.Context, e *env, file string, f *replayFlags) int {
	fail := func(format string, a ...any) int {
		fmt.Fprintf(e.stderr, "atbridge replay: "+format+"\n", a...)
		return exitFailure
	}
	if f.device == "" {
		return fail("--device is required: a serial device, pty:PATH, tcp:HOST:PORT, emulate or mock:OTHER.atcap")
	}
	opts := &replay.RunOptions{Timeout: f.timeout}
	switch f.pacing {
	case "lockstep", "":
	default:
		t, err := replay.ParseTiming(f.pacing)
		if err != nil {
			return fail("--pacing must be lockstep, fast, recorded or scale=N")
		}
		opts.Pacing, opts.Timing = replay.Paced, t
	}
	line, err := f.line.settings()
	if err != nil {
		return fail("%v", err)
	}
	rules, err := f.cmp.loadRules()
	if err != nil {
		return fail("%v", err)
	}
	script, err := replay.Load(file)
	if err != nil {
		return fail("%v", err)
	}
	if err := refuseExisting(f.write, f.cmp.force); err != nil {
		return fail("%v", err)
	}
	if err := refuseExisting(f.cmp.junit, f.cmp.force); err != nil {
		return fail("--junit: %v", err)
	}
	dev, fp, stop, err := openDevice(ctx, e, f, line, rules)
	if err != nil {
		return fail("%v", err)
	}
	var rec *capture.Writer
	var out *output
	if f.write != "" {
		if out, err = createOutput(f.write, f.cmp.force); err != nil {
			stop()
			return fail("%v", err)
		}
		rec, err = capture.Create(out.Name(), capture.Header{
			Tool:  "atbridge " + toolVersion(),
			Ports: []capture.PortInfo{{Name: f.device, Role: "device", Line: devLine(fp)}},
			Meta:  map[string]string{"command": "replay", "source": file, "firmware": script.Header.Meta["firmware"]},
		}, nil)
		if err != nil {
			stop()
			out.Abort()
			return fail("%v", err)
		}
		opts.Clock = rec.Now
		opts.Record = func(r *capture.Record) { _ = rec.Write(r) }
		if fp != nil {
			fp.rec = rec
		}
	}
	bar := newCountProgress(e, int64(len(script.Host)), "replaying")
	if bar != nil {
		opts.Progress = func(sent, _ int) { bar.set(int64(sent)) }
	}
	got, runErr := replay.Run(ctx, dev, script, opts)
	bar.finish()
	_ = stop()
	if rec != nil {
		if err := rec.Close(); err != nil {
			return fail("closing %s: %v", f.write, err)
		}
		if err := out.Commit(); err != nil {
			return fail("%v", err)
		}
	}
	if runErr != nil {
		if errors.Is(runErr, context.Canceled) {
			return exitSignal
		}
		return fail("%v", runErr)
	}
	rep := replay.Compare(script, got, rules)
	rep.Expected, rep.Got = file, f.device
	return f.cmp.report(e, rep, "replay."+filepath.Base(file))
}
