package capture

import (
	"errors"
	"fmt"
	"time"
)

// DamageRecord is the EvDamage event that stands for the records d lost,
// from time from to time until (ns since the start; until -1 when the
// damage runs to the end of the file). Repair writes one where it skipped
// records, so that a repaired file says what it lost.
func DamageRecord(d *DamageError, from, until int64) Record {
	if until >= 0 && until < from {
		until = from
	}
	return Record{Kind: KindEvent, Time: from, Event: Event{
		Type:  EvDamage,
		Count: d.RecordsLost,
		Until: until,
		Bytes: d.Length,
		Text:  damageText(d.RecordsLost, d.Length, d.Offset, from, until, d.Err),
	}}
}

func damageText(records, bytes, offset, from, until int64, cause error) string {
	lost := "an unknown number of records"
	if records >= 0 {
		lost = plural(records, "record")
	}
	span := "to the end"
	if until >= 0 {
		span = fmt.Sprintf("to %s (%s)", fmtOffset(until), time.Duration(until-from).Round(time.Microsecond))
	}
	return fmt.Sprintf("%s lost from %s %s: %s at file offset %d unreadable (%v)",
		lost, fmtOffset(from), span, plural(bytes, "byte"), offset, cause)
}

// fmtOffset renders ns since the start as seconds with millisecond digits.
func fmtOffset(ns int64) string { return fmt.Sprintf("%.3fs", float64(ns)/1e9) }

func plural(n int64, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// Lost reports whether d cost records (known or not), as opposed to
// damage that parity undid or that took only an index or a copy.
func (d *DamageError) Lost() bool {
	return d.RecordsLost != 0 && !errors.Is(d.Err, ErrRecovered)
}
