// Package port opens atbridge's serial endpoints and keeps their line
// settings: every live command names its ports as the user spells them, and
// Open takes that spelling:
//
//	pty:/tmp/esp      a pseudo-terminal for a host app; /tmp/esp links to it
//	/dev/ttyUSB0      a real serial device (also serial:PATH, COM3 on Windows)
//	tcp:host:2000     a device behind a serial server (ser2net raw, esp-link)
//	rfc2217://host:2000   a device behind an RFC 2217 server (ser2net telnet(rfc2217))
//	rfc2217-listen:ADDR   the host side served to a remote RFC 2217 client
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
// control lines through Controller. A device that goes away (an unplugged
// USB adapter, a dropped serial server connection) makes Read and Write fail
// with ErrLost; Reopen waits for it to come back.
//
// tcp: ports speak raw TCP, so line settings are remembered but not sent to
// the server. rfc2217:// ports send them (RFC 2217 Com Port commands), take
// DTR and RTS, and read the server's modem and line state notifications as
// their control lines and line counters (Controller, LineCounter).
// rfc2217-listen: ports are an RFC 2217 server for a remote host app: its
// settings arrive on LineChanges, its BREAKs and purges on Requests.
//
// Every port's Close is idempotent and unblocks a Read or Write in progress,
// which then fails with ErrClosed.
//
// PacedWriter delivers bytes at a line's character rate, for emulated
// devices that should answer no faster than a real UART would.
//
// Package port is the lowest layer of the live paths: it imports capture
// (for LineSettings and ControlLines) and the platform libraries
// (go.bug.st/serial, creack/pty, x/sys), and no other bridge package. It is
// the only package that imports go.bug.st/serial and creack/pty.
package port
