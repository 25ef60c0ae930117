package replay

import (
	"fmt"
	"sort"
)

// Status is the outcome of comparing one transaction.
type Status string

// Transaction and unsolicited-output statuses, as they appear in JSON.
const (
	StatusEqual     Status = "equal"
	StatusDifferent Status = "different" // paired, but command, payload or response differ
	StatusMissing   Status = "missing"   // in the expected capture only
	StatusExtra     Status = "extra"     // in the new run only
	StatusSlower    Status = "slower"    // equal, but over the --max-slowdown threshold
)

// Report is the result of comparing an expected capture (A, the original)
// with a new one (B: a replay run, or the second file of a diff).
type Report struct {
	Expected string `json:"expected"`
	Got      string `json:"got"`
	Match    string `json:"match"`
	// Equal is true when no transaction and no unsolicited output differs
	// and none is slower than allowed.
	Equal        bool        `json:"equal"`
	Transactions []TxReport  `json:"transactions"`
	Unsolicited  []URCReport `json:"unsolicited"`
	// Latency summarises latencies per command name, original vs new.
	Latency []LatencyRow `json:"latency"`
	Summary Summary      `json:"summary"`
}

// Summary counts a Report's outcomes.
type Summary struct {
	Transactions int `json:"transactions"`
	Equal        int `json:"equal"`
	Different    int `json:"different"`
	Missing      int `json:"missing"`
	Extra        int `json:"extra"`
	Slower       int `json:"slower"`
	URCDiffs     int `json:"unsolicited_differences"`
}

// TxReport is one transaction's comparison.
type TxReport struct {
	// N numbers the report's rows from 1; Expected.Index and Got.Index are
	// the transaction numbers (from 1) in each capture.
	N        int     `json:"n"`
	Command  string  `json:"command"`
	Status   Status  `json:"status"`
	Expected *TxSide `json:"expected,omitempty"`
	Got      *TxSide `json:"got,omitempty"`
	Diffs    []Diff  `json:"diffs,omitempty"`
	// Slowdown is Got latency / Expected latency (0 when either has none).
	Slowdown float64 `json:"slowdown,omitempty"`
}

// TxSide is one capture's view of a transaction.
type TxSide struct {
	Index     int     `json:"index"`
	Line      string  `json:"line"`
	Result    string  `json:"result"`
	Record    int     `json:"record"`
	Offset    int64   `json:"offset"`
	TimeS     float64 `json:"time_s"`
	LatencyMS float64 `json:"latency_ms"`
}

// Diff is one field that differs.
type Diff struct {
	Field    string `json:"field"` // "command", "payload", "response line 2", "result"
	Expected string `json:"expected"`
	Got      string `json:"got"`
}

// URCReport is one unsolicited output found in only one capture, or
// changed.
type URCReport struct {
	Status   Status `json:"status"` // different, missing or extra
	Expected string `json:"expected,omitempty"`
	Got      string `json:"got,omitempty"`
	// After is the number (from 1) of the expected capture's transaction
	// the output followed, 0 before the first.
	After  int   `json:"after"`
	Record int   `json:"record"`
	Offset int64 `json:"offset"`
}

// LatencyRow compares one command's latencies.
type LatencyRow struct {
	Command     string  `json:"command"`
	Count       int     `json:"count"`
	ExpectedMS  float64 `json:"expected_median_ms"`
	GotMS       float64 `json:"got_median_ms"`
	WorstFactor float64 `json:"worst_slowdown"`
}

// lookahead bounds how far the aligner searches for a resync point.
const lookahead = 64

// Compare compares capture a (expected) with b (got) transaction by
// transaction, under rules (nil means the zero Rules: lenient with
// defaults). Transactions are paired by position, resynchronised on the
// command key when one side has extra or missing transactions; with
// "order any" they are paired by command key in order of appearance.
func Compare(a, b *Script, rules *Rules) *Report {
	if rules == nil {
		rules = &Rules{}
	}
	rep := &Report{Match: rules.Match.String()}
	ka := make([]string, len(a.Txs))
	kb := make([]string, len(b.Txs))
	for i := range a.Txs {
		ka[i] = rules.CommandKey(a.Txs[i].Line)
	}
	for i := range b.Txs {
		kb[i] = rules.CommandKey(b.Txs[i].Line)
	}
	var pairs [][2]int
	if rules.AnyOrder {
		pairs = pairByKey(ka, kb)
	} else {
		pairs = align(ka, kb)
	}
	for _, p := range pairs {
		row := TxReport{N: len(rep.Transactions) + 1}
		switch {
		case p[1] < 0:
			row.Status, row.Expected, row.Command = StatusMissing, side(a, p[0]), string(a.Txs[p[0]].Line)
		case p[0] < 0:
			row.Status, row.Got, row.Command = StatusExtra, side(b, p[1]), string(b.Txs[p[1]].Line)
		default:
			row.Expected, row.Got, row.Command = side(a, p[0]), side(b, p[1]), string(a.Txs[p[0]].Line)
			row.Diffs = compareTx(a, b, &a.Txs[p[0]], &b.Txs[p[1]], rules)
			row.Status = StatusEqual
			if len(row.Diffs) > 0 {
				row.Status = StatusDifferent
			}
			la, lb := a.Txs[p[0]].Latency, b.Txs[p[1]].Latency
			if la > 0 && lb > 0 {
				row.Slowdown = float64(lb) / float64(la)
				if row.Status == StatusEqual && rules.MaxSlowdown > 0 && row.Slowdown > rules.MaxSlowdown && lb-la > rules.floor() {
					row.Status = StatusSlower
				}
			}
		}
		rep.count(row.Status)
		rep.Transactions = append(rep.Transactions, row)
	}
	rep.Unsolicited = compareURCs(a, b, rules)
	rep.Summary.URCDiffs = len(rep.Unsolicited)
	rep.Summary.Transactions = len(rep.Transactions)
	rep.Latency = latencyRows(a, b, pairs)
	s := rep.Summary
	rep.Equal = s.Different == 0 && s.Missing == 0 && s.Extra == 0 && s.Slower == 0 && s.URCDiffs == 0
	return rep
}

func (r *Report) count(s Status) {
	switch s {
	case StatusEqual:
		r.Summary.Equal++
	case StatusDifferent:
		r.Summary.Different++
	case StatusMissing:
		r.Summary.Missing++
	case StatusExtra:
		r.Summary.Extra++
	case StatusSlower:
		r.Summary.Slower++
	}
}

func side(s *Script, i int) *TxSide {
	t := &s.Txs[i]
	res := t.Result
	if res == "" && t.Err != nil {
		res = "(" + t.Err.Error() + ")"
	}
	return &TxSide{Index: i + 1, Line: string(t.Line), Result: res, Record: t.Loc.Record, Offset: t.Loc.Offset,
		TimeS: float64(t.Loc.Time) / 1e9, LatencyMS: float64(t.Latency) / 1e6}
}

// compareTx lists what differs between two paired transactions.
func compareTx(a, b *Script, ta, tb *Tx, rules *Rules) []Diff {
	var d []Diff
	if x, y := rules.CommandKey(ta.Line), rules.CommandKey(tb.Line); x != y {
		d = append(d, Diff{Field: "command", Expected: x, Got: y})
	}
	pa, pb := "", ""
	if ta.Payload >= 0 {
		pa = rules.PayloadKey(a.Host[ta.Payload].Raw)
	}
	if tb.Payload >= 0 {
		pb = rules.PayloadKey(b.Host[tb.Payload].Raw)
	}
	if pa != pb {
		d = append(d, Diff{Field: "payload", Expected: pa, Got: pb})
	}
	if ta.Cmd != nil && rules.IgnoreCommands[ta.Cmd.Name] {
		return d
	}
	ra, rb := responseKeys(a, ta, rules), responseKeys(b, tb, rules)
	n := len(d)
	for i := 0; i < len(ra) || i < len(rb); i++ {
		x, y := "", ""
		if i < len(ra) {
			x = ra[i]
		}
		if i < len(rb) {
			y = rb[i]
		}
		if x != y {
			d = append(d, Diff{Field: fmt.Sprintf("response line %d", i+1), Expected: x, Got: y})
		}
	}
	if ta.Result != tb.Result && len(d) == n {
		d = append(d, Diff{Field: "result", Expected: ta.Result, Got: tb.Result})
	}
	return d
}

func responseKeys(s *Script, t *Tx, rules *Rules) []string {
	out := make([]string, 0, len(t.Response))
	for _, oi := range t.Response {
		out = append(out, rules.OutKey(&s.Out[oi]))
	}
	return out
}

// align pairs two key sequences in order: equal keys pair; on a mismatch
// the nearer resync point (within lookahead) decides whether one side has
// extra entries, and otherwise the two entries pair as changed.
func align(ka, kb []string) [][2]int {
	var out [][2]int
	i, j := 0, 0
	for i < len(ka) || j < len(kb) {
		switch {
		case i >= len(ka):
			out = append(out, [2]int{-1, j})
			j++
			continue
		case j >= len(kb):
			out = append(out, [2]int{i, -1})
			i++
			continue
		case ka[i] == kb[j]:
			out = append(out, [2]int{i, j})
			i++
			j++
			continue
		}
		// b has extra entries if a[i] shows up soon in b; a has missing
		// ones if b[j] shows up soon in a.
		db, da := -1, -1
		for k := 1; k < lookahead && j+k < len(kb); k++ {
			if kb[j+k] == ka[i] {
				db = k
				break
			}
		}
		for k := 1; k < lookahead && i+k < len(ka); k++ {
			if ka[i+k] == kb[j] {
				da = k
				break
			}
		}
		switch {
		case db > 0 && (da < 0 || db <= da):
			for k := 0; k < db; k++ {
				out = append(out, [2]int{-1, j + k})
			}
			j += db
		case da > 0:
			for k := 0; k < da; k++ {
				out = append(out, [2]int{i + k, -1})
			}
			i += da
		default:
			out = append(out, [2]int{i, j})
			i++
			j++
		}
	}
	return out
}

// pairByKey pairs each entry of ka with the first unpaired entry of kb with
// the same key; the rest are missing or extra.
func pairByKey(ka, kb []string) [][2]int {
	queue := map[string][]int{}
	for j, k := range kb {
		queue[k] = append(queue[k], j)
	}
	used := make([]bool, len(kb))
	var out [][2]int
	for i, k := range ka {
		if q := queue[k]; len(q) > 0 {
			out = append(out, [2]int{i, q[0]})
			used[q[0]] = true
			queue[k] = q[1:]
			continue
		}
		out = append(out, [2]int{i, -1})
	}
	for j := range kb {
		if !used[j] {
			out = append(out, [2]int{-1, j})
		}
	}
	return out
}

// compareURCs aligns the unsolicited output of both captures.
func compareURCs(a, b *Script, rules *Rules) []URCReport {
	pick := func(s *Script) ([]int, []string) {
		var idx []int
		var keys []string
		for _, i := range s.Unsolicited() {
			if rules.ignoredURC(&s.Out[i]) {
				continue
			}
			idx = append(idx, i)
			keys = append(keys, rules.OutKey(&s.Out[i]))
		}
		return idx, keys
	}
	ia, ka := pick(a)
	ib, kb := pick(b)
	var out []URCReport
	for _, p := range align(ka, kb) {
		if p[0] >= 0 && p[1] >= 0 && ka[p[0]] == kb[p[1]] {
			continue
		}
		r := URCReport{}
		switch {
		case p[1] < 0:
			r.Status, r.Expected = StatusMissing, ka[p[0]]
		case p[0] < 0:
			r.Status, r.Got = StatusExtra, kb[p[1]]
		default:
			r.Status, r.Expected, r.Got = StatusDifferent, ka[p[0]], kb[p[1]]
		}
		if p[0] >= 0 {
			o := &a.Out[ia[p[0]]]
			r.After, r.Record, r.Offset = txBefore(a, o), o.Loc.Record, o.Loc.Offset
		} else {
			o := &b.Out[ib[p[1]]]
			r.After, r.Record, r.Offset = txBefore(b, o), o.Loc.Record, o.Loc.Offset
		}
		out = append(out, r)
	}
	return out
}

// txBefore returns the number (from 1) of the last transaction whose
// command came before output o, 0 when none.
func txBefore(s *Script, o *OutItem) int {
	for h := o.Anchor; h >= 0; h-- {
		if t := s.Host[h].Tx; t >= 0 {
			return t + 1
		}
	}
	return 0
}

func latencyRows(a, b *Script, pairs [][2]int) []LatencyRow {
	type acc struct {
		ea, eb []int64
		worst  float64
	}
	by := map[string]*acc{}
	var names []string
	for _, p := range pairs {
		if p[0] < 0 || p[1] < 0 {
			continue
		}
		ta, tb := &a.Txs[p[0]], &b.Txs[p[1]]
		if ta.Latency <= 0 || tb.Latency <= 0 {
			continue
		}
		name := ta.Name
		if name != "AT" {
			name = "AT" + name
		}
		x := by[name]
		if x == nil {
			x = &acc{}
			by[name] = x
			names = append(names, name)
		}
		x.ea = append(x.ea, ta.Latency)
		x.eb = append(x.eb, tb.Latency)
		x.worst = max(x.worst, float64(tb.Latency)/float64(ta.Latency))
	}
	rows := make([]LatencyRow, 0, len(names))
	for _, n := range names {
		x := by[n]
		rows = append(rows, LatencyRow{Command: n, Count: len(x.ea), ExpectedMS: median(x.ea) / 1e6, GotMS: median(x.eb) / 1e6, WorstFactor: x.worst})
	}
	return rows
}

func median(v []int64) float64 {
	s := append([]int64(nil), v...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	if len(s)%2 == 1 {
		return float64(s[len(s)/2])
	}
	return float64(s[len(s)/2-1]+s[len(s)/2]) / 2
}
