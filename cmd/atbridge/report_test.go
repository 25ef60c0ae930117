package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/atbridge/atbridge/analysis"
	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/formats"
	"github.com/atbridge/atbridge/internal/atcorpus"
	"github.com/atbridge/atbridge/internal/rig"
)

// fetchRE finds anything in a page that would make a browser fetch from
// the network: src/href/action/url()/@import/srcset with http(s) or //.
var fetchRE = regexp.MustCompile(`(?i)(\b(src|href|action|srcset|poster|data)\s*=\s*["']?\s*(https?:|//))|url\(\s*["']?\s*(https?:|//)|@import|<link\b|<iframe\b|<object\b|<embed\b`)

func writeReport(t *testing.T, in string) (string, string) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "report.html")
	if _, stderr, code := execCLI(t, "", "report", in, "-o", out); code != exitOK {
		t.Fatalf("report %s: exit %d: %s", in, code, stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return out, string(b)
}

// pageData extracts the transcript JSON embedded in a report.
func pageData(t *testing.T, page string) map[string]any {
	t.Helper()
	i := strings.Index(page, `<script type="application/json" id="data">`)
	j := strings.Index(page[i:], "</script>")
	if i < 0 || j < 0 {
		t.Fatal("no data script")
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(page[i+len(`<script type="application/json" id="data">`):i+j]), &m); err != nil {
		t.Fatalf("data: %v", err)
	}
	return m
}

// TestReportPages writes a report of every golden capture and checks that
// it is self-contained (nothing to fetch, a CSP that forbids fetching), that
// it shows the numbers "atbridge stats" computes and as many transcript
// rows as "atbridge show --json" prints, and that captured bytes never
// become markup.
func TestReportPages(t *testing.T) {
	t.Chdir("../..")
	files, _ := filepath.Glob("testdata/*.atcap")
	if len(files) < 5 {
		t.Fatal("no golden captures")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			_, page := writeReport(t, f)
			if m := fetchRE.FindString(page); m != "" {
				t.Errorf("the page would fetch: %q", m)
			}
			if !strings.Contains(page, `content="default-src 'none'`) {
				t.Error("no Content-Security-Policy forbidding fetches")
			}
			st, err := analysis.ReadFile(context.Background(), f)
			if err != nil {
				t.Fatal(err)
			}
			txs := 0
			for _, c := range st.Commands {
				txs += c.Count
			}
			if want := fmt.Sprintf(`data-label="transactions"><b>%d</b>`, txs); !strings.Contains(page, want) {
				t.Errorf("no %s", want)
			}
			if want := fmt.Sprintf(`data-label="records"><b>%d</b>`, st.Records); !strings.Contains(page, want) {
				t.Errorf("no %s", want)
			}
			show, _, _ := execCLI(t, "", "show", "--json", f)
			rows := pageData(t, page)["rows"].(map[string]any)["t"].([]any)
			if n := strings.Count(show, "\n") - 1; len(rows) != n { // less the header line
				t.Errorf("%d transcript rows, show --json prints %d events", len(rows), n)
			}
			for _, s := range []string{`id="timeline"`, `aria-label="latency"`, `id="viewport"`} {
				if !strings.Contains(page, s) {
					t.Errorf("no %s", s)
				}
			}
		})
	}
}

// TestReportEscapes puts markup in every text a capture can carry and
// checks that none of it reaches the page as markup.
func TestReportEscapes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.atcap")
	evil := `</script><script>alert(1)</script><img src=http://example.com/x>`
	w, err := capture.Create(path, capture.Header{Tool: evil, Start: goldenStart, MonoBase: 1,
		Ports: []capture.PortInfo{{Name: evil, Role: "host"}}, Meta: map[string]string{evil: evil}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	w.WriteChunk(1, 0, formats.ToDevice, []byte("AT+GMR\r\n"))
	w.WriteChunk(2, 1, formats.ToHost, []byte("AT+GMR\r\n"+evil+"\r\n\r\nOK\r\n"))
	w.WriteEvent(3, capture.Event{Type: capture.EvMarker, Text: evil})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	_, page := writeReport(t, path)
	if strings.Contains(page, "<script>alert") || strings.Contains(page, "<img") {
		t.Fatalf("captured text became markup:\n%s", page)
	}
	if strings.Count(page, "<script") != 2 {
		t.Errorf("%d script elements, want 2", strings.Count(page, "<script"))
	}
}

// chromiumPath returns the browser, or skips (fails under CI=true).
func chromiumPath(t *testing.T) string { return rig.ChromiumPath(t) }

// chromium runs headless Chromium on a local file with the flags that keep
// it off the network, and returns its stdout.
func chromium(t *testing.T, args ...string) []byte {
	t.Helper()
	bin := chromiumPath(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
		"--user-data-dir=" + t.TempDir()}
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %q: %v\n%s", args, err, errb.String())
	}
	return out.Bytes()
}

// dumpDOM loads a page and returns the DOM after its scripts ran.
func dumpDOM(t *testing.T, url string) string {
	t.Helper()
	return string(chromium(t, "--virtual-time-budget=10000", "--window-size=1280,1600", "--dump-dom", url))
}

var rowRE = regexp.MustCompile(`<div class="row[^"]*"[^>]*data-row="\d+"`)

// TestReportInBrowser opens a report in headless Chromium from a file: the
// script ran (data-ready), the summary shows the numbers, the transcript has
// rendered rows with the commands, the "#q=" search filters them, and a
// screenshot is not blank.
func TestReportInBrowser(t *testing.T) {
	chromiumPath(t)
	t.Chdir("../..")
	out, page := writeReport(t, "testdata/secrets.atcap")
	rows := len(pageData(t, page)["rows"].(map[string]any)["t"].([]any))
	st, err := analysis.ReadFile(context.Background(), "testdata/secrets.atcap")
	if err != nil {
		t.Fatal(err)
	}
	txs := 0
	for _, c := range st.Commands {
		txs += c.Count
	}
	url := "file://" + out
	dom := dumpDOM(t, url)
	if !strings.Contains(dom, `data-ready="1"`) {
		t.Fatalf("the script did not finish:\n%.2000s", dom)
	}
	for _, want := range []string{fmt.Sprintf(`data-label="transactions"><b>%d</b>`, txs), "AT version:2.2.0.0-dev", ">AT+GMR<", fmt.Sprintf(" of %d rows", rows)} {
		if !strings.Contains(dom, want) {
			t.Errorf("DOM lacks %q", want)
		}
	}
	if n := len(rowRE.FindAllString(dom, -1)); n < 20 {
		t.Errorf("%d transcript rows rendered", n)
	}
	// The search, from the address.
	dom = dumpDOM(t, url+"#q=wssend")
	if !regexp.MustCompile(fmt.Sprintf(`>\d of %d rows<`, rows)).MatchString(dom) || !strings.Contains(dom, "AT+WSSEND=0,") {
		t.Errorf("search did not filter: %s", regexp.MustCompile(`id="count">[^<]*`).FindString(dom))
	}

	png := filepath.Join(t.TempDir(), "shot.png")
	chromium(t, "--virtual-time-budget=10000", "--window-size=1280,1600", "--hide-scrollbars", "--screenshot="+png, url)
	if n := pngColours(t, png); n < 16 {
		t.Errorf("the screenshot has %d distinct colours: blank?", n)
	}
}

// pngColours counts the distinct colours of a PNG.
func pngColours(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[[4]uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bb, a := img.At(x, y).RGBA()
			seen[[4]uint32{r >> 8, g >> 8, bb >> 8, a >> 8}] = true
		}
	}
	return len(seen)
}

// TestReportLargeInBrowser reports a generated capture of tens of
// thousands of transactions and checks it loads in the browser: summary and
// transcript rendered, only a window of rows in the DOM.
func TestReportLargeInBrowser(t *testing.T) {
	chromiumPath(t)
	path := filepath.Join(t.TempDir(), "large.atcap")
	w, err := capture.Create(path, capture.Header{Start: goldenStart, MonoBase: 1}, &capture.WriterOptions{FlushInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range atcorpus.Generate(3, largeReportBytes) {
		port := capture.PortDevice
		if c.Dir == formats.ToDevice {
			port = capture.PortHost
		}
		w.WriteChunk(c.Time, port, c.Dir, c.Data)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	out, page := writeReport(t, path)
	st, err := analysis.ReadFile(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	txs := 0
	for _, c := range st.Commands {
		txs += c.Count
	}
	if txs < largeReportTxs {
		t.Fatalf("only %d transactions: not large", txs)
	}
	rows := len(pageData(t, page)["rows"].(map[string]any)["t"].([]any))
	t.Logf("%d transactions, %d rows, page %d bytes", txs, rows, len(page))
	dom := dumpDOM(t, "file://"+out)
	if !strings.Contains(dom, `data-ready="1"`) {
		t.Fatal("the script did not finish")
	}
	if want := fmt.Sprintf(`data-label="transactions"><b>%d</b>`, txs); !strings.Contains(dom, want) {
		t.Errorf("DOM lacks %s", want)
	}
	if !strings.Contains(dom, fmt.Sprintf(" of %d rows", rows)) {
		t.Errorf("no row count in the DOM")
	}
	if n := len(rowRE.FindAllString(dom, -1)); n < 20 || n > 500 {
		t.Errorf("%d rows in the DOM: want a rendered window, not everything", n)
	}
}
