package atcorpus

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/atbridge/atbridge/formats"
)

func TestGenerate(t *testing.T) {
	a := Generate(1, 200_000)
	b := Generate(1, 200_000)
	if len(a) != len(b) {
		t.Fatalf("not deterministic: %d vs %d chunks", len(a), len(b))
	}
	var tx, rx bytes.Buffer
	var total int
	for i := range a {
		if a[i].Time != b[i].Time || !bytes.Equal(a[i].Data, b[i].Data) {
			t.Fatalf("chunk %d differs between runs", i)
		}
		if i > 0 && a[i].Time < a[i-1].Time {
			t.Fatalf("chunk %d goes back in time", i)
		}
		if len(a[i].Data) == 0 {
			t.Fatalf("chunk %d is empty", i)
		}
		total += len(a[i].Data)
		switch a[i].Dir {
		case formats.ToDevice:
			tx.Write(a[i].Data)
		case formats.ToHost:
			rx.Write(a[i].Data)
		default:
			t.Fatalf("chunk %d has direction %v", i, a[i].Dir)
		}
	}
	if total < 200_000 || total > 220_000 {
		t.Errorf("generated %d bytes, want about 200000", total)
	}
	if !bytes.HasPrefix(rx.Bytes(), []byte("\r\nready\r\n")) {
		t.Errorf("device output does not start with the boot banner: %q", rx.Bytes()[:20])
	}
	for _, want := range []string{"AT+CWMODE=1\r\n\r\nOK\r\n", "+WS_CONNECTED:0\r\n\r\nOK\r\n", "\r\nOK\r\n\r\n>", "\r\nSEND OK\r\n", "+WS_DATA:0,", "\r\nbusy p...\r\n", "\r\nERROR\r\n"} {
		if !bytes.Contains(rx.Bytes(), []byte(want)) {
			t.Errorf("device output lacks %q", want)
		}
	}
	if !bytes.Contains(tx.Bytes(), []byte("AT+WSSEND=0,")) || !bytes.Contains(tx.Bytes(), []byte(`{"dev":"esp32-a1b2","seq":`)) {
		t.Errorf("host output lacks WSSEND telemetry")
	}
	// Each direction's bytes are in order: every +WS_DATA announcement is
	// followed by exactly the announced payload and a line end.
	for rest := rx.Bytes(); ; {
		i := bytes.Index(rest, []byte("+WS_DATA:0,"))
		if i < 0 {
			break
		}
		rest = rest[i+len("+WS_DATA:0,"):]
		var n int
		if _, err := fmt.Sscanf(string(rest[:bytes.IndexByte(rest, ',')]), "%d", &n); err != nil {
			t.Fatalf("+WS_DATA length: %v", err)
		}
		rest = rest[bytes.IndexByte(rest, ',')+1:]
		if len(rest) < n+2 || string(rest[n:n+2]) != "\r\n" {
			t.Fatalf("+WS_DATA payload of %d bytes not followed by \\r\\n: %q", n, rest[:min(len(rest), n+10)])
		}
		rest = rest[n:]
	}
	// Read times are clock readings, not points on a grid.
	var round int
	for i := 1; i < len(a); i++ {
		if d := a[i].Time - a[i-1].Time; d%1000 == 0 || d%ByteTime == 0 {
			round++
		}
	}
	if round > len(a)/100 {
		t.Errorf("%d of %d time deltas are round numbers", round, len(a))
	}
	if c := Generate(2, 200_000); len(c) == len(a) && bytes.Equal(c[10].Data, a[10].Data) && c[10].Time == a[10].Time {
		t.Errorf("seeds 1 and 2 look identical")
	}
}

// TestTimingFloor logs the floor on what the read times cost (run with -v;
// the capture benchmarks compare the .atcap time column with it), and
// checks that it is a sane fraction of the traffic.
func TestTimingFloor(t *testing.T) {
	for seed := int64(1); seed <= 3; seed++ {
		cs, f := GenerateWithFloor(seed, 4<<20)
		var n int
		for _, c := range cs {
			n += len(c.Data)
		}
		pct := 100 * f.Bytes() / float64(n)
		t.Logf("seed %d: %d reads, %.1f bytes per read; read times carry at least %.2f bits each, %.2f%% of the payload",
			seed, f.Reads, float64(n)/float64(f.Reads), f.Bits/float64(f.Reads), pct)
		if f.Reads != len(cs) || pct < 1 || pct > 50 {
			t.Errorf("seed %d: floor %.2f%% over %d reads (%d chunks): out of range", seed, pct, f.Reads, len(cs))
		}
	}
}
