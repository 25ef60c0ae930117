package port

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them: every
// goroutine a port starts (a pty's termios watcher, a Close watcher) must be
// waited for by the port.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
