//go:build !linux && !darwin

package port

import (
	"fmt"
	"runtime"
)

// openPty implements Open for "pty:PATH" where there are no
// pseudo-terminals to hand a host app (Windows: use a com0com pair and open
// its other end as a serial port instead).
func openPty(spec, _ string, _ Options) (Port, error) {
	return nil, fmt.Errorf("open %s: pty: is %w on %s (on Windows, create a virtual COM pair, e.g. with com0com, and open one end)", spec, ErrNotSupported, runtime.GOOS)
}
