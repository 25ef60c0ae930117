package capture

import (
	"bytes"
	"flag"
	"os"
	"reflect"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/atbridge/atbridge/formats"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

func TestMain(m *testing.M) {
	if os.Getenv(killWriterEnv) != "" {
		runKillWriter() // the child of TestSIGKILL; never returns
	}
	if os.Getenv(compactKillEnv) != "" {
		runCompactKill() // the child of TestCompactionKilled; never returns
	}
	goleak.VerifyTestMain(m)
}

var testStart = time.Date(2026, 11, 25, 19, 0, 0, 123456789, time.UTC)

func testHeader() Header {
	return Header{
		Tool:     "atbridge test",
		Start:    testStart,
		MonoBase: 987654321,
		Ports: []PortInfo{
			{Name: "pty:/tmp/esp", Role: "host", Line: LineSettings{Baud: 115200, DataBits: 8, Parity: ParityNone, StopBits: Stop1}},
			{Name: "/dev/ttyUSB0", Role: "device", Line: LineSettings{Baud: 921600, DataBits: 8, Parity: ParityEven, StopBits: Stop2, Flow: FlowRTSCTS},
				Adapter: Adapter{VID: 0x0403, PID: 0x6001, Manufacturer: "FTDI", Product: "FT232R USB UART", Serial: "A10K3XYZ", Driver: "ftdi_sio", LatencyTimerMS: 16}},
			{Name: "/dev/ttyUSB1", Role: "log", Line: LineSettings{Baud: 115200, DataBits: 8, Parity: ParityNone, StopBits: Stop1}},
		},
		Meta: map[string]string{"firmware": "v5.0.1.0", "command": "atbridge proxy", "empty": ""},
	}
}

// sampleRecords has every kind and every field set somewhere, times
// non-decreasing.
func sampleRecords() []Record {
	line := LineSettings{Baud: 115200, DataBits: 7, Parity: ParityOdd, StopBits: Stop1_5, Flow: FlowXONXOFF}
	return []Record{
		{Kind: KindEvent, Time: 0, Port: PortHost, Event: Event{Type: EvPortOpened, Text: "pty:/tmp/esp", Line: line}},
		{Kind: KindChunk, Time: 10, Port: PortDevice, Dir: formats.ToHost, Data: []byte("\r\nready\r\n")},
		{Kind: KindChunk, Time: 10, Port: PortHost, Dir: formats.ToDevice, Data: []byte("AT+WSSEND=0,4\r\n")},
		{Kind: KindChunk, Time: 11, Port: 7, Dir: formats.ToDevice, Data: nil},
		{Kind: KindFrame, Time: 1000, Dir: formats.ToServer, Data: []byte("test"),
			Frame: Frame{Link: 2, Opcode: 1, Fin: true, Rsv: 5, Masked: true, MaskKey: [4]byte{1, 2, 3, 4}, Length: 4}},
		{Kind: KindFrame, Time: 1001, Dir: formats.ToClient, Data: []byte{0, 1, 2, 0xff},
			Frame: Frame{Opcode: 2, Length: 70000}},
		{Kind: KindFrame, Time: 1002, Port: 3, Dir: formats.ToClient, Frame: Frame{Opcode: 8, Fin: true, Masked: true}},
		{Kind: KindEvent, Time: 2000, Event: Event{Type: EvPortClosed}, Port: 1},
		{Kind: KindEvent, Time: 2001, Port: 1, Event: Event{Type: EvPortLost, Text: "unplugged"}},
		{Kind: KindEvent, Time: 2002, Port: 1, Event: Event{Type: EvPortReopened, Text: "/dev/ttyUSB0", Line: line}},
		{Kind: KindEvent, Time: 2003, Event: Event{Type: EvLineSettings, Text: "AT+UART_CUR", Line: LineSettings{Baud: 3000000, DataBits: 8, Parity: ParityMark, StopBits: Stop2, Flow: FlowRTSCTS}}},
		{Kind: KindEvent, Time: 2004, Event: Event{Type: EvControlLines, Control: LineDTR | LineRTS | LineRI}},
		{Kind: KindEvent, Time: 2005, Port: 1, Dir: formats.ToHost, Event: Event{Type: EvBytesLost, Count: 1 << 40}},
		{Kind: KindEvent, Time: 2006, Event: Event{Type: EvBytesLost, Count: -3}},
		{Kind: KindEvent, Time: 2007, Event: Event{Type: EvWSConnected, Link: 2, Text: "ws://127.0.0.1:8765/"}},
		{Kind: KindEvent, Time: 2008, Event: Event{Type: EvWSClosed, Link: 1, Code: 1001, Text: "going away"}},
		{Kind: KindEvent, Time: 2009, Event: Event{Type: EvMarker, Text: "before reset ✓"}},
		{Kind: KindEvent, Time: 2010, Event: Event{Type: EvNote, Text: "emulator restarted"}},
		{Kind: KindEvent, Time: 2011, Event: Event{Type: EvSplit, Text: "next.atcap"}},
		{Kind: KindEvent, Time: 1 << 50, Event: Event{Type: 999, Text: "from the future"}, Data: []byte("blob")},
	}
}

// writeAll writes recs to a capture in memory and returns its bytes.
func writeAll(t testing.TB, recs []Record, opts *WriterOptions) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf, testHeader(), opts)
	if err != nil {
		t.Fatal(err)
	}
	for i := range recs {
		if err := w.Write(&recs[i]); err != nil {
			t.Fatalf("write record %d: %v", i, err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// readAllTest reads every record and every error of a capture.
type readResult struct {
	recs    []Record
	damages []*DamageError
}

func readBytes(t testing.TB, b []byte, opts *ReaderOptions) (readResult, error) {
	t.Helper()
	r, err := NewReader(bytes.NewReader(b), opts)
	if err != nil {
		return readResult{}, err
	}
	defer r.Close()
	var res readResult
	err = readAll(nil, r, func(rec *Record) error {
		c := *rec
		c.Data = clone(rec.Data) // rec.Data aliases the block
		res.recs = append(res.recs, c)
		return nil
	}, func(d *DamageError) {
		res.damages = append(res.damages, d)
	}, func() {})
	return res, err
}

func normalize(r Record) Record {
	if len(r.Data) == 0 {
		r.Data = nil
	}
	return r
}

func sameRecords(t testing.TB, got, want []Record) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d records, want %d", len(got), len(want))
	}
	for i := range want {
		if g, w := normalize(got[i]), normalize(want[i]); !reflect.DeepEqual(g, w) {
			t.Fatalf("record %d:\n got %+v\nwant %+v", i, g, w)
		}
	}
}
