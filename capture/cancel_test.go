package capture

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestVerifyRepairCancel checks that Verify and Repair stop on a done
// context with its error, and that Repair then leaves no destination and
// no temporary file behind.
func TestVerifyRepairCancel(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "big.atcap")
	if err := os.WriteFile(src, writeAll(t, corpusRecords(4, 256<<10), nil), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if rep, err := Verify(src, &VerifyOptions{Context: ctx}); !errors.Is(err, context.Canceled) || rep != nil {
		t.Errorf("Verify: %+v, %v; want context.Canceled", rep, err)
	}
	dst := filepath.Join(dir, "fixed.atcap")
	if rep, err := Repair(src, dst, &RepairOptions{Context: ctx}); !errors.Is(err, context.Canceled) || rep != nil {
		t.Errorf("Repair: %+v, %v; want context.Canceled", rep, err)
	}
	if names, _ := filepath.Glob(filepath.Join(dir, "*fixed*")); len(names) != 0 {
		t.Errorf("Repair left %v behind", names)
	}
	// A live context changes nothing.
	if rep, err := Verify(src, &VerifyOptions{Context: context.Background()}); err != nil || !rep.OK() {
		t.Errorf("Verify: %+v, %v", rep, err)
	}
}
