package replay

import (
	"bytes"
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/formats"
	"github.com/atbridge/atbridge/internal/session"
)

// passiveSession is a hand-built capture of passive receive on two links
// (CIPMUX=1), from the bytes of TCP-IP_AT_Commands.rst (AT+CIPRECVTYPE,
// AT+CIPRECVDATA, AT+CIPRECVLEN) and esp-at-surface.md §3.6: the total is
// announced, a partial read is announced again with what is left, CLOSED
// waits until the data is read. The data imitates result lines.
const passiveSession = `@echo on
@firmware release
< 0.000 "\r\nready\r\n"
> 0.100 "AT+CIPMUX=1\r\n"
< 0.102 "AT+CIPMUX=1\r\n\r\nOK\r\n"
> 0.200 "AT+CIPRECVTYPE=5,1\r\n"
< 0.202 "AT+CIPRECVTYPE=5,1\r\n\r\nOK\r\n"
> 0.300 "AT+CIPSTART=0,\"TCP\",\"127.0.0.1\",80\r\n"
< 0.350 "AT+CIPSTART=0,\"TCP\",\"127.0.0.1\",80\r\n0,CONNECT\r\n\r\nOK\r\n"
> 0.400 "AT+CIPSTART=1,\"UDP\",\"127.0.0.1\",53\r\n"
< 0.402 "AT+CIPSTART=1,\"UDP\",\"127.0.0.1\",53\r\n1,CONNECT\r\n\r\nOK\r\n"
< 0.500 "\r\n+IPD,1,12\r\n"
< 0.510 "\r\n+IPD,0,20\r\n"
> 0.600 "AT+CIPRECVLEN?\r\n"
< 0.602 "AT+CIPRECVLEN?\r\n+CIPRECVLEN:20,12,0,0,0\r\n\r\nOK\r\n"
> 0.700 "AT+CIPRECVDATA=1,12\r\n"
< 0.702 "AT+CIPRECVDATA=1,12\r\n+CIPRECVDATA:12,\r\nERROR\r\n>\r\n\r\nOK\r\n"
> 0.800 "AT+CIPRECVDATA=0,8\r\n"
< 0.802 "AT+CIPRECVDATA=0,8\r\n+CIPRECVDATA:8,\r\nOK\r\nxy\r\nOK\r\n\r\n+IPD,0,12\r\n"
> 0.900 "AT+CIPRECVDATA=0,12\r\n"
< 0.902 "AT+CIPRECVDATA=0,12\r\n+CIPRECVDATA:12,SEND OK\r\n>>>\r\nOK\r\n"
< 0.950 "0,CLOSED\r\n"
> 1.000 "AT+CIPCLOSE=1\r\n"
< 1.002 "AT+CIPCLOSE=1\r\n1,CLOSED\r\n\r\nOK\r\n"
`

func passiveScript(t testing.TB) *Script {
	t.Helper()
	ss, err := session.Parse(strings.NewReader(passiveSession))
	if err != nil {
		t.Fatal(err)
	}
	s, err := FromRecords(capture.Header{Meta: map[string]string{"firmware": "release"}}, ss.Records())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestPassiveScript: every +CIPRECVDATA is its command's response, with
// the link from the command and the data counted.
func TestPassiveScript(t *testing.T) {
	s := passiveScript(t)
	want := map[string]string{"AT+CIPRECVDATA=1,12": "\r\nERROR\r\n>\r\n", "AT+CIPRECVDATA=0,8": "\r\nOK\r\nxy", "AT+CIPRECVDATA=0,12": "SEND OK\r\n>>>"}
	n := 0
	for _, tx := range s.Txs {
		if tx.Result != "OK" {
			t.Errorf("%s: result %q", tx.Line, tx.Result)
		}
		w, ok := want[string(tx.Line)]
		if !ok {
			continue
		}
		link, _ := tx.Cmd.Int(0)
		for _, oi := range tx.Response {
			o := &s.Out[oi]
			if o.Name != "+CIPRECVDATA" {
				continue
			}
			n++
			if string(o.Data) != w || o.Link != int(link) {
				t.Errorf("%s: data %q link %d, want %q link %d", tx.Line, o.Data, o.Link, w, link)
			}
		}
	}
	if n != len(want) {
		t.Errorf("%d +CIPRECVDATA responses, want %d", n, len(want))
	}
	for _, o := range s.Out {
		if o.Kind.String() == "unparsed" {
			t.Errorf("unparsed output %q", o.Raw)
		}
	}
}

// recvData reads an AT+CIPRECVDATA answer the way the docs describe it
// (and WiFiEspAT reads it): "+CIPRECVDATA:", the length up to ',', that
// many bytes, then "\r\nOK\r\n". It returns the data.
func (h *host) recvData(from int) string {
	h.t.Helper()
	all := h.until(from, "+CIPRECVDATA:")
	i := strings.Index(all, "+CIPRECVDATA:") + len("+CIPRECVDATA:")
	all = h.until(from+i, ",")
	j := strings.IndexByte(all, ',')
	n, err := strconv.Atoi(all[:j])
	if err != nil {
		h.t.Fatalf("length %q: %v", all[:j], err)
	}
	start := from + i + j + 1
	for len(h.got) < start+n+6 {
		buf := make([]byte, 256)
		_ = h.c.SetReadDeadline(time.Now().Add(5 * time.Second))
		k, err := h.c.Read(buf)
		h.got = append(h.got, buf[:k]...)
		if err != nil {
			h.t.Fatalf("reading %d data bytes: %v; got %q", n, err, h.got[start:])
		}
	}
	if ok := string(h.got[start+n : start+n+6]); ok != "\r\nOK\r\n" {
		h.t.Fatalf("after the data: %q, want OK", ok)
	}
	return string(h.got[start : start+n])
}

// TestMockPassiveReceive: a host written from the docs reads passive data
// on two links from a mock of the hand-built capture and gets the recorded
// bytes, whatever result lines they imitate.
func TestMockPassiveReceive(t *testing.T) {
	h, m, wait := startMock(t, passiveScript(t), "")
	for _, c := range []string{"AT+CIPMUX=1", "AT+CIPRECVTYPE=5,1", `AT+CIPSTART=0,"TCP","127.0.0.1",80`, `AT+CIPSTART=1,"UDP","127.0.0.1",53`} {
		h.until(h.send(c+"\r\n"), "\r\nOK\r\n")
	}
	h.until(0, "+IPD,0,20\r\n")
	h.until(h.send("AT+CIPRECVLEN?\r\n"), "+CIPRECVLEN:20,12,0,0,0\r\n\r\nOK\r\n")
	if got := h.recvData(h.send("AT+CIPRECVDATA=1,12\r\n")); got != "\r\nERROR\r\n>\r\n" {
		t.Errorf("link 1: %q", got)
	}
	from := h.send("AT+CIPRECVDATA=0,8\r\n")
	if got := h.recvData(from); got != "\r\nOK\r\nxy" {
		t.Errorf("link 0, first read: %q", got)
	}
	h.until(from, "\r\n+IPD,0,12\r\n")
	if got := h.recvData(h.send("AT+CIPRECVDATA=0,12\r\n")); got != "SEND OK\r\n>>>" {
		t.Errorf("link 0, second read: %q", got)
	}
	h.until(h.send("AT+CIPCLOSE=1\r\n"), "1,CLOSED\r\n\r\nOK\r\n")
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	if st := m.Stats(); len(st.Misses) > 0 || !st.Finished {
		t.Errorf("misses %v, finished %v", st.Misses, st.Finished)
	}
}

// TestCountedReplayAgainstMock replays the decoder's length-counted
// scenarios (formats/at/testdata/sessions: MQTT, HTTP, FS, SYSFLASH,
// SYSMFG, CIPSENDEX, passthrough on UDP and SSL) and the passive capture
// against mocks of themselves: the engine matches every transaction.
func TestCountedReplayAgainstMock(t *testing.T) {
	paths, err := filepath.Glob("../formats/at/testdata/sessions/*.session")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no sessions: %v", err)
	}
	scripts := map[string]*Script{"passive": passiveScript(t)}
	for _, p := range paths {
		scripts[filepath.Base(p)] = sessionScript(t, p)
	}
	for name, s := range scripts {
		for _, match := range []Match{Strict, Lenient} {
			t.Run(name+"/"+match.String(), func(t *testing.T) {
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
				if rep := Compare(s, got, rules); !rep.Equal {
					var b strings.Builder
					rep.WriteText(&b)
					t.Errorf("replay against the mock differs:\n%s", b.String())
				}
			})
		}
	}
}

// TestCompareCountedData: lenient matching compares the data of the
// counted replies, not only their headers.
func TestCompareCountedData(t *testing.T) {
	ss, err := session.Parse(strings.NewReader(passiveSession))
	if err != nil {
		t.Fatal(err)
	}
	recs := ss.Records()
	a, err := FromRecords(capture.Header{}, recs)
	if err != nil {
		t.Fatal(err)
	}
	changed := append([]capture.Record(nil), recs...)
	for i := range changed {
		r := &changed[i]
		if r.Dir == formats.ToHost && bytes.Contains(r.Data, []byte("xy")) {
			r.Data = bytes.Replace(r.Data, []byte("xy"), []byte("XY"), 1)
		}
	}
	b, err := FromRecords(capture.Header{}, changed)
	if err != nil {
		t.Fatal(err)
	}
	if rep := Compare(a, b, &Rules{Match: Lenient}); rep.Equal {
		t.Error("changed +CIPRECVDATA data compares equal")
	}
}
