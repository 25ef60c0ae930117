// Package formats is the bottom of atbridge's codecs: the direction of a
// piece of traffic (Dir), which every codec, the capture format and the
// live paths share.
//
// The codecs themselves live below it: formats/at (the ESP-AT decoder),
// formats/ws (WebSocket frames), formats/pcapng (export for Wireshark),
// formats/socat (socat dump import) and formats/view (text and JSON
// renderings). Like them, this package is pure (no goroutines, files or
// clocks) and imports only the standard library; nothing under formats
// imports capture, bridge, replay or redact.
package formats
