package bridge

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them: every
// goroutine a pump, tap or the proxy starts must be waited for by its owner.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
