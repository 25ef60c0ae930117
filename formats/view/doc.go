// Package view renders decoded ESP-AT traffic for people and programs: the
// text transcript of "atbridge show" (AppendText, one line per event, with
// hex dumps and optional colour) and its JSON Lines form (JSONEvent).
//
// It is pure (no goroutines, files or clocks: values in, bytes out) and may
// import formats and formats/at, never capture or anything above it, so a
// library user can render events from any source.
package view
