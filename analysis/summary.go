package analysis

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/formats"
	"github.com/atbridge/atbridge/formats/view"
)

// Card is one summary number.
type Card struct {
	Label, Value string
	Bad          bool // highlighted as a problem (errors, lost bytes)
}

// Fact is one row of the summary table.
type Fact struct{ Key, Value string }

// Summary makes the summary of a recording as "atbridge report" shows it:
// cards with the main numbers of st, and facts about the recording from
// its header hdr and the firmware lines its AT+GMR answers printed (none
// when it has no AT+GMR).
func Summary(st *Stats, hdr *capture.Header, firmware []string) ([]Card, []Fact) {
	txs, cmds := 0, 0
	for _, c := range st.Commands {
		txs += c.Count
		cmds++
	}
	ws := [2]int{}
	for _, l := range st.WSFromAT {
		ws[0] += l.ToServer
		ws[1] += l.ToClient
	}
	frames := 0
	for _, l := range st.WSFrames {
		frames += l.ToServer + l.ToClient
	}
	urcs := 0
	for _, n := range st.URCs {
		urcs += n
	}
	errs := st.Results["ERROR"] + st.Results["SEND FAIL"]
	var lineTrouble int64
	for _, p := range st.Ports {
		lineTrouble += p.Breaks
		for _, n := range p.LineErrors {
			lineTrouble += n
		}
	}
	card := func(label string, v any, bad bool) Card {
		return Card{Label: label, Value: fmt.Sprint(v), Bad: bad}
	}
	cards := []Card{
		card("duration", time.Duration(st.DurationNS).Round(time.Millisecond), false),
		card("records", st.Records, false),
		card("transactions", txs, false),
		card("distinct commands", cmds, false),
		card("OK", st.Results["OK"]+st.Results["SEND OK"], false),
		card("ERROR / SEND FAIL", errs, errs > 0),
		card("busy p...", st.Results["busy p..."], st.Results["busy p..."] > 0),
		card("without result", st.NoResult, st.NoResult > 0),
		card("sent while the device was absent", st.DeviceAbsent, st.DeviceAbsent > 0),
		card("bytes not delivered", st.NotDelivered["to_device"]+st.NotDelivered["to_host"], st.NotDelivered["to_device"]+st.NotDelivered["to_host"] > 0),
		card("unparsed runs", st.Unparsed, st.Unparsed > 0),
		card("unsolicited", urcs, false),
		card("WebSocket messages → server", ws[0], false),
		card("WebSocket messages → client", ws[1], false),
		card("frames recorded", frames, false),
		card("lost bytes", st.LostBytes, st.LostBytes > 0),
		card("line errors and BREAKs", lineTrouble, lineTrouble > 0),
		card("damaged regions", len(st.Damage), len(st.Damage) > 0),
	}
	tool := hdr.Tool
	if tool == "" {
		tool = "an unknown tool"
	}
	facts := []Fact{{Key: "file", Value: st.File}, {Key: "start", Value: st.Start.UTC().Format(time.RFC3339Nano)}, {Key: "written by", Value: tool}}
	for i, p := range hdr.Ports {
		facts = append(facts, Fact{Key: fmt.Sprintf("port %d", i), Value: fmt.Sprintf("%s (%s), %s", p.Name, p.Role, p.Line)})
		if !p.Adapter.IsZero() {
			facts = append(facts, Fact{Key: fmt.Sprintf("port %d adapter", i), Value: p.Adapter.String()})
		}
	}
	for _, d := range []formats.Dir{formats.ToDevice, formats.ToHost} {
		if ds := st.Directions[d.String()]; ds != nil {
			facts = append(facts, Fact{Key: view.DirLabel(d), Value: fmt.Sprintf("%d bytes in %d chunks", ds.Bytes, ds.Chunks)})
		}
	}
	fw := "unknown (no AT+GMR in the capture)"
	if len(firmware) > 0 {
		fw = strings.Join(firmware, " · ")
	}
	facts = append(facts, Fact{Key: "firmware (AT+GMR)", Value: fw})
	keys := make([]string, 0, len(hdr.Meta))
	for k := range hdr.Meta {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		facts = append(facts, Fact{Key: k, Value: hdr.Meta[k]})
	}
	for _, d := range st.Damage {
		facts = append(facts, Fact{Key: "damage", Value: d})
	}
	return cards, facts
}
