package port

// LineCounts are the counters the OS keeps for a serial line since it was
// opened: modem-line transitions, bytes, and the receive errors the UART
// reported (on Linux, TIOCGICOUNT's serial_icounter_struct). A BREAK is
// counted in Break, a byte with a bad stop bit in Frame, a byte the UART
// had no room for in Overrun, one with bad parity in Parity, and a byte the
// driver's buffer had no room for in BufOverrun.
type LineCounts struct {
	CTS, DSR, RI, DCD             int64
	RX, TX                        int64
	Frame, Overrun, Parity, Break int64
	BufOverrun                    int64
}

// LineCounter is a Port whose OS counts line events: real serial devices
// on Linux. LineCounts returns an error wrapping ErrNotSupported where the
// driver keeps no counters (ptys, many USB CDC ACM adapters).
type LineCounter interface {
	LineCounts() (LineCounts, error)
}
