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

// runTimed mocks s at timing tm to a host that sends the host side at its
// recorded times (Run, paced from one anchor), and returns how far the
// mock's last output was from the scaled recorded length, and the mock's
// own scheduling error (MockStats.MaxLate).
func runTimed(t testing.TB, s *Script, tm Timing) (time.Duration, time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(float64(s.Duration)*tm.Scale)+time.Minute)
	defer cancel()
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
	return st.Done - want, st.MaxLate
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
	late, sched := runTimed(t, s, Timing{Scale: 0.01})
	t.Logf("last output %v from the scaled length; outputs at most %v after their deadlines", late, sched)
	if late < -25*time.Millisecond || late > 25*time.Millisecond {
		t.Errorf("last output %v from the scaled recorded length of 600ms", late)
	}
}

// BenchmarkMockRecordedTiming plays a capture of -mock.length (default 2s;
// the proof: -mock.length 10m) at recorded timing to a host app
// that types at its recorded times, and reports how far the mock's last
// output was from the recorded length (ms-off-end, absolute) and the
// largest delay of any output past its deadline (ms-sched-late: the mock's
// own error; the end also carries the host's lateness, since an answer is
// scheduled from when its command arrived).
func BenchmarkMockRecordedTiming(b *testing.B) {
	h, recs := longCapture(*mockLength, 10*time.Second, 100*time.Millisecond)
	s, err := FromRecords(h, recs)
	if err != nil {
		b.Fatal(err)
	}
	var worst, worstSched time.Duration
	for b.Loop() {
		late, sched := runTimed(b, s, TimingRecorded)
		if late < 0 {
			late = -late
		}
		worst, worstSched = max(worst, late), max(worstSched, sched)
	}
	b.ReportMetric(float64(worst)/1e6, "ms-off-end")
	b.ReportMetric(float64(worstSched)/1e6, "ms-sched-late")
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
