package replay

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// WriteText writes the human report: each transaction that is not equal,
// with its neighbours for context, the expected and got lines, locations in
// both captures and latencies; then unsolicited-output differences, the
// per-command latency table and a summary line.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "expected: %s\ngot:      %s\nmatching: %s\n", r.Expected, r.Got, r.Match)
	for i := range r.Transactions {
		t := &r.Transactions[i]
		if t.Status == StatusEqual {
			continue
		}
		b.WriteString("\n")
		if i > 0 {
			fmt.Fprintf(&b, "    %s\n", contextLine(&r.Transactions[i-1]))
		}
		fmt.Fprintf(&b, "  ! %s\n", headLine(t))
		if t.Expected != nil {
			fmt.Fprintf(&b, "      expected at record %d, offset %d, t=%.6fs\n", t.Expected.Record, t.Expected.Offset, t.Expected.TimeS)
		}
		if t.Got != nil {
			fmt.Fprintf(&b, "      got      at record %d, offset %d, t=%.6fs\n", t.Got.Record, t.Got.Offset, t.Got.TimeS)
		}
		for _, d := range t.Diffs {
			fmt.Fprintf(&b, "      %s:\n        - %s\n        + %s\n", d.Field, strconv.Quote(d.Expected), strconv.Quote(d.Got))
		}
		if t.Expected != nil && t.Got != nil {
			fmt.Fprintf(&b, "      latency %.3fms -> %.3fms", t.Expected.LatencyMS, t.Got.LatencyMS)
			if t.Slowdown > 0 {
				fmt.Fprintf(&b, " (%.2fx)", t.Slowdown)
			}
			b.WriteString("\n")
		}
		if i+1 < len(r.Transactions) {
			fmt.Fprintf(&b, "    %s\n", contextLine(&r.Transactions[i+1]))
		}
	}
	if len(r.Unsolicited) > 0 {
		b.WriteString("\nunsolicited output:\n")
		for _, u := range r.Unsolicited {
			fmt.Fprintf(&b, "  ! %s after transaction #%d (record %d, offset %d)\n", u.Status, u.After, u.Record, u.Offset)
			if u.Status != StatusExtra {
				fmt.Fprintf(&b, "        - %s\n", strconv.Quote(u.Expected))
			}
			if u.Status != StatusMissing {
				fmt.Fprintf(&b, "        + %s\n", strconv.Quote(u.Got))
			}
		}
	}
	if len(r.Latency) > 0 {
		b.WriteString("\nlatency by command (median, expected -> got, worst slowdown):\n")
		for _, l := range r.Latency {
			fmt.Fprintf(&b, "  %-14s %5d  %9.3fms -> %9.3fms  %6.2fx\n", l.Command, l.Count, l.ExpectedMS, l.GotMS, l.WorstFactor)
		}
	}
	s := r.Summary
	verdict := "EQUAL"
	if !r.Equal {
		verdict = "DIFFERENT"
	}
	fmt.Fprintf(&b, "\n%s: %d transactions: %d equal, %d different, %d missing, %d extra, %d slower; %d unsolicited differences\n",
		verdict, s.Transactions, s.Equal, s.Different, s.Missing, s.Extra, s.Slower, s.URCDiffs)
	_, err := io.WriteString(w, b.String())
	return err
}

func headLine(t *TxReport) string {
	n := ""
	if t.Expected != nil {
		n = fmt.Sprintf("#%d ", t.Expected.Index)
	} else if t.Got != nil {
		n = fmt.Sprintf("(new #%d) ", t.Got.Index)
	}
	return fmt.Sprintf("%s%s: %s", n, t.Command, strings.ToUpper(string(t.Status)))
}

func contextLine(t *TxReport) string {
	res := ""
	switch {
	case t.Got != nil:
		res = t.Got.Result
	case t.Expected != nil:
		res = t.Expected.Result
	}
	n := ""
	if t.Expected != nil {
		n = fmt.Sprintf("#%d ", t.Expected.Index)
	}
	return fmt.Sprintf("%s%s -> %s (%s)", n, t.Command, res, t.Status)
}

// WriteJSON writes the report as one indented JSON object (the Report
// struct's fields and tags are the schema).
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Time     string      `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// WriteJUnit writes the report as JUnit XML, the format CI systems
// (Jenkins, GitLab, GitHub test reporters) read: one test suite named after
// the expected capture, one test case per transaction (named "#N AT+CMD",
// time = the new latency in seconds), a failure on every transaction that is
// not equal, and one more test case, "unsolicited output", for the
// unsolicited messages. classname is "atbridge." plus suite.
func (r *Report) WriteJUnit(w io.Writer, suite string) error {
	s := junitSuite{Name: r.Expected}
	var total float64
	for _, t := range r.Transactions {
		c := junitCase{Name: headName(&t), Classname: "atbridge." + suite}
		if t.Got != nil {
			c.Time = fmt.Sprintf("%.6f", t.Got.LatencyMS/1e3)
			total += t.Got.LatencyMS / 1e3
		} else {
			c.Time = "0"
		}
		if t.Status != StatusEqual {
			var body strings.Builder
			if t.Expected != nil {
				fmt.Fprintf(&body, "expected at record %d, offset %d, t=%.6fs: %s -> %s\n", t.Expected.Record, t.Expected.Offset, t.Expected.TimeS, t.Expected.Line, t.Expected.Result)
			}
			if t.Got != nil {
				fmt.Fprintf(&body, "got at record %d, offset %d, t=%.6fs: %s -> %s\n", t.Got.Record, t.Got.Offset, t.Got.TimeS, t.Got.Line, t.Got.Result)
			}
			for _, d := range t.Diffs {
				fmt.Fprintf(&body, "%s:\n- %s\n+ %s\n", d.Field, strconv.Quote(d.Expected), strconv.Quote(d.Got))
			}
			if t.Slowdown > 0 {
				fmt.Fprintf(&body, "latency %.3fms -> %.3fms (%.2fx)\n", t.Expected.LatencyMS, t.Got.LatencyMS, t.Slowdown)
			}
			c.Failure = &junitFailure{Message: fmt.Sprintf("%s: %s", t.Status, failureSummary(&t)), Type: string(t.Status), Text: xmlSafe(body.String())}
			s.Failures++
		}
		s.Cases = append(s.Cases, c)
	}
	u := junitCase{Name: "unsolicited output", Classname: "atbridge." + suite, Time: "0"}
	if len(r.Unsolicited) > 0 {
		var body strings.Builder
		for _, x := range r.Unsolicited {
			fmt.Fprintf(&body, "%s after transaction #%d (record %d, offset %d): - %s + %s\n", x.Status, x.After, x.Record, x.Offset, strconv.Quote(x.Expected), strconv.Quote(x.Got))
		}
		u.Failure = &junitFailure{Message: fmt.Sprintf("%d unsolicited messages differ", len(r.Unsolicited)), Type: "unsolicited", Text: xmlSafe(body.String())}
		s.Failures++
	}
	s.Cases = append(s.Cases, u)
	s.Tests = len(s.Cases)
	s.Time = fmt.Sprintf("%.6f", total)
	out := junitSuites{Name: "atbridge " + suite, Tests: s.Tests, Failures: s.Failures, Time: s.Time, Suites: []junitSuite{s}}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func headName(t *TxReport) string {
	if t.Expected != nil {
		return fmt.Sprintf("#%d %s", t.Expected.Index, xmlSafe(t.Command))
	}
	return fmt.Sprintf("new #%d %s", t.Got.Index, xmlSafe(t.Command))
}

func failureSummary(t *TxReport) string {
	switch t.Status {
	case StatusMissing:
		return "the new run has no such transaction"
	case StatusExtra:
		return "not in the expected capture"
	case StatusSlower:
		return fmt.Sprintf("%.2fx slower than recorded", t.Slowdown)
	}
	if len(t.Diffs) > 0 {
		d := t.Diffs[0]
		return xmlSafe(fmt.Sprintf("%s: expected %q, got %q", d.Field, d.Expected, d.Got))
	}
	return string(t.Status)
}

// xmlSafe replaces characters XML 1.0 cannot hold (control bytes, invalid
// UTF-8) with their Go escapes, so binary payloads stay readable.
func xmlSafe(s string) string {
	ok := true
	for _, r := range s {
		if r == 0xFFFD || (r < 0x20 && r != '\n' && r != '\t') {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	var b strings.Builder
	for _, line := range strings.SplitAfter(s, "\n") {
		body := strings.TrimSuffix(line, "\n")
		q := strconv.Quote(body)
		b.WriteString(q[1 : len(q)-1])
		if len(body) < len(line) {
			b.WriteString("\n")
		}
	}
	return b.String()
}
