package formats

import "fmt"

// Dir is the direction of a piece of traffic.
//
// The zero value, DirNone, is used for records with no direction (a marker,
// a port event).
type Dir uint8

// Directions. Serial traffic flows ToDevice (host app -> ESP32) or ToHost
// (ESP32 -> host app); WebSocket traffic flows ToServer (client -> server) or
// ToClient (server -> client).
const (
	DirNone Dir = iota
	ToDevice
	ToHost
	ToServer
	ToClient
)

var dirNames = [...]string{"", "to_device", "to_host", "to_server", "to_client"}

// String returns the name used in JSON output: "to_device", "to_host",
// "to_server", "to_client", or "" for DirNone.
func (d Dir) String() string {
	if int(d) < len(dirNames) {
		return dirNames[d]
	}
	return fmt.Sprintf("dir(%d)", uint8(d))
}

// ParseDir is the inverse of String.
func ParseDir(s string) (Dir, error) {
	for i, n := range dirNames {
		if n == s {
			return Dir(i), nil
		}
	}
	return DirNone, fmt.Errorf("unknown direction %q (want to_device, to_host, to_server or to_client)", s)
}

// Serial reports whether d is a serial direction (ToDevice or ToHost).
func (d Dir) Serial() bool { return d == ToDevice || d == ToHost }

// Reverse returns the opposite direction on the same medium.
func (d Dir) Reverse() Dir {
	switch d {
	case ToDevice:
		return ToHost
	case ToHost:
		return ToDevice
	case ToServer:
		return ToClient
	case ToClient:
		return ToServer
	}
	return DirNone
}
