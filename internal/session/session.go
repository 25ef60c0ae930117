// Package session reads and writes scripted two-sided ESP-AT sessions: the
// golden scenarios under testdata/sessions/ that every package's tests
// share (the decoder's goldens, .atcap fixtures, emulator transcripts).
//
// The format is line-oriented text:
//
//	# a comment; blank lines are ignored
//	@firmware release
//	< 0.000 "\r\nready\r\n"
//	> 1.000 "AT+CWMODE=1\r\n"
//	< 1.002 "AT+CWMODE=1\r\n\r\nOK\r\n"
//
// A step is a direction (">" host to device, "<" device to host), a time in
// seconds with at most nine decimals, and the chunk's bytes as one Go string
// literal (double-quoted with escapes, or back-quoted). Times never
// decrease. "@key value" lines set metadata (Session.Meta): "firmware"
// (release or development) and "echo" (on or off at the start) are the ones
// the tests read; "title" says what the scenario shows.
//
// It imports capture and formats; tests of every layer above formats use
// it.
package session

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/formats"
)

// Session is a scripted exchange.
type Session struct {
	Meta  map[string]string
	Steps []Step
}

// Step is one chunk of serial bytes.
type Step struct {
	Time int64 // nanoseconds from the start of the session
	Dir  formats.Dir
	Data []byte
}

// ErrSyntax is wrapped by every *ParseError.
var ErrSyntax = errors.New("malformed session")

// ParseError reports the line of a session that does not parse.
type ParseError struct {
	Line int    // 1-based line number
	Msg  string // what is wrong
}

func (e *ParseError) Error() string { return fmt.Sprintf("session line %d: %s", e.Line, e.Msg) }

// Unwrap returns ErrSyntax.
func (e *ParseError) Unwrap() error { return ErrSyntax }

// maxLine bounds one line of a session file.
const maxLine = 1 << 20

// Parse reads a session. Errors are *ParseError (or the reader's error).
func Parse(r io.Reader) (*Session, error) {
	s := &Session{Meta: map[string]string{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxLine)
	n := 0
	var last int64
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		if line[0] == '@' {
			k, v, _ := strings.Cut(line[1:], " ")
			if k == "" {
				return nil, &ParseError{n, "metadata line without a key"}
			}
			s.Meta[k] = strings.TrimSpace(v)
			continue
		}
		var st Step
		switch line[0] {
		case '>':
			st.Dir = formats.ToDevice
		case '<':
			st.Dir = formats.ToHost
		default:
			return nil, &ParseError{n, fmt.Sprintf("want '>' or '<' at the start, got %q", line[0])}
		}
		rest := strings.TrimSpace(line[1:])
		ts, lit, ok := strings.Cut(rest, " ")
		if !ok {
			return nil, &ParseError{n, "want a time and a quoted string"}
		}
		t, err := parseSeconds(ts)
		if err != nil {
			return nil, &ParseError{n, err.Error()}
		}
		if t < last {
			return nil, &ParseError{n, fmt.Sprintf("time %s is before the previous step's", ts)}
		}
		last = t
		data, err := strconv.Unquote(strings.TrimSpace(lit))
		if err != nil {
			return nil, &ParseError{n, fmt.Sprintf("bytes must be one Go string literal: %v", err)}
		}
		if data == "" {
			return nil, &ParseError{n, "empty chunk"}
		}
		st.Time, st.Data = t, []byte(data)
		s.Steps = append(s.Steps, st)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read session: %w", err)
	}
	return s, nil
}

// ParseFile reads the session in the named file.
func ParseFile(name string) (*Session, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	s, err := Parse(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return s, nil
}

// Secrets returns the values a session file lists in comment lines of the
// form `# secret: "..."` (a Go string literal): the secrets it holds, which
// the redaction tests check do not survive. A file that lists none is an
// error, as is a value that is not a valid literal.
func Secrets(name string) ([]string, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	var out []string
	for i, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "# secret: "); ok {
			s, err := strconv.Unquote(v)
			if err != nil {
				return nil, fmt.Errorf("%s line %d: secret %s: %w", name, i+1, v, err)
			}
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s lists no secrets", name)
	}
	return out, nil
}

// parseSeconds parses "12", "1.5" or "0.000123456" into nanoseconds.
func parseSeconds(s string) (int64, error) {
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" || len(frac) > 9 || len(whole) > 9 {
		return 0, fmt.Errorf("bad time %q (want seconds like 1.002, at most nine decimals)", s)
	}
	for _, c := range whole + frac {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("bad time %q (want seconds like 1.002)", s)
		}
	}
	w, _ := strconv.ParseInt(whole, 10, 64)
	f := int64(0)
	if frac != "" {
		f, _ = strconv.ParseInt(frac+strings.Repeat("0", 9-len(frac)), 10, 64)
	}
	return w*1e9 + f, nil
}

// FormatSeconds writes nanoseconds as seconds with at least three decimals
// and no trailing zeros beyond them: 1002000000 -> "1.002".
func FormatSeconds(t int64) string {
	s := fmt.Sprintf("%d.%09d", t/1e9, t%1e9)
	for strings.HasSuffix(s, "0") && len(s)-strings.IndexByte(s, '.') > 4 {
		s = s[:len(s)-1]
	}
	return s
}

// Format writes s in the text format that Parse reads: metadata sorted by
// key, then one line per step. Steps must be in time order with times >= 0.
func Format(w io.Writer, s *Session) error {
	bw := bufio.NewWriter(w)
	keys := make([]string, 0, len(s.Meta))
	for k := range s.Meta {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(bw, "@%s %s\n", k, s.Meta[k])
	}
	for i, st := range s.Steps {
		var c byte
		switch st.Dir {
		case formats.ToDevice:
			c = '>'
		case formats.ToHost:
			c = '<'
		default:
			return fmt.Errorf("format session: step %d has direction %v", i, st.Dir)
		}
		if st.Time < 0 {
			return fmt.Errorf("format session: step %d has negative time", i)
		}
		fmt.Fprintf(bw, "%c %s %s\n", c, FormatSeconds(st.Time), strconv.Quote(string(st.Data)))
	}
	return bw.Flush()
}

// Bytes returns the concatenated bytes of one direction.
func (s *Session) Bytes(dir formats.Dir) []byte {
	var out []byte
	for _, st := range s.Steps {
		if st.Dir == dir {
			out = append(out, st.Data...)
		}
	}
	return out
}

// Records returns the steps as a proxy records them: one chunk per step,
// host bytes on capture.PortHost, device bytes on capture.PortDevice. Data
// aliases the steps' bytes.
func (s *Session) Records() []capture.Record {
	recs := make([]capture.Record, 0, len(s.Steps))
	for _, st := range s.Steps {
		port := capture.PortHost
		if st.Dir == formats.ToHost {
			port = capture.PortDevice
		}
		recs = append(recs, capture.Record{Kind: capture.KindChunk, Time: st.Time, Dir: st.Dir, Port: port, Data: st.Data})
	}
	return recs
}
