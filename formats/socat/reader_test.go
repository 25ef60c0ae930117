package socat

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
)

// Dumps below are cut from real output of Debian 12's socat 1.7.4.4.
const dumpXV = `< 2026/11/25 19:18:50.000085626  length=7 from=0 to=6
 48 45 4c 4c 4f 0d 0a                             HELLO..
--
> 2026/11/25 19:18:50.000201310  length=22 from=0 to=21
 41 54 0d 0a                                      AT..
 78 78 78 78 78 78 78 78 78 78 78 78 78 78 78 78  xxxxxxxxxxxxxxxx
 00 ff                                            ..
--
< 2026/11/25 19:18:50.000202396  length=9 from=7 to=15
 0d 0a                                            ..
 4f 4b 0d 0a                                      OK..
 0d 0a                                            ..
 3e                                               >
--
`

const dumpX = `< 2026/11/25 19:18:44.000206355  length=7 from=0 to=6
 48 45 4c 4c 4f 0d 0a
> 2026/11/25 19:18:44.000308120  length=4 from=0 to=3
 41 54 0d 0a
2026/11/25 19:18:44 socat[4242] N socket 2 (fd 6) is at EOF
< 2026/11/25 19:18:44.000312055  length=9 from=7 to=15
 0d 0a 4f 4b 0d 0a 0d 0a 3e
`

const dumpV = `< 2026/11/25 19:18:47.000142986  length=7 from=0 to=6
HELLO\r
> 2026/11/25 19:18:47.000227276  length=4 from=0 to=3
AT\r
`

func readAllSocat(t *testing.T, dump string, s *Reader) ([]*Block, error) {
	t.Helper()
	if s == nil {
		s = NewReader(strings.NewReader(dump))
	}
	var out []*Block
	for {
		b, err := s.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, b)
	}
}

func TestSocatReader(t *testing.T) {
	base := time.Date(2026, 11, 25, 19, 18, 50, 0, time.UTC)
	tests := []struct {
		name  string
		dump  string
		want  []Block
		err   error // wanted sentinel, nil for a whole dump
		errAt int   // wanted line of the error
	}{
		{"x and v", dumpXV, []Block{
			{Line: 1, Time: base.Add(85626 * time.Microsecond), From: 0, To: 6, Data: []byte("HELLO\r\n")},
			{Line: 4, Time: base.Add(201310 * time.Microsecond), LeftToRight: true, From: 0, To: 21, Data: append([]byte("AT\r\nxxxxxxxxxxxxxxxx"), 0, 0xff)},
			{Line: 9, Time: base.Add(202396 * time.Microsecond), From: 7, To: 15, Data: []byte("\r\nOK\r\n\r\n>")},
		}, nil, 0},
		{"x alone with a log line", dumpX, []Block{
			{Line: 1, Time: base.Add(-6*time.Second + 206355*time.Microsecond), From: 0, To: 6, Data: []byte("HELLO\r\n")},
			{Line: 3, Time: base.Add(-6*time.Second + 308120*time.Microsecond), LeftToRight: true, From: 0, To: 3, Data: []byte("AT\r\n")},
			{Line: 6, Time: base.Add(-6*time.Second + 312055*time.Microsecond), From: 7, To: 15, Data: []byte("\r\nOK\r\n\r\n>")},
		}, nil, 0},
		{"crlf line ends", strings.ReplaceAll(dumpX, "\n", "\r\n"), []Block{
			{Line: 1, Time: base.Add(-6*time.Second + 206355*time.Microsecond), From: 0, To: 6, Data: []byte("HELLO\r\n")},
			{Line: 3, Time: base.Add(-6*time.Second + 308120*time.Microsecond), LeftToRight: true, From: 0, To: 3, Data: []byte("AT\r\n")},
			{Line: 6, Time: base.Add(-6*time.Second + 312055*time.Microsecond), From: 7, To: 15, Data: []byte("\r\nOK\r\n\r\n>")},
		}, nil, 0},
		{"gap", "> 2026/11/25 19:18:50.000001  length=1 from=0 to=0\n 41\n> 2026/11/25 19:18:50.000002  length=1 from=5 to=5\n 42\n", []Block{
			{Line: 1, Time: base.Add(time.Microsecond), LeftToRight: true, From: 0, To: 0, Data: []byte("A")},
			{Line: 3, Time: base.Add(2 * time.Microsecond), LeftToRight: true, From: 5, To: 5, Gap: 4, Data: []byte("B")},
		}, nil, 0},
		{"nanoseconds once proven", "> 2026/11/25 19:18:50.500000000  length=1 from=0 to=0\n 41\n> 2026/11/25 19:18:51.000000002  length=1 from=1 to=1\n 42\n", []Block{
			{Line: 1, Time: base.Add(500 * time.Millisecond), LeftToRight: true, From: 0, To: 0, Data: []byte("A")},
			{Line: 3, Time: base.Add(time.Second + 2), LeftToRight: true, From: 1, To: 1, Data: []byte("B")},
		}, nil, 0},
		{"log line inside a block", "> 2026/11/25 19:18:50.000001  length=2 from=0 to=1\n 41                                               A\n2026/11/25 19:18:50 socat[7] N write(6, 0x1, 2) completed\n 42                                               B\n--\n", []Block{
			{Line: 1, Time: base.Add(time.Microsecond), LeftToRight: true, From: 0, To: 1, Data: []byte("AB")},
		}, nil, 0},
		{"empty", "", nil, nil, 0},
		{"text only", dumpV, nil, ErrTextOnly, 2},
		{"length vs from/to", "> 2026/11/25 19:18:50.000001  length=2 from=0 to=0\n 41\n", nil, ErrLength, 1},
		{"too few bytes", "> 2026/11/25 19:18:50.000001  length=2 from=0 to=1\n 41\n--\n", nil, ErrLength, 3},
		{"too many bytes", "> 2026/11/25 19:18:50.000001  length=1 from=0 to=0\n 41 42\n", nil, ErrLength, 2},
		{"torn tail", "> 2026/11/25 19:18:50.000001  length=3 from=0 to=2\n 41\n", nil, ErrTruncated, 2},
		{"garbage", "hello\n", nil, ErrSyntax, 1},
		{"bad hex", "> 2026/11/25 19:18:50.000001  length=1 from=0 to=0\n 4g\n", nil, ErrTextOnly, 2},
		{"bad hex later", "> 2026/11/25 19:18:50.000001  length=2 from=0 to=1\n 41\n zz\n", nil, ErrSyntax, 3},
		{"bad date", "> 2026/13/25 19:18:50.000001  length=1 from=0 to=0\n 41\n", nil, ErrSyntax, 1},
		{"too big", "> 2026/11/25 19:18:50.000001  length=2000000 from=0 to=1999999\n", nil, ErrTooBig, 1},
		{"trailing junk in header", "> 2026/11/25 19:18:50.000001  length=1 from=0 to=0 x\n 41\n", nil, ErrSyntax, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readAllSocat(t, tt.dump, nil)
			if tt.err != nil {
				var se *Error
				if !errors.Is(err, tt.err) || !errors.As(err, &se) || se.Line != tt.errAt {
					t.Fatalf("err = %v, want %v at line %d", err, tt.err, tt.errAt)
				}
				return
			}
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d blocks, want %d", len(got), len(tt.want))
			}
			for i, g := range got {
				w := tt.want[i]
				if g.Line != w.Line || !g.Time.Equal(w.Time) || g.LeftToRight != w.LeftToRight || g.From != w.From || g.To != w.To || g.Gap != w.Gap || !bytes.Equal(g.Data, w.Data) {
					t.Errorf("block %d = %+v\nwant %+v", i, *g, w)
				}
			}
		})
	}
}

func TestSocatReaderOptions(t *testing.T) {
	dump := "> 2026/11/25 19:18:50.000000001  length=1 from=0 to=0\n 41\n"
	berlin := time.FixedZone("CET", 3600)
	for _, tt := range []struct {
		frac Fraction
		loc  *time.Location
		want time.Time
	}{
		{FracAuto, nil, time.Date(2026, 11, 25, 19, 18, 50, 1000, time.UTC)},
		{FracMicro, nil, time.Date(2026, 11, 25, 19, 18, 50, 1000, time.UTC)},
		{FracNano, nil, time.Date(2026, 11, 25, 19, 18, 50, 1, time.UTC)},
		{FracNano, berlin, time.Date(2026, 11, 25, 18, 18, 50, 1, time.UTC)},
	} {
		s := NewReader(strings.NewReader(dump))
		s.Fraction, s.Location = tt.frac, tt.loc
		b, err := s.Next()
		if err != nil || !b.Time.Equal(tt.want) {
			t.Errorf("fraction %d loc %v: time %v, %v; want %v", tt.frac, tt.loc, b.Time, err, tt.want)
		}
	}
	s := NewReader(strings.NewReader(dump))
	s.MaxBlock = 0
	if _, err := s.Next(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Next(); err != io.EOF {
		t.Fatalf("after last block: %v, want io.EOF", err)
	}
	// Errors stick.
	s = NewReader(strings.NewReader("junk\n" + dump))
	_, err1 := s.Next()
	_, err2 := s.Next()
	if err1 == nil || err1 != err2 {
		t.Fatalf("errors do not stick: %v then %v", err1, err2)
	}
}

// FuzzSocat checks that no input panics the reader, that every block it
// returns agrees with its header, and that a dump re-rendered from the blocks
// in socat's -x -v layout reads back to the same blocks.
func FuzzSocat(f *testing.F) {
	for _, s := range []string{dumpXV, dumpX, dumpV, "", "--\n", "> 2026/11/25 19:18:50.000001  length=1 from=0 to=0\n 41"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		s := NewReader(bytes.NewReader(in))
		s.MaxBlock = 4096
		var blocks []*Block
		for {
			b, err := s.Next()
			if err != nil {
				break
			}
			if int64(len(b.Data)) != b.To-b.From+1 || len(b.Data) > 4096 {
				t.Fatalf("block at line %d: %d bytes for from=%d to=%d", b.Line, len(b.Data), b.From, b.To)
			}
			blocks = append(blocks, b)
		}
		var out bytes.Buffer
		for _, b := range blocks {
			writeSocatBlock(&out, b)
		}
		back, err := readAllSocat(t, out.String(), nil)
		if err != nil {
			t.Fatalf("re-rendered dump does not read back: %v\n%s", err, out.String())
		}
		if len(back) != len(blocks) {
			t.Fatalf("re-read %d blocks, want %d", len(back), len(blocks))
		}
		for i := range back {
			if !bytes.Equal(back[i].Data, blocks[i].Data) || back[i].LeftToRight != blocks[i].LeftToRight || back[i].From != blocks[i].From {
				t.Fatalf("block %d changed in round trip", i)
			}
		}
	})
}

// writeSocatBlock renders b as socat 1.7.4 -x -v does: 16 bytes a line, a
// new line after each 0a, the text column at column 50, then "--".
func writeSocatBlock(w *bytes.Buffer, b *Block) {
	dir := '<'
	if b.LeftToRight {
		dir = '>'
	}
	fmt.Fprintf(w, "%c %s.%09d  length=%d from=%d to=%d\n", dir, b.Time.Format("2006/01/02 15:04:05"), b.Time.Nanosecond()/1000, len(b.Data), b.From, b.To)
	for rest := b.Data; len(rest) > 0; {
		n := min(16, len(rest))
		if i := bytes.IndexByte(rest[:n], '\n'); i >= 0 {
			n = i + 1
		}
		var hex, text strings.Builder
		for _, c := range rest[:n] {
			fmt.Fprintf(&hex, " %02x", c)
			if c >= 0x20 && c < 0x7f {
				text.WriteByte(c)
			} else {
				text.WriteByte('.')
			}
		}
		fmt.Fprintf(w, "%-48s  %s\n", hex.String(), text.String())
		rest = rest[n:]
	}
	w.WriteString("--\n")
}
