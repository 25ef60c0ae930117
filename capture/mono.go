package capture

import "time"

var processStart = time.Now()

// monotonicNow returns a monotonic clock reading in nanoseconds. Go exposes
// no absolute monotonic clock without a syscall package, so it is the
// process's monotonic time since package init plus the wall clock at init:
// readings from one process are comparable, which is what MonoBase is for.
func monotonicNow() int64 {
	return processStart.UnixNano() + int64(time.Since(processStart))
}

// MonotonicNow is the clock Header.MonoBase is read from: a recorder that
// makes its files later (a ring recording writes one per trigger) reads it
// once at its start so every file it writes shares one MonoBase.
func MonotonicNow() int64 { return monotonicNow() }
