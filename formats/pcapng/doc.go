// Package pcapng exports recorded ESP-AT traffic as pcapng (or classic
// pcap) that Wireshark decodes with no plugin: a Writer takes serial
// chunks, WebSocket frames and events in time order and writes the raw
// reads, the decoded AT units, each WebSocket link as a TCP flow, and
// the ESP32's log UART as text lines.
//
// It is pure (no goroutines, files or clocks: the caller hands it an
// io.Writer and the recording's times) and may import formats,
// formats/at (it decodes the serial traffic itself), formats/esplog (the
// log UART), formats/ws and
// gopacket, which is used nowhere else in atbridge.
package pcapng
