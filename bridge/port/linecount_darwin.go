package port

import "fmt"

var _ LineCounter = (*serialPort)(nil)

// LineCounts implements LineCounter: macOS has no TIOCGICOUNT.
func (p *serialPort) LineCounts() (LineCounts, error) {
	return LineCounts{}, fmt.Errorf("%w: macOS keeps no serial line counters", ErrNotSupported)
}
