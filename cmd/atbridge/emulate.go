package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/atbridge/atbridge/bridge/esp"

	"github.com/atbridge/atbridge/bridge/port"
	"github.com/atbridge/atbridge/capture"
)

func init() {
	register(&command{
		name:    "emulate",
		summary: "Be an ESP32 running ESP-AT (Wi-Fi, TCP/UDP/SSL clients and servers, WebSocket, MQTT, HTTP) in software, with real network connections",
		usage:   "atbridge emulate --port pty:PATH|/dev/ttyX [flags]",
		examples: `  # a pseudo-terminal for the host app; talk to it with any serial tool
  atbridge emulate --port pty:/tmp/esp
  python3 -m serial.tools.miniterm /tmp/esp 115200

  # and follow what the host app does in a browser (open the URL it prints)
  atbridge emulate --port pty:/tmp/esp --http :8080

  # the master-branch firmware (AT+WSDATAFMT, <fin>, 16 KiB), mutual TLS from a PKI folder
  atbridge emulate --port pty:/tmp/esp --firmware dev --pki ./pki

  # behind a real USB-UART at 921600 with RTS/CTS, paced like a real UART, recorded
  atbridge emulate --port /dev/ttyUSB0 --baud 921600 --flow rtscts --pace -w session.atcap

  # test the host app's error handling: every AT+CWJAP fails with "wrong password";
  # lost links reconnect after 1 s instead of 10 s
  atbridge emulate --port pty:/tmp/esp --cwjap-fail 2 --reconnect-interval 1s

  # the networks AT+CWLAP lists and AT+CWJAP joins (wrong password: +CWJAP:2, unknown SSID: +CWJAP:3)
  echo '[{"ssid":"home","password":"secret123","rssi":-50},{"ssid":"cafe","channel":6}]' > aps.json
  atbridge emulate --port pty:/tmp/esp --aps aps.json

  # a host app that runs a server (AT+CIPSERVER=1,80): clients connect to 127.0.0.1:8080
  atbridge emulate --port pty:/tmp/esp --server-port-offset 8000

  # MQTT against a local broker (AT+MQTTUSERCFG, AT+MQTTCONN, AT+MQTTSUB, +MQTTSUBRECV ...); TLS schemes
  # read mqtt_client.crt, mqtt_client.key and mqtt_ca.crt from the --pki folder
  mosquitto -p 1883 &
  atbridge emulate --port pty:/tmp/esp --pki ./pki

  # the board's console on a second pty; crash it at the first AT+WSSEND to test the host app's recovery
  atbridge emulate --port pty:/tmp/esp --log-port pty:/tmp/esp-log --panic-on AT+WSSEND
  # the same board failing another way: the brownout detector resets it (RTCWDT_BROWN_OUT_RESET)
  atbridge emulate --port pty:/tmp/esp --log-port pty:/tmp/esp-log --panic-on AT+WSSEND --panic-kind brownout

  # test the host app's reassembly: a 2000-byte message arrives as +IPD (or +WS_DATA) pieces of 536 bytes
  atbridge emulate --port pty:/tmp/esp --split-deliveries 536`,
		setup: setupEmulate,
	})
}

type emulateFlags struct {
	port      string
	baud      int
	flow      string
	pace      bool
	firmware  string
	pki       string
	cwjapFail int
	aps       string
	reconnect time.Duration
	split     int
	srvBind   string
	srvOffset int
	logPort   string
	logBaud   int
	panicOn   string
	panicKind string
	logLevel  string
	write     string
	pcapng    string
	redact    liveRedact
	force     bool
	http      string
}

func setupEmulate(fs *flag.FlagSet) func(context.Context, *env, []string) int {
	var f emulateFlags
	fs.StringVar(&f.port, "port", "", "where the host app connects: pty:PATH (a pseudo-terminal linked at PATH), a serial device such as /dev/ttyUSB0, or rfc2217-listen:ADDR (a remote host app, e.g. pyserial's rfc2217://)")
	fs.IntVar(&f.baud, "baud", port.DefaultBaud, "baud rate of a serial device (AT+UART_CUR changes it later)")
	fs.StringVar(&f.flow, "flow", "none", "flow control of a serial device: none, rtscts or xonxoff")
	fs.BoolVar(&f.pace, "pace", false, "deliver output no faster than the configured baud rate (8N1 timing), as a real UART does")
	fs.StringVar(&f.firmware, "firmware", "release", "firmware to emulate: release (v5.0.1: no fin, no WSDATAFMT, 8192 limits) or dev (master: fin, WSDATAFMT, 16384)")
	fs.StringVar(&f.pki, "pki", "", "folder laid out as ESP-AT's raw_data partitions: wss_cert/wss_client_NN.crt, wss_key/wss_client_NN.key and wss_ca/wss_ca_NN.crt for AT+WSCFG auth modes 1..3 and AT+CIPSSLCCONF; server_cert/server_cert.crt, server_key/server.key and server_ca/server_ca.crt for AT+CIPSERVER's \"SSL\" type; "+esp.MQTTClientCertFile+", "+esp.MQTTClientKeyFile+" (client pair) and "+esp.MQTTCAFile+" (the broker's CA) for AT+MQTTUSERCFG schemes 3..5 and 8..10")
	fs.IntVar(&f.cwjapFail, "cwjap-fail", 0, "make every AT+CWJAP fail with +CWJAP:CODE (1 timeout, 2 wrong password, 3 no AP, 4 fail); 0 joins (the password \"wrong-password\" always fails with 2)")
	fs.StringVar(&f.aps, "aps", "", `JSON file listing the access points AT+CWLAP shows and AT+CWJAP joins, e.g. [{"ssid":"home","password":"secret123","bssid":"7c:8b:ca:3e:d7:5b","channel":11,"rssi":-55,"ecn":3}] (only ssid is required); without it, three built-in APs ("espressif" with password 1234567890 among them) and any other SSID joins`)
	fs.DurationVar(&f.reconnect, "reconnect-interval", 10*time.Second, "wait between automatic WebSocket reconnects (the firmware waits 10s); also the longest wait between MQTT reconnect tries")
	fs.IntVar(&f.split, "split-deliveries", 0, "cut received data into pieces of at most N bytes, one +IPD or +WS_DATA each, as a board does at TCP segment boundaries (0: off)")
	fs.StringVar(&f.srvBind, "server-bind", "127.0.0.1", "host address AT+CIPSERVER listens on (0.0.0.0: reachable from other machines)")
	fs.IntVar(&f.srvOffset, "server-port-offset", 0, "add N to every AT+CIPSERVER port, e.g. 8000 so that port 80 listens on 8080 (queries still show 80)")
	fs.StringVar(&f.logPort, "log-port", "", "also be the board's console UART here (pty:PATH or a serial device): boot banners with the reset cause, ESP-IDF log lines, panics; written only")
	fs.IntVar(&f.logBaud, "log-baud", port.DefaultBaud, "baud rate of a serial --log-port (the ESP32's console runs at 115200)")
	fs.StringVar(&f.panicOn, "panic-on", "", "crash the board when the host sends this command (e.g. AT+WSSEND): the panic goes to --log-port, the AT side stays silent until ready")
	fs.StringVar(&f.panicKind, "panic-kind", "loadprohibited", "how --panic-on crashes: "+strings.Join(esp.PanicKinds, ", "))
	fs.StringVar(&f.logLevel, "log-level", "info", "emulator log on stderr: debug, info, warn or error")
	fs.StringVar(&f.write, "w", "", "record the serial traffic, WebSocket frames and link events to this .atcap file")
	fs.StringVar(&f.pcapng, "pcapng", "", pcapngFlagUsage("emulate"))
	registerHTTP(fs, &f.http)
	f.redact.register(fs)
	registerForce(fs, &f.force)
	return func(ctx context.Context, e *env, args []string) int {
		if len(args) > 0 {
			fmt.Fprintf(e.stderr, "atbridge emulate: unexpected argument %q (the port is given with --port)\n", args[0])
			return exitFailure
		}
		return runEmulate(ctx, e, &f)
	}
}

func runEmulate(ctx context.Context, e *env, f *emulateFlags) int {
	fail := func(format string, a ...any) int {
		fmt.Fprintf(e.stderr, "atbridge emulate: "+format+"\n", a...)
		return exitFailure
	}
	if f.port == "" {
		return fail("--port is required, e.g. --port pty:/tmp/esp")
	}
	fw, err := esp.ParseFirmware(f.firmware)
	if err != nil {
		return fail("--firmware: %v", err)
	}
	if f.cwjapFail < 0 || f.cwjapFail > 4 {
		return fail("--cwjap-fail must be 0..4, not %d", f.cwjapFail)
	}
	if f.split < 0 {
		return fail("--split-deliveries must be 0 (off) or a positive number of bytes, not %d", f.split)
	}
	if f.reconnect <= 0 {
		return fail("--reconnect-interval must be positive")
	}
	if err := checkServerFlags(f); err != nil {
		return fail("%v", err)
	}
	var aps []esp.AccessPoint
	if f.aps != "" {
		data, err := os.ReadFile(f.aps)
		if err != nil {
			return fail("--aps: %v", err)
		}
		if aps, err = esp.ParseAccessPoints(data); err != nil {
			return fail("--aps %s: %v", f.aps, err)
		}
		if aps == nil {
			aps = []esp.AccessPoint{} // an empty list: no AP at all
		}
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		return fail("--log-level must be debug, info, warn or error")
	}
	line := capture.LineSettings{Baud: f.baud, DataBits: 8, Parity: capture.ParityNone, StopBits: capture.Stop1}
	switch strings.ToLower(f.flow) {
	case "none", "":
	case "rtscts":
		line.Flow = capture.FlowRTSCTS
	case "xonxoff":
		line.Flow = capture.FlowXONXOFF
	default:
		return fail("--flow must be none, rtscts or xonxoff")
	}
	if err := refuseExisting(f.write, f.force); err != nil {
		return fail("%v", err)
	}
	if err := refuseExisting(f.pcapng, f.force); err != nil {
		return fail("--pcapng: %v", err)
	}
	panicOn, err := panicCommand(f.panicOn)
	if err != nil {
		return fail("%v", err)
	}
	if err := checkPanicKind(f.panicKind); err != nil {
		return fail("%v", err)
	}
	pt, err := port.Open(ctx, f.port, &port.Options{Line: line})
	if err != nil {
		return fail("%v", err)
	}
	defer pt.Close()
	var logUART port.Port
	if f.logPort != "" {
		logLine := capture.LineSettings{Baud: f.logBaud, DataBits: 8, Parity: capture.ParityNone, StopBits: capture.Stop1}
		if logUART, err = port.Open(ctx, f.logPort, &port.Options{Line: logLine}); err != nil {
			return fail("--log-port: %v", err)
		}
		defer logUART.Close()
	}

	logger := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: level}))
	opts := &esp.Options{
		Firmware:          fw,
		PKIDir:            f.pki,
		CWJAPFail:         f.cwjapFail,
		AccessPoints:      aps,
		ReconnectInterval: f.reconnect,
		SplitDeliveries:   f.split,
		ServerBind:        f.srvBind,
		ServerPortOffset:  f.srvOffset,
		PanicOn:           panicOn,
		PanicKind:         f.panicKind,
		Version:           "atbridge " + toolVersion(),
		Log:               logger,
	}
	if logUART != nil {
		opts.LogUART = logUART // not a typed nil: no --log-port, no console
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
			Meta:  f.redact.meta(map[string]string{"command": "emulate", "firmware": fw.String()}),
		}, nil)
		if err != nil {
			out.Abort()
			return fail("%v", err)
		}
		opts.Clock = rec.Now
		sink := f.redact.wrap(rec, rec.Header())
		opts.Record = func(r *capture.Record) {
			if err := sink.Write(r); err != nil {
				logger.Warn("recording failed", "err", err)
			}
		}
		_ = rec.WriteEvent(rec.Now(), capture.Event{Type: capture.EvPortOpened, Text: f.port, Line: pt.Line()})
	}
	if f.pcapng != "" {
		h := capture.Header{
			Tool:  "atbridge " + toolVersion(),
			Ports: []capture.PortInfo{{Name: f.port, Role: "host", Line: pt.Line()}},
			Meta:  map[string]string{"command": "emulate", "firmware": fw.String()},
		}
		if rec != nil {
			h = rec.Header()
		}
		live, err := openPcapngOut(e, "emulate", f.pcapng, h)
		if err != nil {
			if rec != nil {
				rec.Close()
				out.Abort()
			}
			return fail("%v", err)
		}
		defer live.Close()
		live.alone = rec == nil
		if opts.Clock == nil {
			opts.Clock = live.Now
		}
		opts.Record = live.Chain(opts.Record)
	}

	if f.http != "" {
		wv, err := attachWeb(e, "emulate", f.http, f.port, pt.Line(), rec, out, f.write, &opts.Clock, &opts.Record)
		if err != nil {
			return fail("%v", err)
		}
		defer wv.close()
	}
	var dev interface {
		port.Port
	} = pt
	var paced *port.PacedWriter
	if f.pace {
		paced = port.NewPacedWriter(pt, pt.Line)
		dev = &pacedPort{Port: pt, w: paced}
	}
	if strings.HasPrefix(f.port, "pty:") {
		fmt.Fprintf(e.stderr, "atbridge emulate: ESP32 (%s firmware) on %s; connect the host app to %s at any baud rate\n", fw, f.port, strings.TrimPrefix(f.port, "pty:"))
	} else {
		fmt.Fprintf(e.stderr, "atbridge emulate: ESP32 (%s firmware) on %s at %s\n", fw, f.port, pt.Line())
	}
	em := esp.New(opts)
	serveErr := em.Serve(ctx, dev)
	if paced != nil {
		paced.Close()
	}
	code := exitOK
	if serveErr != nil && !errors.Is(serveErr, port.ErrClosed) {
		fmt.Fprintf(e.stderr, "atbridge emulate: %v\n", serveErr)
		code = exitFailure
	}
	if rec != nil {
		_ = f.redact.close()
		_ = rec.WriteEvent(rec.Now(), capture.Event{Type: capture.EvPortClosed})
		if err := rec.Close(); err != nil {
			fmt.Fprintf(e.stderr, "atbridge emulate: closing %s: %v\n", f.write, err)
			code = exitFailure
		}
		if err := out.Commit(); err != nil {
			fmt.Fprintf(e.stderr, "atbridge emulate: %v\n", err)
			code = exitFailure
		}
	}
	return code
}

// pacedPort is a Port whose writes go through a PacedWriter.
type pacedPort struct {
	port.Port
	w *port.PacedWriter
}

func (p *pacedPort) Write(b []byte) (int, error) { return p.w.Write(b) }

// checkServerFlags checks --server-bind and --server-port-offset.
func checkServerFlags(f *emulateFlags) error {
	if f.srvOffset < -65534 || f.srvOffset > 65534 {
		return fmt.Errorf("--server-port-offset must be within -65534..65534, not %d", f.srvOffset)
	}
	if net.ParseIP(f.srvBind) == nil {
		return fmt.Errorf("--server-bind must be an IP address such as 127.0.0.1 or 0.0.0.0, not %q", f.srvBind)
	}
	return nil
}

// panicCommand turns --panic-on's "AT+WSSEND" (or "+WSSEND") into the
// command name the emulator matches.
// checkPanicKind refuses a --panic-kind the emulator does not know.
func checkPanicKind(k string) error {
	if k == "" || slices.Contains(esp.PanicKinds, k) {
		return nil
	}
	return fmt.Errorf("--panic-kind must be one of %s, not %q", strings.Join(esp.PanicKinds, ", "), k)
}

func panicCommand(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	name := strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(s)), "AT")
	if !strings.HasPrefix(name, "+") || len(name) < 2 || strings.ContainsAny(name, "=?\"") {
		return "", fmt.Errorf("--panic-on wants a command name such as AT+WSSEND, not %q", s)
	}
	return name, nil
}
