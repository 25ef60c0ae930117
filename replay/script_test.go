package replay

import (
	"bytes"
	"context"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/formats"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// TestScriptCoversEveryHostByte: every host byte of every golden session
// is in exactly one host item, in order, and a script equals itself.
func TestScriptCoversEveryHostByte(t *testing.T) {
	for _, path := range goldens(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			h, recs := sessionRecords(t, path)
			s, err := FromRecords(h, recs)
			if err != nil {
				t.Fatal(err)
			}
			var want []byte
			for _, r := range recs {
				if r.Dir == formats.ToDevice {
					want = append(want, r.Data...)
				}
			}
			if got := s.HostBytes(); !bytes.Equal(got, want) {
				t.Errorf("host bytes\n got %q\nwant %q", got, want)
			}
			if len(s.Txs) == 0 {
				t.Error("no transactions")
			}
			for _, m := range []Match{Strict, Lenient} {
				if rep := Compare(s, s, &Rules{Match: m}); !rep.Equal {
					t.Errorf("%s: a script differs from itself: %+v", m, rep.Summary)
				}
			}
		})
	}
}

// changedWSData is ws-data.session with one answer changed (the first
// SEND OK becomes ERROR), one unsolicited +WS_DATA removed and one command
// retyped.
func changedWSData(t testing.TB) (*Script, *Script) {
	h, recs := sessionRecords(t, "../testdata/sessions/ws-data.session")
	a, err := FromRecords(h, recs)
	if err != nil {
		t.Fatal(err)
	}
	var out []capture.Record
	sendOK, dropped := false, false
	for _, r := range recs {
		r.Data = append([]byte(nil), r.Data...)
		switch {
		case !sendOK && string(r.Data) == "\r\nSEND OK\r\n":
			r.Data, sendOK = []byte("\r\nERROR\r\n"), true
		case !dropped && strings.HasPrefix(string(r.Data), "+WS_DATA:0,36,"):
			dropped = true
			continue
		}
		r.Data = bytes.ReplaceAll(r.Data, []byte("AT+WSSEND=0,11\r\n"), []byte("AT+WSSEND=0,11,1\r\n"))
		out = append(out, r)
	}
	b, err := FromRecords(h, out)
	if err != nil {
		t.Fatal(err)
	}
	return a, b
}

// TestReportGoldens checks the three report forms of a changed capture
// against testdata/report.{txt,json,xml} (go test -update rewrites them).
func TestReportGoldens(t *testing.T) {
	a, b := changedWSData(t)
	rep := Compare(a, b, nil)
	rep.Expected, rep.Got = "ws-data.session", "changed"
	if rep.Equal || rep.Summary.Different != 2 || rep.Summary.URCDiffs != 1 {
		t.Errorf("summary %+v", rep.Summary)
	}
	for _, g := range []struct {
		file  string
		write func(*bytes.Buffer) error
	}{
		{"report.txt", func(w *bytes.Buffer) error { return rep.WriteText(w) }},
		{"report.json", func(w *bytes.Buffer) error { return rep.WriteJSON(w) }},
		{"report.xml", func(w *bytes.Buffer) error { return rep.WriteJUnit(w, "ws-data") }},
	} {
		var buf bytes.Buffer
		if err := g.write(&buf); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join("testdata", g.file)
		if *update {
			if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test -update)", err)
		}
		if !bytes.Equal(buf.Bytes(), want) {
			t.Errorf("%s differs from the golden file (go test -update rewrites it):\n%s", g.file, buf.String())
		}
	}
	// The JUnit golden validates against the schema CI systems read.
	xmllint, err := exec.LookPath("xmllint")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("xmllint (libxml2-utils) is required under CI=true: %v", err)
		}
		t.Skipf("xmllint not installed: %v", err)
	}
	if out, err := exec.Command(xmllint, "--noout", "--schema", "testdata/junit.xsd", "testdata/report.xml").CombinedOutput(); err != nil {
		t.Errorf("testdata/report.xml does not validate: %v\n%s", err, out)
	}
}

// FuzzFromRecords: any two-sided traffic builds a Script without
// panicking, its host items cover the host bytes exactly, and it compares
// equal to itself.
func FuzzFromRecords(f *testing.F) {
	f.Add([]byte("AT+GMR\r\n"), []byte("AT+GMR\r\nAT version:x\r\n\r\nOK\r\n"), uint8(3))
	f.Add([]byte("AT+WSSEND=0,4\r\ntest"), []byte("AT+WSSEND=0,4\r\n\r\nOK\r\n\r\n>\r\nSEND OK\r\n+WS_DATA:0,4,test\r\n"), uint8(7))
	f.Add([]byte("AT+CIPSEND=3\r\nab+++"), []byte("\r\nready\r\n+IPD,3:abc\r\n\r\nOK\r\n\r\n>"), uint8(1))
	f.Fuzz(func(t *testing.T, host, dev []byte, cut uint8) {
		var recs []capture.Record
		step := int(cut%16) + 1
		var tm int64
		for i, j := 0, 0; i < len(host) || j < len(dev); {
			if i < len(host) {
				n := min(step, len(host)-i)
				recs = append(recs, capture.Record{Kind: capture.KindChunk, Time: tm, Dir: formats.ToDevice, Data: host[i : i+n]})
				i += n
			}
			tm += 1000
			if j < len(dev) {
				n := min(step+1, len(dev)-j)
				recs = append(recs, capture.Record{Kind: capture.KindChunk, Time: tm, Dir: formats.ToHost, Data: dev[j : j+n]})
				j += n
			}
			tm += 1000
		}
		s, err := FromRecords(capture.Header{}, recs)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(s.HostBytes(), host) {
			t.Fatalf("host bytes %q, want %q", s.HostBytes(), host)
		}
		if rep := Compare(s, s, &Rules{Match: Strict}); !rep.Equal {
			t.Fatalf("differs from itself: %+v", rep.Summary)
		}
		var b bytes.Buffer
		rep := Compare(s, &Script{}, nil)
		_ = rep.WriteText(&b)
		_ = rep.WriteJUnit(&b, "fuzz")
	})
}

// TestRacyRecording: a recorder that stores chunks after forwarding them
// can file the host's next command before the answer it waited for. The
// answer still belongs to its own command, so the mock sends it on that
// command and the replay waits for it.
func TestRacyRecording(t *testing.T) {
	c := func(at int64, dir formats.Dir, s string) capture.Record {
		return capture.Record{Kind: capture.KindChunk, Time: at, Dir: dir, Data: []byte(s)}
	}
	recs := []capture.Record{
		c(0, formats.ToHost, "\r\nready\r\n"),
		c(1000, formats.ToDevice, "AT\r\n"),
		c(1001, formats.ToHost, "AT\r\n"),
		c(1002, formats.ToDevice, "AT+GMR\r\n"), // sent after the OK below, filed before it
		c(1003, formats.ToHost, "\r\nOK\r\n"),
		c(1004, formats.ToHost, "AT+GMR\r\n"+gmrAnswer),
	}
	s, err := FromRecords(capture.Header{}, recs)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Txs) != 2 {
		t.Fatalf("%d transactions", len(s.Txs))
	}
	for _, oi := range s.Txs[0].Response {
		if a := s.Out[oi].Anchor; a != s.Txs[0].Host {
			t.Errorf("AT's %q anchored to host item %d, want %d", s.Out[oi].Raw, a, s.Txs[0].Host)
		}
	}
	ctx := context.Background()
	dev, m, wait := mockPair(t, ctx, s, nil)
	got, err := Run(ctx, dev, s, &RunOptions{Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	if rep := Compare(s, got, nil); !rep.Equal || len(m.Stats().Misses) > 0 {
		var b strings.Builder
		rep.WriteText(&b)
		t.Errorf("misses %v\n%s", m.Stats().Misses, b.String())
	}
	if got.Txs[1].Busy {
		t.Error("the replay typed AT+GMR while AT was running")
	}
}
