package at

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strings"
)

// CmdType is the form of an ESP-AT command line (esp-at.md §1.2).
type CmdType uint8

// Command forms. The zero value is CmdExec.
const (
	CmdExec  CmdType = iota // AT+X
	CmdQuery                // AT+X?
	CmdTest                 // AT+X=?
	CmdSet                  // AT+X=<p1>,<p2>,...
)

var cmdTypeNames = [...]string{"exec", "query", "test", "set"}

// String returns "exec", "query", "test" or "set", the names used in JSON
// output.
func (t CmdType) String() string {
	if int(t) < len(cmdTypeNames) {
		return cmdTypeNames[t]
	}
	return fmt.Sprintf("cmdtype(%d)", uint8(t))
}

// Errors wrapped by the *ParseError that ParseCommand returns. Callers test
// them with errors.Is.
var (
	// ErrNotCommand: the line does not start with the two bytes "AT". The
	// firmware answers such a line with ERROR (error code 0x01030000).
	ErrNotCommand = errors.New("not an AT command")
	// ErrSyntax: the line starts with "AT" but is malformed: an empty or
	// invalid command name, bytes after "?" or "=?", an unterminated quoted
	// string, bytes between a closing quote and the next comma, or a quote
	// inside an unquoted parameter. The firmware answers ERROR.
	ErrSyntax = errors.New("malformed AT command")
)

// ParseError reports where a command line is malformed.
type ParseError struct {
	Offset int    // byte offset in the line (the line excludes its CRLF)
	Msg    string // what is wrong, e.g. "unterminated quoted string"
	Err    error  // ErrNotCommand or ErrSyntax
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("at command: byte %d: %s", e.Offset, e.Msg)
}

// Unwrap returns e.Err.
func (e *ParseError) Unwrap() error { return e.Err }

// Command is one parsed ESP-AT command line.
//
// Naming: the "AT" prefix is not part of Name. Extended commands keep their
// "+" ("AT+WSSEND=0,4" has Name "+WSSEND"); basic commands are named by the
// letters and digits that follow "AT", which is how the firmware's command
// table names them ("ATE0" has Name "E0", "ATE1" has Name "E1"); the bare
// "AT" has Name "". Names are case-sensitive, as in the firmware, and so is
// the "AT" prefix: "at+gmr" is ErrNotCommand, which is what the firmware
// does with it (error code 0x01030000, "no AT").
type Command struct {
	// Line is the whole line without its CRLF. ParseCommand copies its input,
	// so Line and every Param.Raw alias that copy, never the caller's buffer.
	Line   []byte
	Name   string
	Type   CmdType
	Params []Param // only for CmdSet; at least one (possibly Empty) field
}

// Param is one comma-separated field of a set command.
//
// Quoting follows esp-at.md §1.2: a field that starts with '"' is a quoted
// string that runs to the next unescaped '"'; inside it a backslash makes the
// next byte literal ("\\", "\,", "\"" and "\<any>"), and commas do not split
// fields. An unquoted field is taken literally up to the next comma; a
// backslash there is an ordinary byte (unquoted fields are numbers, which the
// firmware parses without escapes), and a '"' is a syntax error.
type Param struct {
	Raw    []byte // the field as typed, quotes and escapes included
	Offset int    // byte offset of Raw in Command.Line
	Value  string // the field with quotes removed and escapes resolved
	Quoted bool   // the field was a quoted string ("" is Quoted and not Empty)
	Empty  bool   // the field had no bytes at all, as in AT+CWJAP="a","b",,1
}

// Int parses the field as the firmware parses a number: optional '+' or '-',
// then one or more decimal digits, nothing else, not quoted, within the
// 32-bit signed range the firmware stores. It reports false otherwise.
func (p Param) Int() (int64, bool) {
	if p.Quoted || p.Empty {
		return 0, false
	}
	return parseInt32(p.Value)
}

// parseInt32 is Param.Int on an unquoted value.
func parseInt32(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	digits := s
	neg := false
	if digits[0] == '+' || digits[0] == '-' {
		neg = digits[0] == '-'
		digits = digits[1:]
	}
	if digits == "" {
		return 0, false
	}
	var n int64
	for i := 0; i < len(digits); i++ {
		c := digits[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		if n = n*10 + int64(c-'0'); n > 1<<31 {
			return 0, false // leading zeros are fine; this is out of range
		}
	}
	if neg {
		n = -n
	}
	if n > math.MaxInt32 {
		return 0, false
	}
	return n, true
}

// Param returns the i-th parameter, or the zero Param (Empty is false, Value
// is "") and false when the command has fewer parameters.
func (c *Command) Param(i int) (Param, bool) {
	if i < 0 || i >= len(c.Params) {
		return Param{}, false
	}
	return c.Params[i], true
}

// Int returns the i-th parameter as a number (see Param.Int); false when it
// is missing, empty, quoted or not a number.
func (c *Command) Int(i int) (int64, bool) {
	if i < 0 || i >= len(c.Params) {
		return 0, false
	}
	p := &c.Params[i] // no copy: the decoder asks often
	if p.Quoted || p.Empty {
		return 0, false
	}
	return parseInt32(p.Value)
}

// String returns the command line as text.
func (c *Command) String() string { return string(c.Line) }

// isNameByte reports whether b may appear in a command name. The firmware
// looks names up in its table, so any other byte makes the command unknown;
// rejecting it here gives a precise offset instead.
func isNameByte(b byte) bool {
	return b >= 'A' && b <= 'Z' || b >= 'a' && b <= 'z' || b >= '0' && b <= '9' || b == '_'
}

// ParseCommand parses one command line, without its CRLF terminator, into its
// name, form and parameters (esp-at.md §1.2). It checks syntax only: whether
// the firmware knows the command, or accepts empty fields for it, is for the
// caller to decide.
//
// "AT+X=" is a set command with one Empty parameter, as the firmware counts
// fields. The returned error is always a *ParseError wrapping ErrNotCommand
// or ErrSyntax; ParseCommand never panics, whatever the input.
func ParseCommand(line []byte) (*Command, error) {
	if len(line) < 2 || line[0] != 'A' || line[1] != 'T' {
		return nil, &ParseError{Offset: 0, Msg: `line does not start with "AT"`, Err: ErrNotCommand}
	}
	buf := make([]byte, len(line))
	copy(buf, line)
	c := &Command{}
	if err := parseCommand(c, buf, nil); err != nil {
		return nil, err
	}
	return c, nil
}

// nameCache interns command names, so that decoding a known command
// allocates no name. A nil *nameCache interns nothing.
type nameCache map[string]string

// maxCachedNames bounds a nameCache: hostile input with ever new names
// gets them allocated, not remembered.
const maxCachedNames = 256

func (m nameCache) name(b []byte) string {
	if n, ok := m[string(b)]; ok {
		return n
	}
	n := string(b)
	if m != nil && len(m) < maxCachedNames {
		m[n] = n
	}
	return n
}

// parseCommand is ParseCommand on a line the Command may keep, into c,
// whose Params (length 0) may bring storage to fill. On error c is left
// half filled, for the caller to drop.
func parseCommand(c *Command, buf []byte, names nameCache) error {
	if len(buf) < 2 || buf[0] != 'A' || buf[1] != 'T' {
		return &ParseError{Offset: 0, Msg: `line does not start with "AT"`, Err: ErrNotCommand}
	}
	c.Line = buf
	store := c.Params[:0]
	c.Params = nil
	i := 2
	nameStart := i
	if i < len(buf) && buf[i] == '+' {
		i++
	}
	for i < len(buf) && isNameByte(buf[i]) {
		i++
	}
	if i == nameStart+1 && buf[nameStart] == '+' {
		return syntaxErr(nameStart+1, "empty command name after \"+\"")
	}
	c.Name = names.name(buf[nameStart:i])
	if i == len(buf) {
		c.Type = CmdExec
		return nil
	}
	switch buf[i] {
	case '?':
		if c.Name == "" {
			return syntaxErr(i, "query without a command name")
		}
		if i+1 != len(buf) {
			return syntaxErr(i+1, "bytes after \"?\"")
		}
		c.Type = CmdQuery
		return nil
	case '=':
		if c.Name == "" {
			return syntaxErr(i, "parameters without a command name")
		}
		if i+1 < len(buf) && buf[i+1] == '?' {
			if i+2 != len(buf) {
				return syntaxErr(i+2, "bytes after \"=?\"")
			}
			c.Type = CmdTest
			return nil
		}
		c.Type = CmdSet
		params, err := parseParams(store, buf, i+1)
		if err != nil {
			return err
		}
		c.Params = params
		return nil
	}
	return syntaxErr(i, fmt.Sprintf("invalid byte %q in command name", buf[i]))
}

var comma = []byte(",")

func syntaxErr(off int, msg string) *ParseError {
	return &ParseError{Offset: off, Msg: msg, Err: ErrSyntax}
}

// parseParams splits buf[start:] into fields, appended to params (which
// must have length 0). Values are substrings of one copy of the
// parameters, except quoted values with escapes.
func parseParams(params []Param, buf []byte, start int) ([]Param, error) {
	if n := 1 + bytes.Count(buf[start:], comma); n > cap(params) {
		params = make([]Param, 0, n)
	}
	str := string(buf[start:]) // str[k] is buf[start+k]
	sub := func(i, j int) string { return str[i-start : j-start] }
	i := start
	for {
		p := Param{Offset: i}
		if i < len(buf) && buf[i] == '"' {
			j := i + 1
			closed, escaped := false, false
			for j < len(buf) {
				b := buf[j]
				if b == '\\' {
					if j+1 >= len(buf) {
						return nil, syntaxErr(j, "backslash at end of line")
					}
					escaped = true
					j += 2
					continue
				}
				if b == '"' {
					closed = true
					j++
					break
				}
				j++
			}
			if !closed {
				return nil, syntaxErr(i, "unterminated quoted string")
			}
			if j < len(buf) && buf[j] != ',' {
				return nil, syntaxErr(j, "bytes after closing quote")
			}
			p.Raw = buf[i:j:j]
			if escaped {
				p.Value = unescape(p.Raw[1 : len(p.Raw)-1])
			} else {
				p.Value = sub(i+1, j-1)
			}
			p.Quoted = true
			i = j
		} else {
			j := i
			for j < len(buf) && buf[j] != ',' {
				if buf[j] == '"' {
					return nil, syntaxErr(j, "quote inside an unquoted parameter")
				}
				j++
			}
			p.Raw = buf[i:j:j]
			p.Value = sub(i, j)
			p.Empty = j == i
			i = j
		}
		params = append(params, p)
		if i >= len(buf) {
			return params[:len(params):len(params)], nil
		}
		i++ // the comma
	}
}

// unescape resolves backslash escapes: a backslash makes the next byte
// literal (the caller has checked that none ends the string).
func unescape(b []byte) string {
	var sb strings.Builder
	sb.Grow(len(b))
	for k := 0; k < len(b); k++ {
		if b[k] == '\\' && k+1 < len(b) {
			k++
		}
		sb.WriteByte(b[k])
	}
	return sb.String()
}

// FormatCommand is the inverse of ParseCommand: it writes "AT", the name, the
// form's suffix and, for CmdSet, the parameters built from Value, Quoted and
// Empty (Raw is ignored). Quoted values are escaped with a backslash before
// '\\', '"' and ','. An unquoted Value that cannot be written literally
// (it holds ',' or '"') is written quoted. The result has no CRLF.
//
// For any line ParseCommand accepts, ParseCommand(FormatCommand(c)) gives
// the same Name, Type and parameter Values, Quoted and Empty flags.
func FormatCommand(c *Command) []byte {
	out := make([]byte, 0, 2+len(c.Name)+8*len(c.Params))
	out = append(out, "AT"...)
	out = append(out, c.Name...)
	switch c.Type {
	case CmdQuery:
		out = append(out, '?')
	case CmdTest:
		out = append(out, "=?"...)
	case CmdSet:
		out = append(out, '=')
		for i, p := range c.Params {
			if i > 0 {
				out = append(out, ',')
			}
			out = appendParam(out, p)
		}
	}
	return out
}

func appendParam(out []byte, p Param) []byte {
	if p.Empty && !p.Quoted {
		return out
	}
	if !p.Quoted && p.Value != "" && !strings.ContainsAny(p.Value, `,"`) {
		return append(out, p.Value...)
	}
	out = append(out, '"')
	for i := 0; i < len(p.Value); i++ {
		switch b := p.Value[i]; b {
		case '\\', '"', ',':
			out = append(out, '\\', b)
		default:
			out = append(out, b)
		}
	}
	return append(out, '"')
}
