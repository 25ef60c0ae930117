package bridge

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/atbridge/atbridge/bridge/port"
	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/formats"
	"github.com/atbridge/atbridge/internal/rig"
)

// gateRecorder blocks every Write until the gate opens: a disk that has
// fallen behind.
type gateRecorder struct {
	gate chan struct{}
	mu   sync.Mutex
	recs []capture.Record
	t    int64
	fail bool
}

func (g *gateRecorder) Now() int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.t++
	return g.t
}

func (g *gateRecorder) Write(r *capture.Record) error {
	<-g.gate
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.fail {
		return errors.New("disk full")
	}
	c := *r
	c.Data = bytes.Clone(r.Data)
	g.recs = append(g.recs, c)
	return nil
}

// TestRecQueueBound: pushes never block; past the bound data is counted,
// and the count is recorded as bytes_lost before the next data of that
// port and direction. Recorded plus lost is everything pushed.
func TestRecQueueBound(t *testing.T) {
	g := &gateRecorder{gate: make(chan struct{})}
	q := newRecQueue(g, 1000, nil)
	done := make(chan struct{})
	go func() { q.run(); close(done) }()

	chunk := bytes.Repeat([]byte("x"), 100)
	pushed := 0
	start := time.Now()
	for i := 0; i < 50; i++ { // 5000 bytes into a 1000-byte queue, disk stuck
		q.chunk(q.now(), capture.PortHost, formats.ToDevice, chunk)
		pushed += len(chunk)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("pushes blocked for %v", d) // a hang guard, not a speed check
	}
	close(g.gate)
	for q.snapshot().Records < 10 { // the ten 100-byte chunks that fitted
		time.Sleep(time.Millisecond)
	}
	// Space is back: the next push records the loss first.
	q.chunk(q.now(), capture.PortHost, formats.ToDevice, []byte("after"))
	pushed += 5
	q.close()
	<-done

	recorded, lost := 0, int64(0)
	sawLossBeforeAfter := false
	for i, r := range g.recs {
		switch {
		case r.Kind == capture.KindChunk && r.Dir == formats.ToDevice:
			recorded += len(r.Data)
			if string(r.Data) == "after" && i > 0 && g.recs[i-1].Event.Type == capture.EvBytesLost {
				sawLossBeforeAfter = true
			}
		case r.Kind == capture.KindEvent && r.Event.Type == capture.EvBytesLost:
			if r.Port != capture.PortHost || r.Dir != formats.ToDevice {
				t.Errorf("loss on port %d %v", r.Port, r.Dir)
			}
			lost += r.Event.Count
		}
	}
	if int64(recorded)+lost != int64(pushed) || lost == 0 {
		t.Errorf("recorded %d + lost %d != pushed %d", recorded, lost, pushed)
	}
	if !sawLossBeforeAfter {
		t.Error("bytes_lost not recorded right before the next data")
	}
	st := q.snapshot()
	if st.LostBytes != lost || st.LostEvents != 1 || st.MaxQueued > 1000 {
		t.Errorf("stats %+v", st)
	}
}

// TestRecQueueWriteError: a failing Recorder costs the records, never the
// pumps; the errors are counted.
func TestRecQueueWriteError(t *testing.T) {
	g := &gateRecorder{gate: make(chan struct{}), fail: true}
	close(g.gate)
	var seen int
	q := newRecQueue(g, 0, func(*capture.Record) { seen++ })
	done := make(chan struct{})
	go func() { q.run(); close(done) }()
	q.chunk(1, 0, formats.ToDevice, []byte("abc"))
	q.close()
	<-done
	if st := q.snapshot(); st.WriteErrors != 1 || st.LostBytes != 3 || st.LastWriteErr != "disk full" || seen != 1 {
		t.Errorf("stats %+v, observed %d", st, seen)
	}
}

// TestSplitWriter rotates by size and checks the seam: every record is in
// exactly one file, in order, with split events naming the neighbours and
// times continuing across files.
func TestSplitWriter(t *testing.T) {
	dir := t.TempDir()
	base := filepath.Join(dir, "rec.atcap")
	sw, err := CreateSplit(base, capture.Header{Tool: "test"}, SplitOptions{Size: 4096, Writer: &capture.WriterOptions{BlockSize: 1024, Stored: true}})
	rig.Must(t, err)
	var want [][]byte
	for i := 0; i < 200; i++ {
		b := bytes.Repeat([]byte{byte(i)}, 100)
		want = append(want, b)
		rig.Must(t, sw.Write(&capture.Record{Kind: capture.KindChunk, Time: sw.Now(), Dir: formats.ToHost, Port: 1, Data: b}))
	}
	rig.Must(t, sw.Close())
	rig.Must(t, sw.Close())
	files := sw.Files()
	if len(files) < 3 {
		t.Fatalf("only %d files", len(files))
	}
	if filepath.Base(files[0]) != "rec-001.atcap" || filepath.Base(files[1]) != "rec-002.atcap" {
		t.Errorf("names %v", files)
	}
	var got [][]byte
	var last int64
	var start time.Time
	for i, f := range files {
		recs := readCapture(t, f)
		rd, err := capture.Open(f, nil)
		rig.Must(t, err)
		h := rd.Header()
		rd.Close()
		if i == 0 {
			start = h.Start
		} else if !h.Start.Equal(start) {
			t.Errorf("file %d starts %v, want the first file's %v", i, h.Start, start)
		}
		for j, r := range recs {
			if r.Time < last {
				t.Errorf("file %d record %d: time %d before %d", i, j, r.Time, last)
			}
			last = r.Time
			if r.Kind == capture.KindChunk {
				got = append(got, r.Data)
				continue
			}
			if r.Event.Type != capture.EvSplit {
				t.Errorf("unexpected %v", r.Event.Type)
			}
		}
		if i > 0 && (recs[0].Event.Type != capture.EvSplit || recs[0].Event.Text != "previous: "+filepath.Base(files[i-1])) {
			t.Errorf("file %d starts with %+v", i, recs[0].Event)
		}
		if i < len(files)-1 && recs[len(recs)-1].Event.Text != "next: "+filepath.Base(files[i+1]) {
			t.Errorf("file %d ends with %+v", i, recs[len(recs)-1].Event)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("%d chunks across files, want %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("chunk %d differs", i)
		}
	}
}

func TestParseSplit(t *testing.T) {
	for in, want := range map[string]SplitOptions{
		"100MB": {Size: 100e6}, "512KiB": {Size: 512 << 10}, "1G": {Size: 1 << 30}, "4096": {Size: 4096},
		"10m": {Every: 10 * time.Minute}, "1h": {Every: time.Hour},
	} {
		got, err := ParseSplit(in)
		if err != nil || got != want {
			t.Errorf("%q: %+v %v, want %+v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "x", "-5", "0", "-1s", "10 parsecs"} {
		if _, err := ParseSplit(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestProxyDiskStuck: with the Recorder stuck, forwarding goes on at full
// speed; once it moves again the capture accounts for every byte, as data
// or as bytes_lost counts.
func TestProxyDiskStuck(t *testing.T) {
	dir := t.TempDir()
	devLink := filepath.Join(dir, "dev")
	dev, err := port.Open(context.Background(), "pty:"+devLink, nil)
	rig.Must(t, err)
	defer rig.Echo(t, dev)()
	g := &gateRecorder{gate: make(chan struct{})}
	px, err := OpenProxy(context.Background(), &ProxyOptions{Host: "pty:" + filepath.Join(dir, "host"), Device: devLink, Recorder: g, QueueBytes: 4096})
	rig.Must(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- px.Run(ctx) }()
	f, err := os.OpenFile(filepath.Join(dir, "host"), os.O_RDWR, 0)
	rig.Must(t, err)
	defer f.Close()
	data := bytes.Repeat([]byte("0123456789abcdef"), 64<<10/16)
	go func() { _, _ = f.Write(data) }()
	if got := rig.ReadN(t, f, len(data)); !bytes.Equal(got, data) {
		t.Fatal("echo differs while the disk is stuck")
	}
	close(g.gate)
	cancel()
	rig.Must(t, <-done)
	for _, dir := range []formats.Dir{formats.ToDevice, formats.ToHost} {
		var kept, lost int64
		for _, r := range g.recs {
			switch {
			case r.Kind == capture.KindChunk && r.Dir == dir:
				kept += int64(len(r.Data))
			case r.Kind == capture.KindEvent && r.Event.Type == capture.EvBytesLost && r.Dir == dir:
				lost += r.Event.Count
			}
		}
		if kept+lost != int64(len(data)) || lost == 0 {
			t.Errorf("%v: %d recorded + %d lost, want %d with some lost", dir, kept, lost, len(data))
		}
	}
	if st := px.Stats(); st.Queue.LostBytes == 0 || st.ToDevice != int64(len(data)) {
		t.Errorf("stats %+v", st)
	}
}
