package at

import "github.com/atbridge/atbridge/formats"

// This file pairs commands with results and follows the device state the
// results change: echo, AT+WSDATAFMT, AT+CIPMODE, WebSocket link states,
// restarts.

// maxListed bounds Transaction.Unsolicited and Response.
const maxListed = 1024

// maxPending bounds the commands waiting for a result.
const maxPending = 64

// maxEchoQueue bounds the host bytes kept for matching the device's echo.
const maxEchoQueue = 4096

// promptKind says what a command's ">" prompt starts.
type promptKind uint8

const (
	promptNone        promptKind = iota
	promptPayload                // n raw bytes (the commands in payloadCommands)
	promptPassthrough            // AT+CIPSEND with AT+CIPMODE=1
)

// txState is a command waiting for its final result.
type txState struct {
	alloc   *txAlloc
	tx      *Transaction
	echoEnd int64 // echo index just past the command line
	link    int
	prompt  promptKind
	n       int64      // announced payload length
	end     payloadEnd // how the payload ends
	opcode  int        // AT+WSSEND
	fin     int
	ws      bool // AT+WSSEND: report a WSMessage at the result
	wsData  []byte
	paid    bool // the payload was typed in full
	done    bool // finished: its Transaction was emitted and must not change
	opened  bool // AT+WSOPEN moved its link from closed to connecting

	// Host stream offsets of the command line and of wsData while they
	// are parts of the stream buffer, else -1 (see relocate).
	lineOff, wsOff int64
}

// txAlloc groups what one command needs, allocated at once: its state,
// Transaction, parsed Command with room for four parameters, the WSMessage
// of an AT+WSSEND and the first response slots.
type txAlloc struct {
	ts     txState
	tx     Transaction
	cmd    Command
	msg    WSMessage
	params [4]Param
	resp   [6]int64
	// kept: an event referring to this (EvCommand, EvTransaction,
	// EvWSMessage) went out of Feed or Flush, to be kept by the caller;
	// otherwise only Decode handed it out, and it may be recycled.
	kept bool
}

// session is what the decoder knows about the device.
type session struct {
	echoOn      bool
	echoQ       []byte // command-mode host bytes not yet matched or settled
	echoBase    int64  // echo index of echoQ[0]
	echoCount   int64  // command-mode host bytes so far
	pending     []*txState
	links       [3]LinkState
	fmts        [3]WSDataFormat
	cipmode     bool
	passthrough bool
	restarting  bool // "Will force to restart!!!" seen; the next OK answers AT+RST
	// cipdinfo is the AT+CIPDINFO setting (does +CIPRECVDATA show the
	// remote address?): 0 or 1, -1 when unknown (before the first restart
	// or AT+CIPDINFO reply). It is not saved in flash: a restart clears it.
	cipdinfo int8
}

func (s *session) reset(d *Decoder) {
	s.echoOn = !d.opts.EchoOff
	s.echoQ = s.echoQ[:0]
	s.echoBase = s.echoCount
	s.fmts = d.opts.DataFormat
	s.cipmode = false
	s.passthrough = false
	s.restarting = false
	s.cipdinfo = 0
}

// typed records command-mode host bytes for echo matching.
func (s *session) typed(p []byte) {
	s.echoQ = append(s.echoQ, p...)
	s.echoCount += int64(len(p))
	if over := len(s.echoQ) - maxEchoQueue; over > 0 {
		s.dropEcho(s.echoBase + int64(over))
	}
}

// dropEcho forgets queued host bytes before echo index upTo.
func (s *session) dropEcho(upTo int64) {
	n := upTo - s.echoBase
	if n <= 0 {
		return
	}
	if n >= int64(len(s.echoQ)) {
		s.echoBase += int64(len(s.echoQ))
		s.echoQ = s.echoQ[:0]
		return
	}
	s.echoQ = s.echoQ[:copy(s.echoQ, s.echoQ[n:])]
	s.echoBase = upTo
}

func (s *session) head() *txState {
	if len(s.pending) == 0 {
		return nil
	}
	return s.pending[0]
}

func listSeq(l []int64, seq int64) ([]int64, bool) {
	if len(l) >= maxListed {
		return l, false
	}
	return append(l, seq), true
}

// respond lists seq as part of ts's response, keeping the list sorted
// (discarded host bytes are settled after the device's "busy p...").
func respond(ts *txState, seq int64) {
	if ts == nil || ts.done {
		return
	}
	l, ok := listSeq(ts.tx.Response, seq)
	if !ok {
		return
	}
	for i := len(l) - 1; i > 0 && l[i] < l[i-1]; i-- {
		l[i], l[i-1] = l[i-1], l[i]
	}
	ts.tx.Response = l
}

// untype forgets the last n typed bytes still queued for echo: input the
// busy firmware drops without echoing.
func (s *session) untype(n int) {
	if n > len(s.echoQ) {
		n = len(s.echoQ)
	}
	s.echoQ = s.echoQ[:len(s.echoQ)-n]
	s.echoCount -= int64(n)
}

// pendingNamed returns the first running command with the given name.
func (s *session) pendingNamed(name string) *txState {
	for _, ts := range s.pending {
		if ts.tx.Cmd != nil && ts.tx.Cmd.Name == name {
			return ts
		}
	}
	return nil
}

// unsolicited lists a URC on every running command.
func (s *session) unsolicited(seq int64) {
	for _, ts := range s.pending {
		var ok bool
		if ts.tx.Unsolicited, ok = listSeq(ts.tx.Unsolicited, seq); !ok {
			ts.tx.Dropped++
		}
	}
}

// wsCommand reports whether the command takes a WebSocket link id 0..2 as
// its first parameter.
func wsCommand(name string) bool {
	switch name {
	case "+WSSEND", "+WSCFG", "+WSOPEN", "+WSDATAFMT", "+WSCLOSE":
		return true
	}
	return false
}

// command registers a complete host command line (event seq at time t,
// its Command parsed into a unless e.Cmd is nil) and returns its
// transaction state.
func (d *Decoder) command(a *txAlloc, seq int64, e *Event, t int64) *txState {
	s := &d.s
	tx := &a.tx
	*tx = Transaction{Cmd: e.Cmd, Line: e.Line, CmdSeq: seq, Sent: t, ResultSeq: -1, Busy: len(s.pending) > 0,
		Response: a.resp[:0], Unsolicited: tx.Unsolicited[:0]}
	ts := &a.ts
	*ts = txState{alloc: a, tx: tx, echoEnd: s.echoCount, link: -1, opcode: -1, fin: -1, lineOff: e.Offset, wsOff: -1}
	if len(s.pending) >= maxPending {
		// A device that answers nothing while the host keeps typing: the
		// oldest command will not get its result now.
		d.finish(s.pending[0], "", -1, t, ErrNoResult)
	}
	s.pending = append(s.pending, ts)
	c := e.Cmd
	if c == nil {
		return ts
	}
	if c.Type == CmdSet && wsCommand(c.Name) {
		ts.link = wsLinkParam(c)
	}
	if sp := payloadSpecOf(c); sp != nil {
		if sp.link != nil {
			ts.link = sp.link(c)
		}
		if n, ok := sp.length(c); ok {
			ts.prompt, ts.n, ts.end = promptPayload, n, sp.end
			if c.Name == "+WSSEND" {
				ts.ws, ts.opcode, ts.fin = true, 1, 1
				if op, ok := c.Int(2); ok {
					ts.opcode = int(op)
				}
				if f, ok := c.Int(4); ok && d.opts.Firmware != FirmwareRelease {
					ts.fin = int(f)
				}
			}
		}
	}
	switch {
	case c.Name == "+CIPSEND" && c.Type == CmdExec && s.cipmode:
		ts.prompt = promptPassthrough
	case c.Name == "+WSOPEN" && c.Type == CmdSet && ts.link >= 0 && !tx.Busy:
		if s.links[ts.link] == LinkClosed {
			ts.opened = true
			d.setLink(ts.link, LinkConnecting, t)
		}
	}
	return ts
}

// setLink changes a link's state, emitting EvLinkState on a change.
func (d *Decoder) setLink(link int, st LinkState, t int64) {
	if link < 0 || link > 2 || d.s.links[link] == st {
		return
	}
	d.s.links[link] = st
	e := d.derivedEvent(EvLinkState, t)
	e.Name, e.Link, e.State = linkStateNames[st], link, st
}

// result handles a result line (event seq, ending at time t).
func (d *Decoder) result(name string, seq int64, t int64) {
	defer d.runHost() // a result may release held host bytes
	s := &d.s
	h := s.head()
	switch name {
	case "busy p...":
		for _, ts := range s.pending {
			if ts.tx.Busy {
				d.finish(ts, name, seq, t, nil)
				return
			}
		}
		// Input that is no complete line (bytes after a payload, or typed
		// before the prompt) was dropped.
		d.discardHost()
		respond(h, seq)
		s.dropEcho(s.echoCount)
		return
	case "OK":
		if s.restarting {
			if ts := s.pendingNamed("+RST"); ts != nil {
				s.restarting = false
				d.finish(ts, name, seq, t, nil)
				return
			}
		}
		if h != nil && h.prompt != promptNone && d.h.mode == hostAwait && d.h.wait == h {
			if h.prompt == promptPassthrough {
				// Passthrough has no later result: the OK before ">"
				// ends the command, and the host still waits for ">".
				d.finish(h, name, seq, t, nil)
				return
			}
			respond(h, seq) // the OK before ">"
			return
		}
	}
	if h == nil {
		return
	}
	d.finish(h, name, seq, t, nil)
}

// finish completes ts with a final result (or with err and no result).
func (d *Decoder) finish(ts *txState, result string, seq int64, t int64, err error) {
	s := &d.s
	for i, p := range s.pending {
		if p == ts {
			s.pending = append(s.pending[:i], s.pending[i+1:]...)
			break
		}
	}
	tx := ts.tx
	tx.Result, tx.ResultSeq, tx.Err = result, seq, err
	if result != "" {
		tx.Done, tx.Latency = t, t-tx.Sent
	}
	// The device echoes a line before running it, so by now the echo has
	// come or never will.
	s.dropEcho(ts.echoEnd)

	if d.h.wait == ts && !(result == "OK" && ts.prompt == promptPassthrough) {
		d.endHostWait(ts, t)
	}
	c := tx.Cmd
	if c != nil && result == "OK" {
		switch {
		case c.Name == "E0" && c.Type == CmdExec:
			s.echoOn = false
		case c.Name == "E1" && c.Type == CmdExec:
			s.echoOn = true
		case c.Name == "+CIPMODE" && c.Type == CmdSet:
			if m, ok := c.Int(0); ok {
				s.cipmode = m == 1
			}
		case c.Name == "+CIPDINFO" && c.Type == CmdSet:
			if m, ok := c.Int(0); ok && (m == 0 || m == 1) {
				s.cipdinfo = int8(m)
			}
		case c.Name == "+WSDATAFMT" && c.Type == CmdSet && ts.link >= 0 && d.opts.Firmware != FirmwareRelease:
			// Empty fields take the defaults (level 0, mask 48): the
			// firmware packs both into one byte initialised to 0x30.
			f := WSDataFormat{Mask: DefaultWSDataMask}
			if l, ok := c.Int(1); ok && l >= 0 && l <= 2 {
				f.Level = uint8(l)
			}
			if m, ok := c.Int(2); ok && m >= 1 && m <= 63 {
				f.Mask = uint8(m)
			}
			s.fmts[ts.link] = f
		case c.Name == "+WSOPEN" && ts.link >= 0:
			d.setLink(ts.link, LinkConnected, t)
		case c.Name == "+WSCLOSE" && ts.link >= 0:
			d.setLink(ts.link, LinkClosed, t)
		}
	}
	if c != nil && c.Name == "+WSOPEN" && result == "ERROR" && ts.opened {
		d.setLink(ts.link, LinkClosed, t)
	}
	if ts.ws && (ts.paid || ts.n == 0) && (result == "SEND OK" || result == "ERROR") {
		m := &ts.alloc.msg
		*m = WSMessage{Link: ts.link, Dir: formats.ToServer, Opcode: ts.opcode, Fin: ts.fin, PayloadLen: -1, PayloadOffset: -1, Data: ts.wsData, Result: result}
		e := d.derivedEvent(EvWSMessage, t)
		e.Dir, e.Name, e.Link, e.Data, e.Msg = formats.ToServer, "+WSSEND", ts.link, ts.wsData, m
	}
	ts.done = true
	e := d.derivedEvent(EvTransaction, t)
	e.Name, e.Link, e.Tx = cmdName(c), ts.link, tx
	d.handedOut(ts.alloc, true)
}

// restart handles "ready": the device rebooted, so every running command is
// over and the RAM state is back to defaults.
func (d *Decoder) restart(t int64) {
	s := &d.s
	for len(s.pending) > 0 {
		d.finish(s.pending[0], "", -1, t, ErrRestarted)
	}
	d.endHostWait(nil, t)
	s.reset(d)
	for i := range s.links {
		d.setLink(i, LinkClosed, t)
	}
	d.runHost()
}

// flushTx reports commands that never got a result.
func (s *session) flushTx(d *Decoder) {
	for len(s.pending) > 0 {
		d.finish(s.pending[0], "", -1, d.lastTime, ErrNoResult)
	}
}

// relocate copies what running commands keep of the host stream buffer
// from stream offset from on (their command lines and AT+WSSEND data), so
// that Decode can write over that buffer.
func (s *session) relocate(from int64) {
	for _, ts := range s.pending {
		if ts.lineOff >= from {
			tx := ts.tx
			l := append([]byte(nil), tx.Line...)
			tx.Line = l
			if c := tx.Cmd; c != nil {
				c.Line = l
				for i := range c.Params {
					p := &c.Params[i]
					end := p.Offset + len(p.Raw)
					p.Raw = l[p.Offset:end:end]
				}
			}
			ts.lineOff = -1
		}
		if ts.wsOff >= from {
			ts.wsData, ts.wsOff = append([]byte(nil), ts.wsData...), -1
		}
	}
}
