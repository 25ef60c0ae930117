package port

import (
	"fmt"
	"sync"

	"github.com/atbridge/atbridge/capture"
)

// portLine holds the line settings of a port that keeps them itself (serial,
// tcp:). Embedded, it gives the port its Line method; the port's SetLine
// calls set. Safe for concurrent use.
type portLine struct {
	mu   sync.Mutex
	line capture.LineSettings
}

// Line returns the settings last given to Open or applied by SetLine.
func (pl *portLine) Line() capture.LineSettings {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	return pl.line
}

// set fills in l's defaults, checks it (an error names the port), and
// remembers it once apply, if not nil, has put it into force. apply runs
// under the lock, so concurrent SetLines leave the last applied settings
// remembered; its error is returned as it is.
func (pl *portLine) set(name string, l capture.LineSettings, apply func(capture.LineSettings) error) error {
	l = LineDefaults(l)
	if err := CheckLine(l); err != nil {
		return fmt.Errorf("set line %s: %w", name, err)
	}
	pl.mu.Lock()
	defer pl.mu.Unlock()
	if apply != nil {
		if err := apply(l); err != nil {
			return err
		}
	}
	pl.line = l
	return nil
}

// sendLatest queues v on ch without blocking, dropping the oldest pending
// value when ch is full: a reader that falls behind gets the latest. Only
// one goroutine may send on ch at a time.
func sendLatest[T any](ch chan T, v T) {
	for {
		select {
		case ch <- v:
			return
		default:
		}
		select {
		case <-ch:
		default:
		}
	}
}
