// Package atcorpus generates realistic ESP-AT serial traffic for tests and
// benchmarks: a host app driving an ESP32 that runs ESP-AT with WebSocket
// commands, as in /work/shared/docs/esp-at.md section 5, with the ATE1 echo.
//
// The traffic is deterministic for a seed. It starts with the boot banner,
// joins Wi-Fi, configures SNTP, opens WebSocket link 0, then mostly sends
// JSON telemetry with AT+WSSEND and receives +WS_DATA echoes and server
// pushes, with occasional binary payloads, busy p..., ERROR results and
// disconnect/reconnect URCs. Each direction's bytes are cut into chunks the
// way a USB-serial driver returns reads: a quarter of the time the whole
// message, otherwise pieces of at most 64 bytes, full 64-byte packets a bit
// more often than not and otherwise a random 1..64 (latency timer, FIFO
// timeout). Timestamps follow 115200 baud 8N1 pacing (86.8 µs per byte) plus
// think and processing gaps.
package atcorpus

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/atbridge/atbridge/formats"
)

// Chunk is one read of serial bytes.
type Chunk struct {
	Time int64 // nanoseconds since the start of the traffic; never decreases
	Dir  formats.Dir
	Data []byte
}

// ByteTime is the time one byte takes on a 115200 baud 8N1 line, in ns
// (86805, rounded down).
const ByteTime = 1_000_000_000 * 10 / 115200

const ms = int64(1e6)

type gen struct {
	rng    *rand.Rand
	t      int64
	out    []Chunk
	n      int
	seq    int
	link   bool
	linkID int
}

// Generate returns about approxBytes bytes of traffic (both directions
// together; it stops at the end of the exchange that passes the mark).
func Generate(seed int64, approxBytes int) []Chunk {
	g := &gen{rng: rand.New(rand.NewPCG(uint64(seed), 0x61746272))}
	g.dev("\r\nready\r\n")
	g.cmd("AT", "\r\nOK\r\n")
	g.cmd("AT+CWMODE=1", "\r\nOK\r\n")
	g.cmd(`AT+CWJAP="espressif","1234567890"`, "WIFI CONNECTED\r\nWIFI GOT IP\r\n\r\nOK\r\n")
	g.cmd(`AT+CIPSNTPCFG=1,8,"cn.ntp.org.cn","ntp.sjtu.edu.cn"`, "\r\nOK\r\n")
	g.pause(200, 900)
	g.dev("+TIME_UPDATED\r\n")
	g.cmd("AT+CIPSNTPTIME?", "+CIPSNTPTIME:Mon Oct 18 20:12:27 2021\r\nOK\r\n")
	g.open()
	for g.n < approxBytes {
		switch x := g.rng.IntN(100); {
		case x < 70:
			g.telemetry()
		case x < 85:
			g.push()
		case x < 90:
			g.binary()
		case x < 93:
			g.busy()
		case x < 96:
			g.cmd(fmt.Sprintf("AT+WSSEND=%d,%d", 1+g.rng.IntN(2), 10+g.rng.IntN(50)), "\r\nERROR\r\n")
		case x < 98:
			g.cmd("AT+WSOPEN?", "+WSOPEN:0,2,\"ws://192.168.1.10:8765/telemetry\"\r\n\r\nOK\r\n")
		default:
			g.reconnect()
		}
	}
	return g.out
}

func (g *gen) pause(minMS, maxMS int) {
	g.t += int64(minMS)*ms + g.rng.Int64N(int64(maxMS-minMS+1)*ms)
}

// emit cuts s into reads as a UART driver returns them.
func (g *gen) emit(dir formats.Dir, s string) {
	b := []byte(s)
	for len(b) > 0 {
		// A USB-serial adapter hands the driver packets of up to 64 bytes:
		// full ones while bytes stream, shorter ones when its latency timer
		// or the UART's FIFO timeout fires; a quarter of the time the
		// reader was slow enough to get the whole line in one read.
		n := len(b)
		switch x := g.rng.IntN(12); {
		case x < 3:
		case x < 7:
			n = min(len(b), 1+g.rng.IntN(64))
		default:
			n = min(len(b), 64)
		}
		g.t += int64(n) * ByteTime
		g.out = append(g.out, Chunk{Time: g.t, Dir: dir, Data: b[:n:n]})
		g.n += n
		b = b[n:]
		if len(b) > 0 && g.rng.IntN(8) == 0 {
			g.t += int64(g.rng.IntN(3000)) * 1000 // a scheduling hiccup
		}
	}
}

func (g *gen) host(s string) { g.emit(formats.ToDevice, s) }
func (g *gen) dev(s string)  { g.emit(formats.ToHost, s) }

// cmd sends a command line (echoed, ATE1) and the device's answer.
func (g *gen) cmd(line, answer string) {
	g.pause(2, 40)
	g.host(line + "\r\n")
	g.t += 200_000
	g.dev(line + "\r\n")
	g.pause(1, 15)
	g.dev(answer)
}

func (g *gen) open() {
	g.cmd("AT+WSCFG=0,30,60,4096", "\r\nOK\r\n")
	g.cmd(`AT+WSOPEN=0,"ws://192.168.1.10:8765/telemetry"`, "+WS_CONNECTED:0\r\n\r\nOK\r\n")
	g.link = true
}

func (g *gen) payloadJSON() string {
	g.seq++
	var b strings.Builder
	fmt.Fprintf(&b, `{"dev":"esp32-%04x","seq":%d,"temp":%.1f,"hum":%.1f,"rssi":%d,"up":%d`,
		0xa1b2, g.seq, 18+g.rng.Float64()*8, 30+g.rng.Float64()*40, -40-g.rng.IntN(50), g.t/1e9)
	if g.rng.IntN(4) == 0 {
		fmt.Fprintf(&b, `,"batt":%.2f,"fw":"1.4.2"`, 3.3+g.rng.Float64()*0.9)
	}
	if g.rng.IntN(8) == 0 {
		b.WriteString(`,"samples":[`)
		for i := range 8 + g.rng.IntN(24) {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, "%d", 500+g.rng.IntN(200))
		}
		b.WriteByte(']')
	}
	b.WriteByte('}')
	return b.String()
}

// send does one AT+WSSEND exchange with the given payload and extra params.
func (g *gen) send(payload, extra string) {
	line := fmt.Sprintf("AT+WSSEND=0,%d%s", len(payload), extra)
	g.pause(50, 900)
	g.host(line + "\r\n")
	g.t += 200_000
	g.dev(line + "\r\n\r\nOK\r\n\r\n>")
	g.pause(1, 5)
	g.host(payload) // data after > is not echoed
	g.pause(1, 10)
	g.dev("\r\nSEND OK\r\n")
}

func (g *gen) telemetry() {
	p := g.payloadJSON()
	g.send(p, "")
	if g.rng.IntN(2) == 0 { // an echo server answers
		g.pause(5, 60)
		g.dev(fmt.Sprintf("+WS_DATA:0,%d,%s\r\n", len(p), p))
	}
}

func (g *gen) push() {
	g.pause(20, 600)
	p := fmt.Sprintf(`{"cmd":"set","interval":%d,"led":%t,"ts":%d}`, 1+g.rng.IntN(60), g.rng.IntN(2) == 0, 1700000000+g.t/1e9)
	g.dev(fmt.Sprintf("+WS_DATA:0,%d,%s\r\n", len(p), p))
}

func (g *gen) binary() {
	b := make([]byte, 16+g.rng.IntN(240))
	for i := range b {
		b[i] = byte(g.rng.IntN(256))
	}
	g.send(string(b), ",2")
	if g.rng.IntN(2) == 0 {
		g.pause(5, 60)
		g.dev(fmt.Sprintf("+WS_DATA:0,%d,%s\r\n", len(b), b))
	}
}

// busy: the host types a command while WSSEND is still sending.
func (g *gen) busy() {
	p := g.payloadJSON()
	line := fmt.Sprintf("AT+WSSEND=0,%d", len(p))
	g.pause(50, 500)
	g.host(line + "\r\n")
	g.dev(line + "\r\n\r\nOK\r\n\r\n>")
	g.host(p + "AT\r\n") // 4 bytes too many
	g.dev("\r\nbusy p...\r\n")
	g.pause(1, 10)
	g.dev("\r\nSEND OK\r\n")
}

func (g *gen) reconnect() {
	g.pause(100, 2000)
	g.dev("+WS_DISCONNECTED:0\r\n")
	g.cmd(fmt.Sprintf("AT+WSSEND=0,%d", 20), "\r\nERROR\r\n")
	for range g.rng.IntN(3) {
		g.t += 10_000 * ms
		g.dev("+WS_DISCONNECTED:0\r\n")
	}
	g.t += 10_000 * ms
	g.dev("+WS_CONNECTED:0\r\n")
}
