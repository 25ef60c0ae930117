package replay_test

import (
	"os"

	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/formats"
	"github.com/atbridge/atbridge/replay"
)

// script builds a Script from alternating host and device chunks.
func script(chunks ...string) *replay.Script {
	var recs []capture.Record
	for i, c := range chunks {
		dir := formats.ToDevice
		if i%2 == 1 {
			dir = formats.ToHost
		}
		recs = append(recs, capture.Record{Kind: capture.KindChunk, Time: int64(i) * 1e6, Dir: dir, Data: []byte(c)})
	}
	s, err := replay.FromRecords(capture.Header{}, recs)
	if err != nil {
		panic(err)
	}
	return s
}

// Compare two runs of AT+GMR whose firmware versions differ: lenient
// matching masks the build dates but not the version.
func ExampleCompare() {
	a := script("AT+GMR\r\n", "AT+GMR\r\nAT version:5.0.1.0(3258eee - ESP32 - Mar  9 2026 12:00:00)\r\n\r\nOK\r\n")
	b := script("AT+GMR\r\n", "AT+GMR\r\nAT version:5.0.2.0(3258eee - ESP32 - Apr  1 2026 08:30:00)\r\n\r\nOK\r\n")
	rep := replay.Compare(a, b, nil)
	rep.Expected, rep.Got = "a.atcap", "b.atcap"
	rep.Latency = nil
	_ = rep.WriteText(os.Stdout)
	// Output:
	// expected: a.atcap
	// got:      b.atcap
	// matching: lenient
	//
	//   ! #1 AT+GMR: DIFFERENT
	//       expected at record 0, offset 0, t=0.000000s
	//       got      at record 0, offset 0, t=0.000000s
	//       response line 1:
	//         - "AT version:5.0.1.0(3258eee - ESP32 - <date>)"
	//         + "AT version:5.0.2.0(3258eee - ESP32 - <date>)"
	//       latency 1.000ms -> 1.000ms (1.00x)
	//
	// DIFFERENT: 1 transactions: 0 equal, 1 different, 0 missing, 0 extra, 0 slower; 0 unsolicited differences
}
