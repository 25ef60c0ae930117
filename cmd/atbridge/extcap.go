package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/atbridge/atbridge/bridge/esp"

	"github.com/atbridge/atbridge/bridge"
	"github.com/atbridge/atbridge/bridge/port"
	"github.com/atbridge/atbridge/capture"
)

func init() {
	register(&command{
		name:    "extcap",
		summary: "Wireshark extcap helper: list atbridge as capture interfaces and stream live pcapng to Wireshark",
		usage:   "atbridge extcap --extcap-interfaces | --extcap-dlts|--extcap-config --extcap-interface IF | --capture --extcap-interface IF --fifo PATH [config flags]",
		examples: `  # install (Wireshark runs every program in its extcap folder; see Help > About > Folders > Extcap path):
  printf '#!/bin/sh\nexec %s extcap "$@"\n' "$(command -v atbridge)" | sudo tee /usr/lib/x86_64-linux-gnu/wireshark/extcap/atbridge
  sudo chmod 755 /usr/lib/x86_64-linux-gnu/wireshark/extcap/atbridge
  # then Wireshark lists atbridge-proxy, atbridge-emulate and atbridge-file (tshark -D too)
  # what Wireshark runs
  atbridge extcap --extcap-interfaces
  atbridge extcap --capture --extcap-interface atbridge-proxy --fifo /tmp/fifo --host pty:/tmp/esp --device /dev/ttyUSB0`,
		setup: setupExtcap,
	})
}

// Extcap interface names (the "value" Wireshark passes back).
const (
	extcapProxy   = "atbridge-proxy"
	extcapEmulate = "atbridge-emulate"
	extcapFile    = "atbridge-file"
)

type extcapFlags struct {
	// The protocol's flags (Wireshark's extcap.h).
	interfaces, dlts, config, capture bool
	iface, fifo, version, filter      string
	controlIn, controlOut             string
	// Configuration of the interfaces (what --extcap-config declares).
	host, device, port, firmware, write, file string
	baud                                      int
	pace, force                               bool
}

func setupExtcap(fs *flag.FlagSet) func(context.Context, *env, []string) int {
	f := &extcapFlags{}
	fs.BoolVar(&f.interfaces, "extcap-interfaces", false, "list the interfaces")
	fs.BoolVar(&f.dlts, "extcap-dlts", false, "list the link types of --extcap-interface")
	fs.BoolVar(&f.config, "extcap-config", false, "list the configuration of --extcap-interface")
	fs.BoolVar(&f.capture, "capture", false, "capture from --extcap-interface into --fifo")
	fs.StringVar(&f.iface, "extcap-interface", "", "the interface: "+extcapProxy+", "+extcapEmulate+" or "+extcapFile)
	fs.StringVar(&f.fifo, "fifo", "", "where to write the pcapng stream (Wireshark's FIFO)")
	fs.StringVar(&f.version, "extcap-version", "", "Wireshark's version (informational)")
	fs.StringVar(&f.filter, "extcap-capture-filter", "", "capture filter (not supported: ignored)")
	fs.StringVar(&f.controlIn, "extcap-control-in", "", "control pipe from Wireshark (unused)")
	fs.StringVar(&f.controlOut, "extcap-control-out", "", "control pipe to Wireshark (unused)")
	fs.StringVar(&f.host, "host", "", "atbridge-proxy: the host app's side (pty:PATH, serial device, tcp:HOST:PORT)")
	fs.StringVar(&f.device, "device", "", "atbridge-proxy: the ESP32's side (serial device, tcp:HOST:PORT, pty:PATH or emulate)")
	fs.StringVar(&f.port, "port", "pty:/tmp/esp", "atbridge-emulate: where the host app connects")
	fs.StringVar(&f.firmware, "firmware", "release", "emulator firmware: release or dev")
	fs.IntVar(&f.baud, "baud", port.DefaultBaud, "baud rate of serial ports")
	fs.StringVar(&f.write, "write", "", "also record to this .atcap file")
	fs.BoolVar(&f.force, "force", false, "replace the --write file if it exists")
	fs.StringVar(&f.file, "file", "", "atbridge-file: the .atcap capture to play")
	fs.BoolVar(&f.pace, "pace", false, "atbridge-file: play at the recorded pace instead of all at once")
	return func(ctx context.Context, e *env, args []string) int {
		if len(args) > 0 {
			fmt.Fprintf(e.stderr, "atbridge extcap: unexpected argument %q\n", args[0])
			return exitFailure
		}
		return runExtcap(ctx, e, f)
	}
}

// extcapInterfaces is the --extcap-interfaces answer.
func extcapInterfaces() string {
	return fmt.Sprintf("extcap {version=%s}{display=atbridge: ESP-AT serial traffic and WebSocket links}\n", toolVersion()) +
		"interface {value=" + extcapProxy + "}{display=atbridge: proxy between a host app and an ESP32 (ESP-AT)}\n" +
		"interface {value=" + extcapEmulate + "}{display=atbridge: emulated ESP32 (ESP-AT) on a serial port}\n" +
		"interface {value=" + extcapFile + "}{display=atbridge: play an .atcap capture}\n"
}

// extcapConfig is the --extcap-config answer for one interface.
func extcapConfig(iface string) (string, error) {
	var b strings.Builder
	arg := func(n int, call, display, typ, extra string) {
		fmt.Fprintf(&b, "arg {number=%d}{call=--%s}{display=%s}{type=%s}%s\n", n, call, display, typ, extra)
	}
	firmware := func(n int) {
		arg(n, "firmware", "Emulated firmware", "selector", "{tooltip=release: v5.0.1 (no fin, no WSDATAFMT); dev: master (fin, WSDATAFMT, 16 KiB)}")
		fmt.Fprintf(&b, "value {arg=%d}{value=release}{display=release (v5.0.1)}{default=true}\n", n)
		fmt.Fprintf(&b, "value {arg=%d}{value=dev}{display=dev (master)}{default=false}\n", n)
	}
	switch iface {
	case extcapProxy:
		arg(0, "host", "Host app side", "string", "{required=true}{tooltip=pty:PATH for a PC host app, a serial device such as /dev/ttyUSB0, or tcp:HOST:PORT}{default=pty:/tmp/esp}")
		arg(1, "device", "ESP32 side", "string", "{required=true}{tooltip=a serial device such as /dev/ttyUSB1, tcp:HOST:PORT, pty:PATH, or emulate}{default=emulate}")
		arg(2, "baud", "Baud rate", "unsigned", fmt.Sprintf("{default=%d}{range=50,16000000}", port.DefaultBaud))
		firmware(3)
		arg(4, "write", "Also record to (.atcap)", "fileselect", "{mustexist=false}{tooltip=optional: keep the capture for atbridge show, replay and export}")
		arg(5, "force", "Replace that file if it exists", "boolflag", "{default=false}")
	case extcapEmulate:
		arg(0, "port", "Serial port for the host app", "string", "{required=true}{default=pty:/tmp/esp}{tooltip=pty:PATH (a virtual serial port) or a serial device}")
		firmware(1)
		arg(2, "write", "Also record to (.atcap)", "fileselect", "{mustexist=false}")
		arg(3, "force", "Replace that file if it exists", "boolflag", "{default=false}")
	case extcapFile:
		arg(0, "file", "Capture file (.atcap)", "fileselect", "{required=true}{mustexist=true}")
		arg(1, "pace", "Play at the recorded pace", "boolflag", "{default=false}")
	default:
		return "", fmt.Errorf("unknown interface %q (want %s, %s or %s)", iface, extcapProxy, extcapEmulate, extcapFile)
	}
	return b.String(), nil
}

func runExtcap(ctx context.Context, e *env, f *extcapFlags) int {
	fail := func(format string, a ...any) int {
		fmt.Fprintf(e.stderr, "atbridge extcap: "+format+"\n", a...)
		return exitFailure
	}
	switch {
	case f.interfaces:
		io.WriteString(e.stdout, extcapInterfaces())
		return exitOK
	case f.dlts:
		if _, err := extcapConfig(f.iface); err != nil {
			return fail("%v", err)
		}
		// The stream is pcapng with several link types (RTAC serial,
		// exported PDUs, Ethernet), each declared in its own interface
		// block; this is the nominal one.
		fmt.Fprintf(e.stdout, "dlt {number=252}{name=%s}{display=atbridge pcapng: RTAC serial, exported PDUs (AT), Ethernet (WebSocket)}\n", f.iface)
		return exitOK
	case f.config:
		c, err := extcapConfig(f.iface)
		if err != nil {
			return fail("%v", err)
		}
		io.WriteString(e.stdout, c)
		return exitOK
	case f.capture:
		if f.fifo == "" {
			return fail("--capture needs --fifo PATH")
		}
		switch f.iface {
		case extcapFile:
			return extcapPlay(ctx, e, f)
		case extcapProxy, extcapEmulate:
			return extcapProxyRun(ctx, e, f)
		}
		return fail("unknown interface %q", f.iface)
	}
	return fail("give --extcap-interfaces, --extcap-dlts, --extcap-config or --capture (this command is run by Wireshark; see atbridge extcap --help)")
}

// extcapPlay streams an .atcap file into the FIFO, at once or at its pace.
func extcapPlay(ctx context.Context, e *env, f *extcapFlags) int {
	fail := func(format string, a ...any) int {
		fmt.Fprintf(e.stderr, "atbridge extcap: "+format+"\n", a...)
		return exitFailure
	}
	if f.file == "" {
		return fail("--file is required")
	}
	r, err := capture.Open(f.file, nil)
	if err != nil {
		return fail("%v", err)
	}
	defer r.Close()
	out, err := os.OpenFile(f.fifo, os.O_WRONLY, 0)
	if err != nil {
		return fail("%v", err)
	}
	defer out.Close()
	if !f.pace {
		bw := bufio.NewWriter(out)
		if _, err := capture.Export(ctx, r, bw, nil); err != nil {
			return fail("%v", err)
		}
		if err := bw.Flush(); err != nil {
			return fail("%v", err)
		}
		return exitOK
	}
	feed, err := capture.NewPcapFeed(out, r.Header(), nil, true)
	if err != nil {
		return fail("%v", err)
	}
	defer feed.Close()
	start := time.Now()
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return exitOK
		}
		var d *capture.DamageError
		if errors.As(err, &d) {
			continue
		}
		if err != nil {
			return fail("%v", err)
		}
		if wait := time.Duration(rec.Time) - time.Since(start); wait > 0 {
			select {
			case <-ctx.Done():
				return exitOK
			case <-time.After(wait):
			}
		}
		if err := feed.Write(rec); err != nil {
			return fail("%v", err) // Wireshark stopped reading
		}
	}
}

// discardRecorder is the proxy's Recorder when nothing is kept on disk: the
// records only go to the live stream.
type discardRecorder struct{ start time.Time }

func (d discardRecorder) Now() int64                { return int64(time.Since(d.start)) }
func (discardRecorder) Write(*capture.Record) error { return nil }

// extcapProxyRun runs a proxy (or the emulator behind a pty, which is a
// proxy to the in-process emulator) with its records streamed to the FIFO
// until Wireshark stops the capture (SIGTERM, which cancels ctx).
func extcapProxyRun(ctx context.Context, e *env, f *extcapFlags) int {
	fail := func(format string, a ...any) int {
		fmt.Fprintf(e.stderr, "atbridge extcap: "+format+"\n", a...)
		return exitFailure
	}
	opts := &bridge.ProxyOptions{Host: f.host, Device: f.device}
	if f.iface == extcapEmulate {
		opts.Host, opts.Device = f.port, bridge.EmulateSpec
	}
	if opts.Host == "" || opts.Device == "" {
		return fail("--host and --device are required")
	}
	if f.baud <= 0 {
		return fail("--baud must be positive")
	}
	opts.Line = capture.LineSettings{Baud: f.baud, DataBits: 8, Parity: capture.ParityNone, StopBits: capture.Stop1}
	if opts.Device == bridge.EmulateSpec {
		fw, err := esp.ParseFirmware(f.firmware)
		if err != nil {
			return fail("--firmware: %v", err)
		}
		opts.Emulator = &esp.Options{Firmware: fw, Version: "atbridge " + toolVersion()}
	}
	hdr := capture.Header{
		Tool:  "atbridge " + toolVersion(),
		Start: time.Now().UTC(),
		Ports: []capture.PortInfo{{Name: opts.Host, Role: "host", Line: opts.Line}, {Name: opts.Device, Role: "device", Line: opts.Line}},
		Meta:  map[string]string{"command": "extcap " + f.iface},
	}
	var rec bridge.Recorder = discardRecorder{hdr.Start}
	var file *capture.Writer
	var dst *output
	if f.write != "" {
		var err error
		if dst, err = createOutput(f.write, f.force); err != nil {
			return fail("%v", err)
		}
		w, err := capture.Create(dst.Name(), hdr, nil)
		if err != nil {
			dst.Abort()
			return fail("%v", err)
		}
		file, rec, hdr = w, w, w.Header()
	}
	out, err := openPcapngOut(e, "extcap", f.fifo, hdr)
	if err != nil {
		if file != nil {
			file.Close()
			dst.Abort()
		}
		return fail("%v", err)
	}
	out.alone = file == nil
	opts.Recorder, opts.Observe = rec, out.Observe
	px, err := bridge.OpenProxy(ctx, opts)
	if err != nil {
		out.Close()
		if file != nil {
			file.Close()
			dst.Abort()
		}
		return fail("%v", err)
	}
	runErr := px.Run(ctx)
	px.Close()
	code := exitOK
	if err := out.Close(); err != nil && !errors.Is(err, os.ErrClosed) {
		code = exitFailure
	}
	if file != nil {
		if err := file.Close(); err != nil {
			fmt.Fprintf(e.stderr, "atbridge extcap: %v\n", err)
			code = exitFailure
		}
		if err := dst.Commit(); err != nil {
			fmt.Fprintf(e.stderr, "atbridge extcap: %v\n", err)
			code = exitFailure
		}
	}
	if runErr != nil {
		fmt.Fprintf(e.stderr, "atbridge extcap: %v\n", runErr)
		code = exitFailure
	}
	return code
}
