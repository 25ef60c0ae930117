package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/atbridge/atbridge/analysis"
	"github.com/atbridge/atbridge/bridge"
	"github.com/atbridge/atbridge/bridge/esp"
	"github.com/atbridge/atbridge/bridge/port"
	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/formats/at"
	"github.com/atbridge/atbridge/formats/view"
)

func init() {
	register(&command{
		name:    "proxy",
		summary: "Sit between a host app and an ESP32: forward every byte unchanged and record both directions",
		usage:   "atbridge proxy --host PORT --device PORT -w FILE.atcap [flags]",
		examples: `  # a PC host app opens /tmp/esp as its serial port; the ESP32 is on a USB-UART
  atbridge proxy --host pty:/tmp/esp --device /dev/ttyUSB0 -w session.atcap

  # two USB-UARTs at 921600 with RTS/CTS; a new file every 100 MB
  atbridge proxy --host /dev/ttyUSB0 --device /dev/ttyUSB1 --baud 921600 --rtscts -w bench.atcap --split 100MB

  # no hardware: the in-process emulator as the device
  atbridge proxy --host pty:/tmp/esp --device emulate -w dev.atcap

  # also record the ESP32's log UART (boot lines, ESP-IDF logs, panics) on the same clock
  atbridge proxy --host pty:/tmp/esp --device /dev/ttyUSB0 --log-port /dev/ttyUSB1 -w s.atcap
  # the emulator's own console, and a panic when the host sends AT+WSSEND
  atbridge proxy --host pty:/tmp/esp --device emulate --log-port emulate --panic-on AT+WSSEND -w crash.atcap

  # an overnight soak: keep the last 10 minutes in memory, write soak-0001.atcap, ...
  # with them and 30 s more whenever a command fails, the link drops or the board resets
  atbridge proxy --host pty:/tmp/esp --device /dev/ttyUSB0 -w soak.atcap --ring 10m \
      --trigger error --trigger ws-close --trigger reset --trigger 'latency>2s' --after 30s

  # follow the session in a browser (open the URL it prints; add a host, 0.0.0.0:8080, to let other machines in)
  atbridge proxy --host pty:/tmp/esp --device /dev/ttyUSB0 -w s.atcap --http :8080

  # a bench at a distance: the ESP32 behind ser2net in RFC 2217 mode on lab-pi, and the host app
  # elsewhere using this machine's port 2217 as rfc2217://THIS-HOST:2217 (pyserial, or any RFC 2217 client)
  atbridge proxy --host rfc2217-listen:0.0.0.0:2217 --device rfc2217://lab-pi:3000 -w remote.atcap

  # start now, plug the board in later (and unplug and replug it at will)
  atbridge proxy --host pty:/tmp/esp --device /dev/ttyUSB0 -w s.atcap --wait

  # also record the WebSocket frames: point the ESP32 at this PC's 8765
  atbridge proxy --host pty:/tmp/esp --device /dev/ttyUSB0 -w s.atcap --ws-tap 0.0.0.0:8765=ws://10.0.0.5:8765

Type a line and Enter while it runs (on a terminal) to put a marker in the capture.`,
		setup: setupProxy,
	})
}

// lineFlags are the serial line settings shared by proxy and sniff.
type lineFlags struct {
	baud     int
	dataBits int
	parity   string
	stopBits string
	rtscts   bool
}

// register adds the line flags; where names the ports they set ("both
// ports", "--port") and later says what changes them afterwards.
func (l *lineFlags) register(fs *flag.FlagSet, where, later string) {
	fs.IntVar(&l.baud, "baud", port.DefaultBaud, "baud rate of "+where+" ("+later+")")
	fs.IntVar(&l.dataBits, "databits", 8, "data bits: 5, 6, 7 or 8")
	fs.StringVar(&l.parity, "parity", "N", "parity: N, E, O, M or S")
	fs.StringVar(&l.stopBits, "stopbits", "1", "stop bits: 1, 1.5 or 2")
	fs.BoolVar(&l.rtscts, "rtscts", false, "RTS/CTS hardware flow control on "+where)
}

func (l *lineFlags) settings() (capture.LineSettings, error) {
	s := capture.LineSettings{Baud: l.baud, DataBits: uint8(l.dataBits)}
	if l.baud <= 0 {
		return s, fmt.Errorf("--baud must be positive, not %d", l.baud)
	}
	if l.dataBits < 5 || l.dataBits > 8 {
		return s, fmt.Errorf("--databits must be 5..8, not %d", l.dataBits)
	}
	switch p := strings.ToUpper(l.parity); p {
	case "N", "E", "O", "M", "S":
		s.Parity = capture.Parity(p[0])
	default:
		return s, fmt.Errorf("--parity must be N, E, O, M or S, not %q", l.parity)
	}
	switch l.stopBits {
	case "1":
		s.StopBits = capture.Stop1
	case "1.5":
		s.StopBits = capture.Stop1_5
	case "2":
		s.StopBits = capture.Stop2
	default:
		return s, fmt.Errorf("--stopbits must be 1, 1.5 or 2, not %q", l.stopBits)
	}
	if l.rtscts {
		s.Flow = capture.FlowRTSCTS
	}
	return s, nil
}

// recordFlags are the recording flags shared by proxy and sniff.
type recordFlags struct {
	write string
	split string
	quiet bool
	raw   bool
	queue int
	// pcapng streams the session live as pcapng ("-" is stdout).
	pcapng string

	redact liveRedact
	// wait: wait for ports that are not there yet instead of failing.
	wait bool
	// force: replace an existing -w file (see output.go).
	force bool
	// meta is added to the capture header's metadata.
	meta map[string]string
	// logPort is the ESP32's console UART, recorded read-only at logBaud.
	logPort string
	logBaud int
	// ring keeps the session in memory and writes windows on triggers.
	ring ringFlags
	// http serves the live view in a browser.
	http string
}

// register adds the recording flags of command (proxy or sniff).
func (r *recordFlags) register(fs *flag.FlagSet, command string) {
	fs.StringVar(&r.write, "w", "", "write the capture to this .atcap file (required)")
	fs.StringVar(&r.split, "split", "", "start a new file by size (100MB, 512KiB) or time (10m, 1h): FILE-001.atcap, FILE-002.atcap, ...")
	fs.BoolVar(&r.quiet, "quiet", false, "no live view on stdout (line settings changes are still reported on stderr)")
	fs.BoolVar(&r.raw, "raw", false, "live view shows the records as recorded (chunks in hex) instead of decoding them")
	fs.StringVar(&r.pcapng, "pcapng", "", pcapngFlagUsage(command))
	queue := "MiB of traffic that may wait for the disk; beyond it data is still forwarded but recorded as lost"
	if command == "sniff" {
		queue = "MiB of traffic that may wait for the disk; beyond it the adapters are still read but the bytes are recorded as lost"
	}
	fs.IntVar(&r.queue, "queue", bridge.DefaultQueueBytes>>20, queue)
	fs.BoolVar(&r.wait, "wait", false, "wait for a port that is not there yet (a board not plugged in yet), trying every 500 ms, instead of failing")
	logForm := "a serial device, pty:PATH, tcp:HOST:PORT or rfc2217://HOST:PORT"
	if command == "proxy" {
		logForm += "; emulate with --device emulate"
	}
	fs.StringVar(&r.logPort, "log-port", "", "also record the ESP32's log (console) UART, receive only ("+logForm+"): boot lines, ESP-IDF logs, panics on the same clock")
	fs.IntVar(&r.logBaud, "log-baud", port.DefaultBaud, "baud rate of --log-port (the ESP32's ROM and ESP-IDF log at 115200)")
	r.ring.register(fs)
	registerHTTP(fs, &r.http)
	r.redact.register(fs)
	registerForce(fs, &r.force)
}

type tapFlags struct {
	taps                  []string
	cert, key             string
	clientCert, clientKey string
	ca                    string
}

func (t *tapFlags) register(fs *flag.FlagSet) {
	fs.Func("ws-tap", "LISTEN=UPSTREAM: record the WebSocket frames of connections to LISTEN (loopback unless a host is given), forwarded to UPSTREAM (ws:// or wss://); repeatable", func(s string) error {
		t.taps = append(t.taps, s)
		return nil
	})
	fs.StringVar(&t.cert, "ws-tap-cert", "", "certificate (PEM) the tap presents to the ESP32 for wss:// upstreams")
	fs.StringVar(&t.key, "ws-tap-key", "", "private key (PEM) of --ws-tap-cert")
	fs.StringVar(&t.clientCert, "ws-tap-client-cert", "", "client certificate (PEM) the tap presents to a wss:// upstream that asks for one")
	fs.StringVar(&t.clientKey, "ws-tap-client-key", "", "private key (PEM) of --ws-tap-client-cert")
	fs.StringVar(&t.ca, "ws-tap-ca", "", "CA certificates (PEM) to verify the wss:// upstream with (default: the system's)")
}

func (t *tapFlags) configs() ([]bridge.TapConfig, error) {
	var out []bridge.TapConfig
	var serverTLS, clientTLS *tls.Config
	if t.cert != "" || t.key != "" {
		c, err := tls.LoadX509KeyPair(t.cert, t.key)
		if err != nil {
			return nil, fmt.Errorf("--ws-tap-cert/--ws-tap-key: %w", err)
		}
		serverTLS = &tls.Config{Certificates: []tls.Certificate{c}}
	}
	if t.clientCert != "" || t.clientKey != "" || t.ca != "" {
		clientTLS = &tls.Config{}
		if t.clientCert != "" || t.clientKey != "" {
			c, err := tls.LoadX509KeyPair(t.clientCert, t.clientKey)
			if err != nil {
				return nil, fmt.Errorf("--ws-tap-client-cert/--ws-tap-client-key: %w", err)
			}
			clientTLS.Certificates = []tls.Certificate{c}
		}
		if t.ca != "" {
			pem, err := os.ReadFile(t.ca)
			if err != nil {
				return nil, fmt.Errorf("--ws-tap-ca: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("--ws-tap-ca: no PEM certificate in %s", t.ca)
			}
			clientTLS.RootCAs = pool
		}
	}
	for _, s := range t.taps {
		c, err := bridge.ParseTapSpec(s)
		if err != nil {
			return nil, err
		}
		c.ServerTLS, c.ClientTLS = serverTLS, clientTLS
		out = append(out, c)
	}
	return out, nil
}

type proxyFlags struct {
	host, device string
	line         lineFlags
	rec          recordFlags
	tap          tapFlags
	emu          emulateFlags // --firmware, --pki, --cwjap-fail, --reconnect-interval for --device emulate
}

func setupProxy(fs *flag.FlagSet) func(context.Context, *env, []string) int {
	f := &proxyFlags{}
	fs.StringVar(&f.host, "host", "", "the host app's side: pty:PATH (a virtual serial port for a PC program), a serial device, tcp:HOST:PORT, or rfc2217-listen:ADDR (a remote host app using RFC 2217, e.g. pyserial's rfc2217://)")
	fs.StringVar(&f.device, "device", "", "the ESP32's side: a serial device (/dev/ttyUSB0), rfc2217://HOST:PORT (ser2net's telnet(rfc2217): line settings and control lines go through), tcp:HOST:PORT (a raw serial server, esp-link), pty:PATH, or emulate")
	f.line.register(fs, "both ports", "AT+UART_CUR and a pty host app's termios change it later")
	f.rec.register(fs, "proxy")
	f.tap.register(fs)
	fs.StringVar(&f.emu.firmware, "firmware", "release", "with --device emulate: release or dev firmware")
	fs.StringVar(&f.emu.pki, "pki", "", "with --device emulate: PKI folder for AT+WSCFG auth modes (see atbridge emulate --help)")
	fs.IntVar(&f.emu.cwjapFail, "cwjap-fail", 0, "with --device emulate: make AT+CWJAP fail with this code (1..4)")
	fs.IntVar(&f.emu.split, "split-deliveries", 0, "with --device emulate: cut received data into +IPD/+WS_DATA pieces of at most N bytes (0: off)")
	fs.DurationVar(&f.emu.reconnect, "reconnect-interval", 10*time.Second, "with --device emulate: wait between automatic WebSocket reconnects")
	fs.StringVar(&f.emu.srvBind, "server-bind", "127.0.0.1", "with --device emulate: host address AT+CIPSERVER listens on")
	fs.IntVar(&f.emu.srvOffset, "server-port-offset", 0, "with --device emulate: add N to every AT+CIPSERVER port")
	fs.StringVar(&f.emu.panicOn, "panic-on", "", "with --device emulate: crash the board when the host sends this command (e.g. AT+WSSEND); see --log-port emulate")
	fs.StringVar(&f.emu.panicKind, "panic-kind", "loadprohibited", "with --device emulate: how --panic-on crashes: "+strings.Join(esp.PanicKinds, ", "))
	return func(ctx context.Context, e *env, args []string) int {
		if len(args) > 0 {
			fmt.Fprintf(e.stderr, "atbridge proxy: unexpected argument %q (ports are given with --host and --device)\n", args[0])
			return exitFailure
		}
		return runProxy(ctx, e, f)
	}
}

func runProxy(ctx context.Context, e *env, f *proxyFlags) int {
	fail := func(format string, a ...any) int {
		fmt.Fprintf(e.stderr, "atbridge proxy: "+format+"\n", a...)
		return exitFailure
	}
	if (f.host == "") != (f.device == "") || (f.host == "" && len(f.tap.taps) == 0) {
		return fail("give --host and --device (and/or --ws-tap), e.g. --host pty:/tmp/esp --device /dev/ttyUSB0")
	}
	line, err := f.line.settings()
	if err != nil {
		return fail("%v", err)
	}
	taps, err := f.tap.configs()
	if err != nil {
		return fail("%v", err)
	}
	opts := &bridge.ProxyOptions{Host: f.host, Device: f.device, Line: line, Taps: taps}
	if f.device == bridge.EmulateSpec {
		fw, err := esp.ParseFirmware(f.emu.firmware)
		if err != nil {
			return fail("--firmware: %v", err)
		}
		if f.emu.cwjapFail < 0 || f.emu.cwjapFail > 4 {
			return fail("--cwjap-fail must be 0..4")
		}
		if f.emu.split < 0 {
			return fail("--split-deliveries must be 0 (off) or a positive number of bytes")
		}
		if err := checkServerFlags(&f.emu); err != nil {
			return fail("%v", err)
		}
		panicOn, err := panicCommand(f.emu.panicOn)
		if err != nil {
			return fail("%v", err)
		}
		if err := checkPanicKind(f.emu.panicKind); err != nil {
			return fail("%v", err)
		}
		opts.Emulator = &esp.Options{Firmware: fw, PKIDir: f.emu.pki, CWJAPFail: f.emu.cwjapFail,
			ReconnectInterval: f.emu.reconnect, SplitDeliveries: f.emu.split,
			ServerBind: f.emu.srvBind, ServerPortOffset: f.emu.srvOffset, PanicOn: panicOn, PanicKind: f.emu.panicKind, Version: "atbridge " + toolVersion()}
	}
	return runRecording(ctx, e, "proxy", opts, &f.rec, line)
}

// runRecording opens the proxy or sniffer described by opts, records to
// the file in rf with a live view, and reports at the end.
func runRecording(ctx context.Context, e *env, name string, opts *bridge.ProxyOptions, rf *recordFlags, line capture.LineSettings) int {
	fail := func(format string, a ...any) int {
		fmt.Fprintf(e.stderr, "atbridge "+name+": "+format+"\n", a...)
		return exitFailure
	}
	if rf.write == "" {
		return fail("-w FILE.atcap is required: where to record")
	}
	var split bridge.SplitOptions
	if rf.split != "" {
		var err error
		if split, err = bridge.ParseSplit(rf.split); err != nil {
			return fail("%v", err)
		}
	}
	ringOpts, ringOn, err := rf.ring.options(rf)
	if err != nil {
		return fail("%v", err)
	}
	if rf.queue <= 0 {
		return fail("--queue must be positive")
	}
	opts.QueueBytes = rf.queue << 20
	var logLine capture.LineSettings
	if rf.logPort != "" {
		if opts.Host == "" {
			return fail("--log-port needs the serial ports too (it records beside them)")
		}
		if rf.logBaud <= 0 {
			return fail("--log-baud must be positive, not %d", rf.logBaud)
		}
		logLine = port.LineDefaults(capture.LineSettings{Baud: rf.logBaud})
		opts.LogPort, opts.LogLine = rf.logPort, logLine
	}
	hdr := capture.Header{
		Tool: "atbridge " + toolVersion(),
		Meta: rf.redact.meta(map[string]string{"command": name}),
	}
	for k, v := range rf.meta {
		hdr.Meta[k] = v
	}
	if opts.Host != "" {
		hdr.Ports = []capture.PortInfo{{Name: opts.Host, Role: "host", Line: line}, {Name: opts.Device, Role: "device", Line: line}}
		if opts.LogPort != "" {
			hdr.Ports = append(hdr.Ports, capture.PortInfo{Name: opts.LogPort, Role: "log", Line: logLine})
		}
		fillAdapters(e.stderr, name, hdr.Ports)
	}
	if err := refuseExisting(rf.pcapng, rf.force); err != nil {
		return fail("--pcapng: %v", err)
	}
	// Split parts are written in place; a single file goes through the
	// overwrite rule (a temporary name until the end when it replaces one).
	path := rf.write
	var out *output
	var rec recording
	if ringOn {
		if err := refuseRingFiles(rf.write, rf.force); err != nil {
			return fail("%v", err)
		}
		ringReporter(e, name, &ringOpts)
		if rec, err = bridge.CreateRing(rf.write, hdr, ringOpts); err != nil {
			return fail("%v", err)
		}
	} else if split.Size > 0 || split.Every > 0 {
		if err := refuseExisting(splitFirst(rf.write), rf.force); err != nil {
			return fail("%v", err)
		}
	} else {
		var err error
		if out, err = createOutput(rf.write, rf.force); err != nil {
			return fail("%v", err)
		}
		path = out.Name()
	}
	if rec == nil {
		if rec, err = bridge.CreateSplit(path, hdr, split); err != nil {
			if out != nil {
				out.Abort()
			}
			return fail("%v", err)
		}
	}
	// files are the names the user will see (the temporary name renamed).
	files := func() []string {
		fs := rec.Files()
		if out != nil && len(fs) == 1 {
			return []string{rf.write}
		}
		return fs
	}
	opts.Recorder = rec
	if rf.redact.on {
		opts.Recorder = rf.redact.wrap(rec, rec.Header()).(bridge.Recorder)
	}
	if rf.pcapng == "-" {
		rf.quiet = true // stdout carries the pcapng stream, not the live view
	}
	var view *liveView
	if !rf.quiet {
		view = newLiveView(e, rf.raw, rec.Header())
		opts.Observe = view.observe
	} else {
		// Without the live view, a baud change must still be seen: a
		// sniffer left at the old speed records garbage.
		opts.Observe = lineReporter(e, name, rec.Header())
	}
	// abandon undoes what is set up when the session cannot start:
	// nothing was recorded, so no file is left.
	abandon := func() {
		if view != nil {
			view.close()
		}
		rec.Close()
		for _, f := range rec.Files() {
			os.Remove(f)
		}
	}
	if rf.pcapng != "" {
		live, err := openPcapngOut(e, name, rf.pcapng, rec.Header())
		if err != nil {
			abandon()
			return fail("%v", err)
		}
		defer live.Close()
		opts.Observe = live.Chain(opts.Observe)
	}
	var pxp atomic.Pointer[bridge.Proxy] // for the page's markers, once it runs
	var wv *webView
	if rf.http != "" {
		var download func() (io.ReadCloser, string, error)
		if fs := rec.Files(); !ringOn && len(fs) > 0 {
			download = func() (io.ReadCloser, string, error) {
				fs := rec.Files() // the part being written, when splitting
				name := fs[len(fs)-1]
				if out != nil {
					name = rf.write
				}
				return downloadFile(fs[len(fs)-1], name)()
			}
		}
		mark := func(t string) {
			if px := pxp.Load(); px != nil {
				px.Mark(t)
			}
		}
		var err error
		if wv, err = startWebView(e, name, rf.http, rec.Header(), mark, download); err != nil {
			abandon()
			return fail("%v", err)
		}
		defer wv.close()
		opts.Observe = chainObserve(opts.Observe, wv.observe)
	}
	if rf.wait {
		opts.Wait = true
		opts.Waiting = func(role, spec string, err error) {
			fmt.Fprintf(e.stderr, "atbridge %s: waiting for the %s port %s (%v); plug it in, or Ctrl-C to stop\n", name, role, spec, err)
		}
	}
	px, err := bridge.OpenProxy(ctx, opts)
	if err != nil {
		abandon()
		if ctx.Err() != nil && rf.wait {
			fmt.Fprintf(e.stderr, "atbridge %s: stopped while waiting for a port; nothing recorded\n", name)
			return exitSignal
		}
		return fail("%v", err)
	}
	for i, a := range px.TapAddrs() {
		fmt.Fprintf(e.stderr, "atbridge %s: WebSocket tap listening on %s, forwarding to %s\n", name, a, opts.Taps[i].Upstream)
	}
	if opts.Host != "" {
		to := rf.write
		if ringOn {
			to = fmt.Sprintf("a %s ring (windows to %s on %s)", rf.ring.ring, bridge.RingName(rf.write, 1), triggerList(ringOpts.Triggers))
		}
		fmt.Fprintf(e.stderr, "atbridge %s: %s <-> %s at %s, recording to %s; Ctrl-C stops\n", name, opts.Host, opts.Device, line, to)
	}
	if opts.LogPort != "" {
		fmt.Fprintf(e.stderr, "atbridge %s: recording the ESP32's log UART %s at %s (receive only)\n", name, opts.LogPort, logLine)
	}
	pxp.Store(px)
	stopMarks := readMarkers(e, px)
	runErr := px.Run(ctx)
	stopMarks()
	if view != nil {
		view.close()
	}
	code := exitOK
	if err := rf.redact.close(); err != nil {
		fmt.Fprintf(e.stderr, "atbridge %s: redacting the capture: %v\n", name, err)
		code = exitFailure
	}
	if err := rec.Close(); err != nil {
		fmt.Fprintf(e.stderr, "atbridge %s: closing the capture: %v\n", name, err)
		code = exitFailure
	}
	if out != nil {
		if err := out.Commit(); err != nil {
			fmt.Fprintf(e.stderr, "atbridge %s: %v (the new recording is in %s)\n", name, err, out.Name())
			code = exitFailure
		}
	}
	if runErr != nil {
		fmt.Fprintf(e.stderr, "atbridge %s: %v\n", name, runErr)
		code = exitFailure
	}
	st := px.Stats()
	names := files()
	where := "in " + strings.Join(names, ", ")
	if ringOn {
		where = ringSummary(rec.(*bridge.RingWriter), names)
	}
	fmt.Fprintf(e.stderr, "atbridge %s: %d bytes to the device, %d to the host; %d records %s\n",
		name, st.ToDevice-st.NotDeliveredToDevice, st.ToHost-st.NotDeliveredToHost, st.Queue.Records, where)
	if st.NotDeliveredToDevice > 0 {
		fmt.Fprintf(e.stderr, "atbridge %s: %d bytes from the host were not delivered: the device was absent (not_delivered events mark them; the commands end as \"device absent\")\n", name, st.NotDeliveredToDevice)
	}
	if st.NotDeliveredToHost > 0 {
		fmt.Fprintf(e.stderr, "atbridge %s: %d bytes from the device were not delivered: the host side was absent (not_delivered events mark them)\n", name, st.NotDeliveredToHost)
	}
	if st.Queue.LostBytes > 0 {
		fmt.Fprintf(e.stderr, "atbridge %s: %d bytes were forwarded but not recorded (the disk fell behind; bytes_lost events mark where)\n", name, st.Queue.LostBytes)
	}
	if code == exitOK && len(names) > 0 {
		fmt.Fprintf(e.stderr, "next: atbridge show %s    atbridge stats %s\n", names[0], names[0])
	}
	return code
}

// lineReporter returns an Observe hook that prints each line settings
// change on stderr, for --quiet.
func lineReporter(e *env, name string, h capture.Header) func(*capture.Record) {
	return func(r *capture.Record) {
		if r.Kind != capture.KindEvent || r.Event.Type != capture.EvLineSettings {
			return
		}
		port := fmt.Sprintf("port %d", r.Port)
		if int(r.Port) < len(h.Ports) {
			port = h.Ports[r.Port].Name
		}
		fmt.Fprintf(e.stderr, "atbridge %s: %s now at %s (%s)\n", name, port, r.Event.Line, r.Event.Text)
	}
}

// readMarkers turns lines typed on a terminal stdin into markers. The
// returned func stops it: it unblocks the read with a deadline where the
// terminal allows one; otherwise the reader is left to end with the process.
func readMarkers(e *env, px *bridge.Proxy) func() {
	if e.isTerminal == nil || !e.isTerminal(e.stdin) {
		return func() {}
	}
	f, _ := e.stdin.(*os.File)
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(e.stdin)
		for sc.Scan() {
			if t := strings.TrimSpace(sc.Text()); t != "" {
				px.Mark(t)
			}
		}
	}()
	return func() {
		if f != nil && f.SetReadDeadline(time.Now()) == nil {
			<-done
			_ = f.SetReadDeadline(time.Time{})
		}
	}
}

// liveView prints what an analysis.Live follows as "atbridge show" does
// (the same shower), decoded unless raw. The Live's bounded queue means a
// terminal that is slow or paused (Ctrl-S) makes the view skip records,
// and say so, but never holds up the recording (let alone the line).
// Output is written out every 100 ms, emptying the shower's reorder window
// each time.
type liveView struct {
	s    *shower
	live *analysis.Live
	done chan struct{}
}

func newLiveView(e *env, raw bool, h capture.Header) *liveView {
	v := &liveView{
		s: &shower{
			out:   bufio.NewWriterSize(e.stdout, 64<<10),
			f:     &showFlags{raw: raw, link: -1},
			start: h.Start,
			text:  view.TextOptions{Colour: e.useColour(e.stdout)},
			until: 1<<63 - 1,
			dl:    analysis.NewDeviceLog(),
			// The live view shows the log UART's lines from warnings up:
			// the capture has them all.
			logLevel: 'W',
		},
		live: analysis.NewLive(h, &analysis.LiveOptions{Raw: raw, Viewer: "terminal"}),
		done: make(chan struct{}),
	}
	if raw {
		v.s.dl = nil // log chunks in hex, like the rest
	}
	v.s.header("(live)", &h)
	go func() {
		defer close(v.done)
		v.live.Run(v)
	}()
	return v
}

// observe is the proxy's Observe hook.
func (v *liveView) observe(r *capture.Record) { v.live.Observe(r) }

// Events, Record and Tick make liveView the Live's sink.
func (v *liveView) Events(evs []at.Event)    { v.s.events(evs) }
func (v *liveView) Record(r *capture.Record) { v.s.record(r) }
func (v *liveView) Tick() {
	v.s.drain(-1)
	v.s.out.Flush()
}

// close shows what is queued and stops; observe must not be called after.
func (v *liveView) close() {
	v.live.Close()
	<-v.done
	v.s.logFlush()
	v.s.drain(-1)
	v.s.out.Flush()
}
