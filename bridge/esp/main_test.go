package esp

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them: every
// goroutine the emulator starts (the reader, link readers, reconnects) must
// be waited for by Serve.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
