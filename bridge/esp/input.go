package esp

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/formats"
	"github.com/atbridge/atbridge/formats/at"
)

// maxLine is where the firmware silently resets its receive buffer: 255
// bytes without a terminator (esp-at.md §1.2). A line of 254 bytes plus CRLF
// (256 in all) is accepted: when the 255th byte is the CR of the terminator,
// the emulator waits for the LF rather than resetting.
const maxLine = 255

// promptReq is a command waiting for exactly n raw bytes after its ">".
type promptReq struct {
	n    int
	buf  []byte
	done chan struct{}
	// cancelable: a chunk that is exactly "+++" ends the data entry
	// (AT+CIPSEND's own receive state, esp-at.md §1.5); canceled says it did.
	cancelable, canceled bool
	esc                  *sendexScan // AT+CIPSENDEX: the data also ends at `\0` (sendex.go)
	// taken counts bytes a streaming reader (AT+CIPSENDL, sendl.go) took
	// out of buf; wake, when set, is signalled when bytes arrive.
	taken int
	wake  chan struct{}
}

// feed runs the recv task's state machine over one chunk the host sent.
//
//   - command mode: bytes are echoed (ATE1) as they arrive and collected up
//     to CRLF, then the line goes to the executor and the state becomes busy;
//   - prompt mode: bytes fill the pending prompt exactly, never echoed;
//   - passthrough (AT+CIPMODE=1 and AT+CIPSEND): bytes go to the TCP link
//     as data, "+++" alone leaves (tcp.go);
//   - busy: the rest of the chunk is answered with "busy p..." and dropped,
//     unless it contains "AT+RST\r\n", which forces a restart.
func (e *Emulator) feed(p []byte) {
	line := &e.line
	whole := len(p)
	for len(p) > 0 {
		e.mu.Lock()
		if e.rebooting {
			e.mu.Unlock()
			*line = (*line)[:0]
			e.log.Info("input dropped: the emulated board is restarting", "bytes", len(p))
			return
		}
		if pt := e.pt; pt != nil {
			pt.add(p, time.Now())
			e.mu.Unlock()
			return
		}
		if pr := e.prompt; pr != nil {
			if pr.cancelable && len(p) == whole && string(p) == "+++" {
				e.prompt = nil
				pr.canceled = true
				close(pr.done)
				e.mu.Unlock()
				return
			}
			take := min(len(p), pr.n-pr.taken-len(pr.buf))
			if pr.esc != nil {
				take = pr.esc.scan(p[:take])
			}
			pr.buf = append(pr.buf, p[:take]...)
			p = p[take:]
			if pr.wake != nil {
				select {
				case pr.wake <- struct{}{}:
				default:
				}
			}
			if len(pr.buf)+pr.taken == pr.n || pr.esc != nil && pr.esc.ended {
				e.prompt = nil
				close(pr.done)
			}
			e.mu.Unlock()
			if len(p) > 0 {
				// Bytes beyond the announced length go back to the parser
				// while the command is still busy (esp-at.md §1.4).
				e.busyInput(p)
				return
			}
			continue
		}
		if e.busy {
			e.mu.Unlock()
			e.busyInput(p)
			return
		}
		echo := e.st.echo
		e.mu.Unlock()

		consumed, full := 0, false
		for consumed < len(p) {
			*line = append(*line, p[consumed])
			consumed++
			n := len(*line)
			if n >= 2 && (*line)[n-2] == '\r' && (*line)[n-1] == '\n' {
				full = true
				break
			}
			if n >= maxLine && (*line)[n-1] != '\r' || n > maxLine {
				if echo {
					e.write(e.curGen(), p[:consumed])
				}
				p = p[consumed:]
				consumed = 0
				e.log.Info("input line reset: 255 bytes without CRLF (firmware behaviour, nothing printed)")
				*line = (*line)[:0]
			}
		}
		if echo && consumed > 0 {
			e.write(e.curGen(), p[:consumed])
		}
		p = p[consumed:]
		if !full {
			return
		}
		text := bytes.Clone((*line)[:len(*line)-2])
		*line = (*line)[:0]
		if e.dispatch(text) && len(p) > 0 {
			// The rest of this read arrived while the command runs: it is
			// never data for a prompt the command has yet to print.
			e.busyInput(p)
			return
		}
	}
}

// busyInput answers input that arrives while a command runs.
func (e *Emulator) busyInput(p []byte) {
	if bytes.Contains(p, []byte("AT+RST\r\n")) {
		e.log.Info("AT+RST while busy: forced restart (firmware prints Will force to restart!!!)")
		e.write(e.curGen(), []byte("\r\nWill force to restart!!!\r\n\r\nOK\r\n"))
		e.reboot(false)
		return
	}
	e.mu.Lock()
	syslog := e.st.syslog
	e.mu.Unlock()
	// One write, so that the running command's output cannot split it.
	msg := "\r\nbusy p...\r\n"
	if syslog {
		msg = "ERR CODE:0x010b0000\r\n" + msg
	}
	e.write(e.curGen(), []byte(msg))
	e.log.Info("input while a command runs: answered busy p... and dropped it", "bytes", len(p), "data", quoteShort(p))
}

// dispatch parses a complete line and hands it to the executor, reporting
// true; lines that do not parse are answered here without going busy.
func (e *Emulator) dispatch(line []byte) bool {
	cmd, err := at.ParseCommand(line)
	if err != nil {
		code := "0x01080000"
		if errors.Is(err, at.ErrNotCommand) {
			code = "0x01030000"
		}
		e.mu.Lock()
		syslog := e.st.syslog
		e.mu.Unlock()
		msg := "\r\nERROR\r\n"
		if syslog {
			msg = "ERR CODE:" + code + "\r\n" + msg
		}
		e.write(e.curGen(), []byte(msg))
		e.log.Info("malformed command line: answered ERROR", "line", quoteShort(line), "err", err)
		return false
	}
	e.mu.Lock()
	e.busy = true
	cmds := e.cmds
	e.mu.Unlock()
	cmds <- queuedCmd{cmd: cmd, gen: e.curGen()}
	return true
}

// queuedCmd is a command line handed from the reader to the executor, with
// the boot generation it was typed in.
type queuedCmd struct {
	cmd *at.Command
	gen uint64
}

// executor runs one command at a time, as the AT task does.
func (e *Emulator) executor(cmds <-chan queuedCmd) {
	for q := range cmds {
		e.execMu.Lock()
		if q.gen != e.curGen() {
			// Typed before a restart that happened before the command
			// started: the rebooted board never saw it.
			e.execMu.Unlock()
			e.log.Info("command typed before a restart: dropped", "command", quoteShort(q.cmd.Line))
			continue
		}
		e.mu.Lock()
		ctx := e.bootCtx
		e.mu.Unlock()
		c := &call{e: e, ctx: ctx, gen: q.gen, cmd: q.cmd}
		res := e.run(c)
		out := resultBytes[res]
		if c.final != nil {
			out = c.final
		}
		if c.restart != restartNone {
			// OK goes out while still busy; input during the reboot is
			// dropped, and the reboot clears busy when "ready" is out.
			e.write(c.gen, out)
			e.execMu.Unlock()
			e.rebootAfter(c.restart == restartRestore, c.sleep)
			continue
		}
		e.finish(c.gen, out)
		e.execMu.Unlock()
		if c.after != nil {
			c.after()
		}
	}
}

// call is one command being executed.
type call struct {
	e       *Emulator
	ctx     context.Context
	gen     uint64
	cmd     *at.Command
	after   func() // runs once the command is no longer busy
	restart restartKind
	final   []byte        // replaces the result string when a handler sets it
	sleep   time.Duration // with restart: how long the board sleeps first (AT+GSLP)
}

// restartKind says whether a command restarts the board after its result.
type restartKind int

const (
	restartNone restartKind = iota
	restartReboot
	restartRestore // AT+RESTORE: also put the flash back to factory settings
)

// Result codes of a handler (esp-at.md §1.1).
type result int

const (
	resOK result = iota
	resError
	resSendOK
	resSendFail
	resNone // the handler printed everything itself
)

func (c *call) write(b []byte) { c.e.write(c.gen, b) }
func (c *call) print(s string) { c.e.write(c.gen, []byte(s)) }

// resultBytes are the final result strings (esp-at.md §1.1).
var resultBytes = map[result][]byte{
	resOK:       []byte("\r\nOK\r\n"),
	resError:    []byte("\r\nERROR\r\n"),
	resSendOK:   []byte("\r\nSEND OK\r\n"),
	resSendFail: []byte("\r\nSEND FAIL\r\n"),
}

// finish ends the running command: the busy state is cleared and the final
// result written under one hold of the output lock, so a host that answers
// the result at once is never told busy p..., and the echo of its next line
// cannot overtake the result.
func (e *Emulator) finish(gen uint64, res []byte) {
	e.outMu.Lock()
	defer e.outMu.Unlock()
	e.mu.Lock()
	e.busy = false
	e.mu.Unlock()
	if gen != e.gen || e.out == nil || len(res) == 0 {
		return
	}
	if _, err := e.out.Write(res); err != nil {
		e.log.Warn("writing to the host failed", "err", err)
		return
	}
	e.recordChunk(formats.ToHost, res)
}

// errorf logs why the command fails and returns resError.
func (c *call) errorf(why string, args ...any) result {
	c.e.log.Info("answered ERROR: "+why, append([]any{"cmd", string(c.cmd.Line)}, args...)...)
	return resError
}

// readPrompt prints "\r\nOK\r\n\r\n>" and waits, with no timeout as the
// firmware, until exactly n raw bytes have arrived. It returns nil when the
// board restarts or Serve ends first.
func (c *call) readPrompt(n int) []byte {
	b, _ := c.readData(n, false)
	return b
}

// readData is readPrompt; when cancelable, a chunk that is exactly "+++"
// ends the wait early with canceled set and no data.
func (c *call) readData(n int, cancelable bool) (data []byte, canceled bool) {
	return c.awaitData(&promptReq{n: n, buf: make([]byte, 0, n), done: make(chan struct{}), cancelable: cancelable})
}

// awaitData prints the prompt and waits for pr to fill (readData).
func (c *call) awaitData(pr *promptReq) (data []byte, canceled bool) {
	n := pr.n
	c.e.mu.Lock()
	c.e.prompt = pr
	c.e.mu.Unlock()
	c.print("\r\nOK\r\n\r\n>")
	c.e.log.Debug("prompt: waiting for exactly this many raw bytes, with no timeout as the firmware", "cmd", string(c.cmd.Line), "bytes", n)
	select {
	case <-pr.done:
		if pr.canceled {
			return nil, true
		}
		return pr.buf, false
	case <-c.ctx.Done():
		c.e.mu.Lock()
		if c.e.prompt == pr {
			c.e.prompt = nil
		}
		c.e.mu.Unlock()
		return nil, false
	}
}

// reboot restarts the emulated board: links dropped without a URC, the
// running state rebuilt from the flash (flash.go; with restore, the flash is
// put back to factory settings first), a silent pause, then
// "\r\nready\r\n" and, with auto-connect and a saved AP, the Wi-Fi URCs.
// It is called by the reader (a forced restart) or by the executor after
// AT+RST or AT+RESTORE printed OK, never while holding execMu. Until "ready"
// the reader drops input; then busy is cleared.
func (e *Emulator) reboot(restore bool) { e.rebootAfter(restore, 0) }

// rebootAfter is reboot with the board silent for sleep more than the
// restart delay, as after AT+GSLP.
func (e *Emulator) rebootAfter(restore bool, sleep time.Duration) {
	e.mu.Lock()
	parent := e.serveCtx
	if parent == nil || parent.Err() != nil || e.rebooting {
		e.mu.Unlock() // stopping, or a restart is already under way
		return
	}
	e.rebooting = true
	stop := e.bootStop
	e.mu.Unlock()

	e.bumpGen() // drop whatever the old boot still wanted to print
	stop()
	e.execMu.Lock() // wait for the running command to give up
	defer e.execMu.Unlock()
	e.closeAllLinks()
	e.asyncWG.Wait()

	e.mu.Lock()
	if restore {
		e.flash = defaultFlash()
	}
	prevUART := e.st.uartCur
	e.powerOnLocked()
	nowUART := e.st.uartCur
	e.prompt, e.pt = nil, nil
	e.mu.Unlock()
	e.event(capture.Event{Type: capture.EvNote, Text: "emulator restarted"})

	// A board prints its ROM banner on the log UART as it comes out of
	// reset (after a deep sleep, when it wakes), and "ready" on the AT
	// UART only once the AT firmware is up: the banner comes first.
	select {
	case <-time.After(sleep):
	case <-parent.Done():
	}
	e.outMu.Lock()
	e.start = time.Now()
	e.outMu.Unlock()
	e.mu.Lock()
	why := e.nextReset
	e.nextReset = resetSoftware
	e.mu.Unlock()
	if sleep > 0 {
		why = resetDeepSleep
	}
	e.logBoot(why)
	select {
	case <-time.After(e.opts.RestartDelay):
	case <-parent.Done():
	}
	e.applyBootLine(prevUART, nowUART)

	e.mu.Lock()
	e.bootCtx, e.bootStop = context.WithCancel(parent)
	e.rebooting = false
	e.busy = false
	e.mu.Unlock()
	e.logSync()
	gen := e.curGen()
	e.write(gen, []byte("\r\nready\r\n"))
	e.log.Info("emulator restarted", "restore", restore)
	e.bootURCs(gen)
}

// quoteShort renders input for a log line, cut to 64 bytes.
func quoteShort(b []byte) string {
	if len(b) > 64 {
		return strconv.Quote(string(b[:64])) + "..."
	}
	return strconv.Quote(string(b))
}
