package esp

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/formats"
)

// Firmware selects which ESP-AT WebSocket command set the emulator speaks
// (esp-at.md "Version split").
type Firmware int

// Firmware variants.
const (
	// FirmwareRelease is esp-at v5.0.1.0: no AT+WSDATAFMT, no <fin> on
	// AT+WSSEND, buffer_size and WSSEND length up to 8192.
	FirmwareRelease Firmware = iota
	// FirmwareDev is esp-at master (core 32ff6e1): AT+WSDATAFMT, <fin>,
	// limits of 16384, and AT+WSSEND=<id>,0 sends at once without a prompt.
	FirmwareDev
)

// String returns "release" or "dev".
func (f Firmware) String() string {
	if f == FirmwareDev {
		return "dev"
	}
	return "release"
}

// ParseFirmware is the inverse of String.
func ParseFirmware(s string) (Firmware, error) {
	switch s {
	case "release", "":
		return FirmwareRelease, nil
	case "dev":
		return FirmwareDev, nil
	}
	return FirmwareRelease, fmt.Errorf("unknown firmware %q (want release or dev)", s)
}

// Options configures an Emulator. A nil *Options means all
// defaults.
type Options struct {
	// Firmware is the command set to emulate; the zero value is
	// FirmwareRelease.
	Firmware Firmware
	// PKIDir is a folder laid out as ESP-AT's raw_data partitions:
	// wss_cert/wss_client_NN.crt, wss_key/wss_client_NN.key and
	// wss_ca/wss_ca_NN.crt. Empty means no certificates: AT+WSCFG with an
	// auth_mode other than 0 answers NO CERT FOUND or NO CA FOUND.
	// MQTT reads MQTTClientCertFile, MQTTClientKeyFile and MQTTCAFile here.
	PKIDir string
	// AccessPoints are the networks the emulated radio sees: AT+CWLAP lists
	// them and AT+CWJAP joins only them, checking the password (+CWJAP:3 for
	// an SSID or BSSID not listed, +CWJAP:2 for a wrong password; an open
	// AP, ecn 0, takes any). nil means DefaultAccessPoints, and then an SSID
	// not in that list joins too, with any password, as an AP nobody
	// scanned (the emulator's behaviour before the list existed). Read one
	// from JSON with ParseAccessPoints.
	AccessPoints []AccessPoint
	// CWJAPFail, when 1..4, makes every AT+CWJAP fail with +CWJAP:<code>
	// (1 timeout, 2 wrong password, 3 no AP, 4 fail). Zero means connect;
	// the password "wrong-password" always fails with code 2.
	CWJAPFail int
	// ReconnectInterval is how long a link waits before each automatic
	// reconnect; zero means 10 s, the firmware's value.
	ReconnectInterval time.Duration
	// NetworkTimeout bounds one connection attempt (TCP, TLS and the
	// WebSocket handshake; AT+CIPSTART) and one write to a TCP link; zero
	// means 10 s, the value AT+WSOPEN gives the library.
	NetworkTimeout time.Duration
	// SplitDeliveries, when positive, cuts received data into pieces of at
	// most this many bytes, one +IPD or +WS_DATA each, as a board does at
	// TCP segment boundaries (a UDP datagram stays whole); 0 means off.
	SplitDeliveries int
	// ServerBind is the host address AT+CIPSERVER listens on; empty means
	// 127.0.0.1 (::1 for "TCPv6" and "SSLv6"). "0.0.0.0" lets other
	// machines reach the emulated board's server.
	ServerBind string
	// ServerPortOffset is added to every AT+CIPSERVER port, so that a host
	// app asking for port 80 or 333 can run where ports below 1024 are
	// privileged or taken; queries and +LINK_CONN still show the asked port.
	ServerPortOffset int
	// LogUART, when set, receives what the board prints on its console
	// UART (logport.go): boot banners with the reset cause, ESP-IDF log
	// lines for the emulator's events, and the panic of PanicOn.
	LogUART io.Writer
	// PanicOn names a command (as the decoder names it, e.g. "+WSSEND")
	// that crashes the board: the panic goes to LogUART, the AT UART stays
	// silent, and the board restarts. Empty means never.
	PanicOn string
	// PanicKind is how the board fails in PanicOn's command: "" or
	// "loadprohibited" (a CPU exception: Guru Meditation, register dump,
	// backtrace), "abort" (abort() from a failed check), "assert",
	// "task-wdt" (the task watchdog, configured to panic), "int-wdt" (the
	// interrupt watchdog) or "brownout" (the supply dipped: the reset
	// reason is then RTCWDT_BROWN_OUT_RESET). See PanicKinds.
	PanicKind string
	// RestartDelay is how long a reboot (AT+RST, AT+RESTORE) stays silent
	// before "ready"; zero means 300 ms.
	RestartDelay time.Duration
	// Version is printed by AT+GMR to identify the emulator build, e.g.
	// "atbridge v0.1.0"; empty means "atbridge".
	Version string
	// Log receives one line per decision worth knowing (a command answered
	// ERROR and why, a link lost); nil discards.
	Log *slog.Logger
	// Now is the host clock used by AT+CIPSNTPTIME?; nil means time.Now.
	Now func() time.Time
	// Record, when set, receives every serial chunk in both directions,
	// every WebSocket frame sent or received and link events. It is called
	// from several goroutines, one call at a time, with records whose Time
	// comes from Clock; the record and its Data are only valid during the
	// call. Serial chunks use Port capture.PortHost (the host app's side of
	// the emulated UART); Dir ToDevice is what the host typed.
	Record func(*capture.Record)
	// Clock gives Record's timestamps (capture.Writer.Now); nil means
	// nanoseconds since Serve started.
	Clock func() int64
}

// Emulator is a software ESP32 running ESP-AT with the WebSocket and TCP
// client commands. It answers AT commands on a serial-like stream byte for
// byte as the firmware does (docs: esp-at.md), while its WebSocket and TCP
// links are real connections to the servers the host names in AT+WSOPEN and
// AT+CIPSTART (tcp.go).
//
// WebSocket client: the emulator speaks RFC 6455 frames itself (formats'
// WSHeader codec over net.Conn or tls.Conn, see wsclient.go) instead of
// going through github.com/coder/websocket, because the host-visible bytes
// depend on frame-level behaviour that library hides: fragmenting by
// buffer_size into CONT frames, raw opcodes 3..15, empty FIN continuations,
// reading a frame in buffer_size pieces (one +WS_DATA each), answering pings,
// timing pongs and seeing close frames.
//
// An Emulator serves one port at a time. Serve may be called again after it
// returns: each call boots the board afresh, with the settings the firmware
// keeps in flash (flash.go: with AT+SYSSTORE=1 the Wi-Fi mode, the joined
// AP, AT+SYSMSG...; always AT+UART_DEF and AT+CWAUTOCONN) as they were
// saved, and the others at their power-on values.
// Its methods are safe for concurrent use.
type Emulator struct {
	opts Options
	log  *slog.Logger

	outMu   sync.Mutex // serialises writes to the port and their records
	out     io.Writer
	gen     uint64    // boot generation; output from an older boot is dropped
	start   time.Time // last boot, for uptime
	recBase time.Time // Serve's start, for the default recording clock
	lineFn  func(capture.LineSettings) error

	recMu sync.Mutex

	// dialFilter, set by tests before Serve, vetoes connections (fuzzing
	// must not reach beyond loopback).
	dialFilter func(host string) error
	// dnsPort, set by tests, replaces port 53 for AT+CIPDNS's servers;
	// pingVia, set by tests, forces one of AT+PING's methods (ping.go).
	dnsPort    int
	pingVia    pingMethod
	pingLogged atomic.Int32 // the AT+PING method last logged

	logMu      sync.Mutex  // guards logCh and logDropped (logport.go)
	nextReset  bootReset   // why the next reboot happens (a PanicKind's), under mu
	logCh      chan logMsg // lines for Options.LogUART while serving
	logDropped int

	execMu sync.Mutex // held while a command handler runs

	mu    sync.Mutex // guards the fields below
	st    emuState
	flash flashSettings // the NVS partition (flash.go); kept across boots
	// input state
	busy      bool
	rebooting bool
	prompt    *promptReq
	pt        *passthrough // AT+CIPSEND in AT+CIPMODE=1 is running
	line      []byte       // command-mode input; only the reader touches it
	serveCtx  context.Context
	bootCtx   context.Context
	bootStop  context.CancelFunc
	cmds      chan queuedCmd
	// links and their owner goroutines
	links   [wsLinks]*wsLink
	linkWG  sync.WaitGroup
	tcp     [tcpLinks]*tcpLink // AT+CIPSTART links (tcp.go)
	srv     *listenServer      // AT+CIPSERVER (server.go)
	tcpWG   sync.WaitGroup
	asyncWG sync.WaitGroup // +TIME_UPDATED and similar delayed URCs

	mqtt *mqttLink // AT+MQTT* link 0 (mqtt.go); nil: uninitialised
}

// New returns an Emulator in the state of a freshly flashed board.
func New(opts *Options) *Emulator {
	e := &Emulator{}
	if opts != nil {
		e.opts = *opts
	}
	if e.opts.ReconnectInterval <= 0 {
		e.opts.ReconnectInterval = 10 * time.Second
	}
	if e.opts.NetworkTimeout <= 0 {
		e.opts.NetworkTimeout = 10 * time.Second
	}
	if e.opts.ServerBind == "" {
		e.opts.ServerBind = "127.0.0.1"
	}
	if e.opts.RestartDelay <= 0 {
		e.opts.RestartDelay = 300 * time.Millisecond
	}
	if e.opts.Version == "" {
		e.opts.Version = "atbridge"
	}
	if e.opts.Now == nil {
		e.opts.Now = time.Now
	}
	e.log = e.opts.Log
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	e.flash = defaultFlash()
	e.st = defaultState()
	return e
}

// lineSetter is what a port.Port offers to change the UART settings.
type lineSetter interface {
	SetLine(capture.LineSettings) error
}

// readDeadliner is implemented by *os.File and net.Conn: Serve uses it to
// unblock a Read when ctx ends without closing a port it does not own.
type readDeadliner interface {
	SetReadDeadline(time.Time) error
}

// Serve runs the emulator on port until ctx ends or reading port fails. It
// writes the boot banner "\r\nready\r\n" first. port may be a Port: then
// AT+UART_CUR and AT+UART_DEF change its line settings after their OK.
//
// When ctx ends, Serve unblocks its pending Read with SetReadDeadline if
// port has it, or else by closing port if it is an io.Closer; otherwise the
// Read must return by itself. Serve closes every WebSocket link and waits for
// all its goroutines before it returns. It returns nil when ctx ended and the
// read error otherwise (wrapping io.EOF when the host side went away).
func (e *Emulator) Serve(ctx context.Context, port io.ReadWriter) error {
	e.outMu.Lock()
	e.out = port
	e.start = time.Now()
	e.recBase = e.start
	e.lineFn = nil
	if ls, ok := port.(lineSetter); ok {
		e.lineFn = ls.SetLine
	}
	e.outMu.Unlock()

	e.mu.Lock()
	serveCtx, serveStop := context.WithCancel(ctx)
	defer serveStop()
	e.serveCtx = serveCtx
	e.line = e.line[:0]
	e.bootCtx, e.bootStop = context.WithCancel(serveCtx)
	e.cmds = make(chan queuedCmd, 1)
	e.busy, e.rebooting, e.prompt, e.pt = false, false, nil, nil
	e.powerOnLocked()
	bootUART := e.st.uartCur
	cmds := e.cmds
	e.mu.Unlock()
	// The port is as the caller opened it: a board whose AT+UART_DEF is not
	// the factory setting boots with its own.
	e.applyBootLine(defaultFlash().uartDef, bootUART)

	stopLog := e.startLogUART()
	defer stopLog()
	e.logBoot(resetPowerOn)
	e.event(capture.Event{Type: capture.EvNote, Text: "emulator started (" + e.opts.Firmware.String() + " firmware)"})
	e.logSync() // the boot banner before "ready", as on a board
	e.write(e.curGen(), []byte("\r\nready\r\n"))
	e.log.Info("emulator ready", "firmware", e.opts.Firmware.String())
	e.bootURCs(e.curGen()) // auto-connect, as after AT+RST

	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		e.executor(cmds)
	}()

	readErr := make(chan error, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		readErr <- e.reader(port)
	}()

	var err error
	select {
	case <-ctx.Done():
		if d, ok := port.(readDeadliner); ok {
			_ = d.SetReadDeadline(time.Now())
		} else if c, ok := port.(io.Closer); ok {
			_ = c.Close()
		}
		<-readErr
	case err = <-readErr:
		err = fmt.Errorf("emulator: reading the port: %w", err)
	}

	serveStop()
	e.mu.Lock()
	e.bootStop()
	e.mu.Unlock()
	close(cmds)
	wg.Wait() // the executor gives up its command: every wait watches ctx
	e.closeAllLinks()
	e.asyncWG.Wait()
	e.bumpGen()
	if d, ok := port.(readDeadliner); ok {
		_ = d.SetReadDeadline(time.Time{})
	}
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// reader is the "recv task": it reads the port and feeds the input state
// machine until a read fails.
func (e *Emulator) reader(port io.Reader) error {
	buf := make([]byte, 4096)
	for {
		n, err := port.Read(buf)
		if n > 0 {
			e.recordChunk(formats.ToDevice, buf[:n])
			e.feed(buf[:n])
		}
		if err != nil {
			return err
		}
	}
}

// curGen returns the current boot generation.
func (e *Emulator) curGen() uint64 {
	e.outMu.Lock()
	defer e.outMu.Unlock()
	return e.gen
}

// bumpGen starts a new boot generation: output queued by the old one is
// dropped, as a reset board forgets what it was about to print.
func (e *Emulator) bumpGen() {
	e.outMu.Lock()
	e.gen++
	e.outMu.Unlock()
}

// write sends b to the host in one write unless gen is stale.
func (e *Emulator) write(gen uint64, b []byte) {
	e.outMu.Lock()
	if gen != e.gen || e.out == nil {
		e.outMu.Unlock()
		return
	}
	// Record before writing: once the bytes are out, the host may answer
	// and the reader record that answer, and a capture must never hold a
	// reply ahead of what it answers.
	e.recordChunk(formats.ToHost, b)
	n, err := e.out.Write(b)
	e.outMu.Unlock()
	// The note goes out after outMu is free: recording it mirrors it on
	// the log UART, whose line stamp (uptime) takes outMu.
	if err != nil {
		e.log.Warn("writing to the host failed", "err", err)
		e.event(capture.Event{Type: capture.EvNote, Text: fmt.Sprintf("emulator: writing to the host failed after %d of %d bytes: %v", n, len(b), err)})
	}
}

// uptime returns the time since the last boot.
func (e *Emulator) uptime() time.Duration {
	e.outMu.Lock()
	defer e.outMu.Unlock()
	return time.Since(e.start)
}

// Emulate runs a freshly booted emulator with options o (nil means all
// defaults) on dev until ctx ends or reading dev fails, as Serve does, with
// o's Clock and Record replaced by clock and record. It lets a proxy run the
// emulator as its device (bridge.ProxyOptions.Emulator) without importing
// this package.
func (o *Options) Emulate(ctx context.Context, dev io.ReadWriter, clock func() int64, record func(*capture.Record)) error {
	var eo Options
	if o != nil {
		eo = *o
	}
	eo.Clock, eo.Record = clock, record
	return New(&eo).Serve(ctx, dev)
}

// EmulateWithLog is Emulate with the board's console (Options.LogUART)
// written to log: a proxy records it as the capture's log UART
// (bridge.ProxyOptions.LogPort "emulate").
func (o *Options) EmulateWithLog(ctx context.Context, dev io.ReadWriter, log io.Writer, clock func() int64, record func(*capture.Record)) error {
	var eo Options
	if o != nil {
		eo = *o
	}
	eo.LogUART = log
	return eo.Emulate(ctx, dev, clock, record)
}
