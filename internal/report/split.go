package report

import (
	"fmt"
	"html"
	"html/template"
	"strings"

	"github.com/atbridge/atbridge/analysis"
)

// segmentColors colour the segments of the latency split: the line each
// way in the timeline's host and ESP32 colours, the server in its own.
var segmentColors = map[string]string{
	analysis.SegToDevice:   "#2563eb",
	analysis.SegHostWait:   "#9ca3af",
	analysis.SegDevice:     "#f59e0b",
	analysis.SegProcessing: "#f59e0b",
	analysis.SegNetwork:    "#9333ea",
	analysis.SegToHost:     "#059669",
}

// LatencySplitSVG draws the latency split of st: for each command and
// WebSocket exchange a bar of its segments' medians, one after the other
// as the round trip passes them, on one linear scale; each segment's
// tooltip gives p50, p90, p99 and max. A line above says what the serial
// segments were computed from.
func LatencySplitSVG(st *analysis.LatencyStats) template.HTML {
	if st == nil {
		return template.HTML(`<p>No latency split.</p>`)
	}
	rows := append(append([]*analysis.SplitStats(nil), st.Commands...), st.Exchanges...)
	if len(rows) == 0 {
		return template.HTML(`<p>No command got a result.</p>`)
	}
	var hi int64 = 1e6 // at least 1 ms wide
	for _, r := range rows {
		if g := r.Segment(analysis.SegRoundTrip); g != nil {
			hi = max(hi, g.P50NS)
		}
	}
	var b strings.Builder
	note := "serial segments are bytes at the line's character time, subtracted from the measured time"
	switch {
	case st.Line == "unknown":
		note = "the capture does not give the line settings: serial segments are 0"
	case !st.Wire:
		note = "the device is the emulator, timed with no wire between: serial segments show what a real line adds"
	}
	fmt.Fprintf(&b, `<p class="mono">line %s · %s</p><div class="legend">`, html.EscapeString(st.Line), html.EscapeString(note))
	for _, s := range []string{analysis.SegToDevice, analysis.SegHostWait, analysis.SegDevice, analysis.SegNetwork, analysis.SegToHost} {
		label := s
		if s == analysis.SegDevice {
			label = "ESP32 (processing, with frames)"
		}
		fmt.Fprintf(&b, `<span><i class="sw" style="background:%s"></i>%s</span>`, segmentColors[s], html.EscapeString(label))
	}
	b.WriteString(`</div>`)
	const x0, rowH = 260.0, 24.0
	w := float64(svgWidth) - x0 - 130
	h := float64(len(rows))*rowH + 4
	fmt.Fprintf(&b, `<svg width="100%%" viewBox="0 0 %d %.0f" role="img" aria-label="latency by segment">`, svgWidth, h)
	for i, r := range rows {
		y := float64(i)*rowH + 2
		name := r.Name
		switch {
		case name == "":
			name = "(unparsed)"
		case name != "+++" && !strings.Contains(name, "→"):
			name = "AT" + strings.TrimPrefix(name, "AT")
		}
		fmt.Fprintf(&b, `<text x="0" y="%.1f">%s (%d)</text>`, y+rowH/2+2, html.EscapeString(name), r.Count)
		x := x0
		for _, g := range r.Segments {
			col, ok := segmentColors[g.Name]
			if !ok {
				continue // the round trip is the whole bar
			}
			bw := w * float64(g.P50NS) / float64(hi)
			fmt.Fprintf(&b, `<rect x="%.2f" y="%.1f" width="%.2f" height="%.1f" fill="%s"><title>%s: p50 %s · p90 %s · p99 %s · max %s (%d)</title></rect>`,
				x, y, bw, rowH-8, col, html.EscapeString(g.Name), secs(g.P50NS), secs(g.P90NS), secs(g.P99NS), secs(g.MaxNS), g.Count)
			x += bw
		}
		if g := r.Segment(analysis.SegRoundTrip); g != nil {
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f">p50 %s</text>`, x+6, y+rowH/2+2, secs(g.P50NS))
		}
	}
	b.WriteString(`</svg>`)
	// The numbers behind the bars, folded away as the transcript is long enough.
	b.WriteString(`<details><summary>p50 / p90 / p99 / max of every segment</summary><table class="kv mono"><tr><th>command</th><th>segment</th><th>n</th><th>p50</th><th>p90</th><th>p99</th><th>max</th></tr>`)
	for _, r := range rows {
		for i, g := range r.Segments {
			name := ""
			if i == 0 {
				name = r.Name
			}
			fmt.Fprintf(&b, `<tr><td>%s</td><td>%s</td><td>%d</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>`,
				html.EscapeString(name), html.EscapeString(g.Name), g.Count, secs(g.P50NS), secs(g.P90NS), secs(g.P99NS), secs(g.MaxNS))
		}
	}
	b.WriteString(`</table></details>`)
	return template.HTML(b.String())
}
