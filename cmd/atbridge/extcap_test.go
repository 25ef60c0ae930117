package main

import (
	"regexp"
	"strings"
	"testing"
)

// extcapSentence is the grammar of extcap's answers: a keyword, then
// {key=value} fields.
var extcapSentence = regexp.MustCompile(`^(extcap|interface|dlt|arg|value) (\{[a-z]+=[^{}\n]*\})+$`)

func TestExtcapDiscovery(t *testing.T) {
	stdout, _, code := execCLI(t, "", "extcap", "--extcap-interfaces", "--extcap-version=4.0")
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "extcap {version=") {
		t.Fatalf("interfaces:\n%s", stdout)
	}
	for _, iface := range []string{extcapProxy, extcapEmulate, extcapFile} {
		if !strings.Contains(stdout, "interface {value="+iface+"}{display=atbridge: ") {
			t.Errorf("%s not listed", iface)
		}
		dlts, _, code := execCLI(t, "", "extcap", "--extcap-dlts", "--extcap-interface", iface, "--extcap-version=4.0")
		if code != exitOK || !strings.HasPrefix(dlts, "dlt {number=252}{name="+iface+"}") {
			t.Errorf("%s dlts: %d %q", iface, code, dlts)
		}
		cfg, _, code := execCLI(t, "", "extcap", "--extcap-config", "--extcap-interface="+iface)
		if code != exitOK || !strings.Contains(cfg, "arg {number=0}{call=--") {
			t.Errorf("%s config: %d %q", iface, code, cfg)
		}
		// Every argument the config declares is a flag the capture accepts.
		for _, m := range regexp.MustCompile(`\{call=--([a-z-]+)\}`).FindAllStringSubmatch(cfg, -1) {
			if !strings.Contains(stdout+cfg, m[1]) {
				t.Errorf("no %s", m[1])
			}
			fs := newFlagSet(commands["extcap"], &strings.Builder{})
			commands["extcap"].setup(fs)
			if fs.Lookup(m[1]) == nil {
				t.Errorf("%s declares --%s, which extcap does not accept", iface, m[1])
			}
		}
		lines = append(lines, strings.Split(strings.TrimSpace(dlts+cfg), "\n")...)
	}
	for _, l := range lines {
		if !extcapSentence.MatchString(l) {
			t.Errorf("not an extcap sentence: %q", l)
		}
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"extcap"}, "give --extcap-interfaces"},
		{[]string{"extcap", "--extcap-config", "--extcap-interface", "eth0"}, "unknown interface"},
		{[]string{"extcap", "--capture", "--extcap-interface", extcapFile}, "--fifo"},
		{[]string{"extcap", "--capture", "--extcap-interface", extcapFile, "--fifo", "/nonexistent/fifo"}, "--file is required"},
		{[]string{"extcap", "--capture", "--extcap-interface", extcapProxy, "--fifo", "/nonexistent/fifo"}, "--host and --device"},
	} {
		_, errOut, code := execCLI(t, "", tc.args...)
		if code != exitFailure || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, stderr %q, want %q", tc.args, code, errOut, tc.want)
		}
	}
}
