package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRepair(t *testing.T) {
	dir := t.TempDir()
	good := writeTestCapture(t, dir, "good.atcap")
	st, _ := os.Stat(good)
	bad := damage(t, good, int(st.Size())/2, false)

	out := filepath.Join(dir, "fixed.atcap")
	stdout, errOut, code := execCLI(t, "", "repair", bad, "-o", out)
	if code != exitProblem || !strings.Contains(stdout, "records recovered") || !strings.Contains(stdout, "skipped offset") {
		t.Fatalf("repair damaged: exit %d\nstdout: %s\nstderr: %s", code, stdout, errOut)
	}
	if stdout, _, code := execCLI(t, "", "verify", out); code != exitOK {
		t.Fatalf("repaired file does not verify: %s", stdout)
	}

	// OUT exists: refused without --force.
	if _, errOut, code := execCLI(t, "", "repair", good, "-o", out); code != exitFailure || !strings.Contains(errOut, "--force") {
		t.Fatalf("existing OUT: exit %d, stderr %s", code, errOut)
	}
	stdout, _, code = execCLI(t, "", "repair", good, "-o", out, "--force")
	if code != exitOK || !strings.Contains(stdout, "80 records recovered, 0 records lost") {
		t.Fatalf("repair whole file: exit %d: %s", code, stdout)
	}
	if _, errOut, code := execCLI(t, "", "repair", good, "-o", good, "--force"); code != exitFailure || !strings.Contains(errOut, "destination is the source") {
		t.Fatalf("repair onto itself: exit %d, stderr %s", code, errOut)
	}
	if _, errOut, code := execCLI(t, "", "repair", good); code != exitFailure || !strings.Contains(errOut, "-o OUT is required") {
		t.Fatalf("no -o: exit %d, stderr %s", code, errOut)
	}
}
