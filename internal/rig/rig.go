package rig

import (
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Timeout bounds how long a helper waits for bytes, frames or records. It
// is a hang guard, not a speed assertion.
const Timeout = 10 * time.Second

// Must fails the test at once when a setup step returns an error.
func Must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// Logger sends log lines, debug level and up, to t.Log.
func Logger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(LogWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// LogWriter writes each Write to t.Log as a line (a child process's
// stderr, a logger's output).
type LogWriter struct{ T testing.TB }

func (w LogWriter) Write(b []byte) (int, error) {
	w.T.Helper()
	w.T.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

// Testdata returns the path of name in this package's testdata folder, so
// that tests of any package reach the shared scripts.
func Testdata(name string) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "testdata", name)
}

// NeedProgram returns the path of an outside program, skipping the test
// where it is missing unless CI=true, where it fails.
func NeedProgram(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required under CI=true: %v", name, err)
		}
		t.Skipf("%s not installed: %v", name, err)
	}
	return p
}
