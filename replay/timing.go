package replay

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Timing says how the engines space what they send.
type Timing struct {
	// Scale multiplies recorded delays: 1 is recorded timing, 0 is as fast
	// as possible, 0.5 twice as fast, 2 twice as slow.
	Scale float64
}

// Timings by name.
var (
	TimingRecorded = Timing{Scale: 1}
	TimingFast     = Timing{Scale: 0}
)

// ParseTiming parses "recorded", "fast" or "scale=N" (N a factor for
// recorded delays: scale=0.1 is ten times faster than recorded).
func ParseTiming(s string) (Timing, error) {
	switch s {
	case "recorded", "":
		return TimingRecorded, nil
	case "fast":
		return TimingFast, nil
	}
	if v, ok := strings.CutPrefix(s, "scale="); ok {
		f, err := strconv.ParseFloat(v, 64)
		if err == nil && f >= 0 && f <= 1000 {
			return Timing{Scale: f}, nil
		}
	}
	return Timing{}, fmt.Errorf("timing %q: want recorded, fast or scale=N (N from 0 to 1000 multiplies the recorded delays)", s)
}

// String returns "recorded", "fast" or "scale=N".
func (t Timing) String() string {
	switch t.Scale {
	case 1:
		return "recorded"
	case 0:
		return "fast"
	}
	return "scale=" + strconv.FormatFloat(t.Scale, 'g', -1, 64)
}

// after scales a recorded delay; negative delays are 0.
func (t Timing) after(d int64) time.Duration {
	if d <= 0 || t.Scale == 0 {
		return 0
	}
	return time.Duration(float64(d) * t.Scale)
}
