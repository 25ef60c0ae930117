package bridge

import (
	"context"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/atbridge/atbridge/bridge/port"
	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/formats"
	"github.com/atbridge/atbridge/internal/rig"
)

// nowRecorder is a Recorder that keeps nothing; its clock is the test's.
type nowRecorder struct{ base time.Time }

func (r nowRecorder) Now() int64                  { return int64(time.Since(r.base)) }
func (r nowRecorder) Write(*capture.Record) error { return nil }

// sniffRig is a Y-cable bench on real ptys: the test writes on the
// masters of two ptys (the host's and the ESP32's TX lines); a sniffer
// opens their slaves as read-only serial devices.
type sniffRig struct {
	rec      nowRecorder
	host     port.Port // write here: the host's TX line
	dev      port.Port // the ESP32's TX line
	seen     chan capture.Record
	stopSnif func()
}

func startSniffRig(t testing.TB) *sniffRig {
	t.Helper()
	dir := t.TempDir()
	hl, dl := filepath.Join(dir, "host-tx"), filepath.Join(dir, "dev-tx")
	r := &sniffRig{rec: nowRecorder{time.Now()}, seen: make(chan capture.Record, 1024)}
	var err error
	r.host, err = port.Open(context.Background(), "pty:"+hl, nil)
	rig.Must(t, err)
	r.dev, err = port.Open(context.Background(), "pty:"+dl, nil)
	rig.Must(t, err)
	px, err := OpenSniffer(context.Background(), hl, dl, &ProxyOptions{Recorder: r.rec, Observe: func(rec *capture.Record) {
		if rec.Kind == capture.KindChunk {
			r.seen <- capture.Record{Kind: rec.Kind, Time: rec.Time, Dir: rec.Dir}
		}
	}})
	rig.Must(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- px.Run(ctx) }()
	r.stopSnif = func() {
		cancel()
		<-done
		r.host.Close()
		r.dev.Close()
	}
	t.Cleanup(r.stopSnif)
	return r
}

// pair writes a command on the host's line, then after gap its answer on
// the device's, and returns the ordering error: how much later (positive)
// or earlier the recorded gap is than the written one, and whether the two
// were recorded in the wrong order.
func (r *sniffRig) pair(t testing.TB, gap time.Duration) (errNS int64, misordered bool) {
	tA := r.rec.Now()
	if _, err := r.host.Write([]byte("AT\r\n")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(gap) // not a spin: on a small machine it would starve the sniffer
	tB := r.rec.Now()
	if _, err := r.dev.Write([]byte("\r\nOK\r\n")); err != nil {
		t.Fatal(err)
	}
	var rA, rB int64 = -1, -1
	timeout := time.After(5 * time.Second)
	for rA < 0 || rB < 0 {
		select {
		case c := <-r.seen:
			switch {
			case c.Dir == formats.ToDevice && rA < 0:
				rA = c.Time
			case c.Dir == formats.ToHost && rB < 0:
				rB = c.Time
			}
		case <-timeout:
			t.Fatalf("the sniffer did not record both taps")
		}
	}
	return (rB - rA) - (tB - tA), rB <= rA
}

// orderStats runs n pairs with gaps from gap(i) and returns the worst and
// the 99th percentile absolute ordering error and the misordered count.
func (r *sniffRig) orderStats(t testing.TB, n int, gap func(int) time.Duration) (worst, p99 time.Duration, bad int) {
	errs := make([]int64, 0, n)
	for i := range n {
		e, mis := r.pair(t, gap(i))
		if mis {
			bad++
		}
		errs = append(errs, max(e, -e))
		time.Sleep(200 * time.Microsecond) // the next pair is its own exchange
	}
	slices.Sort(errs)
	return time.Duration(errs[n-1]), time.Duration(errs[(n*99+99)/100-1]), bad
}

// TestSniffTwoTapOrder: a command and its answer 0.5 ms apart on the two
// taps, 300 times: never recorded in the wrong order.
func TestSniffTwoTapOrder(t *testing.T) {
	r := startSniffRig(t)
	worst, p99, bad := r.orderStats(t, 300, func(int) time.Duration { return 500 * time.Microsecond })
	t.Logf("300 pairs 0.5 ms apart: ordering error worst %s, p99 %s, %d misordered", worst, p99, bad)
	if bad > 0 {
		t.Errorf("%d of 300 pairs 0.5 ms apart recorded in the wrong order (worst error %s)", bad, worst)
	}
}

// BenchmarkSniffTwoTapOrder measures the ordering error between the two
// taps over pairs 0.5 to 5 ms apart (b.N pairs; run with -benchtime 3000x):
// the worst and the 99th percentile, reported as metrics. The README's
// figure and SniffOrderError come from it.
func BenchmarkSniffTwoTapOrder(b *testing.B) {
	r := startSniffRig(b)
	rng := rand.New(rand.NewPCG(1, 2))
	n := max(b.N, 100)
	b.ResetTimer()
	worst, p99, bad := r.orderStats(b, n, func(int) time.Duration {
		return 500*time.Microsecond + time.Duration(rng.Int64N(int64(4500*time.Microsecond)))
	})
	b.ReportMetric(float64(worst)/1e3, "worst-µs")
	b.ReportMetric(float64(p99)/1e3, "p99-µs")
	b.ReportMetric(float64(bad), "misordered")
	b.ReportMetric(0, "ns/op")
}
