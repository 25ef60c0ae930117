package replay

import (
	"context"
	"flag"
	"fmt"
	"testing"
	"time"

	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/formats"
)

var mockLength = flag.Duration("mock.length", 2*time.Second, "recorded length of BenchmarkMockRecordedTiming's capture (the issue's proof uses 10m)")

// longCapture builds a capture of the given recorded length: "ready", then
// every cmdEvery an AT+WSSEND with its prompt, payload, SEND OK and the
// server's echo, and every dataEvery a +WS_DATA from the server, ending
// with one at exactly length.
func longCapture(length, cmdEvery, dataEvery time.Duration) (capture.Header, []capture.Record) {
	h := capture.Header{Tool: "test", Meta: map[string]string{"firmware": "release"}}
	var recs []capture.Record
	add := func(t time.Duration, dir formats.Dir, s string) {
		recs = append(recs, capture.Record{Kind: capture.KindChunk, Time: int64(t), Dir: dir, Data: []byte(s)})
	}
	add(0, formats.ToHost, "\r\nready\r\n")
	add(time.Millisecond, formats.ToDevice, "AT+WSOPEN=0,\"ws://127.0.0.1:8765\"\r\n")
	add(2*time.Millisecond, formats.ToHost, "AT+WSOPEN=0,\"ws://127.0.0.1:8765\"\r\n+WS_CONNECTED:0\r\n\r\nOK\r\n")
	nextCmd, nextData := cmdEvery, dataEvery
	n := 0
	for nextCmd < length || nextData <= length {
		if nextCmd < length && nextCmd+10*time.Millisecond < nextData {
			t := nextCmd
			msg := fmt.Sprintf("{\"n\":%d}", n)
			n++
			cmd := fmt.Sprintf("AT+WSSEND=0,%d\r\n", len(msg))
			add(t, formats.ToDevice, cmd)
			add(t+time.Millisecond, formats.ToHost, cmd+"\r\nOK\r\n\r\n>")
			add(t+2*time.Millisecond, formats.ToDevice, msg)
			add(t+3*time.Millisecond, formats.ToHost, "\r\nSEND OK\r\n")
			add(t+5*time.Millisecond, formats.ToHost, fmt.Sprintf("+WS_DATA:0,%d,%s\r\n", len(msg), msg))
			nextCmd += cmdEvery
			continue
		}
		add(nextData, formats.ToHost, "+WS_DATA:0,4,tick\r\n")
		nextData += dataEvery
	}
	return h, recs
}

// timedResult is what runTimed measured.
type timedResult struct {
	offEnd   time.Duration // last output minus the scaled recorded length
	maxLate  time.Duration // MockStats.MaxLate: deadline to write start
	maxWrite time.Duration // MockStats.MaxWrite: longest write
	late     string        // the latest output, for the log
	slow     string        // the slowest write, for the log
}

// runTimed mocks s at timing tm to a host that sends the host side at its
// recorded times (Run, paced from one anchor), and returns how far the
// mock's last output was from the scaled recorded length, the mock's own
// scheduling error (MockStats.MaxLate, measured before the write) and the
// longest write (MockStats.MaxWrite: the host side not reading), with the
// outputs behind the two worst numbers described (index, recorded time,
// what it is, queue length) through mockWriteHook.
func runTimed(t testing.TB, s *Script, tm Timing) timedResult {
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(float64(s.Duration)*tm.Scale)+time.Minute)
	defer cancel()
	var res timedResult
	var worstLate, worstWrite time.Duration
	t0 := time.Now()
	hook := func(out int, due, start, end time.Time, queued int) {
		describe := func() string {
			what := "injected bytes"
			if out >= 0 {
				o := &s.Out[out]
				what = fmt.Sprintf("output %d (%v %q, recorded at %v, anchor %d, tx %d)", out, o.Kind, o.Name, time.Duration(o.Time), o.Anchor, o.Tx)
			}
			return fmt.Sprintf("%s due %v into the run, write started %v late and took %v, %d more queued",
				what, due.Sub(t0).Round(time.Microsecond), start.Sub(due), end.Sub(start), queued)
		}
		if l := start.Sub(due); l > worstLate {
			worstLate, res.late = l, describe()
		}
		if w := end.Sub(start); w > worstWrite {
			worstWrite, res.slow = w, describe()
		}
	}
	mockWriteHook.Store(&hook)
	defer mockWriteHook.Store(nil)
	dev, m, wait := mockPair(t, ctx, s, &MockOptions{Timing: tm})
	if _, err := Run(ctx, dev, s, &RunOptions{Pacing: Paced, Timing: tm, URCWait: time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	st := m.Stats()
	if !st.Finished || len(st.Misses) > 0 {
		t.Fatalf("mock did not finish cleanly: %+v", st)
	}
	want := time.Duration(float64(s.Duration) * tm.Scale)
	res.offEnd, res.maxLate, res.maxWrite = st.Done-want, st.MaxLate, st.MaxWrite
	return res
}

// TestMockRecordedTimingScaled plays a 1-minute capture at 1/100 of its
// recorded timing: the last output must come within 25 ms of 600 ms (the
// 10 ms proof at full scale is BenchmarkMockRecordedTiming; this bound
// leaves room for a loaded CI machine).
func TestMockRecordedTimingScaled(t *testing.T) {
	h, recs := longCapture(time.Minute, 10*time.Second, 100*time.Millisecond)
	s, err := FromRecords(h, recs)
	if err != nil {
		t.Fatal(err)
	}
	if s.Duration != int64(time.Minute) {
		t.Fatalf("capture length %v", time.Duration(s.Duration))
	}
	res := runTimed(t, s, Timing{Scale: 0.01})
	late := res.offEnd
	t.Logf("last output %v from the scaled length; writes started at most %v after their deadlines; longest write %v", late, res.maxLate, res.maxWrite)
	if late < -25*time.Millisecond || late > 25*time.Millisecond {
		t.Errorf("last output %v from the scaled recorded length of 600ms", late)
	}
}

// BenchmarkMockRecordedTiming plays a capture of -mock.length (default 2s;
// the proof: -mock.length 10m) at recorded timing to a host app
// that types at its recorded times, and reports how far the mock's last
// output was from the recorded length (ms-off-end, absolute) and the
// largest delay from any output's deadline to the start of its write
// (ms-sched-late: the mock's own error; the end also carries the host's
// lateness, since an answer is scheduled from when its command arrived),
// and the longest write (ms-write-max: the host side not taking the bytes).
// It logs the outputs behind the two worst numbers.
func BenchmarkMockRecordedTiming(b *testing.B) {
	h, recs := longCapture(*mockLength, 10*time.Second, 100*time.Millisecond)
	s, err := FromRecords(h, recs)
	if err != nil {
		b.Fatal(err)
	}
	var worst, worstSched, worstWrite time.Duration
	for b.Loop() {
		res := runTimed(b, s, TimingRecorded)
		late := res.offEnd
		if late < 0 {
			late = -late
		}
		worst, worstSched, worstWrite = max(worst, late), max(worstSched, res.maxLate), max(worstWrite, res.maxWrite)
		b.Logf("latest write start: %s", res.late)
		b.Logf("slowest write: %s", res.slow)
	}
	b.ReportMetric(float64(worst)/1e6, "ms-off-end")
	b.ReportMetric(float64(worstSched)/1e6, "ms-sched-late")
	b.ReportMetric(float64(worstWrite)/1e6, "ms-write-max")
	b.ReportMetric(float64(s.Duration)/1e9, "s-recorded")
}

// BenchmarkReplayFastAgainstMock replays a long capture (10,000 AT+WSSEND
// transactions with payloads and echoes) as fast as the mock answers.
func BenchmarkReplayFastAgainstMock(b *testing.B) {
	h, recs := longCapture(10000*time.Second, time.Second, 1e6*time.Second)
	s, err := FromRecords(h, recs)
	if err != nil {
		b.Fatal(err)
	}
	var txs int
	start := time.Now()
	for b.Loop() {
		ctx := context.Background()
		dev, m, wait := mockPair(b, ctx, s, &MockOptions{Timing: TimingFast})
		got, err := Run(ctx, dev, s, &RunOptions{URCWait: time.Second})
		if err != nil {
			b.Fatal(err)
		}
		if err := wait(); err != nil {
			b.Fatal(err)
		}
		if st := m.Stats(); len(st.Misses) > 0 {
			b.Fatalf("misses: %v", st.Misses[:1])
		}
		txs += len(got.Txs)
	}
	b.ReportMetric(float64(txs)/time.Since(start).Seconds(), "tx/s")
}
