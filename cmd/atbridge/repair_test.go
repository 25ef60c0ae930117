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
	// Parity undoes a few bad bytes; 1 KiB zeroed takes blocks with it.
	b, _ := os.ReadFile(good)
	clear(b[st.Size()/2 : st.Size()/2+1024])
	bad := filepath.Join(dir, "bad.atcap")
	if err := os.WriteFile(bad, b, 0o600); err != nil {
		t.Fatal(err)
	}

	out := filepath.Join(dir, "fixed.atcap")
	stdout, errOut, code := execCLI(t, "", "repair", bad, "-o", out)
	if code != exitProblem || !strings.Contains(stdout, "records recovered") || !strings.Contains(stdout, "skipped offset") {
		t.Fatalf("repair damaged: exit %d\nstdout: %s\nstderr: %s", code, stdout, errOut)
	}
	if stdout, _, code := execCLI(t, "", "verify", out); code != exitOK {
		t.Fatalf("repaired file does not verify: %s", stdout)
	}
	// The repaired file says what it lost, in every view of it.
	if show, _, _ := execCLI(t, "", "show", out); !strings.Contains(show, "DAMAGE (repaired): ") || !strings.Contains(show, " lost from ") {
		t.Errorf("show of the repaired file has no damage line:\n%s", show)
	}
	if js, _, _ := execCLI(t, "", "show", "--json", out); !strings.Contains(js, `"event":"damage"`) {
		t.Errorf("show --json of the repaired file has no damage event:\n%s", js)
	}
	if st, _, code := execCLI(t, "", "stats", out); code != exitProblem || strings.Contains(st, "damage none") || !strings.Contains(st, "repaired: ") {
		t.Errorf("stats of the repaired file: exit %d\n%s", code, st)
	}
	pcap := filepath.Join(dir, "fixed.pcapng")
	if _, errOut, code := execCLI(t, "", "export", out, "-o", pcap); code != exitOK {
		t.Errorf("export of the repaired file: exit %d: %s", code, errOut)
	} else if b, _ := os.ReadFile(pcap); !strings.Contains(string(b), " lost from ") {
		t.Errorf("the pcapng export has no damage comment")
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
