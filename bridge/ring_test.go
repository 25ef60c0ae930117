package bridge

import (
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/formats"
)

// ringSession feeds a RingWriter a simulated session on a fake clock: an
// "AT+CIPSTATUS" exchange every step, answered OK, or ERROR at the
// times in errs. It returns every record fed, in order.
type ringSession struct {
	t     *testing.T
	rw    *RingWriter
	clock atomic.Int64 // read by the RingWriter's ticker
	mu    sync.Mutex
	wins  []Window
	fed   []capture.Record
}

func newRingSession(t *testing.T, opts RingOptions) *ringSession {
	s := &ringSession{t: t}
	opts.Clock = s.clock.Load
	opts.OnWindow = func(w Window) {
		s.mu.Lock()
		s.wins = append(s.wins, w)
		s.mu.Unlock()
	}
	h := capture.Header{Ports: []capture.PortInfo{
		{Name: "pty:host", Role: "host", Line: capture.LineSettings{Baud: 115200, DataBits: 8, Parity: 'N', StopBits: capture.Stop1}},
		{Name: "pty:dev", Role: "device", Line: capture.LineSettings{Baud: 115200, DataBits: 8, Parity: 'N', StopBits: capture.Stop1}},
	}}
	rw, err := CreateRing(filepath.Join(t.TempDir(), "soak.atcap"), h, opts)
	if err != nil {
		t.Fatal(err)
	}
	s.rw = rw
	return s
}

func (s *ringSession) feed(r capture.Record) {
	s.clock.Store(r.Time)
	s.fed = append(s.fed, r)
	if err := s.rw.Write(&r); err != nil {
		s.t.Fatal(err)
	}
}

// exchange feeds one command and its answer at t.
func (s *ringSession) exchange(t int64, result string) {
	s.feed(capture.Record{Kind: capture.KindChunk, Time: t, Port: capture.PortHost, Dir: formats.ToDevice, Data: []byte("AT+CIPSTATUS\r\n")})
	s.feed(capture.Record{Kind: capture.KindChunk, Time: t + 1e6, Port: capture.PortDevice, Dir: formats.ToHost, Data: []byte("\r\n" + result + "\r\n")})
}

func (s *ringSession) close() []Window {
	if err := s.rw.Close(); err != nil {
		s.t.Fatal(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.wins
}

// checkWindow asserts w's file holds exactly the fed records with times in
// [from, until], in order, plus its EvTrigger records.
func (s *ringSession) checkWindow(w Window, from, until int64, triggers int) {
	s.t.Helper()
	if w.Err != nil {
		s.t.Fatalf("window %d: %v", w.N, w.Err)
	}
	got := readCapture(s.t, w.Path)
	var want []capture.Record
	for _, r := range s.fed {
		if r.Time >= from && r.Time <= until {
			want = append(want, r)
		}
	}
	var session []capture.Record
	nTrig := 0
	for _, r := range got {
		if r.Kind == capture.KindEvent && r.Event.Type == capture.EvTrigger {
			nTrig++
			continue
		}
		session = append(session, r)
	}
	if nTrig != triggers || w.Triggers != triggers {
		s.t.Errorf("window %d: %d trigger records, Window says %d; want %d", w.N, nTrig, w.Triggers, triggers)
	}
	if len(session) != len(want) {
		s.t.Fatalf("window %d holds %d session records, want %d (times %v..%v)", w.N, len(session), len(want), time.Duration(from), time.Duration(until))
	}
	for i := range want {
		if session[i].Time != want[i].Time || string(session[i].Data) != string(want[i].Data) || session[i].Dir != want[i].Dir {
			s.t.Fatalf("window %d record %d: got %v %q, want %v %q", w.N, i, session[i].Time, session[i].Data, want[i].Time, want[i].Data)
		}
	}
	if int64(len(got)) != w.Records {
		s.t.Errorf("window %d: Records %d, file holds %d", w.N, w.Records, len(got))
	}
}

// TestRingWindows: a two-hour session, a one-minute ring and ten seconds
// after: ERROR at 30m (and again 5s later, which extends the window) and
// at 90m write exactly two files holding exactly the records of
// [trigger-1m, last trigger+10s], no record lost at either edge.
func TestRingWindows(t *testing.T) {
	trig, _ := ParseTrigger("error")
	s := newRingSession(t, RingOptions{Span: time.Minute, After: 10 * time.Second, Triggers: []Trigger{trig}})
	step := int64(100 * time.Millisecond)
	e1, e2, e3 := int64(30*time.Minute), int64(30*time.Minute+5*time.Second), int64(90*time.Minute)
	for at := int64(0); at < int64(2*time.Hour); at += step {
		res := "OK"
		if at == e1 || at == e2 || at == e3 {
			res = "ERROR"
		}
		s.exchange(at, res)
	}
	wins := s.close()
	if len(wins) != 2 {
		t.Fatalf("%d windows, want 2: %+v", len(wins), wins)
	}
	// The trigger is the ERROR's last byte, 1ms after the command.
	s.checkWindow(wins[0], e1+1e6-int64(time.Minute), e2+1e6+int64(10*time.Second), 2)
	s.checkWindow(wins[1], e3+1e6-int64(time.Minute), e3+1e6+int64(10*time.Second), 1)
	if !strings.Contains(wins[0].Trigger, "error: AT+CIPSTATUS -> ERROR") || wins[0].Short != "" {
		t.Errorf("window 1: trigger %q, short %q", wins[0].Trigger, wins[0].Short)
	}
	if got := filepath.Base(wins[1].Path); got != "soak-0002.atcap" {
		t.Errorf("second window named %s", got)
	}
	rd, err := capture.Open(wins[0].Path, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := rd.Header()
	rd.Close()
	if h.Start != s.rw.Header().Start || h.Meta["ring_window"] != "1" || !strings.Contains(h.Meta["ring_trigger"], "ERROR") {
		t.Errorf("window header %+v", h)
	}
}

// TestRingBytesAndLimits: a size ring holds its bound, MaxWindows stops
// the files and counts the rest, and a window cut by Close says so.
func TestRingBytesAndLimits(t *testing.T) {
	trig, _ := ParseTrigger("regex:^ERROR$")
	s := newRingSession(t, RingOptions{Bytes: 64 << 10, After: time.Second, Triggers: []Trigger{trig}, MaxWindows: 2})
	step := int64(10 * time.Millisecond)
	for i := int64(0); i < 100000; i++ {
		res := "OK"
		if i%20000 == 19999 {
			res = "ERROR"
		}
		s.exchange(i*step, res)
		if _, b := s.rw.Held(); b > 64<<10+RingRecordCost+64 {
			t.Fatalf("ring holds %d bytes past its 64 KiB bound", b)
		}
	}
	// The last ERROR is in the ring's closing second: a third trigger
	// past MaxWindows, not written.
	if n := s.rw.Skipped(); n != 3 {
		t.Errorf("skipped %d triggers, want 3", n)
	}
	wins := s.close()
	if len(wins) != 2 {
		t.Fatalf("%d windows, want 2", len(wins))
	}
	for _, w := range wins {
		got := readCapture(t, w.Path)
		var b int64
		for _, r := range got {
			b += cost(&r)
		}
		if b < 60<<10 || b > 64<<10+2*int64(time.Second/time.Duration(step))*(RingRecordCost+20) {
			t.Errorf("window %d holds %d bytes of records, want the 64 KiB ring plus one second", w.N, b)
		}
		if !strings.Contains(w.Trigger, `regex:^ERROR$: device→host "ERROR"`) {
			t.Errorf("trigger text %q", w.Trigger)
		}
	}

	// Close during the after part.
	trig, _ = ParseTrigger("error")
	s = newRingSession(t, RingOptions{Span: time.Minute, After: time.Hour, Triggers: []Trigger{trig}})
	for i := int64(0); i < 100; i++ {
		res := "OK"
		if i == 50 {
			res = "ERROR"
		}
		s.exchange(i*int64(time.Second), res)
	}
	wins = s.close()
	if len(wins) != 1 {
		t.Fatalf("%d windows", len(wins))
	}
	if !strings.Contains(wins[0].Short, "the session began 50.001s before") {
		t.Errorf("short: %q", wins[0].Short)
	}
	got := readCapture(t, wins[0].Path)
	last := got[len(got)-1]
	if last.Event.Type != capture.EvNote || !strings.Contains(last.Event.Text, "the recording stopped 49s after the trigger, before the 1h0m0s asked") {
		t.Errorf("last record %+v", last)
	}
}

// TestRingTriggers: each trigger kind fires on what the firmware sends
// (docs/esp-at.md) and on nothing else; the idle tick ends a window when
// no record does; the header of a window carries the line settings in
// force at its first record.
func TestRingTriggers(t *testing.T) {
	cases := []struct {
		spec string
		recs []capture.Record
		want string
	}{
		{"busy", []capture.Record{
			chunk(0, formats.ToDevice, "AT+CWJAP=\"x\",\"y\"\r\n"), chunk(1, formats.ToDevice, "AT\r\n"),
			chunk(2, formats.ToHost, "\r\nbusy p...\r\n"), chunk(3, formats.ToHost, "WIFI CONNECTED\r\n\r\nOK\r\n")}, "busy: AT -> busy p..."},
		{"ws-close", []capture.Record{chunk(0, formats.ToHost, "+WS_DISCONNECTED:0\r\n")}, "ws-close: +WS_DISCONNECTED:0"},
		{"ws-close", []capture.Record{{Kind: capture.KindFrame, Time: 5, Dir: formats.ToClient, Frame: capture.Frame{Opcode: 8, Fin: true, Length: 2}, Data: []byte{3, 232}}}, "ws-close: close frame on link 0"},
		{"reset", []capture.Record{chunk(0, formats.ToHost, "\r\nready\r\n")}, "reset: the ESP32 said ready"},
		{"reset", []capture.Record{{Kind: capture.KindChunk, Port: capture.PortLog, Dir: formats.ToHost,
			Data: []byte("Guru Meditation Error: Core  0 panic'ed (LoadProhibited). Exception was unhandled.\r\n")}}, "reset: panic: Guru Meditation Error"},
		{"reset", []capture.Record{{Kind: capture.KindChunk, Port: capture.PortLog, Dir: formats.ToHost,
			Data: []byte("rst:0xc (SW_CPU_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)\r\n")}}, "reset: rst:0xc (SW_CPU_RESET)"},
		{"latency>500ms", []capture.Record{chunk(0, formats.ToDevice, "AT+HTTPCLIENT=2,0,\"http://x\",,,1\r\n"), chunk(int64(700*time.Millisecond), formats.ToHost, "\r\nOK\r\n")}, "latency>500ms: AT+HTTPCLIENT"},
		{"marker", []capture.Record{{Kind: capture.KindEvent, Time: 9, Event: capture.Event{Type: capture.EvMarker, Text: "LED went dark"}}}, "marker: LED went dark"},
		{"regex:wifi:.*reason 20[0-9]", []capture.Record{{Kind: capture.KindChunk, Port: capture.PortLog, Dir: formats.ToHost,
			Data: []byte("W (5123) wifi: disconnected, re")}, {Kind: capture.KindChunk, Port: capture.PortLog, Dir: formats.ToHost, Data: []byte("ason 201\r\n")}}, `log UART "W (5123) wifi: disconnected, reason 201"`},
	}
	quiet := []capture.Record{chunk(0, formats.ToDevice, "AT\r\n"), chunk(1, formats.ToHost, "\r\nOK\r\n"),
		chunk(2, formats.ToHost, "+WS_CONNECTED:0\r\n"), chunk(3, formats.ToDevice, "AT+GMR\r\n"), chunk(4, formats.ToHost, "AT version:3.4.0.0\r\n\r\nOK\r\n")}
	for _, c := range cases {
		t.Run(c.spec, func(t *testing.T) {
			trig, err := ParseTrigger(c.spec)
			if err != nil {
				t.Fatal(err)
			}
			s := newRingSession(t, RingOptions{Span: time.Minute, After: time.Second, Triggers: []Trigger{trig}})
			for _, r := range quiet {
				s.feed(r)
			}
			if f := s.rw.Files(); len(f) != 0 {
				t.Fatalf("fired on a quiet session: %v", f)
			}
			s.feed(capture.Record{Kind: capture.KindEvent, Time: 10, Port: 1, Event: capture.Event{Type: capture.EvLineSettings,
				Line: capture.LineSettings{Baud: 921600, DataBits: 8, Parity: 'N', StopBits: capture.Stop1}, Text: "AT+UART_CUR"}})
			for _, r := range c.recs {
				r.Time += 1e9
				s.feed(r)
			}
			s.clock.Add(3e9) // past the window and its grace: the tick ends it
			s.rw.tick()
			deadline := time.Now().Add(5 * time.Second)
			for {
				s.mu.Lock()
				n := len(s.wins)
				s.mu.Unlock()
				if n > 0 || time.Now().After(deadline) {
					break
				}
				time.Sleep(time.Millisecond)
			}
			wins := s.close()
			if len(wins) != 1 || !strings.Contains(wins[0].Trigger, c.want) {
				t.Fatalf("windows %+v, want one fired by %q", wins, c.want)
			}
			rd, err := capture.Open(wins[0].Path, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer rd.Close()
			if l := rd.Header().Ports[1].Line.Baud; l != 115200 {
				t.Errorf("window header device baud %d, want 115200 (in force at its first record)", l)
			}
		})
	}
}

func chunk(t int64, dir formats.Dir, s string) capture.Record {
	p := capture.PortHost
	if dir == formats.ToHost {
		p = capture.PortDevice
	}
	return capture.Record{Kind: capture.KindChunk, Time: t, Port: p, Dir: dir, Data: []byte(s)}
}

func TestParseTrigger(t *testing.T) {
	for _, bad := range []string{"", "errors", "latency>", "latency>-1s", "latency>fast", "regex:(", "regex:"} {
		if _, err := ParseTrigger(bad); err == nil || !strings.Contains(err.Error(), "--trigger") {
			t.Errorf("ParseTrigger(%q) = %v, want an error naming --trigger", bad, err)
		}
	}
	for _, s := range []string{"10m", "1h", "50MB", "512KiB"} {
		if _, err := ParseRing(s); err != nil {
			t.Errorf("ParseRing(%q): %v", s, err)
		}
	}
	if _, err := ParseRing("lots"); err == nil {
		t.Error("ParseRing(lots) took it")
	}
	if _, err := CreateRing("x.atcap", capture.Header{}, RingOptions{Span: time.Minute}); err == nil {
		t.Error("a ring with no trigger was made")
	}
}

// FuzzRingDetector feeds arbitrary bytes on every stream to a detector
// with every trigger armed: it must never panic, and a regex trigger's
// line buffer stays bounded.
func FuzzRingDetector(f *testing.F) {
	f.Add([]byte("AT+CIPSTATUS\r\n"), []byte("\r\nERROR\r\n"), []byte("rst:0xc (SW_CPU_RESET),boot:0x13\r\n"))
	f.Add([]byte("AT+WSSEND=0,5\r\n"), []byte("\r\nOK\r\n\r\n>+WS_DISCONNECTED:0\r\nready\r\n"), []byte("Guru Meditation Error: Core  0 panic'ed"))
	f.Add([]byte{0xff, 0, '\n'}, []byte("busy p...\r\n"), []byte("\x1b[0;31mE (12) wifi: x\x1b[0m\r\n"))
	var trigs []Trigger
	for _, s := range []string{"error", "busy", "ws-close", "reset", "latency>1ms", "regex:E \\(", "marker"} {
		tr, err := ParseTrigger(s)
		if err != nil {
			f.Fatal(err)
		}
		trigs = append(trigs, tr)
	}
	f.Fuzz(func(t *testing.T, host, dev, log []byte) {
		d := newDetector(capture.Header{}, trigs)
		for i, r := range []capture.Record{
			{Kind: capture.KindChunk, Time: 1, Port: capture.PortHost, Dir: formats.ToDevice, Data: host},
			{Kind: capture.KindChunk, Time: 2e6, Port: capture.PortDevice, Dir: formats.ToHost, Data: dev},
			{Kind: capture.KindChunk, Time: 3e6, Port: capture.PortLog, Dir: formats.ToHost, Data: log},
			{Kind: capture.KindFrame, Time: 4e6, Dir: formats.ToClient, Frame: capture.Frame{Opcode: uint8(len(host) % 16)}, Data: dev},
			{Kind: capture.KindEvent, Time: 5e6, Event: capture.Event{Type: capture.EventType(len(dev) % 20), Text: string(log)}},
		} {
			for _, what := range d.check(&r) {
				if what == "" {
					t.Fatalf("record %d fired with no text", i)
				}
			}
		}
		for k, b := range d.lines {
			if len(b) >= maxTriggerLine {
				t.Fatalf("%v holds %d bytes of a line", k, len(b))
			}
		}
	})
}
