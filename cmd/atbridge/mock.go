package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/atbridge/atbridge/bridge/port"
	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/replay"
)

func init() {
	register(&command{
		name:    "mock",
		summary: "Play the device side of a capture to a live host app (answers matched per AT transaction)",
		usage:   "atbridge mock [flags] FILE.atcap --port pty:PATH|/dev/ttyX",
		examples: `  # the host app under test opens /tmp/esp as if it were the ESP32
  atbridge mock good.atcap --port pty:/tmp/esp

  # as fast as possible, byte-exact, and record what happened
  atbridge mock good.atcap --port pty:/tmp/esp --timing fast --match strict -w mock-run.atcap

  # robustness: answer busy p... once to every AT+WSSEND, drop the link after AT+WSOPEN
  atbridge mock good.atcap --port pty:/tmp/esp --fault 'busy AT+WSSEND=*' --fault 'inject AT+WSOPEN=* +WS_DISCONNECTED:0'

  # an MCU host app on a USB-UART at 921600 with RTS/CTS (AT+UART_CUR is followed)
  atbridge mock good.atcap --port /dev/ttyUSB0 --baud 921600 --rtscts

  # watch the exchange in a browser while the host app runs (open the URL it prints)
  atbridge mock good.atcap --port pty:/tmp/esp --http :8080

  # in CI: after a miss, give up after 1 s of silence (exit 1, closest recorded command)
  atbridge mock good.atcap --port pty:/tmp/esp --miss-timeout 1s -w mock-run.atcap --force`,
		setup: setupMock,
	})
}

// multiFlag collects a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return fmt.Sprint(*m) }
func (m *multiFlag) Set(s string) error { *m = append(*m, s); return nil }

type mockFlags struct {
	port   string
	timing string
	write  string
	faults multiFlag
	linger time.Duration
	// missTimeout: after a miss, stop once the host is silent this long.
	missTimeout time.Duration
	seed        uint64
	cmp         compareFlags
	redact      liveRedact
	force       bool
	line        lineFlags
	http        string
}

func setupMock(fs *flag.FlagSet) func(context.Context, *env, []string) int {
	var f mockFlags
	fs.StringVar(&f.port, "port", "", "where the host app connects: pty:PATH, a serial device such as /dev/ttyUSB0, or rfc2217-listen:ADDR")
	f.line.register(fs, "--port", "an AT+UART_CUR from the host app changes it after the recorded OK")
	fs.StringVar(&f.timing, "timing", "recorded", "recorded (as captured), fast, or scale=N (recorded delays times N)")
	fs.StringVar(&f.write, "w", "", "record the mock session to this .atcap file")
	registerHTTP(fs, &f.http)
	f.redact.register(fs)
	registerForce(fs, &f.force)
	fs.Var(&f.faults, "fault", "inject a fault, as in a rules file after \"fault\" (repeatable), e.g. 'delay AT+GMR 2s'")
	fs.DurationVar(&f.linger, "linger", time.Second, "after the capture is played, keep answering (with misses) this long")
	fs.DurationVar(&f.missTimeout, "miss-timeout", replay.DefaultMissTimeout, "after a miss, stop (exit 1) once the host has sent nothing for this long; 0 waits for Ctrl-C")
	fs.Uint64Var(&f.seed, "seed", 1, "seed for fault chances (p=) and garbage bytes")
	fs.StringVar(&f.cmp.match, "match", "", "strict (byte-exact command lines and payloads) or lenient (the rules; default)")
	fs.StringVar(&f.cmp.rules, "rules", "", "rules file (docs/match-rules.md)")
	fs.StringVar(&f.cmp.order, "order", "", "strict, or any: answer recorded commands out of order")
	return func(ctx context.Context, e *env, args []string) int {
		pos := args
		if len(pos) != 1 {
			fmt.Fprintf(e.stderr, "atbridge mock: want one capture; run \"atbridge mock --help\"\n")
			return exitFailure
		}
		return runMock(ctx, e, pos[0], &f)
	}
}

func runMock(ctx context.Context, e *env, file string, f *mockFlags) int {
	fail := func(format string, a ...any) int {
		fmt.Fprintf(e.stderr, "atbridge mock: "+format+"\n", a...)
		return exitFailure
	}
	if f.port == "" {
		return fail("--port is required, e.g. --port pty:/tmp/esp")
	}
	line, err := f.line.settings()
	if err != nil {
		return fail("%v", err)
	}
	timing, err := replay.ParseTiming(f.timing)
	if err != nil {
		return fail("--timing: %v", err)
	}
	rules, err := f.cmp.loadRules()
	if err != nil {
		return fail("%v", err)
	}
	for i, s := range f.faults {
		if err := rules.ParseLine(i+1, "fault "+s); err != nil {
			return fail("--fault %q: %v", s, err)
		}
	}
	script, err := replay.Load(file)
	if err != nil {
		return fail("%v", err)
	}
	if err := refuseExisting(f.write, f.force); err != nil {
		return fail("%v", err)
	}
	pt, err := openFollowed(ctx, e.stderr, "mock", f.port, line, false)
	if err != nil {
		return fail("%v", err)
	}
	defer pt.Close()
	opts := &replay.MockOptions{Rules: rules, Timing: timing, Log: e.stderr, Linger: f.linger, Seed: f.seed, MissTimeout: f.missTimeout}
	if f.missTimeout <= 0 {
		opts.MissTimeout = -1
	}
	var rec *capture.Writer
	var out *output
	if f.write != "" {
		if out, err = createOutput(f.write, f.force); err != nil {
			return fail("%v", err)
		}
		rec, err = capture.Create(out.Name(), capture.Header{
			Tool:  "atbridge " + toolVersion(),
			Ports: []capture.PortInfo{{Name: f.port, Role: "host", Line: pt.Line()}},
			Meta:  f.redact.meta(map[string]string{"command": "mock", "source": file, "firmware": script.Header.Meta["firmware"]}),
		}, nil)
		if err != nil {
			out.Abort()
			return fail("%v", err)
		}
		opts.Clock = rec.Now
		pt.rec = rec
		sink := f.redact.wrap(rec, rec.Header())
		opts.Record = func(r *capture.Record) { _ = sink.Write(r) }
	}
	if f.http != "" {
		wv, err := attachWeb(e, "mock", f.http, f.port, pt.Line(), rec, out, f.write, &opts.Clock, &opts.Record)
		if err != nil {
			return fail("%v", err)
		}
		defer wv.close()
	}
	fmt.Fprintf(e.stderr, "atbridge mock: playing %s (%d transactions, %s) on %s at %s, %s timing\n", file, len(script.Txs), time.Duration(script.Duration).Round(time.Millisecond), f.port, pt.Line(), timing)
	m := replay.NewMock(script, opts)
	serveErr := m.Serve(ctx, pt)
	m.WriteSummary(e.stderr)
	code := exitOK
	if st := m.Stats(); len(st.Misses) > 0 || st.Unplayed > 0 {
		code = exitProblem
	}
	if serveErr != nil && !errors.Is(serveErr, port.ErrClosed) {
		fmt.Fprintf(e.stderr, "atbridge mock: %v\n", serveErr)
		code = exitFailure
	}
	if rec != nil {
		_ = f.redact.close()
		if err := rec.Close(); err != nil {
			fmt.Fprintf(e.stderr, "atbridge mock: closing %s: %v\n", f.write, err)
			code = exitFailure
		}
		if err := out.Commit(); err != nil {
			fmt.Fprintf(e.stderr, "atbridge mock: %v\n", err)
			code = exitFailure
		}
	}
	return code
}
