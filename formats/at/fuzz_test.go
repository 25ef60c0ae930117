package at_test

import (
	"testing"

	"github.com/atbridge/atbridge/formats"
	"github.com/atbridge/atbridge/formats/at"
)

// Fuzz input encoding: a control byte c, then (c>>1)%32+1 data bytes; bit 0
// of c is the direction (0 host to device, 1 device to host) and c>>6 the
// time step in units of 7 ms (so "+++" guard times are exercised).
func fuzzChunks(in []byte) []chunk {
	var cs []chunk
	var t int64
	for len(in) > 0 {
		c := in[0]
		in = in[1:]
		n := int(c>>1)%32 + 1
		if n > len(in) {
			n = len(in)
		}
		if n == 0 {
			break
		}
		dir := formats.ToDevice
		if c&1 == 1 {
			dir = formats.ToHost
		}
		t += int64(c>>6) * 7_000_000
		cs = append(cs, chunk{t, dir, in[:n]})
		in = in[n:]
	}
	return cs
}

// encodeFuzz turns chunks into the fuzz encoding (cutting long chunks into
// pieces that keep their time).
func encodeFuzz(cs []chunk) []byte {
	var out []byte
	var t int64
	for _, c := range cs {
		data := c.data
		for len(data) > 0 {
			n := len(data)
			if n > 32 {
				n = 32
			}
			step := (c.t - t) / 7_000_000
			if step > 3 {
				step = 3
			}
			if step < 0 {
				step = 0
			}
			t += step * 7_000_000
			b := byte(n-1)<<1 | byte(step)<<6
			if c.dir == formats.ToHost {
				b |= 1
			}
			out = append(out, b)
			out = append(out, data[:n]...)
			data = data[n:]
		}
	}
	return out
}

// FuzzDecoder feeds arbitrary two-direction traffic: the decoder must not
// panic, its byte events must cover both streams exactly, cutting every
// chunk into single bytes must not change the events, and neither must
// Decode (mixed with Feed, with small stream buffers).
func FuzzDecoder(f *testing.F) {
	for _, ns := range loadSessions(f) {
		f.Add(encodeFuzz(sessionChunks(ns.s)), false)
	}
	f.Add([]byte("\x1fAT+WSDATAFMT=0,1,63\r\n\x1d\r\nOK\r\n\x3f+WS_DATA:0,1,0,9999999999,0,"), true)
	// Every length-counted form, as the unit tests have them (cut into
	// chunks of up to 32 bytes, directions kept).
	for _, tt := range countedCases {
		f.Add(encodeFuzz(script(tt.parts...)), false)
	}
	for _, s := range []string{
		"<+MQTTSUBRECV:0,\"a\",\",99999999999,x\r\n",
		"<+CIPRECVDATA:4,\"::ffff:1.2.3.4\",65536,abcd",
		"<+HTTPCLIENT:18446744073709551616,x\r\n",
		"<+SYSMFG:\"n\",\"k\",8,3,\r\n\r\n\r\n",
	} {
		f.Add(encodeFuzz(script(">AT+SYSMFG=1,\"n\",\"k\"\r\n", s, "<\r\nOK\r\n")), true)
	}
	f.Fuzz(func(t *testing.T, in []byte, echoOff bool) {
		cs := fuzzChunks(in)
		opts := &at.DecoderOptions{EchoOff: echoOff, MaxData: 64, MaxLine: 40, MaxResponseLine: 48}
		evs := decodeAll(opts, cs)
		checkCoverage(t, evs, cs)
		want := render(evs)
		if got := render(decodeAll(opts, bytewise(cs))); got != want {
			t.Fatalf("byte-by-byte decoding differs:\n%s", lineDiff(want, got))
		}
		full := renderFull(evs)
		if got := decodeMixed(opts, cs, 48, func(i int) bool { return i%4 != 3 }); got != full {
			t.Fatalf("decoding with Decode differs:\n%s", lineDiff(full, got))
		}
	})
}
