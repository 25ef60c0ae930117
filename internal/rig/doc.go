// Package rig is the test scaffolding that the tests of bridge, bridge/esp,
// bridge/port and cmd/atbridge share: reading with a deadline, a
// test logger, a host app on a pty, the echo and WebSocket servers the
// emulator and the taps are tested against, and a throwaway PKI.
//
// It is for _test.go files only. It imports the standard library, capture
// and formats, and coder/websocket for its WebSocket servers; never a
// bridge package, so that every bridge package's own tests may use it.
// Helpers take a testing.TB and fail the test themselves; whatever they
// start is stopped by t.Cleanup.
package rig
