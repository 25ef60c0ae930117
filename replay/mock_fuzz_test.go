package replay

import (
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/formats"
)

// FuzzMock: a mock of any capture, under any rules, fed any host input,
// never panics and always returns once its context ends.
func FuzzMock(f *testing.F) {
	f.Add([]byte("AT+GMR\r\n"), []byte("AT+GMR\r\nAT version:x\r\n\r\nOK\r\n"), []byte("AT+GMR\r\nAT+GMX\r\n"), "order any")
	f.Add([]byte("AT+WSSEND=0,4\r\ntest"), []byte("AT+WSSEND=0,4\r\n\r\nOK\r\n\r\n>\r\nSEND OK\r\n+WS_DATA:0,4,test\r\n"), []byte("AT+WSSEND=0,4\r\ntesx\r\n"), "fault corrupt-wsdata *\nfault busy * 2")
	f.Add([]byte("AT+CIPSEND=3\r\nab+++"), []byte("\r\nready\r\n\r\nOK\r\n\r\n>"), []byte("AT+CIPSEND=3\r\nab+++AT\r\n"), "fault drop #1\nfault garbage * 3")
	f.Fuzz(func(t *testing.T, host, dev, live []byte, rules string) {
		r, err := ParseRules(strings.NewReader(rules))
		if err != nil {
			return
		}
		var recs []capture.Record
		for i := 0; i < len(host) || i < len(dev); i += 7 {
			if i < len(host) {
				recs = append(recs, capture.Record{Kind: capture.KindChunk, Time: int64(i), Dir: formats.ToDevice, Data: host[i:min(i+7, len(host))]})
			}
			if i < len(dev) {
				recs = append(recs, capture.Record{Kind: capture.KindChunk, Time: int64(i) + 1, Dir: formats.ToHost, Data: dev[i:min(i+7, len(dev))]})
			}
		}
		s, err := FromRecords(capture.Header{}, recs)
		if err != nil {
			t.Fatal(err)
		}
		for i := range r.Faults {
			if r.Faults[i].Kind == FaultDelay {
				r.Faults[i].Delay = min(r.Faults[i].Delay, time.Millisecond)
			}
			r.Faults[i].At = min(r.Faults[i].At, time.Millisecond)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		a, b := net.Pipe()
		drained := make(chan struct{})
		go func() { _, _ = io.Copy(io.Discard, b); close(drained) }()
		served := make(chan error, 1)
		m := NewMock(s, &MockOptions{Rules: r})
		go func() { served <- m.Serve(ctx, a) }()
		// The mock reads what the host types; a write may block while the
		// mock writes, so it goes through its own goroutine.
		wrote := make(chan struct{})
		go func() {
			_ = b.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
			_, _ = b.Write(live)
			close(wrote)
		}()
		<-served
		a.Close()
		b.Close()
		<-wrote
		<-drained
		_ = m.Stats()
	})
}
