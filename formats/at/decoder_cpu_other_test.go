//go:build !unix

package at_test

import "time"

// cpuTime is not measured here: BenchmarkDecode reports no cpu-MB/s.
func cpuTime() time.Duration { return 0 }
