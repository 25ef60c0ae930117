// Package socat imports the hex dumps that socat writes with -x or -x -v:
// a Reader turns a dump into timed blocks of bytes per direction, checking
// socat's byte counters so that gaps are reported, never hidden.
//
// It is pure (no goroutines, files or clocks: the caller hands it an
// io.Reader and sets Reader.Location) and imports only the standard
// library; the capture it feeds is written by cmd/atbridge.
//
// A socat dump is what "socat -x" or "socat -x -v" writes to stderr while it
// relays traffic. Each transfer starts with a header line:
//
//	> 2026/11/25 19:07:05.000827972  length=15 from=0 to=14
//
// ">" is data read on the left address and written to the right one, "<" the
// other way. The time is the local wall clock. "length" counts the bytes of
// this transfer; "from" and "to" are the offsets of its first and last byte
// in everything sent that way so far, so the next block in the same direction
// starts at from = previous to + 1.
//
// With -x alone the bytes follow on one line as " 48 45 4c"; with -x -v they
// follow as lines of at most 16 bytes with a text column, a new line after
// every 0a byte, and a "--" line ends the block:
//
//	 48 45 4c 4c 4f 0d 0a                             HELLO..
//	--
//
// Text-only dumps ("socat -v" without -x) are refused: socat prints every
// unprintable byte, and every byte from 0x7f up, as '.', so the bytes cannot
// be recovered; record with -x (or -x -v) instead.
//
// Timestamps: socat 1.7.4 (Debian 12's) prints microseconds zero-padded to
// nine digits, so ".000827972" means 0.827972 s; later versions may print
// real nanoseconds. Reader.Fraction chooses how to read nine digits.
package socat
