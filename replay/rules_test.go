package replay

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseRules(t *testing.T) {
	tests := []struct {
		name string
		in   string
		line int // error line, 0 for none
		msg  string
		chk  func(*testing.T, *Rules)
	}{
		{name: "empty", in: "", chk: func(t *testing.T, r *Rules) {
			if r.Match != Lenient || r.AnyOrder || r.NoDefaults || len(r.Masks) > 0 || len(r.Faults) > 0 {
				t.Errorf("zero rules expected: %+v", r)
			}
		}},
		{name: "modes", in: "# c\n\nmatch strict\norder any\ndefaults off\n", chk: func(t *testing.T, r *Rules) {
			if r.Match != Strict || !r.AnyOrder || !r.NoDefaults {
				t.Errorf("%+v", r)
			}
		}},
		{name: "ignore", in: "ignore-param +CWJAP 2\nignore-param AT+WSOPEN 2,3\nignore-command GMR\nignore-urc +WS_DATA", chk: func(t *testing.T, r *Rules) {
			if got := r.IgnoreParams["+CWJAP"]; len(got) != 1 || got[0] != 2 {
				t.Errorf("+CWJAP: %v", got)
			}
			if got := r.IgnoreParams["+WSOPEN"]; len(got) != 2 || got[1] != 3 {
				t.Errorf("+WSOPEN: %v", got)
			}
			if !r.IgnoreCommands["+GMR"] || !r.IgnoreURCs["+WS_DATA"] {
				t.Errorf("%+v", r)
			}
		}},
		{name: "mask", in: `mask payload,data /"n":\d+/ "n":<n>` + "\nmask command /ws:\\/\\/[^\"]*/", chk: func(t *testing.T, r *Rules) {
			if len(r.Masks) != 2 || r.Masks[0].Scope != ScopePayload|ScopeData || r.Masks[0].Repl != `"n":<n>` || r.Masks[1].Repl != "<masked>" {
				t.Errorf("%+v", r.Masks)
			}
			if got := r.CommandKey([]byte(`AT+WSOPEN=0,"ws://h:1/x"`)); got != `AT+WSOPEN=0,"<masked>"` {
				t.Errorf("command mask: %q", got)
			}
		}},
		{name: "slowdown", in: "max-slowdown 150%\nslowdown-floor 5ms", chk: func(t *testing.T, r *Rules) {
			if r.MaxSlowdown != 1.5 || r.SlowdownFloor != 5*time.Millisecond {
				t.Errorf("%v %v", r.MaxSlowdown, r.SlowdownFloor)
			}
		}},
		{name: "faults", in: "fault delay AT+GMR 2s\nfault drop #3\nfault busy AT+WSSEND=* 2 p=0.5\nfault inject @1s +WS_CLOSED:0\nfault inject * \"\\r\\nX\"\nfault garbage #1 16\nfault corrupt-wsdata * -2\nfault corrupt-wsdata", chk: func(t *testing.T, r *Rules) {
			f := r.Faults
			if len(f) != 8 || f[0].Delay != 2*time.Second || f[1].nth != 3 || f[2].Times != 2 || f[2].Chance != 0.5 ||
				f[3].At != time.Second || string(f[3].Text) != "+WS_CLOSED:0\r\n" || string(f[4].Text) != "\r\nX" ||
				f[5].Count != 16 || f[6].Delta != -2 || f[7].Target != "#1" || f[7].Delta != 1 {
				t.Errorf("%+v", f)
			}
			if !f[2].hits(0, []byte("AT+WSSEND=0,4")) || f[2].hits(0, []byte("AT+WSSENDX")) {
				t.Error("glob target")
			}
		}},
		{name: "unknown keyword", in: "\nfrobnicate\n", line: 2, msg: "unknown rule"},
		{name: "bad match", in: "match loose", line: 1, msg: "unknown match mode"},
		{name: "bad order", in: "order random", line: 1, msg: "order must be"},
		{name: "bad param", in: "ignore-param +CWJAP zero", line: 1, msg: "parameter number"},
		{name: "param missing", in: "ignore-param +CWJAP", line: 1, msg: "ignore-param wants"},
		{name: "bad regex", in: "mask all /(/", line: 1, msg: "regular expression"},
		{name: "no slashes", in: "mask all abc", line: 1, msg: "between slashes"},
		{name: "unterminated", in: "mask all /abc", line: 1, msg: "unterminated"},
		{name: "bad scope", in: "mask body /x/", line: 1, msg: "unknown mask scope"},
		{name: "bad slowdown", in: "max-slowdown 0.5x", line: 1, msg: "at least 1"},
		{name: "bad fault", in: "fault explode *", line: 1, msg: "unknown fault"},
		{name: "delay without duration", in: "fault delay AT", line: 1, msg: "wants a duration"},
		{name: "timed drop", in: "fault drop @1s", line: 1, msg: "cannot take a time target"},
		{name: "bad chance", in: "fault drop * p=2", line: 1, msg: "chance"},
		{name: "bad nth", in: "fault drop #0", line: 1, msg: "#N"},
		{name: "trailing words", in: "fault drop * extra", line: 1, msg: "unexpected"},
		{name: "long line", in: strings.Repeat("#", 5000), line: 1, msg: "longer than"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := ParseRules(strings.NewReader(tc.in))
			if tc.line == 0 {
				if err != nil {
					t.Fatal(err)
				}
				tc.chk(t, r)
				return
			}
			var re *RuleError
			if !errors.As(err, &re) || re.Line != tc.line || !strings.Contains(re.Msg, tc.msg) || !errors.Is(err, ErrRuleSyntax) {
				t.Errorf("got %v, want line %d with %q", err, tc.line, tc.msg)
			}
		})
	}
}

func TestDefaultMasks(t *testing.T) {
	r := &Rules{}
	for _, tc := range []struct {
		sc   Scope
		a, b string
	}{
		{ScopeResponse, "+CIPSNTPTIME:Mon Oct 18 20:12:27 2021", "+CIPSNTPTIME:Tue Oct  5 01:02:03 2026"},
		{ScopeResponse, "compile time(98b95fc):Oct 29 2020 11:23:25", "compile time(1234567):Jan  1 2026 00:00:00"},
		{ScopeResponse, "AT version:2.2.0.0-dev(ca41ec4 - ESP32 - Sep 16 2020 11:28:17)", "AT version:2.2.0.0-dev(ca41ec4 - ESP32 - Jan  1 2021 01:02:03)"},
		{ScopeResponse, `+CIFSR:STAIP,"192.168.4.2"`, `+CIFSR:STAIP,"10.0.0.7"`},
		{ScopeResponse, `+CIFSR:STAMAC,"24:0a:c4:00:01:02"`, `+CIFSR:STAMAC,"aa:bb:cc:dd:ee:ff"`},
		{ScopePayload, `{"ts": 1732560000,"v":1}`, `{"ts":1732569999,"v":1}`},
		{ScopeData, `{"time":"2026-11-25T19:00:00Z"}`, `{"time":"2026-11-26T00:00:00Z"}`},
	} {
		if x, y := r.apply(tc.sc, []byte(tc.a)), r.apply(tc.sc, []byte(tc.b)); x != y {
			t.Errorf("%q and %q normalise to %q and %q", tc.a, tc.b, x, y)
		}
	}
	// Version numbers are no addresses.
	if x, y := r.apply(ScopeResponse, []byte("AT version:5.0.1.0(x)")), r.apply(ScopeResponse, []byte("AT version:5.0.2.0(x)")); x == y {
		t.Errorf("version numbers were masked: %q", x)
	}
	// Strict applies nothing.
	s := &Rules{Match: Strict}
	if s.apply(ScopeResponse, []byte("+CIPSNTPTIME:x")) != "+CIPSNTPTIME:x" {
		t.Error("strict mode masked")
	}
}

func TestLoadRulesFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "rules.txt")
	os.WriteFile(p, []byte("match strict\nbogus\n"), 0o600)
	if _, err := LoadRules(p); err == nil || !strings.Contains(err.Error(), "rules.txt: rules line 2") {
		t.Errorf("got %v", err)
	}
	if _, err := LoadRules(filepath.Join(t.TempDir(), "none")); err == nil {
		t.Error("missing file accepted")
	}
}

// FuzzParseRules: any input parses or fails with a *RuleError, never
// panics; what parses can be applied to any bytes.
func FuzzParseRules(f *testing.F) {
	for _, s := range []string{"match strict\norder any", "ignore-param +CWJAP 2", `mask all /a(b)/ $1`,
		"fault inject @1s \"\\r\\n\"", "fault corrupt-wsdata * -3", "max-slowdown 2x", "fault busy * 3 p=0.1"} {
		f.Add(s, []byte(`AT+CWJAP="a","b"`))
	}
	f.Fuzz(func(t *testing.T, rules string, line []byte) {
		r, err := ParseRules(strings.NewReader(rules))
		if err != nil {
			var re *RuleError
			if !errors.As(err, &re) || !errors.Is(err, ErrRuleSyntax) {
				t.Fatalf("error %v is no *RuleError", err)
			}
			return
		}
		_ = r.CommandKey(line)
		_ = r.PayloadKey(line)
		o := OutItem{Raw: line, Line: line, Data: line, Tx: -1}
		_ = r.OutKey(&o)
		for i := range r.Faults {
			r.Faults[i].hits(0, line)
		}
	})
}
