package replay

import (
	"context"
	"errors"

	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/internal/session"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// goldens are the shared scripted sessions under the repository's
// testdata/sessions (the .atcap goldens are made from them).
func goldens(t testing.TB) []string {
	t.Helper()
	m, err := filepath.Glob("../testdata/sessions/*.session")
	if err != nil || len(m) == 0 {
		t.Fatalf("no golden sessions under ../testdata/sessions: %v", err)
	}
	return m
}

// sessionRecords turns a scripted session into capture records: host
// chunks on port 0, device chunks on port 1, as a proxy records them.
func sessionRecords(t testing.TB, path string) (capture.Header, []capture.Record) {
	t.Helper()
	ss, err := session.ParseFile(path)
	if err != nil {
		t.Fatal(err)
	}
	h := capture.Header{Tool: "test", Meta: map[string]string{"firmware": ss.Meta["firmware"]},
		Ports: []capture.PortInfo{{Name: "host", Role: "host"}, {Name: "device", Role: "device"}}}
	return h, ss.Records()
}

// sessionScript loads a scripted session as a Script.
func sessionScript(t testing.TB, path string) *Script {
	t.Helper()
	h, recs := sessionRecords(t, path)
	s, err := FromRecords(h, recs)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// mockPair runs a Mock of s on one end of a net.Pipe and returns the other
// end, and a wait func that returns the mock's Serve error.
func mockPair(t testing.TB, ctx context.Context, s *Script, opts *MockOptions) (net.Conn, *Mock, func() error) {
	t.Helper()
	a, b := net.Pipe()
	m := NewMock(s, opts)
	var wg sync.WaitGroup
	var err error
	wg.Add(1)
	go func() {
		defer wg.Done()
		err = m.Serve(ctx, a)
		a.Close()
	}()
	return b, m, func() error { wg.Wait(); b.Close(); return err }
}

// TestReplayAgainstMockOfItself replays every golden capture against a mock
// of itself: no differences, under strict and lenient matching.
func TestReplayAgainstMockOfItself(t *testing.T) {
	for _, path := range goldens(t) {
		for _, match := range []Match{Strict, Lenient} {
			t.Run(filepath.Base(path)+"/"+match.String(), func(t *testing.T) {
				s := sessionScript(t, path)
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer cancel()
				rules := &Rules{Match: match}
				dev, m, wait := mockPair(t, ctx, s, &MockOptions{Rules: rules})
				got, err := Run(ctx, dev, s, &RunOptions{Timeout: 2 * time.Second, URCWait: 200 * time.Millisecond})
				if err != nil {
					t.Fatal(err)
				}
				if err := wait(); err != nil {
					t.Fatal(err)
				}
				if st := m.Stats(); len(st.Misses) > 0 {
					t.Errorf("misses: %v", st.Misses)
				}
				rep := Compare(s, got, rules)
				if !rep.Equal {
					var b strings.Builder
					rep.WriteText(&b)
					t.Errorf("replay against the mock differs:\n%s", b.String())
				}
			})
		}
	}
}

// TestPacedReplay sends the host side at its recorded times against a
// mock at recorded timing: no differences, and the run lasts the capture's
// recorded length.
func TestPacedReplay(t *testing.T) {
	s := smallScript(t, time.Millisecond)
	ctx := context.Background()
	dev, m, wait := mockPair(t, ctx, s, &MockOptions{Timing: TimingRecorded})
	start := time.Now()
	got, err := Run(ctx, dev, s, &RunOptions{Pacing: Paced, Timing: TimingRecorded})
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	if rep := Compare(s, got, nil); !rep.Equal || len(m.Stats().Misses) > 0 {
		var b strings.Builder
		rep.WriteText(&b)
		t.Errorf("paced replay differs:\n%s", b.String())
	}
	if took < time.Duration(s.Duration) {
		t.Errorf("paced run took %v, shorter than the recorded %v", took, time.Duration(s.Duration))
	}
	if got.Txs[1].Loc.Time < s.Txs[1].Loc.Time {
		t.Errorf("AT+WSSEND sent at %v, recorded at %v", time.Duration(got.Txs[1].Loc.Time), time.Duration(s.Txs[1].Loc.Time))
	}
}

// TestRunSilentDevice: a device that sends nothing back is ErrNoDevice
// (the CLI's exit 2), after the per-transaction timeouts.
func TestRunSilentDevice(t *testing.T) {
	s := smallScript(t, time.Millisecond)
	a, b := net.Pipe()
	done := make(chan struct{})
	go func() { // a device that reads and never answers
		defer close(done)
		buf := make([]byte, 256)
		for {
			if _, err := a.Read(buf); err != nil {
				return
			}
		}
	}()
	_, err := Run(context.Background(), b, s, &RunOptions{Timeout: 20 * time.Millisecond, URCWait: time.Millisecond})
	b.Close()
	a.Close()
	<-done
	if !errors.Is(err, ErrNoDevice) {
		t.Errorf("got %v, want ErrNoDevice", err)
	}
}
