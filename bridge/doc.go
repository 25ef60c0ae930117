// Package bridge holds atbridge's live paths: the proxy pumps between a host
// app and an ESP32, the software ESP32 (emulator) and the WebSocket tap. The
// ports they run on are opened by package bridge/port.
package bridge
