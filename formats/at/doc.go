// Package at decodes the ESP-AT protocol between a host app and an ESP32:
// the stream Decoder and its Events, the command-line parser (Command,
// Param), the pairing of commands with their results (Transaction), the
// payload rules that say how many raw bytes follow a prompt, and the
// secret rules that redaction and the decoder's masking share.
//
// Nothing here starts goroutines, opens files or reads clocks: bytes and
// timestamps go in, values come out. Every decoder accepts hostile input: it
// never panics, bounds the memory it holds, and reports bytes it cannot place
// instead of dropping them. It may import formats (for Dir) and the standard
// library only; the WebSocket messages it derives from AT traffic are its own
// WSMessage values, so it does not need formats/ws.
//
// # The Decoder
//
// A Decoder reads both directions of the UART between a host app and an
// ESP32 running ESP-AT (as specified in the project's ESP-AT reference (shared/docs/esp-at.md)) and
// emits Events. For the documented seed exchange
//
//	host   AT+WSSEND=0,4\r\n                 then  test
//	device AT+WSSEND=0,4\r\n\r\nOK\r\n\r\n>     then  \r\nSEND OK\r\n+WS_DATA:0,4,test\r\n
//
// it emits, in order: command "+WSSEND" (to_device), echo, result "OK" (the
// OK before the prompt), prompt, payload "test" (to_device), result
// "SEND OK", ws_message to_server "test", transaction (command #0 paired with
// SEND OK, with its latency and the Seq of its echo, OK, prompt and
// payload), urc "+WS_DATA" and ws_message to_client "test".
//
// Guarantees, each checked by tests on the golden sessions in
// testdata/sessions and by FuzzDecoder:
//   - every byte of each direction is covered by exactly one byte-carrying
//     event (command, echo, payload, prompt, result, info, urc, unparsed), in
//     stream order;
//   - the events do not depend on how the traffic is cut into chunks, as
//     long as the pieces of a chunk keep its time;
//   - memory is bounded by DecoderOptions whatever the input.
//
// Choices where the firmware reference is silent are documented where they
// are made: Command (naming of basic commands, case), Param (escapes outside
// quotes), Decoder (trusting the device's prompt), the "+++" guard time, the
// AT+WSDATAFMT defaults for empty fields, and input typed while busy (not
// echoed, reported as "excess" when it is not a command).
package at
