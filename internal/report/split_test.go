package report

import (
	"strings"
	"testing"

	"github.com/atbridge/atbridge/analysis"
)

func TestLatencySplitSVG(t *testing.T) {
	for _, tc := range []struct {
		st   *analysis.LatencyStats
		want []string
	}{
		{nil, []string{"No latency split"}},
		{&analysis.LatencyStats{Line: "unknown"}, []string{"No command got a result"}},
		{&analysis.LatencyStats{Line: "115200 8N1", Wire: true, Commands: []*analysis.SplitStats{{Name: "<b>x", Count: 2, Segments: []*analysis.Segment{
			{Name: analysis.SegToDevice, Dist: analysis.Dist{Count: 2, P50NS: 1e6, P90NS: 2e6, P99NS: 2e6, MaxNS: 2e6}},
			{Name: analysis.SegNetwork, Dist: analysis.Dist{Count: 2, P50NS: 4e7, MaxNS: 5e7}},
			{Name: analysis.SegRoundTrip, Dist: analysis.Dist{Count: 2, P50NS: 41e6, MaxNS: 52e6}},
		}}}}, []string{"AT&lt;b&gt;x (2)", "network: p50 40ms", "host→ESP32: p50 1ms · p90 2ms", "p50 41ms", "subtracted"}},
	} {
		got := string(LatencySplitSVG(tc.st))
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("missing %q in\n%s", w, got)
			}
		}
		if strings.Contains(got, "<b>") {
			t.Errorf("a name reached the page as markup: %s", got)
		}
	}
}
