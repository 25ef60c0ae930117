// Package analysis turns a recorded session into numbers: per-command
// counts, results and latencies, errors and unparsed runs, unsolicited
// messages, WebSocket messages per link (from AT and from recorded frames),
// lost bytes and damage (Stats), each round trip split into serial line,
// ESP32 and network segments (LatencyStats), and the summary that a report
// shows (Summary). "atbridge stats" and "atbridge report" print what it computes;
// a Go program or a live view in a browser can compute the same without
// copying the CLI.
//
// A Collector is fed capture records one at a time, so it serves a file
// (ReadFile) and a live recording alike. Live is the model of a live view
// (the terminal's today, a browser's tomorrow): it follows a recording
// through a bounded queue that never holds up the recorder, decodes it, and
// hands events and records to the view, saying what it had to skip.
//
// It reads capture records and decoded events, so it may import capture
// and the packages under formats; it never imports bridge, replay, redact
// or cmd, and starts no goroutines (Live.Run runs on the caller's).
package analysis
