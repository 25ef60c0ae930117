package replay

import (
	"bytes"
	"fmt"
	"strconv"
	"time"
)

// This file applies the rules' faults to the mock's answers.

// corrupt applies corrupt-wsdata faults to a +WS_DATA output.
func (r *mockRun) corrupt(o *OutItem) []byte {
	r.wsData++
	for i := range r.m.r.Faults {
		f := &r.m.r.Faults[i]
		if f.Kind != FaultCorruptWSData || !(f.Target == "*" || f.nth == r.wsData) || !r.chance(f) {
			continue
		}
		// The header ends in ",<len>,": rewrite the length.
		h := bytes.TrimSuffix(o.Line, []byte(","))
		i := bytes.LastIndexByte(h, ',')
		if i < 0 {
			continue
		}
		n, err := strconv.Atoi(string(h[i+1:]))
		if err != nil {
			continue
		}
		hdr := fmt.Appendf(nil, "%s,%d,", h[:i], n+f.Delta)
		return append(hdr, o.Raw[len(o.Line):]...)
	}
	return o.Raw
}

func (r *mockRun) chance(f *Fault) bool {
	return f.Chance >= 1 || r.rng.Float64() < f.Chance
}

func (r *mockRun) faultBytes(f *Fault) []byte {
	if f.Kind == FaultInject {
		return f.Text
	}
	b := make([]byte, f.Count)
	for i := range b {
		b[i] = byte(r.rng.UintN(256))
	}
	return b
}

// busyFault reports whether a busy fault answers this command instead.
func (r *mockRun) busyFault(tx int) bool {
	line := r.m.s.Txs[tx].Line
	for i := range r.m.r.Faults {
		f := &r.m.r.Faults[i]
		if f.Kind != FaultBusy || !f.hits(tx, line) {
			continue
		}
		key := [2]int{i, tx}
		left, ok := r.busyLeft[key]
		if !ok {
			left = f.Times
		}
		if left > 0 && r.chance(f) {
			r.busyLeft[key] = left - 1
			return true
		}
		r.busyLeft[key] = 0
	}
	return false
}

// applyFaults arms the per-transaction faults for tx before its output is
// released.
func (r *mockRun) applyFaults(tx int, line []byte, now time.Time) {
	rl := r.m.s.Txs[tx].Line
	for i := range r.m.r.Faults {
		f := &r.m.r.Faults[i]
		if f.timed() || !f.hits(tx, rl) || !r.chance(f) {
			continue
		}
		switch f.Kind {
		case FaultDelay:
			r.delayTx[tx] += f.Delay
		case FaultDrop:
			r.dropTx[tx] = true
		case FaultInject:
			r.injTx[tx] = append(r.injTx[tx], f.Text)
		case FaultGarbage:
			r.push(now, r.faultBytes(f), -1)
		}
	}
}
