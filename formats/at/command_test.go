package at

import (
	"bytes"
	"errors"
	"strconv"
	"testing"
)

// renderParams shows parameters compactly: unquoted values as is, quoted
// values Go-quoted, empty fields as <empty>.
func renderParams(ps []Param) []string {
	var out []string
	for _, p := range ps {
		switch {
		case p.Empty:
			out = append(out, "<empty>")
		case p.Quoted:
			out = append(out, strconv.Quote(p.Value))
		default:
			out = append(out, p.Value)
		}
	}
	return out
}

func TestParseCommand(t *testing.T) {
	tests := []struct {
		line   string
		name   string
		typ    CmdType
		params []string
	}{
		{"AT", "", CmdExec, nil},
		{"ATE0", "E0", CmdExec, nil},
		{"ATE1", "E1", CmdExec, nil},
		{"AT+RST", "+RST", CmdExec, nil},
		{"AT+GMR", "+GMR", CmdExec, nil},
		{"AT+CWMODE=1", "+CWMODE", CmdSet, []string{"1"}},
		{"AT+CWMODE?", "+CWMODE", CmdQuery, nil},
		{"AT+CWMODE=?", "+CWMODE", CmdTest, nil},
		{"AT+CWJAP=\"espressif\",\"1234567890\"", "+CWJAP", CmdSet, []string{`"espressif"`, `"1234567890"`}},
		{`AT+CWJAP="ab\,c","1234\"5678\\",,1`, "+CWJAP", CmdSet, []string{`"ab,c"`, `"1234\"5678\\"`, "<empty>", "1"}},
		{`AT+CWJAP="a\bc","p,w"`, "+CWJAP", CmdSet, []string{`"abc"`, `"p,w"`}},
		{"AT+CWJAP=,\"pwd\"", "+CWJAP", CmdSet, []string{"<empty>", `"pwd"`}},
		{"AT+CWJAP", "+CWJAP", CmdExec, nil},
		{"AT+CIPSNTPCFG=1,8,\"cn.ntp.org.cn\",\"ntp.sjtu.edu.cn\"", "+CIPSNTPCFG", CmdSet, []string{"1", "8", `"cn.ntp.org.cn"`, `"ntp.sjtu.edu.cn"`}},
		{"AT+CIPSNTPCFG=1,-0530", "+CIPSNTPCFG", CmdSet, []string{"1", "-0530"}},
		{"AT+CIPSNTPTIME?", "+CIPSNTPTIME", CmdQuery, nil},
		{"AT+WSCFG=0,30,60", "+WSCFG", CmdSet, []string{"0", "30", "60"}},
		{"AT+WSCFG=0,30,60,4096", "+WSCFG", CmdSet, []string{"0", "30", "60", "4096"}},
		{"AT+WSCFG=0,30,60,4096,3,0,0", "+WSCFG", CmdSet, []string{"0", "30", "60", "4096", "3", "0", "0"}},
		{"AT+WSCFG=0,30,60,,3,0,0", "+WSCFG", CmdSet, []string{"0", "30", "60", "<empty>", "3", "0", "0"}},
		{"AT+WSCFG?", "+WSCFG", CmdQuery, nil},
		{"AT+WSHEAD=49", "+WSHEAD", CmdSet, []string{"49"}},
		{"AT+WSHEAD=0", "+WSHEAD", CmdSet, []string{"0"}},
		{"AT+WSHEAD?", "+WSHEAD", CmdQuery, nil},
		{"AT+WSOPEN=0,\"ws://192.168.200.249:8765\"", "+WSOPEN", CmdSet, []string{"0", `"ws://192.168.200.249:8765"`}},
		{"AT+WSOPEN=0,\"wss://192.168.200.249:8766\"", "+WSOPEN", CmdSet, []string{"0", `"wss://192.168.200.249:8766"`}},
		{"AT+WSOPEN=0,\"ws://u:p@h/x\",\"chat\",15000,\"Basic QTIz\"", "+WSOPEN", CmdSet, []string{"0", `"ws://u:p@h/x"`, `"chat"`, "15000", `"Basic QTIz"`}},
		{"AT+WSOPEN=0,\"ws://h/\",,15000,\"Basic xxx\"", "+WSOPEN", CmdSet, []string{"0", `"ws://h/"`, "<empty>", "15000", `"Basic xxx"`}},
		{"AT+WSOPEN=0,\"ws://h/\",\"\",,\"auth\"", "+WSOPEN", CmdSet, []string{"0", `"ws://h/"`, `""`, "<empty>", `"auth"`}},
		{"AT+WSOPEN?", "+WSOPEN", CmdQuery, nil},
		{"AT+WSOPEN=?", "+WSOPEN", CmdTest, nil},
		{"AT+WSSEND=0,4", "+WSSEND", CmdSet, []string{"0", "4"}},
		{"AT+WSSEND=0,2,8", "+WSSEND", CmdSet, []string{"0", "2", "8"}},
		{"AT+WSSEND=1,10,2,5000", "+WSSEND", CmdSet, []string{"1", "10", "2", "5000"}},
		{"AT+WSSEND=2,10,1,5000,0", "+WSSEND", CmdSet, []string{"2", "10", "1", "5000", "0"}},
		{"AT+WSSEND=0,4,,5000", "+WSSEND", CmdSet, []string{"0", "4", "<empty>", "5000"}},
		{"AT+WSSEND=?", "+WSSEND", CmdTest, nil},
		{"AT+WSDATAFMT=0,2,", "+WSDATAFMT", CmdSet, []string{"0", "2", "<empty>"}},
		{"AT+WSDATAFMT=0,,4", "+WSDATAFMT", CmdSet, []string{"0", "<empty>", "4"}},
		{"AT+WSDATAFMT=0,2,4", "+WSDATAFMT", CmdSet, []string{"0", "2", "4"}},
		{"AT+WSCLOSE=0", "+WSCLOSE", CmdSet, []string{"0"}},
		{"AT+CIPSEND=0,5", "+CIPSEND", CmdSet, []string{"0", "5"}},
		{"AT+CIPSEND", "+CIPSEND", CmdExec, nil},
		{"AT+CIPMODE=1", "+CIPMODE", CmdSet, []string{"1"}},
		{"AT+UART_CUR=115200,8,1,0,3", "+UART_CUR", CmdSet, []string{"115200", "8", "1", "0", "3"}},
		{"AT+SYSLOG=1", "+SYSLOG", CmdSet, []string{"1"}},
		{"AT+SYSLOG?", "+SYSLOG", CmdQuery, nil},
		{"AT+SYSMSG=3", "+SYSMSG", CmdSet, []string{"3"}},
		{"AT+X=", "+X", CmdSet, []string{"<empty>"}},
		{"AT+X=,", "+X", CmdSet, []string{"<empty>", "<empty>"}},
		{"AT+X=a\\b", "+X", CmdSet, []string{"a\\b"}},
		{"AT+X=\"\x00\xff\"", "+X", CmdSet, []string{"\"\\x00\\xff\""}},
		{"AT+FOO", "+FOO", CmdExec, nil}, // unknown to the firmware, but well formed
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			in := []byte(tt.line)
			c, err := ParseCommand(in)
			if err != nil {
				t.Fatalf("ParseCommand(%q): %v", tt.line, err)
			}
			if c.Name != tt.name || c.Type != tt.typ {
				t.Errorf("got name %q type %v, want %q %v", c.Name, c.Type, tt.name, tt.typ)
			}
			got := renderParams(c.Params)
			if strconv.Quote(joinParams(got)) != strconv.Quote(joinParams(tt.params)) {
				t.Errorf("params = %q, want %q", got, tt.params)
			}
			if string(c.Line) != tt.line {
				t.Errorf("Line = %q", c.Line)
			}
			for _, p := range c.Params {
				if !bytes.Equal(c.Line[p.Offset:p.Offset+len(p.Raw)], p.Raw) {
					t.Errorf("param %q: Offset %d does not locate Raw", p.Raw, p.Offset)
				}
			}
			// The parsed command must not alias the input.
			in[0] = 'X'
			if c.Line[0] != 'A' {
				t.Error("Line aliases the caller's buffer")
			}
		})
	}
}

func joinParams(ps []string) string {
	s := ""
	for i, p := range ps {
		if i > 0 {
			s += "|"
		}
		s += p
	}
	return s
}

func TestParseCommandErrors(t *testing.T) {
	tests := []struct {
		line   string
		offset int
		err    error
	}{
		{"", 0, ErrNotCommand},
		{"A", 0, ErrNotCommand},
		{"at+gmr", 0, ErrNotCommand},
		{"At+GMR", 0, ErrNotCommand},
		{"+WS_DATA:0,4,test", 0, ErrNotCommand},
		{"AT+", 3, ErrSyntax},
		{"AT+=1", 3, ErrSyntax},
		{"AT?", 2, ErrSyntax},
		{"AT=1", 2, ErrSyntax},
		{"AT ", 2, ErrSyntax},
		{"AT+GMR ", 6, ErrSyntax},
		{"AT+WS SEND=0,4", 5, ErrSyntax},
		{"AT+CWMODE?1", 10, ErrSyntax},
		{"AT+CWMODE=?1", 11, ErrSyntax},
		{`AT+CWJAP="ssid`, 9, ErrSyntax},
		{`AT+CWJAP="ssid\"`, 9, ErrSyntax},
		{`AT+CWJAP="ssid\`, 14, ErrSyntax},
		{`AT+CWJAP="ssid"x,"p"`, 15, ErrSyntax},
		{`AT+CWJAP=ss"id`, 11, ErrSyntax},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			c, err := ParseCommand([]byte(tt.line))
			if err == nil {
				t.Fatalf("ParseCommand(%q) = %+v, want error", tt.line, c)
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %T is not *ParseError", err)
			}
			if pe.Offset != tt.offset {
				t.Errorf("offset = %d, want %d (%v)", pe.Offset, tt.offset, err)
			}
			if !errors.Is(err, tt.err) {
				t.Errorf("error %v does not wrap %v", err, tt.err)
			}
		})
	}
}

func TestParamInt(t *testing.T) {
	tests := []struct {
		line string
		want int64
		ok   bool
	}{
		{"AT+X=0", 0, true},
		{"AT+X=16384", 16384, true},
		{"AT+X=-1", -1, true},
		{"AT+X=+0530", 530, true},
		{"AT+X=2147483647", 2147483647, true},
		{"AT+X=2147483648", 0, false},
		{"AT+X=-2147483648", -2147483648, true},
		{"AT+X=-2147483649", 0, false},
		{"AT+X=00000000000000000000042", 42, true},
		{"AT+X=99999999999999999999999", 0, false},
		{"AT+X=", 0, false},
		{"AT+X=-", 0, false},
		{"AT+X=+", 0, false},
		{"AT+X=1a", 0, false},
		{"AT+X= 1", 0, false},
		{"AT+X=0x10", 0, false},
		{`AT+X="1"`, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			c, err := ParseCommand([]byte(tt.line))
			if err != nil {
				t.Fatal(err)
			}
			got, ok := c.Int(0)
			if got != tt.want || ok != tt.ok {
				t.Errorf("Int = %d, %v; want %d, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
	var c Command
	if _, ok := c.Int(3); ok {
		t.Error("Int of a missing parameter reported ok")
	}
}

func TestCmdTypeString(t *testing.T) {
	for typ, want := range map[CmdType]string{CmdExec: "exec", CmdQuery: "query", CmdTest: "test", CmdSet: "set", 9: "cmdtype(9)"} {
		if got := typ.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", typ, got, want)
		}
	}
}

func TestFormatCommand(t *testing.T) {
	tests := []struct {
		cmd  Command
		want string
	}{
		{Command{Name: ""}, "AT"},
		{Command{Name: "E0"}, "ATE0"},
		{Command{Name: "+WSOPEN", Type: CmdQuery}, "AT+WSOPEN?"},
		{Command{Name: "+WSOPEN", Type: CmdTest}, "AT+WSOPEN=?"},
		{Command{Name: "+WSSEND", Type: CmdSet, Params: []Param{{Value: "0"}, {Value: "4"}}}, "AT+WSSEND=0,4"},
		{Command{Name: "+CWJAP", Type: CmdSet, Params: []Param{
			{Value: `a,b"c\`, Quoted: true}, {Value: "", Quoted: true}, {Empty: true}, {Value: "1"},
		}}, `AT+CWJAP="a\,b\"c\\","",,1`},
		{Command{Name: "+X", Type: CmdSet, Params: []Param{{Value: "a,b"}}}, `AT+X="a\,b"`},
	}
	for _, tt := range tests {
		if got := string(FormatCommand(&tt.cmd)); got != tt.want {
			t.Errorf("FormatCommand(%+v) = %q, want %q", tt.cmd, got, tt.want)
		}
	}
}

// FuzzParseCommand checks that ParseCommand never panics, that errors carry
// an in-range offset, and that formatting a parsed command and parsing it
// again gives the same command.
func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{
		"AT", "ATE0", "AT+GMR", "AT+CWMODE=?", "AT+WSOPEN?",
		`AT+CWJAP="ab\,c","1234\"5678\\",,1`,
		`AT+WSOPEN=0,"ws://h/",,15000,"Basic xxx"`,
		"AT+WSCFG=0,30,60,4096,3,0,0", "AT+WSDATAFMT=0,2,", "AT+X=",
		`AT+X="\`, "at+gmr", "AT+\x00",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		c, err := ParseCommand(line)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %T is not *ParseError", err)
			}
			if pe.Offset < 0 || pe.Offset > len(line) {
				t.Fatalf("offset %d outside line of %d bytes", pe.Offset, len(line))
			}
			return
		}
		if !bytes.Equal(c.Line, line) {
			t.Fatalf("Line %q != input %q", c.Line, line)
		}
		if c.Type == CmdSet && len(c.Params) == 0 {
			t.Fatal("set command without parameters")
		}
		out := FormatCommand(c)
		c2, err := ParseCommand(out)
		if err != nil {
			t.Fatalf("reparse of %q (from %q): %v", out, line, err)
		}
		if c2.Name != c.Name || c2.Type != c.Type || len(c2.Params) != len(c.Params) {
			t.Fatalf("round trip %q -> %q: got %+v, want %+v", line, out, c2, c)
		}
		for i := range c.Params {
			p, q := c.Params[i], c2.Params[i]
			if p.Value != q.Value || p.Quoted != q.Quoted || p.Empty != q.Empty {
				t.Fatalf("round trip %q -> %q: param %d %+v != %+v", line, out, i, q, p)
			}
		}
	})
}
