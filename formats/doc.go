// Package formats holds atbridge's pure codecs: the ESP-AT stream decoder and
// command-line parser, the WebSocket frame codec, the socat dump importer,
// pcapng export and the text and JSON renderings of decoded traffic.
//
// Nothing here starts goroutines, opens files or reads clocks: bytes and
// timestamps go in, values come out. Every decoder accepts hostile input: it
// never panics, bounds the memory it holds, and reports bytes it cannot place
// instead of dropping them.
package formats
