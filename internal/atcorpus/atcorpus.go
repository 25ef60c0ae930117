// Package atcorpus generates realistic ESP-AT serial traffic for tests and
// benchmarks: a host app driving an ESP32 that runs ESP-AT with WebSocket
// commands, as in the project's ESP-AT reference (shared/docs/esp-at.md) section 5, with the ATE1 echo,
// as a recorder sitting between them (atbridge proxy) would see it.
//
// The traffic is deterministic for a seed. It starts with the boot banner,
// joins Wi-Fi, configures SNTP, opens WebSocket link 0, then mostly sends
// JSON telemetry with AT+WSSEND and receives +WS_DATA echoes and server
// pushes, with occasional binary payloads, busy p..., ERROR results and
// disconnect/reconnect URCs.
//
// # Timing model
//
// Chunk times are what time.Now() on Linux would read right after each
// read() returned, in nanoseconds: never exact multiples of anything.
//
// The line runs at 115200 baud 8N1 (ByteTime per byte). A cursor follows the
// wire: host commands and payloads occupy it for their length in byte times,
// the ESP32 answers after a processing gap, and the host app thinks between
// exchanges and acts only after it has read the device's answer.
//
// To host (ESP32 -> USB-serial adapter -> driver -> recorder): each byte
// reaches the adapter at its wire time. The adapter (one per seed: CP2102 with
// 64-byte packets flushed on every 1 ms USB frame, CH340 with 32-byte packets
// likewise, or FTDI FT232R with 62-byte payloads and the Linux default 16 ms
// latency timer) sends a bulk IN packet when its buffer is full or when its
// timer fires with bytes pending. USB full speed moves packets on 1 ms frames,
// so a packet is delivered on the next frame boundary (the frame phase is
// random per seed) after it is ready; a read returns that packet, or several
// when they arrive while the reader is still busy.
//
// To device (host app -> pty -> recorder): a read returns one write() of the
// host app: the whole command line or payload, now and then split in two
// writes (a line without its "\r\n", then the terminator).
//
// A pump blocked in read() returns after a scheduler wake-up delay drawn at
// nanosecond resolution: 3 µs plus an exponential with a 12 µs mean, and
// once in 50 reads a preemption of 50 µs to 3 ms. Bytes that arrive before
// the read returns come back in the same read; after a read the pump spends
// 10 to 30 µs forwarding and recording, and data that arrived meanwhile is
// returned by its next read at once. So each direction's chunks keep their
// bytes in order. The two directions are read by independent pumps, so the
// chunks are finally ordered by their times (stably), as the recorder's
// writer would store them.
//
// # How much the times must cost
//
// GenerateWithFloor also adds up the information the model puts into the
// read times, a lower bound for any lossless coding of them (see
// TimingFloor). For each read it takes the largest of the independent
// random draws that moved its time since the previous read began: the
// wake-up delay (or the short delay of a read whose data was waiting), and
// the think, processing or split-write gap before it, counted at
// nanosecond resolution for a read of the host app's write and in whole
// USB frames (or latency timer periods, where longer) for a read on the
// adapter's side, whose times that grid quantises. For independent X and Y, H(X+Y) >= max(H(X), H(Y)), so the
// sum over reads is a floor: the true information is larger.
//
// It imports formats only (the direction type).
package atcorpus

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
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

const (
	ms    = int64(1e6)
	frame = ms // USB full-speed frame
)

// adapter is a USB-serial bridge chip as the driver sees it.
type adapter struct {
	name    string
	packet  int   // payload bytes per bulk IN packet
	latency int64 // flush period for a partly filled packet, ns
}

var adapters = []adapter{
	{"CP2102", 64, 1 * ms},
	{"CH340", 32, 1 * ms},
	{"FT232R", 62, 16 * ms},
}

type gen struct {
	rng    *rand.Rand
	t      int64 // the wire cursor
	out    []Chunk
	n      int
	seq    int
	link   bool
	linkID int

	ad      adapter
	phase   int64     // USB frame phase, ns in [0, frame)
	tick    int64     // latency timer phase, ns in [0, ad.latency)
	readers [3]reader // by direction: ToDevice, ToHost

	// Timing floor bookkeeping (see the package comment): the largest
	// entropy, in bits, of the gap draws since the last read began, at ns
	// and at frame resolution, and the running total over reads.
	gapNS, gapFrames float64
	floorBits        float64
}

// TimingFloor is what GenerateWithFloor reports about the read times.
type TimingFloor struct {
	Bits  float64 // a lower bound on the information in the read times
	Reads int
}

// Bytes is the floor in bytes.
func (f TimingFloor) Bytes() float64 { return f.Bits / 8 }

// Entropies of the model's draws, in bits.
var (
	// wakeBits: 3 µs plus an exponential with a 12 µs mean, in ns
	// (log2(e·12000)), in 49 reads out of 50; in the 50th a preemption adds
	// a uniform 50 µs to 3 ms on top. The mixture's entropy is at least the
	// average of the two plus the entropy of the choice.
	wakeBits = func() float64 {
		p := 1.0 / 50
		choice := -p*math.Log2(p) - (1-p)*math.Log2(1-p)
		return choice + (1-p)*math.Log2(math.E*12000) + p*math.Log2(2_950_000)
	}()
	waitingBits = math.Log2(1500) // a read whose data was already there
)

// gap notes a random gap of n equally likely ns values that moves the
// times of what follows. On the adapter's side a time is quantised to USB
// frames, or to the latency timer's period where that is longer.
func (g *gen) gap(n int64) {
	g.gapNS = max(g.gapNS, math.Log2(float64(n)))
	if f := float64(n) / float64(max(frame, g.ad.latency)); f > 1 {
		g.gapFrames = max(g.gapFrames, math.Log2(f))
	}
}

// Generate returns about approxBytes bytes of traffic (both directions
// together; it stops at the end of the exchange that passes the mark).
func Generate(seed int64, approxBytes int) []Chunk {
	cs, _ := GenerateWithFloor(seed, approxBytes)
	return cs
}

// GenerateWithFloor is Generate, and also returns the floor on what the
// read times cost to store (see the package comment).
func GenerateWithFloor(seed int64, approxBytes int) ([]Chunk, TimingFloor) {
	g := &gen{rng: rand.New(rand.NewPCG(uint64(seed), 0x61746272))}
	g.ad = adapters[g.rng.IntN(len(adapters))]
	g.phase = g.rng.Int64N(frame)
	g.tick = g.rng.Int64N(g.ad.latency)
	g.readers[formats.ToDevice].dir = formats.ToDevice
	g.readers[formats.ToHost].dir = formats.ToHost
	g.t = 50*ms + g.rng.Int64N(100*ms)
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
	slices.SortStableFunc(g.out, func(a, b Chunk) int { return cmp.Compare(a.Time, b.Time) })
	return g.out, TimingFloor{Bits: g.floorBits, Reads: len(g.out)}
}

// pause advances the wire cursor by a think or processing gap, drawn at
// nanosecond resolution.
func (g *gen) pause(minMS, maxMS int) {
	n := int64(maxMS-minMS+1) * ms
	g.t += int64(minMS)*ms + g.rng.Int64N(n)
	g.gap(n)
}

// wake is how long a reader blocked in read() takes to run again once its
// data is there.
func (g *gen) wake() int64 {
	d := 3000 + int64(g.rng.ExpFloat64()*12000)
	if g.rng.IntN(50) == 0 {
		d += 50_000 + g.rng.Int64N(2_950_000)
	}
	return d
}

// nextFrame returns the first USB frame boundary at or after t.
func (g *gen) nextFrame(t int64) int64 {
	k := (t - g.phase + frame - 1) / frame
	return g.phase + k*frame
}

// nextTick returns the first latency timer expiry at or after t.
func (g *gen) nextTick(t int64) int64 {
	k := (t - g.tick + g.ad.latency - 1) / g.ad.latency
	return g.tick + k*g.ad.latency
}

// reader is one pump's read loop on one side: a read in progress collects
// every packet or write that arrives before it returns.
type reader struct {
	dir     formats.Dir
	readyAt int64  // when the pump is back in read() after the last one
	pending []byte // what the read in progress will return
	returns int64  // when it returns
}

// deliver hands the reader bytes that became readable at time at; b must
// continue the pending bytes in memory when there are any. onGrid says at
// sits on the USB frame grid (the adapter's side).
func (g *gen) deliver(r *reader, at int64, b []byte, onGrid bool) {
	if r.pending != nil && at <= r.returns {
		r.pending = r.pending[:len(r.pending)+len(b)]
		return
	}
	g.flushRead(r)
	var bits float64
	if at >= r.readyAt {
		r.returns = at + g.wake() // blocked in read(): woken by the data
		bits = wakeBits
	} else {
		r.returns = r.readyAt + 500 + g.rng.Int64N(1500) // data was waiting: read returns at once
		bits = waitingBits
	}
	if onGrid {
		bits = max(bits, g.gapFrames)
	} else {
		bits = max(bits, g.gapNS)
	}
	g.floorBits += bits
	g.gapNS, g.gapFrames = 0, 0
	r.pending = b
	r.readyAt = r.returns + 10_000 + g.rng.Int64N(20_000) // forward and record, then read again
}

// flushRead records the read in progress, if any, as a chunk.
func (g *gen) flushRead(r *reader) {
	if r.pending == nil {
		return
	}
	n := len(r.pending)
	g.out = append(g.out, Chunk{Time: r.returns, Dir: r.dir, Data: r.pending[:n:n]})
	g.n += n
	r.pending = nil
}

// dev sends s from the ESP32, starting on the wire now: the adapter cuts it
// into packets, the driver hands each to the to-host reader. The cursor
// moves past the last byte on the wire and past the read that returns it,
// since the host app reacts only to what it has read.
func (g *gen) dev(s string) {
	b := []byte(s)
	r := &g.readers[formats.ToHost]
	start := g.t
	arrive := func(i int) int64 { return start + int64(i+1)*ByteTime } // byte i fully received
	for i := 0; i < len(b); {
		// A packet starts with byte i; it leaves when full or at the first
		// timer expiry after its first byte, on a USB frame boundary.
		flush := g.nextTick(arrive(i))
		j := i
		for j < len(b) && j-i < g.ad.packet && arrive(j) <= flush {
			j++
		}
		if j-i == g.ad.packet {
			flush = arrive(j - 1)
		}
		g.deliver(r, g.nextFrame(flush), b[i:j], true)
		i = j
	}
	g.flushRead(r)
	g.t = max(arrive(len(b)-1), r.returns)
}

// hostWrite sends s from the host app: one write (now and then two), read
// by the to-device reader, then the bytes take their time on the wire.
func (g *gen) hostWrite(s string) {
	b := []byte(s)
	r := &g.readers[formats.ToDevice]
	if cut := strings.LastIndex(s, "\r\n"); cut > 0 && g.rng.IntN(10) == 0 {
		g.deliver(r, g.t, b[:cut], false)
		g.t += 20_000 + g.rng.Int64N(200_000)
		g.gap(200_000)
		b = b[cut:]
	}
	g.deliver(r, g.t, b, false)
	g.flushRead(r)
	g.t += int64(len(s)) * ByteTime
}

func (g *gen) host(s string) { g.hostWrite(s) }

// cmd sends a command line (echoed, ATE1) and the device's answer.
func (g *gen) cmd(line, answer string) {
	g.pause(2, 40)
	g.host(line + "\r\n")
	g.t += 150_000 + g.rng.Int64N(100_000) // the ESP32 parses the line
	g.gap(100_000)
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
	g.t += 150_000 + g.rng.Int64N(100_000) // the ESP32 parses the line
	g.gap(100_000)
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
