package bridge

import (
	"bytes"
	"strconv"
	"strings"
	"sync"

	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/formats"
)

// uartWatch follows AT+UART_CUR and AT+UART_DEF through the proxy: it sees
// the host's command line go to the device, then the device's answer; after
// the "OK" line has been forwarded to the host (at the old settings, as the
// firmware sends it) both sides switch. ERROR or any other final result
// cancels. It is a small incremental line matcher rather than the full
// formats decoder, since it runs on the forwarding path for every read.
//
// The numbers map as the firmware documents them (esp-at.md, and the
// emulator's cmdUARTSet): stop bits 1, 2, 3 mean 1, 1.5, 2; parity 0, 1, 2
// mean none, odd, even; any flow control value other than 0 (1 RTS, 2 CTS,
// 3 both) is taken as RTS/CTS, the only hardware flow a USB-UART offers.
// Out-of-range values are ignored: the device answers ERROR to them.
type uartWatch struct {
	mu      sync.Mutex
	toDev   []byte // the host's current line
	toHost  []byte // the device's current line
	skipDev bool   // the current host line grew too long: ignore it
	skipHst bool
	pending *capture.LineSettings
	why     string
}

// maxWatchLine bounds the lines uartWatch collects; longer lines (payloads)
// are skipped.
const maxWatchLine = 96

// feed looks at b going in direction dir. It returns the new settings when
// b held the OK that completes a UART command.
func (u *uartWatch) feed(dir formats.Dir, b []byte) (l capture.LineSettings, why string, ok bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	line, skip := &u.toDev, &u.skipDev
	if dir == formats.ToHost {
		line, skip = &u.toHost, &u.skipHst
	}
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		part := b
		if i >= 0 {
			part = b[:i]
		}
		if !*skip {
			if len(*line)+len(part) > maxWatchLine {
				*skip = true
				*line = (*line)[:0]
			} else {
				*line = append(*line, part...)
			}
		}
		if i < 0 {
			break
		}
		if !*skip {
			s := strings.TrimRight(string(*line), "\r")
			if dir == formats.ToHost {
				switch {
				case s == "OK" && u.pending != nil:
					l, why, ok = *u.pending, u.why, true
					u.pending = nil
				case s == "ERROR" || s == "FAIL" || strings.HasPrefix(s, "ERR CODE"):
					u.pending = nil
				}
			} else if ls, name, good := parseUARTCommand(s); good {
				u.pending, u.why = &ls, name
			}
		}
		*line, *skip = (*line)[:0], false
		b = b[i+1:]
	}
	return l, why, ok
}

// parseUARTCommand reads "AT+UART_CUR=115200,8,1,0,0" (or _DEF).
func parseUARTCommand(s string) (capture.LineSettings, string, bool) {
	var name string
	switch {
	case strings.HasPrefix(s, "AT+UART_CUR="):
		name = "AT+UART_CUR"
	case strings.HasPrefix(s, "AT+UART_DEF="):
		name = "AT+UART_DEF"
	default:
		return capture.LineSettings{}, "", false
	}
	f := strings.Split(s[len(name)+1:], ",")
	if len(f) != 5 {
		return capture.LineSettings{}, "", false
	}
	var v [5]int
	for i, x := range f {
		n, err := strconv.Atoi(strings.TrimSpace(x))
		if err != nil {
			return capture.LineSettings{}, "", false
		}
		v[i] = n
	}
	baud, bits, stop, par, flow := v[0], v[1], v[2], v[3], v[4]
	if baud < 80 || baud > 5000000 || bits < 5 || bits > 8 || stop < 1 || stop > 3 || par < 0 || par > 2 || flow < 0 || flow > 3 {
		return capture.LineSettings{}, "", false
	}
	l := capture.LineSettings{Baud: baud, DataBits: uint8(bits)}
	l.StopBits = []capture.StopBits{capture.Stop1, capture.Stop1_5, capture.Stop2}[stop-1]
	l.Parity = []capture.Parity{capture.ParityNone, capture.ParityOdd, capture.ParityEven}[par]
	if flow != 0 {
		l.Flow = capture.FlowRTSCTS
	}
	return l, name, true
}
