// Package report renders "atbridge report": one self-contained HTML file
// (styles, scripts and data inline, no network fetches) that shows a
// capture to someone who has nothing installed: a summary, a timeline of
// host <-> ESP32 <-> server traffic, WebSocket link lifecycles, command
// latency distributions and a searchable, filterable transcript.
//
// The page embeds the transcript as compact columnar JSON and renders only
// the rows in view, so captures of tens of thousands of transactions stay
// responsive. Captured bytes reach the page only as JSON strings and
// textContent, never as markup.
//
// It imports analysis for the model it renders; it reads no files and
// opens no ports.
package report

import (
	_ "embed"
	"encoding/json"
	"html/template"
	"io"

	"github.com/atbridge/atbridge/analysis"
)

//go:embed report.html
var pageHTML string

//go:embed report.css
var pageCSS string

//go:embed report.js
var pageJS string

//go:embed lanes.js
var lanesJS string

var page = template.Must(template.New("report").Parse(pageHTML))

// Problem is an error, loss or damage listed in the problems section.
type Problem struct{ Time, Text string }

// Page is everything a report shows.
type Page struct {
	File, Start, Tool string
	Cards             []analysis.Card
	Facts             []analysis.Fact
	Problems          []Problem
	MoreProblems      int // problems beyond those listed
	// Timeline, Links and Latency are inline SVG from TimelineSVG,
	// LinksSVG and LatencySVG; LatencySplit from LatencySplitSVG.
	Timeline, Links, Latency template.HTML
	LatencySplit             template.HTML
	Data                     *Data
	// Log is the section on the ESP32's log UART (SummarizeLog); nil
	// when the capture has none.
	Log *LogSummary
}

// Data is the transcript as the page's script reads it.
type Data struct {
	DurationNS int64    `json:"duration_ns"`
	Kinds      []string `json:"kinds"`
	Dirs       []string `json:"dirs"`
	Names      []string `json:"names"`
	Rows       Rows     `json:"rows"`
	// Log is what the timeline marks from the ESP32's log UART, in time
	// order; nil when the capture has no log UART (then the timeline has
	// no log lane).
	Log []LogMark `json:"-"`

	kinds, dirs, names map[string]int
}

// Rows are the transcript's rows, one column a slice.
type Rows struct {
	T []int64  `json:"t"` // ns since the start
	D []int    `json:"d"` // index in Dirs
	K []int    `json:"k"` // index in Kinds
	N []int    `json:"n"` // index in Names
	L []int    `json:"l"` // link, -1 when none
	X []string `json:"x"` // text
	F []int    `json:"f"` // FlagError | FlagLost
}

// Row flags.
const (
	FlagError = 1 // an error result, unparsed bytes, damage
	FlagLost  = 2 // bytes lost by the recorder
)

func intern(m *map[string]int, list *[]string, s string) int {
	if *m == nil {
		*m = map[string]int{}
	}
	if i, ok := (*m)[s]; ok {
		return i
	}
	*list = append(*list, s)
	(*m)[s] = len(*list) - 1
	return len(*list) - 1
}

// Add appends a row.
func (d *Data) Add(t int64, dir, kind, name string, link int, text string, flags int) {
	r := &d.Rows
	r.T = append(r.T, t)
	r.D = append(r.D, intern(&d.dirs, &d.Dirs, dir))
	r.K = append(r.K, intern(&d.kinds, &d.Kinds, kind))
	r.N = append(r.N, intern(&d.names, &d.Names, name))
	r.L = append(r.L, link)
	r.X = append(r.X, text)
	r.F = append(r.F, flags)
}

// Len returns the number of rows.
func (d *Data) Len() int { return len(d.Rows.T) }

// Render writes the page.
func Render(w io.Writer, p *Page) error {
	if p.Data == nil {
		p.Data = &Data{}
	}
	for _, s := range []*[]string{&p.Data.Kinds, &p.Data.Dirs, &p.Data.Names} {
		if *s == nil {
			*s = []string{}
		}
	}
	r := &p.Data.Rows
	if r.T == nil {
		*r = Rows{T: []int64{}, D: []int{}, K: []int{}, N: []int{}, L: []int{}, X: []string{}, F: []int{}}
	}
	// json.Marshal escapes <, > and &, so the data cannot end its script
	// element.
	data, err := json.Marshal(p.Data)
	if err != nil {
		return err
	}
	return page.Execute(w, struct {
		*Page
		CSS  template.CSS
		JS   template.JS
		JSON template.JS
	}{p, template.CSS(pageCSS), template.JS(lanesJS + "\n" + pageJS), template.JS(data)})
}

// CSS is the report's stylesheet, for other pages of atbridge's (the live
// view) to look the same.
func CSS() string { return pageCSS }

// LanesJS is the script that draws a transcript row's lanes
// (atbridgeLanes), for the live view's page to draw them the same.
func LanesJS() string { return lanesJS }
