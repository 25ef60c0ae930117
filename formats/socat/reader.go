package socat

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Socat errors. A *Error from Reader.Next wraps one of these.
var (
	// ErrSyntax is returned for a line that is neither a block header,
	// hex bytes, a "--" separator nor a socat log message.
	ErrSyntax = errors.New("not a socat -x dump line")
	// ErrTextOnly is returned when a block's bytes are given only as
	// text, as "socat -v" without -x writes them.
	ErrTextOnly = errors.New("text-only dump (socat -v without -x): unprintable bytes were written as '.', so the bytes cannot be recovered; record with socat -x -v")
	// ErrLength is returned when a header's length disagrees with its
	// from/to, or the hex lines hold more or fewer bytes than length.
	ErrLength = errors.New("block length mismatch")
	// ErrTooBig is returned for a block longer than Reader.MaxBlock.
	ErrTooBig = errors.New("block too big")
	// ErrTruncated is returned when the dump ends inside a block.
	ErrTruncated = errors.New("dump ends inside a block")
)

// Error is a problem at a line of a socat dump. Reader.Next
// returns it wrapping one of the sentinel errors above.
type Error struct {
	Line int // 1-based line number
	Err  error
}

func (e *Error) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// Block is one transfer of a socat dump.
type Block struct {
	Line        int       // line number of the block's header
	Time        time.Time // when socat read the bytes, in Reader.Location
	LeftToRight bool      // ">" (left address to right) rather than "<"
	From, To    int64     // offsets of the first and last byte in this direction
	// Gap is From minus the number of bytes seen before in this direction:
	// positive when bytes are missing from the dump, negative when blocks
	// overlap. It is zero in a whole dump.
	Gap  int64
	Data []byte
}

// Fraction says how Reader reads a nine-digit fraction of a second.
type Fraction uint8

// Fraction modes.
const (
	// FracAuto reads nine digits as microseconds (socat 1.7's "%09"
	// of tv_usec) while every value seen is below 1000000, and as
	// nanoseconds from the first value that is not. Six digits are always
	// microseconds.
	FracAuto Fraction = iota
	// FracMicro reads every fraction as microseconds.
	FracMicro
	// FracNano reads nine digits as nanoseconds.
	FracNano
)

// DefaultMaxBlock is Reader.MaxBlock's default.
const DefaultMaxBlock = 1 << 20

// Reader reads blocks from a socat -x or -x -v dump. It is not safe for
// concurrent use.
type Reader struct {
	// Location is the time zone the dump's times are read in; nil means UTC.
	// socat writes local time, so an importer on the recording machine
	// passes time.Local.
	Location *time.Location
	// Fraction chooses how nine-digit fractions are read (default auto).
	Fraction Fraction
	// MaxBlock bounds a block's length; zero means DefaultMaxBlock.
	MaxBlock int

	br      *bufio.Reader
	line    int
	pending []byte // a header line read ahead, or nil
	seen    [2]int64
	nano    bool // auto mode has seen proof of nanoseconds
	err     error
}

// NewReader returns a reader of the dump in r.
func NewReader(r io.Reader) *Reader {
	return &Reader{br: bufio.NewReaderSize(r, 64<<10)}
}

// Next returns the next block, or io.EOF after the last one. Lines socat
// logs between blocks (with -d) are skipped. After an error other than
// io.EOF the reader is stuck: Next returns the same error again.
func (s *Reader) Next() (*Block, error) {
	if s.err != nil {
		return nil, s.err
	}
	b, err := s.next()
	if err != nil {
		s.err = err
	}
	return b, err
}

func (s *Reader) maxBlock() int {
	if s.MaxBlock > 0 {
		return s.MaxBlock
	}
	return DefaultMaxBlock
}

// readLine returns the next line without its newline; io.EOF at the end.
// A line longer than the longest hex line a block may need is an error.
func (s *Reader) readLine() ([]byte, error) {
	if s.pending != nil {
		l := s.pending
		s.pending = nil
		return l, nil
	}
	limit := 3*s.maxBlock() + 256
	var line []byte
	for {
		chunk, err := s.br.ReadSlice('\n')
		line = append(line, chunk...)
		if len(line) > limit {
			s.line++
			return nil, &Error{Line: s.line, Err: fmt.Errorf("%w: line longer than %d bytes", ErrSyntax, limit)}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF && len(line) > 0 {
			break
		}
		if err != nil {
			return nil, err
		}
		break
	}
	s.line++
	line = bytes.TrimSuffix(line, []byte("\n"))
	line = bytes.TrimSuffix(line, []byte("\r"))
	return line, nil
}

func (s *Reader) next() (*Block, error) {
	var line []byte
	for {
		l, err := s.readLine()
		if err != nil {
			return nil, err
		}
		if len(l) == 0 || string(l) == "--" || isSocatLog(l) {
			continue
		}
		line = l
		break
	}
	b, err := s.parseHeader(line)
	if err != nil {
		return nil, &Error{Line: s.line, Err: err}
	}
	b.Line = s.line
	b.Data = make([]byte, 0, b.To-b.From+1)
	want := int(b.To - b.From + 1)
	for len(b.Data) < want {
		l, err := s.readLine()
		if err == io.EOF {
			return nil, &Error{Line: s.line, Err: fmt.Errorf("%w: block at line %d has %d of its %d bytes", ErrTruncated, b.Line, len(b.Data), want)}
		}
		if err != nil {
			return nil, err
		}
		if isSocatLog(l) {
			continue // socat's own messages can land between the hex lines
		}
		if isSocatHeader(l) || string(l) == "--" {
			return nil, &Error{Line: s.line, Err: fmt.Errorf("%w: block at line %d has %d bytes, header says %d", ErrLength, b.Line, len(b.Data), want)}
		}
		n, ok := appendHexLine(b.Data, l)
		if !ok {
			if len(b.Data) == 0 {
				return nil, &Error{Line: s.line, Err: ErrTextOnly}
			}
			return nil, &Error{Line: s.line, Err: fmt.Errorf("%w: want hex bytes like \" 0d 0a\"", ErrSyntax)}
		}
		if len(n) > want {
			return nil, &Error{Line: s.line, Err: fmt.Errorf("%w: block at line %d has more than the %d bytes its header says", ErrLength, b.Line, want)}
		}
		b.Data = n
	}
	d := 0
	if !b.LeftToRight {
		d = 1
	}
	b.Gap = b.From - s.seen[d]
	s.seen[d] = b.To + 1
	return b, nil
}

// appendHexLine appends the bytes of a hex line (" 48 45 4c" optionally
// followed by two spaces and a text column) to dst. It reports false when
// the line does not start with at least one " hh" group.
func appendHexLine(dst, l []byte) ([]byte, bool) {
	i := 0
	n := 0
	for i+3 <= len(l) && l[i] == ' ' {
		hi, ok1 := unhex(l[i+1])
		lo, ok2 := unhex(l[i+2])
		if !ok1 || !ok2 {
			break
		}
		if i+3 < len(l) && l[i+3] != ' ' {
			return dst, false
		}
		dst = append(dst, hi<<4|lo)
		i += 3
		n++
	}
	if n == 0 {
		return dst, false
	}
	// The rest must be empty (-x) or padding, two spaces and text (-x -v).
	if i < len(l) && (i+2 > len(l) || l[i] != ' ' || l[i+1] != ' ') {
		return dst, false
	}
	return dst, true
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// isSocatHeader reports whether l looks like a block header (direction,
// space, a digit), without checking the rest.
func isSocatHeader(l []byte) bool {
	return len(l) > 2 && (l[0] == '>' || l[0] == '<') && l[1] == ' ' && l[2] >= '0' && l[2] <= '9'
}

// isSocatLog reports whether l is one of socat's own log messages, such as
// "2026/11/25 19:07:05 socat[1234] N starting data transfer loop".
func isSocatLog(l []byte) bool {
	if len(l) < 20 || l[4] != '/' || l[7] != '/' || l[10] != ' ' {
		return false
	}
	return bytes.Contains(l[:min(len(l), 40)], []byte(" socat["))
}

// parseHeader parses "> 2026/11/25 19:07:05.000827972  length=15 from=0 to=14".
func (s *Reader) parseHeader(l []byte) (*Block, error) {
	if !isSocatHeader(l) {
		return nil, fmt.Errorf("%w: want a block header like \"> 2026/11/25 19:07:05.000827972  length=15 from=0 to=14\"", ErrSyntax)
	}
	b := &Block{LeftToRight: l[0] == '>'}
	rest := string(l[2:])
	// "2006/01/02 15:04:05" is 19 bytes, then "." and the fraction.
	if len(rest) < 21 || rest[19] != '.' {
		return nil, fmt.Errorf("%w: bad time in block header", ErrSyntax)
	}
	loc := s.Location
	if loc == nil {
		loc = time.UTC
	}
	t, err := time.ParseInLocation("2006/01/02 15:04:05", rest[:19], loc)
	if err != nil {
		return nil, fmt.Errorf("%w: bad time in block header: %v", ErrSyntax, err)
	}
	rest = rest[20:]
	j := 0
	for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
		j++
	}
	frac, ns := rest[:j], int64(0)
	if j == 0 || j > 9 {
		return nil, fmt.Errorf("%w: bad fraction of a second in block header", ErrSyntax)
	}
	v, _ := strconv.ParseInt(frac, 10, 64)
	switch {
	case j <= 6:
		for k := j; k < 9; k++ {
			v *= 10
		}
		ns = v
	case j == 9 && s.Fraction == FracMicro,
		j == 9 && s.Fraction == FracAuto && !s.nano && v < 1e6:
		ns = v * 1000
	default:
		for k := j; k < 9; k++ {
			v *= 10
		}
		if s.Fraction == FracAuto && j == 9 {
			s.nano = true
		}
		ns = v
	}
	b.Time = t.Add(time.Duration(ns))
	length, from, to, ok := parseSocatCounts(rest[j:])
	if !ok {
		return nil, fmt.Errorf("%w: want \"  length=N from=N to=N\" after the time", ErrSyntax)
	}
	b.From, b.To = from, to
	if length < 1 || b.From < 0 || b.To-b.From+1 != length {
		return nil, fmt.Errorf("%w: length=%d does not match from=%d to=%d", ErrLength, length, b.From, b.To)
	}
	if length > int64(s.maxBlock()) {
		return nil, fmt.Errorf("%w: length=%d exceeds the limit of %d", ErrTooBig, length, s.maxBlock())
	}
	return b, nil
}

// parseSocatCounts parses "  length=15 from=0 to=14".
func parseSocatCounts(s string) (length, from, to int64, ok bool) {
	f := strings.Fields(s)
	if len(f) != 3 || !strings.HasPrefix(s, "  ") {
		return 0, 0, 0, false
	}
	var v [3]int64
	for i, key := range []string{"length=", "from=", "to="} {
		num, found := strings.CutPrefix(f[i], key)
		n, err := strconv.ParseInt(num, 10, 64)
		if !found || err != nil || n < 0 || n > 1<<53 {
			return 0, 0, 0, false
		}
		v[i] = n
	}
	return v[0], v[1], v[2], true
}
