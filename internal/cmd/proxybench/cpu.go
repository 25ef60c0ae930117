package main

import (
	"bufio"
	"os"
	"strconv"
	"strings"
)

// cpuTicks is the machine's CPU time from /proc/stat, in clock ticks
// (USER_HZ, 100 a second on Linux): busy (user, nice, system, irq,
// softirq, steal) and all (busy plus idle and iowait). ok is false where
// there is no /proc/stat.
type cpuTicks struct {
	busy, all int64
	ok        bool
}

func readCPU() cpuTicks {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return cpuTicks{}
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	if !sc.Scan() {
		return cpuTicks{}
	}
	fields := strings.Fields(sc.Text())
	if len(fields) < 9 || fields[0] != "cpu" {
		return cpuTicks{}
	}
	var v [8]int64
	for i := range v {
		v[i], err = strconv.ParseInt(fields[1+i], 10, 64)
		if err != nil {
			return cpuTicks{}
		}
	}
	// user nice system idle iowait irq softirq steal
	busy := v[0] + v[1] + v[2] + v[5] + v[6] + v[7]
	return cpuTicks{busy: busy, all: busy + v[3] + v[4], ok: true}
}

// sub is the CPU time spent between two readings.
func (c cpuTicks) sub(before cpuTicks) cpuTicks {
	return cpuTicks{busy: c.busy - before.busy, all: c.all - before.all, ok: c.ok && before.ok}
}
