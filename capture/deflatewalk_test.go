package capture

import (
	"bytes"
	"io"
	"math/rand"
	"testing"

	stdflate "compress/flate"

	"github.com/klauspost/compress/flate"
)

// inflatePrefix is what Go's and klauspost's inflaters make of a stream
// cut after n bytes: the fewer of the two.
func inflatePrefix(s []byte, n int) int {
	std, _ := io.ReadAll(stdflate.NewReader(bytes.NewReader(s[:n])))
	kp, _ := io.ReadAll(flate.NewReader(bytes.NewReader(s[:n])))
	return min(len(std), len(kp))
}

// TestDeflateEnds checks the walk against Go's and klauspost's inflaters
// on streams of every block type: a prefix as long as deflateEnds says,
// plus inflateSlack, decodes at least to its target.
func TestDeflateEnds(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	corpus := payloadOf(corpusRecords(3, 200_000))
	noise := make([]byte, 70_000)
	rng.Read(noise)
	inputs := map[string][]byte{"corpus": corpus, "noise": noise, "mixed": cat(corpus[:50_000], noise, corpus[50_000:90_000]),
		"zeros": make([]byte, 100_000), "empty": nil, "one": {7}}
	for name, in := range inputs {
		for _, level := range []int{flate.NoCompression, flate.HuffmanOnly, 1, 6, 9} {
			var buf bytes.Buffer
			fw, _ := flate.NewWriter(&buf, level)
			fw.Write(in)
			fw.Close()
			s := buf.Bytes()
			var targets []int
			for x := 0; x <= len(in); x += 1 + rng.Intn(3000) {
				targets = append(targets, x)
			}
			targets = append(targets, len(in))
			ends, err := deflateEnds(s, targets)
			if err != nil {
				t.Fatalf("%s level %d: %v", name, level, err)
			}
			for i, e := range ends {
				if i > 0 && e < ends[i-1] || e > len(s) {
					t.Fatalf("%s level %d: end %d after %d (stream %d)", name, level, e, ends[i-1], len(s))
				}
				if i%7 != 0 && i != len(ends)-1 {
					continue // inflating every prefix would be quadratic
				}
				if got := inflatePrefix(s, min(len(s), e+inflateSlack)); got < targets[i] {
					t.Fatalf("%s level %d: %d bytes of the stream inflate to %d, want %d", name, level, e, got, targets[i])
				}
			}
		}
	}
}

func payloadOf(recs []Record) []byte {
	var b []byte
	for _, r := range recs {
		b = append(b, r.Data...)
	}
	return b
}

// FuzzDeflateEnds: the walk never panics or loops on any stream.
func FuzzDeflateEnds(f *testing.F) {
	var buf bytes.Buffer
	fw, _ := flate.NewWriter(&buf, 6)
	fw.Write([]byte("AT+WSSEND=0,5\r\n\r\nOK\r\n> hello\r\nSEND OK\r\n"))
	fw.Close()
	f.Add(buf.Bytes(), uint16(10))
	f.Add([]byte{1, 0, 0, 0xff, 0xff}, uint16(0))
	f.Fuzz(func(t *testing.T, s []byte, target uint16) {
		ends, err := deflateEnds(s, []int{int(target) / 2, int(target)})
		if err == nil && (len(ends) != 2 || ends[1] > len(s) || ends[0] > ends[1]) {
			t.Fatalf("ends %v for a stream of %d", ends, len(s))
		}
	})
}
