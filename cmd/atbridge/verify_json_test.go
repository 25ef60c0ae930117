package main

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

func TestVerifyJSON(t *testing.T) {
	dir := t.TempDir()
	good := writeTestCapture(t, dir, "good.atcap")
	st, _ := os.Stat(good)
	for _, tc := range []struct {
		name string
		path string
		code int
		ok   bool
	}{
		{"whole", good, exitOK, true},
		{"flipped bytes", damage(t, good, int(st.Size())/2, false), exitProblem, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, code := execCLI(t, "", "verify", "--json", tc.path)
			if code != tc.code {
				t.Fatalf("exit %d, want %d: %s", code, tc.code, errOut)
			}
			var v verifyJSON
			if err := json.Unmarshal([]byte(out), &v); err != nil {
				t.Fatalf("not one JSON object: %v\n%s", err, out)
			}
			if v.OK != tc.ok || v.File != tc.path || v.Size != st.Size() || v.Version == 0 || v.Tool != "atbridge test" {
				t.Errorf("got %+v", v)
			}
			if tc.ok && (v.Records != 80 || len(v.Problems) != 0 || !v.Indexed) {
				t.Errorf("whole file: %+v", v)
			}
			// A flip that parity repairs is still a problem, with nothing lost.
			if !tc.ok && (len(v.Problems) == 0 || v.Problems[0].Message == "" ||
				v.RecordsLost+v.UnknownRegions == 0 && !strings.Contains(v.Problems[0].Message, "nothing lost")) {
				t.Errorf("damaged file: %+v", v)
			}
		})
	}
}
