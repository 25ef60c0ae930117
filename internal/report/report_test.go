package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestRenderEmptyAndEdgeCases(t *testing.T) {
	for _, d := range []*Data{nil, {}, {DurationNS: 3}} {
		p := &Page{File: "x.atcap", Data: d}
		if d != nil {
			d.Add(1, "to_device", "command", "+GMR", -1, "AT+GMR", 0)
			d.Add(2, "to_host", "result", "ERROR", -1, "ERROR", FlagError)
			p.Timeline = TimelineSVG(d)
		}
		p.Links = LinksSVG(nil, 0)
		p.Latency = LatencySVG([]CmdLatency{{Name: "+GMR"}, {Name: "", Latencies: []int64{0, 1, 5e9}}})
		var b bytes.Buffer
		if err := Render(&b, p); err != nil {
			t.Fatal(err)
		}
		page := b.String()
		i := strings.Index(page, `id="data">`)
		j := strings.Index(page[i:], "</script>")
		var back map[string]any
		if err := json.Unmarshal([]byte(page[i+len(`id="data">`):i+j]), &back); err != nil {
			t.Fatalf("data does not parse: %v", err)
		}
		if _, ok := back["rows"].(map[string]any)["t"].([]any); !ok {
			t.Errorf("rows.t is not an array: %v", back["rows"])
		}
	}
}

func TestLinksAndTicks(t *testing.T) {
	svg := string(LinksSVG([]LinkSpan{{Link: 2, State: "connected", From: 0, To: 10}, {Link: 0, State: "odd<state>", From: 5, To: 5}}, 10))
	if !strings.Contains(svg, "link 2") || strings.Contains(svg, "<state>") {
		t.Errorf("links svg: %s", svg)
	}
	for _, d := range []int64{1, 7, 999, 1e9, 3600e9} {
		if s := niceStep(d, 8); s <= 0 {
			t.Errorf("niceStep(%d) = %d", d, s)
		}
	}
}
