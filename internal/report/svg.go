package report

import (
	"fmt"
	"html"
	"html/template"
	"math"
	"strings"
)

// The charts are inline SVG drawn here, with a bounded number of elements
// whatever the size of the capture (traffic is binned), so the page needs
// no plotting library and stays light.

const svgWidth = 1000

// niceStep returns a round tick step for a span of ns nanoseconds.
func niceStep(ns int64, ticks int) int64 {
	raw := float64(ns) / float64(ticks)
	if raw <= 0 {
		return 1e9
	}
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= raw {
			return max(int64(m*p), 1)
		}
	}
	return max(int64(10*p), 1)
}

func secs(ns int64) string {
	s := float64(ns) / 1e9
	switch {
	case s >= 100:
		return fmt.Sprintf("%.0fs", s)
	case s >= 1:
		return fmt.Sprintf("%.3gs", s)
	}
	return fmt.Sprintf("%.3gms", s*1e3)
}

// axis draws a time axis at y for [0, dur] over width w starting at x0.
func axis(b *strings.Builder, x0, w float64, y float64, dur int64) {
	fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#9ca3af"/>`, x0, y, x0+w, y)
	if dur <= 0 {
		return
	}
	step := niceStep(dur, 8)
	for t := int64(0); t <= dur; t += step {
		x := x0 + w*float64(t)/float64(dur)
		fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#9ca3af"/><text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`, x, y, x, y+4, x, y+15, secs(t))
	}
}

// TimelineSVG bins the rows into columns across the capture's duration and
// draws, per lane, how much happened: host → ESP32 items, ESP32 → host
// items, WebSocket traffic, with errors and losses marked; and when the
// capture has the ESP32's log UART (Data.Log), a lane of its warnings and
// errors with each reset and crash marked across all lanes (logLane).
func TimelineSVG(d *Data) template.HTML {
	const x0, bins = 120.0, 400
	w := float64(svgWidth) - x0 - 10
	dur := max(d.DurationNS, 1)
	type lane struct {
		name, colour string
		n            [bins]int
	}
	lanes := []*lane{{name: "host → ESP32", colour: "#2563eb"}, {name: "ESP32 → host", colour: "#059669"}, {name: "ESP32 ↔ server", colour: "#9333ea"}}
	var errs, lost [bins]int
	r := &d.Rows
	for i := range r.T {
		bin := min(int(float64(r.T[i])/float64(dur)*bins), bins-1)
		bin = max(bin, 0)
		switch d.Dirs[r.D[i]] {
		case "to_device":
			lanes[0].n[bin]++
		case "to_host":
			lanes[1].n[bin]++
		case "to_server", "to_client":
			lanes[2].n[bin]++
		}
		if r.F[i]&FlagError != 0 {
			errs[bin]++
		}
		if r.F[i]&FlagLost != 0 {
			lost[bin]++
		}
	}
	const laneH, gap = 28.0, 8.0
	nLanes := 3
	if d.Log != nil {
		nLanes = 4
	}
	h := float64(nLanes)*(laneH+gap) + 40
	var b strings.Builder
	fmt.Fprintf(&b, `<svg id="timeline" width="100%%" viewBox="0 0 %d %.0f" role="img" aria-label="timeline" style="cursor:pointer">`, svgWidth, h)
	bw := w / bins
	for li, l := range lanes {
		y := float64(li)*(laneH+gap) + 6
		fmt.Fprintf(&b, `<text x="0" y="%.1f">%s</text><rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#f3f4f6"/>`, y+laneH/2+4, html.EscapeString(l.name), x0, y, w, laneH)
		peak := 1
		for _, n := range l.n {
			peak = max(peak, n)
		}
		for bin, n := range l.n {
			if n == 0 {
				continue
			}
			bh := laneH * math.Log1p(float64(n)) / math.Log1p(float64(peak))
			fmt.Fprintf(&b, `<rect x="%.2f" y="%.2f" width="%.2f" height="%.2f" fill="%s"/>`, x0+float64(bin)*bw, y+laneH-bh, math.Max(bw, 1), bh, l.colour)
		}
	}
	top, bottom := 6.0, float64(nLanes)*(laneH+gap)
	if d.Log != nil {
		logLane(&b, d.Log, x0, w, 3*(laneH+gap)+6, laneH, top, bottom, dur, bins)
	}
	for bin := range errs {
		x := x0 + (float64(bin)+0.5)*bw
		if errs[bin] > 0 {
			fmt.Fprintf(&b, `<line x1="%.2f" y1="%.1f" x2="%.2f" y2="%.1f" stroke="#dc2626" stroke-width="1.5" opacity="0.8"><title>%d errors</title></line>`, x, top, x, bottom, errs[bin])
		}
		if lost[bin] > 0 {
			fmt.Fprintf(&b, `<line x1="%.2f" y1="%.1f" x2="%.2f" y2="%.1f" stroke="#d97706" stroke-width="3"><title>bytes lost</title></line>`, x, top, x, bottom)
		}
	}
	axis(&b, x0, w, bottom+2, d.DurationNS)
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// LinkSpan is a WebSocket link in one state from From to To (ns).
type LinkSpan struct {
	Link     int
	State    string // connecting, connected, reconnecting
	From, To int64
}

var stateColour = map[string]string{"connecting": "#fbbf24", "connected": "#10b981", "reconnecting": "#f97316", "tap": "#a78bfa"}

// LinksSVG draws each link's lifecycle as coloured spans on a time axis.
func LinksSVG(spans []LinkSpan, dur int64) template.HTML {
	if len(spans) == 0 {
		return template.HTML(`<p>No WebSocket links in this capture.</p>`)
	}
	const x0, rowH = 120.0, 24.0
	w := float64(svgWidth) - x0 - 10
	dur = max(dur, 1)
	links := map[int]bool{}
	maxLink := 0
	for _, s := range spans {
		links[s.Link] = true
		maxLink = max(maxLink, s.Link)
	}
	n := maxLink + 1
	h := float64(n)*rowH + 46
	var b strings.Builder
	fmt.Fprintf(&b, `<svg width="100%%" viewBox="0 0 %d %.0f" role="img" aria-label="websocket links">`, svgWidth, h)
	for l := 0; l < n; l++ {
		y := float64(l)*rowH + 4
		fmt.Fprintf(&b, `<text x="0" y="%.1f">link %d</text><rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#f3f4f6"/>`, y+14, l, x0, y, w, rowH-6)
	}
	for _, s := range spans {
		y := float64(s.Link)*rowH + 4
		x1 := x0 + w*float64(s.From)/float64(dur)
		x2 := x0 + w*float64(s.To)/float64(dur)
		c := stateColour[s.State]
		if c == "" {
			c = "#9ca3af"
		}
		fmt.Fprintf(&b, `<rect x="%.2f" y="%.1f" width="%.2f" height="%.1f" fill="%s"><title>link %d %s %s – %s</title></rect>`,
			x1, y, math.Max(x2-x1, 1.5), rowH-6, c, s.Link, html.EscapeString(s.State), secs(s.From), secs(s.To))
	}
	axis(&b, x0, w, float64(n)*rowH+4, dur)
	ly := float64(n)*rowH + 40
	x := x0
	for _, st := range []string{"connecting", "connected", "reconnecting", "tap"} {
		fmt.Fprintf(&b, `<rect x="%.0f" y="%.0f" width="10" height="10" fill="%s"/><text x="%.0f" y="%.0f">%s</text>`, x, ly-9, stateColour[st], x+14, ly, st)
		x += 110
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// CmdLatency is one command's latencies, sorted, in ns.
type CmdLatency struct {
	Name      string
	Latencies []int64
}

// LatencySVG draws, per command, a histogram of its latencies on a
// logarithmic axis (0.1 ms to the slowest), with the median and p95 marked.
func LatencySVG(cmds []CmdLatency) template.HTML {
	var rows []CmdLatency
	var lo, hi float64 = 1e5, 1e7 // 0.1 ms .. at least 10 ms
	for _, c := range cmds {
		if len(c.Latencies) == 0 {
			continue
		}
		rows = append(rows, c)
		hi = math.Max(hi, float64(c.Latencies[len(c.Latencies)-1]))
	}
	if len(rows) == 0 {
		return template.HTML(`<p>No command got a result.</p>`)
	}
	const x0, rowH, bins = 160.0, 30.0, 60
	w := float64(svgWidth) - x0 - 200
	lhi, llo := math.Log10(hi*1.2), math.Log10(lo)
	pos := func(ns int64) float64 {
		v := math.Max(float64(ns), lo)
		return x0 + w*(math.Log10(v)-llo)/(lhi-llo)
	}
	h := float64(len(rows))*rowH + 30
	var b strings.Builder
	fmt.Fprintf(&b, `<svg width="100%%" viewBox="0 0 %d %.0f" role="img" aria-label="latency">`, svgWidth, h)
	for i, c := range rows {
		y := float64(i)*rowH + 2
		var hist [bins]int
		for _, l := range c.Latencies {
			k := int((pos(l) - x0) / w * bins)
			hist[min(max(k, 0), bins-1)]++
		}
		peak := 1
		for _, n := range hist {
			peak = max(peak, n)
		}
		name := c.Name
		if name == "" {
			name = "(unparsed)"
		} else if name != "+++" {
			name = "AT" + strings.TrimPrefix(name, "AT")
		}
		fmt.Fprintf(&b, `<text x="0" y="%.1f">%s (%d)</text>`, y+rowH/2+3, html.EscapeString(name), len(c.Latencies))
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#f3f4f6"/>`, x0, y, w, rowH-6)
		for k, n := range hist {
			if n == 0 {
				continue
			}
			bh := (rowH - 6) * float64(n) / float64(peak)
			fmt.Fprintf(&b, `<rect x="%.2f" y="%.2f" width="%.2f" height="%.2f" fill="#2563eb"><title>%d</title></rect>`, x0+float64(k)*w/bins, y+rowH-6-bh, w/bins-0.5, bh, n)
		}
		p50 := c.Latencies[(len(c.Latencies)-1)/2]
		p95 := c.Latencies[max((len(c.Latencies)*95+99)/100-1, 0)]
		for _, m := range []struct {
			v   int64
			col string
		}{{p50, "#111827"}, {p95, "#dc2626"}} {
			x := pos(m.v)
			fmt.Fprintf(&b, `<line x1="%.2f" y1="%.1f" x2="%.2f" y2="%.1f" stroke="%s" stroke-width="2"/>`, x, y-1, x, y+rowH-5, m.col)
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f">p50 %s · p95 %s</text>`, x0+w+6, y+rowH/2+3, secs(p50), secs(p95))
	}
	// Decade ticks.
	y := float64(len(rows))*rowH + 2
	fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#9ca3af"/>`, x0, y, x0+w, y)
	for v := lo; v <= hi*1.2; v *= 10 {
		x := pos(int64(v))
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#9ca3af"/><text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`, x, y, x, y+4, x, y+16, secs(int64(v)))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}
