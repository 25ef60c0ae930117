// Package replay turns captures into regression tests, in both directions:
//
//   - Mock plays the device side of a capture to a live host app (a new
//     host app build against the device's recorded answers);
//   - Run sends the host side of a capture to a device (a new firmware,
//     emulator or server against the host's recorded commands);
//   - Compare sets two captures side by side, transaction by transaction,
//     and Report explains each difference as text, JSON or JUnit XML.
//
// All three work at the level of AT transactions as at.Decoder finds
// them (a command, its response and final result, its payload), never at
// the level of the chunks a serial read happened to return. Rules
// (docs/match-rules.md) say how strictly two transactions must agree and
// which faults the mock injects.
//
// The package imports capture and formats only: ports are opened by
// cmd/atbridge and handed in as io.ReadWriter.
package replay
