package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"

	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/formats"
	"github.com/atbridge/atbridge/formats/esplog"
	"github.com/atbridge/atbridge/internal/report"
)

// reportLog reads what the ESP32 printed on the capture's log UART (ports
// with Role "log", or capture.PortLog where the header does not describe
// it) and returns the timeline's marks and the log section; nil, nil when
// the capture has no log UART. Each reset is tied to what the AT UART
// showed around it: how long the ESP32 had said nothing there, and when it
// said "ready" after. Damaged stretches are skipped, as the rest of the
// report skips them.
func reportLog(ctx context.Context, path string) ([]report.LogMark, *report.LogSummary, error) {
	r, err := capture.Open(path, nil)
	if err != nil {
		return nil, nil, err
	}
	defer r.Close()
	var isLog [256]bool
	hdr := r.Header()
	described := false
	for i, p := range hdr.Ports {
		if i < len(isLog) && p.Role == "log" {
			isLog[i], described = true, true
		}
	}
	if int(capture.PortLog) >= len(hdr.Ports) {
		isLog[capture.PortLog] = true
	}
	type port struct {
		dec     esplog.Decoder
		pending bool  // the decoder holds the start of a line
		start   int64 // when that line started
	}
	ports := map[uint8]*port{}
	marks := []report.LogMark{}
	var lines int64
	lastDev := int64(-1) // the ESP32's last bytes on the AT UART
	tail := []byte("\n") // the end of its output so far, to find "ready" across reads
	var ready []int64    // when it said "ready"
	take := func(t int64, ls []esplog.Line, p *port) {
		for i := range ls {
			at := t
			if i == 0 && p.pending {
				at = p.start
			}
			if strings.TrimSpace(ls[i].Text) == "" {
				continue // the blank lines around a panic's dump
			}
			lines++
			if m, ok := report.LogMarkOf(at, &ls[i]); ok {
				if m.Kind == "reset" && lastDev >= 0 {
					m.ATSilentNS = max(at-lastDev, 0)
				}
				marks = append(marks, m)
			}
		}
	}
	var rec capture.Record
	for n := 0; ; n++ {
		if n&1023 == 0 && ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		err := r.NextInto(&rec)
		if err == io.EOF {
			break
		}
		var d *capture.DamageError
		if errors.As(err, &d) {
			continue
		}
		if err != nil {
			return nil, nil, fmt.Errorf("reading the log UART: %w", err)
		}
		if rec.Kind != capture.KindChunk || len(rec.Data) == 0 {
			continue
		}
		if !isLog[rec.Port] {
			if rec.Dir == formats.ToHost {
				lastDev = rec.Time
				tail = append(tail, rec.Data...)
				if bytes.Contains(tail, readyLine) {
					ready = append(ready, rec.Time)
				}
				tail = append(tail[:0], tail[max(len(tail)-len(readyLine)+1, 0):]...)
			}
			continue
		}
		p := ports[rec.Port]
		if p == nil {
			p = &port{}
			ports[rec.Port] = p
		}
		ls := p.dec.Feed(rec.Data)
		take(rec.Time, ls, p)
		if rec.Data[len(rec.Data)-1] != '\n' {
			if !p.pending || len(ls) > 0 {
				p.start = rec.Time
			}
			p.pending = true
		} else {
			p.pending = false
		}
	}
	for _, p := range ports {
		take(p.start, p.dec.Flush(), &port{})
	}
	if !described && len(ports) == 0 {
		return nil, nil, nil
	}
	sort.SliceStable(marks, func(a, b int) bool { return marks[a].T < marks[b].T }) // several log ports
	tieReady(marks, ready)
	return marks, report.SummarizeLog(marks, lines), nil
}

// readyLine is what ESP-AT prints on the AT UART when it has booted.
var readyLine = []byte("\nready\r\n")

// tieReady sets each reset's ReadyAfterNS: the first "ready" on the AT
// UART after it and before the next reset.
func tieReady(marks []report.LogMark, ready []int64) {
	var resets []int
	for i := range marks {
		if marks[i].Kind == "reset" {
			resets = append(resets, i)
		}
	}
	for k, i := range resets {
		end := int64(math.MaxInt64)
		if k+1 < len(resets) {
			end = marks[resets[k+1]].T
		}
		j := sort.Search(len(ready), func(j int) bool { return ready[j] >= marks[i].T })
		if j < len(ready) && ready[j] < end {
			marks[i].ReadyAfterNS = ready[j] - marks[i].T
		}
	}
}
