// Package ws is the WebSocket codec: frame headers (RFC 6455 §5.2) and a
// Stream that parses one direction of a connection, its HTTP upgrade and
// then its frames, as a tap or a pcapng reader sees them.
//
// It is pure (no goroutines, files or clocks: bytes in, values out) and
// imports only the standard library; it knows nothing of ESP-AT, so
// formats/at, formats/pcapng and bridge can all build on it.
package ws
