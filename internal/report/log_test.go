package report

import (
	"strings"
	"testing"

	"github.com/atbridge/atbridge/formats/esplog"
)

func TestLogMarks(t *testing.T) {
	var marks []LogMark
	for i, s := range []string{
		"I (1) wifi: up", "W (2) wifi: slow", "E (3) ws: down", "E (4) ws: down again", "D (5) x: y",
		"Guru Meditation Error: Core  1 panic'ed (StoreProhibited). Exception was unhandled.",
		"Backtrace: 0x400d1234:0x3ffb5f30", "abort() was called at PC 0x400d1234 on core 0",
		"assert failed: f x.c:1 (x)", "Task watchdog got triggered.", "rst:0x1 (POWERON_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)",
		"rst:0x1 (POWERON_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)", "plain text",
	} {
		ln := esplog.Parse(s)
		if m, ok := LogMarkOf(int64(i)*1e9, &ln); ok {
			marks = append(marks, m)
		}
	}
	var labels []string
	for _, m := range marks {
		labels = append(labels, m.Label())
	}
	want := "warning wifi|error ws|error ws|panic: StoreProhibited|abort: abort()|abort: f x.c:1 (x)|watchdog|reset: POWERON_RESET|reset: POWERON_RESET"
	if got := strings.Join(labels, "|"); got != want {
		t.Fatalf("labels %s\nwant   %s", got, want)
	}
	s := SummarizeLog(marks, 13)
	if len(s.Resets) != 1 || s.Resets[0].Count != 2 || s.Resets[0].First != "+10.000000" || s.Resets[0].Last != "+11.000000" {
		t.Errorf("resets %+v", s.Resets)
	}
	if len(s.Crashes) != 4 || len(s.Events) != 6 || s.More != 0 {
		t.Errorf("crashes %+v, %d events", s.Crashes, len(s.Events))
	}
	if len(s.Tags) != 2 || s.Tags[0] != (TagCount{Tag: "ws", Errors: 2, Last: "E (4) ws: down again"}) || s.Tags[1].Warning != 1 {
		t.Errorf("tags %+v", s.Tags)
	}
	// Many resets: the list is bounded, the marks are one per bin.
	var many []LogMark
	for i := range 5000 {
		many = append(many, LogMark{T: int64(i) * 1e6, Kind: "reset", Reason: "SW_CPU_RESET", Line: "rst:0xc"})
	}
	s = SummarizeLog(many, 5000)
	if len(s.Events) != maxLogEvents || s.More != 5000-maxLogEvents || s.Resets[0].Count != 5000 {
		t.Errorf("%d events, %d more, %+v", len(s.Events), s.More, s.Resets)
	}
	d := &Data{DurationNS: 5e9, Log: many}
	svg := string(TimelineSVG(d))
	if n := strings.Count(svg, `class="log-mark log-reset"`); n != 400 {
		t.Errorf("%d reset marks for 5000 resets over 400 bins", n)
	}
	if n := strings.Count(svg, `class="log-label"`); n > maxLogLabels {
		t.Errorf("%d labels", n)
	}
	// A log UART that printed nothing still gets its lane; no log UART, none.
	if svg := string(TimelineSVG(&Data{Log: []LogMark{}})); !strings.Contains(svg, `id="log-lane"`) {
		t.Error("no log lane")
	}
	if svg := string(TimelineSVG(&Data{})); strings.Contains(svg, `id="log-lane"`) {
		t.Error("a log lane without a log UART")
	}
}
