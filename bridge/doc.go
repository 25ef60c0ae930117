// Package bridge is atbridge's transparent recording proxy: it forwards a
// host app's UART to an ESP32's and records both directions, what happens
// to the ports, and the WebSocket taps, into a capture.
//
// Files: proxy.go (OpenProxy, Run, the options), pump.go and
// pump_fast_*.go (forwarding: two pumps, or one poll(2) loop over both
// descriptors), proxy_queue.go (the recording queue that never makes the
// line wait), proxy_line.go and proxy_control.go (following AT+UART_CUR and
// mirroring DTR/RTS), proxy_emulate.go (the in-process device of --device
// emulate), split.go (--split capture files), tap.go (WebSocket taps),
// sniff.go (a passive Y-cable recorder).
//
// Package bridge imports bridge/port for its ports, and capture and formats.
// It never imports the emulator, bridge/esp: for --device emulate the
// caller hands over a DeviceEmulator (cmd/atbridge passes *esp.Options).
package bridge
