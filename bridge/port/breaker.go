package port

import "time"

// Breaker is a port that can send a BREAK (the line held at space for
// longer than a character): real serial ports and rfc2217:// ports.
type Breaker interface {
	// SendBreak holds the line in BREAK for d and returns after it.
	SendBreak(d time.Duration) error
}

// Purger is a port whose buffers can be dropped on request: rfc2217://
// ports (RFC 2217 PURGE-DATA).
type Purger interface {
	// Purge drops the data waiting to be received (rx) or sent (tx).
	Purge(rx, tx bool) error
}

// Request is what a remote host app asked of its line besides data: a
// BREAK of Break, or a purge of its receive (PurgeRX) or transmit
// (PurgeTX) data, to be carried out on the device.
type Request struct {
	Break            time.Duration
	PurgeRX, PurgeTX bool
}

// Requester is a host-side port whose remote host app sends Requests:
// rfc2217-listen. The channel is closed with the port; a reader that falls
// behind loses the oldest.
type Requester interface {
	Requests() <-chan Request
}
