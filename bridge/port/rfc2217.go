package port

import (
	"encoding/binary"
	"net"
	"sync"

	"github.com/atbridge/atbridge/capture"
)

// RFC 2217 ("Telnet Com Port Control Option") carries a serial port over a
// Telnet connection: data bytes with IAC (0xFF) doubled, and the port's
// settings, control lines and line and modem state as sub-negotiations of
// option 44. This file is the codec both ends share: rfc2217Client (the
// "rfc2217://HOST:PORT" port, a device behind ser2net) and rfc2217Listen
// ("rfc2217-listen:ADDR", a remote host app such as pyserial's
// "rfc2217://" using our port).

// Telnet bytes (RFC 854) and the options we negotiate: BINARY (RFC 856),
// so that CR and NUL pass as they are; SUPPRESS-GO-AHEAD (RFC 858);
// COM-PORT-OPTION (RFC 2217 §2).
const (
	tnSE   = 240
	tnSB   = 250
	tnWILL = 251
	tnWONT = 252
	tnDO   = 253
	tnDONT = 254
	tnIAC  = 255

	optBinary  = 0
	optEcho    = 1
	optSGA     = 3
	optComPort = 44
)

// Com Port Option commands, client to server (RFC 2217 §3); the server's
// answer to command c is c+100.
const (
	cpSignature         = 0
	cpSetBaud           = 1
	cpSetDataSize       = 2
	cpSetParity         = 3
	cpSetStopSize       = 4
	cpSetControl        = 5
	cpNotifyLineState   = 6
	cpNotifyModemState  = 7
	cpFlowSuspend       = 8
	cpFlowResume        = 9
	cpSetLineStateMask  = 10
	cpSetModemStateMask = 11
	cpPurge             = 12

	cpServer = 100 // added to a command in the server's answer
)

// SET-CONTROL values (RFC 2217 §3, "SET-CONTROL").
const (
	ctlFlowRequest = 0
	ctlFlowNone    = 1
	ctlFlowXonXoff = 2
	ctlFlowHW      = 3
	ctlBreakReq    = 4
	ctlBreakOn     = 5
	ctlBreakOff    = 6
	ctlDTRReq      = 7
	ctlDTROn       = 8
	ctlDTROff      = 9
	ctlRTSReq      = 10
	ctlRTSOn       = 11
	ctlRTSOff      = 12
)

// LINESTATE and MODEMSTATE bits (RFC 2217 §3, "NOTIFY-LINESTATE",
// "NOTIFY-MODEMSTATE").
const (
	lsOverrun = 0x02
	lsParity  = 0x04
	lsFraming = 0x08
	lsBreak   = 0x10

	msCTS = 0x10
	msDSR = 0x20
	msRI  = 0x40
	msDCD = 0x80
)

// rfcLineStateMask asks the server for the line events we record: BREAK,
// framing, parity and overrun errors (not data-ready and the transmit
// register bits, which change with every byte).
const rfcLineStateMask = lsBreak | lsFraming | lsParity | lsOverrun

// maxSubneg bounds a sub-negotiation: the longest Com Port command is
// SIGNATURE text; anything longer is garbage and is dropped.
const maxSubneg = 256

// tnCommand is a Telnet command the decoder found between data bytes: a
// negotiation (verb WILL, WONT, DO or DONT with its option) or, with verb
// SB, a sub-negotiation whose option and parameters (IAC undoubled) are in
// sub.
type tnCommand struct {
	verb, opt byte
	sub       []byte
}

// tnDecoder splits a Telnet byte stream into data and commands. It keeps
// its state between calls, so a command may straddle reads. It never
// fails: an unknown command byte after IAC is dropped, an over-long
// sub-negotiation is cut off, and a data stream ends up as it would at a
// Telnet peer.
type tnDecoder struct {
	state int
	verb  byte
	sub   []byte
	long  bool // the sub-negotiation went past maxSubneg
}

const (
	tnsData = iota
	tnsIAC
	tnsOpt   // after WILL, WONT, DO, DONT
	tnsSub   // inside SB
	tnsSubIA // IAC inside SB
)

// decode decodes in, writing the data bytes to the front of in (there are
// never more than were read) and returning them with the commands found.
func (d *tnDecoder) decode(in []byte, cmds []tnCommand) ([]byte, []tnCommand) {
	n := 0
	for _, c := range in {
		switch d.state {
		case tnsData:
			if c == tnIAC {
				d.state = tnsIAC
				continue
			}
			in[n] = c
			n++
		case tnsIAC:
			switch c {
			case tnIAC:
				in[n] = c
				n++
				d.state = tnsData
			case tnWILL, tnWONT, tnDO, tnDONT:
				d.verb, d.state = c, tnsOpt
			case tnSB:
				d.sub, d.long, d.state = d.sub[:0], false, tnsSub
			default: // NOP, GA, AYT, ... carry nothing for a serial port
				d.state = tnsData
			}
		case tnsOpt:
			cmds = append(cmds, tnCommand{verb: d.verb, opt: c})
			d.state = tnsData
		case tnsSub:
			if c == tnIAC {
				d.state = tnsSubIA
				continue
			}
			d.subByte(c)
		case tnsSubIA:
			switch c {
			case tnIAC:
				d.subByte(c)
				d.state = tnsSub
			case tnSE:
				if len(d.sub) > 0 && !d.long {
					cmds = append(cmds, tnCommand{verb: tnSB, opt: d.sub[0], sub: append([]byte(nil), d.sub[1:]...)})
				}
				d.state = tnsData
			default: // IAC x inside SB other than IAC IAC or IAC SE: the peer's error; end the SB
				d.state = tnsData
			}
		}
	}
	return in[:n], cmds
}

func (d *tnDecoder) subByte(c byte) {
	if len(d.sub) >= maxSubneg {
		d.long = true
		return
	}
	d.sub = append(d.sub, c)
}

// appendEscaped appends data to dst with each IAC doubled.
func appendEscaped(dst, data []byte) []byte {
	for _, c := range data {
		if c == tnIAC {
			dst = append(dst, tnIAC)
		}
		dst = append(dst, c)
	}
	return dst
}

// appendNeg appends IAC verb opt.
func appendNeg(dst []byte, verb, opt byte) []byte {
	return append(dst, tnIAC, verb, opt)
}

// appendComPort appends the sub-negotiation IAC SB COM-PORT-OPTION cmd
// params IAC SE.
func appendComPort(dst []byte, cmd byte, params ...byte) []byte {
	dst = append(dst, tnIAC, tnSB, optComPort, cmd)
	dst = appendEscaped(dst, params)
	return append(dst, tnIAC, tnSE)
}

// appendLine appends the commands that put l into force (with base added
// to each command: 0 from a client, cpServer in a server's answer).
func appendLine(dst []byte, base byte, l capture.LineSettings) []byte {
	dst = appendComPort(dst, base+cpSetBaud, binary.BigEndian.AppendUint32(nil, uint32(l.Baud))...)
	dst = appendComPort(dst, base+cpSetDataSize, l.DataBits)
	dst = appendComPort(dst, base+cpSetParity, rfcParity(l.Parity))
	dst = appendComPort(dst, base+cpSetStopSize, rfcStop(l.StopBits))
	return appendComPort(dst, base+cpSetControl, rfcFlow(l.Flow))
}

// rfcParity and the functions after it map line settings to RFC 2217's
// values and back. A value the other end sends that we do not know maps
// to ok false and is ignored.
func rfcParity(p capture.Parity) byte {
	switch p {
	case capture.ParityOdd:
		return 2
	case capture.ParityEven:
		return 3
	case capture.ParityMark:
		return 4
	case capture.ParitySpace:
		return 5
	}
	return 1
}

func parityOf(v byte) (capture.Parity, bool) {
	switch v {
	case 1:
		return capture.ParityNone, true
	case 2:
		return capture.ParityOdd, true
	case 3:
		return capture.ParityEven, true
	case 4:
		return capture.ParityMark, true
	case 5:
		return capture.ParitySpace, true
	}
	return 0, false
}

func rfcStop(s capture.StopBits) byte {
	switch s {
	case capture.Stop2:
		return 2
	case capture.Stop1_5:
		return 3
	}
	return 1
}

func stopOf(v byte) (capture.StopBits, bool) {
	switch v {
	case 1:
		return capture.Stop1, true
	case 2:
		return capture.Stop2, true
	case 3:
		return capture.Stop1_5, true
	}
	return 0, false
}

func rfcFlow(f capture.FlowControl) byte {
	switch f {
	case capture.FlowXONXOFF:
		return ctlFlowXonXoff
	case capture.FlowRTSCTS:
		return ctlFlowHW
	}
	return ctlFlowNone
}

// modemLines maps a MODEMSTATE byte to control lines (CTS, DSR, RI, DCD).
func modemLines(ms byte) capture.ControlLines {
	var c capture.ControlLines
	for _, b := range []struct {
		bit  byte
		line capture.ControlLines
	}{{msCTS, capture.LineCTS}, {msDSR, capture.LineDSR}, {msRI, capture.LineRI}, {msDCD, capture.LineDCD}} {
		if ms&b.bit != 0 {
			c |= b.line
		}
	}
	return c
}

// countLineState adds a LINESTATE byte's error bits to c.
func countLineState(c *LineCounts, ls byte) {
	if ls&lsBreak != 0 {
		c.Break++
	}
	if ls&lsFraming != 0 {
		c.Frame++
	}
	if ls&lsParity != 0 {
		c.Parity++
	}
	if ls&lsOverrun != 0 {
		c.Overrun++
	}
}

// tnOptions answers the peer's negotiations. Each option we want (want
// reports them) is accepted, every other refused, and an answer goes out
// only when the option's state changes, so two Telnet ends never loop
// (RFC 854's rule, as in RFC 1143's simpler form).
type tnOptions struct {
	want   func(opt byte) bool
	local  [256]bool // we WILL
	remote [256]bool // they WILL
}

// answer returns what to send back for a WILL, WONT, DO or DONT.
func (o *tnOptions) answer(dst []byte, verb, opt byte) []byte {
	switch verb {
	case tnDO:
		if !o.want(opt) {
			return appendNeg(dst, tnWONT, opt)
		}
		if !o.local[opt] {
			o.local[opt] = true
			return appendNeg(dst, tnWILL, opt)
		}
	case tnDONT:
		if o.local[opt] {
			o.local[opt] = false
			return appendNeg(dst, tnWONT, opt)
		}
	case tnWILL:
		if !o.want(opt) {
			return appendNeg(dst, tnDONT, opt)
		}
		if !o.remote[opt] {
			o.remote[opt] = true
			return appendNeg(dst, tnDO, opt)
		}
	case tnWONT:
		if o.remote[opt] {
			o.remote[opt] = false
			return appendNeg(dst, tnDONT, opt)
		}
	}
	return dst
}

// offer appends WILL and DO for opt and records them as asked for, so the
// peer's agreeing answer gets no reply.
func (o *tnOptions) offer(dst []byte, opt byte) []byte {
	o.local[opt], o.remote[opt] = true, true
	dst = appendNeg(dst, tnWILL, opt)
	return appendNeg(dst, tnDO, opt)
}

// tnWriter is the sending half of a Telnet connection, shared by both
// ends: data with IAC doubled, and commands, one write at a time.
type tnWriter struct {
	conn net.Conn
	wmu  sync.Mutex
	wbuf []byte
}

// writeData sends data with each IAC doubled.
func (w *tnWriter) writeData(data []byte) error {
	w.wmu.Lock()
	defer w.wmu.Unlock()
	w.wbuf = appendEscaped(w.wbuf[:0], data)
	_, err := w.conn.Write(w.wbuf)
	return err
}

// send sends Telnet commands as they are.
func (w *tnWriter) send(msg []byte) error {
	w.wmu.Lock()
	defer w.wmu.Unlock()
	_, err := w.conn.Write(msg)
	return err
}
