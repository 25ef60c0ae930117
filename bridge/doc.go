// Package bridge holds atbridge's live paths: the ports it opens, the proxy
// pumps between a host app and an ESP32, the software ESP32 (emulator) and
// the WebSocket tap.
//
// # Ports
//
// Every live command opens its serial endpoints with OpenPort, which takes
// the user's spelling of a port:
//
//	pty:/tmp/esp      a pseudo-terminal for a host app; /tmp/esp links to it
//	/dev/ttyUSB0      a real serial device (also serial:PATH, COM3 on Windows)
//	tcp:host:2000     a device behind a serial server (ser2net raw, esp-link)
//
// A pty: port is the software stand-in for a USB serial adapter: the host
// app opens the link as it would /dev/ttyUSB0 and sees bytes exactly (raw
// mode, no echo, no CR/LF translation). The port keeps the slave side open,
// so the host app may close and reopen the link at will. When the host app
// changes its termios (baud, parity, stop bits, flow control), the port
// reports the new settings on LineChanges (see LineNotifier). On Linux the
// kernel forces 8 data bits on ptys, so data bits always read as 8 there.
//
// Real serial ports take baud, data bits, parity, stop bits and RTS/CTS or
// XON/XOFF flow control from capture.LineSettings, and drive and read modem
// control lines through ControlPort. A device that goes away (an unplugged
// USB adapter, a dropped serial server connection) makes Read and Write fail
// with ErrPortLost; ReopenPort waits for it to come back.
//
// tcp: ports speak raw TCP: there is no RFC 2217, so line settings are
// remembered but not sent to the server.
//
// Every port's Close is idempotent and unblocks a Read or Write in progress,
// which then fails with ErrPortClosed.
//
// PacedWriter delivers bytes at a line's character rate, for emulated
// devices that should answer no faster than a real UART would.
package bridge
