package at_test

import (
	"bytes"
	"context"
	"flag"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/atbridge/atbridge/formats"
	"github.com/atbridge/atbridge/formats/at"
	"github.com/atbridge/atbridge/formats/socat"
	"github.com/atbridge/atbridge/internal/session"
)

var recordSocat = flag.Bool("record-socat", false, "re-record testdata/counted.socat through the real socat")

// countedSocat is a "socat -x -v" dump of testdata/sessions/counted.session
// relayed by a real socat (left: the host, right: the device).
const countedSocat = "testdata/counted.socat"

// countedResults is the result each command of counted.session must get;
// a command not listed gets OK.
var countedResults = map[string]string{
	"+CIPSEND":    "SEND OK",
	"+CIPSENDEX":  "SEND OK",
	"+MQTTPUBRAW": "+MQTTPUB:OK",
	"+HTTPCPOST":  "SEND OK",
	"+HTTPCPUT":   "SEND OK",
}

// TestCountedSocat imports the socat dump of a session that uses every
// length-counted form (formats/socat), decodes it, and expects no
// unparsed byte and the right result for every transaction.
func TestCountedSocat(t *testing.T) {
	if *recordSocat {
		recordCountedSocat(t)
	}
	f, err := os.Open(countedSocat)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := socat.NewReader(f)
	var cs []chunk
	for {
		b, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if b.Gap != 0 {
			t.Fatalf("block at line %d: gap %d", b.Line, b.Gap)
		}
		dir := formats.ToHost
		if b.LeftToRight {
			dir = formats.ToDevice
		}
		cs = append(cs, chunk{b.Time.UnixNano(), dir, b.Data})
	}
	evs := decodeAll(nil, cs)
	checkCoverage(t, evs, cs)
	var txs, right int
	for i := range evs {
		e := &evs[i]
		switch e.Kind {
		case at.EvUnparsed:
			t.Errorf("unparsed: %s", e.String())
		case at.EvTransaction:
			txs++
			want := countedResults[e.Name]
			if want == "" {
				want = "OK"
			}
			if e.Tx.Result == want {
				right++
			} else {
				t.Errorf("%s: result %q, want %q", e.Tx.Line, e.Tx.Result, want)
			}
		}
	}
	t.Logf("%d of %d transactions decode right", right, txs)
	if txs < 20 {
		t.Errorf("%d transactions, want 20 or more", txs)
	}
}

// recordCountedSocat relays counted.session through "socat -x -v
// TCP-LISTEN TCP" on loopback, one step at a time (each waits until the
// other end has read it), and writes socat's dump.
func recordCountedSocat(t *testing.T) {
	bin, err := exec.LookPath("socat")
	if err != nil {
		t.Fatalf("-record-socat needs socat: %v", err)
	}
	s, err := session.ParseFile(filepath.Join(localSessionsDir, "counted.session"))
	if err != nil {
		t.Fatal(err)
	}
	dev, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	probe, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	front := probe.Addr().String()
	probe.Close()
	_, port, _ := net.SplitHostPort(front)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var dump bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, "-x", "-v", "TCP-LISTEN:"+port+",bind=127.0.0.1,reuseaddr", "TCP:"+dev.Addr().String())
	cmd.Stderr = &dump
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var host net.Conn
	for i := 0; i < 100; i++ {
		if host, err = net.Dial("tcp", front); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	device, err := dev.Accept()
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range s.Steps {
		w, r := host, device
		if st.Dir == formats.ToHost {
			w, r = device, host
		}
		if _, err := w.Write(st.Data); err != nil {
			t.Fatal(err)
		}
		got := make([]byte, len(st.Data))
		if _, err := io.ReadFull(r, got); err != nil || !bytes.Equal(got, st.Data) {
			t.Fatalf("relayed %q, want %q (%v)", got, st.Data, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	host.Close()
	device.Close()
	if err := cmd.Wait(); err != nil {
		t.Logf("socat: %v", err)
	}
	if err := os.WriteFile(countedSocat, dump.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}
