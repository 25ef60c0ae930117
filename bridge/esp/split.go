package esp

// Options.SplitDeliveries: received data cut into pieces the way a board
// cuts it at TCP segment boundaries, to test a host's reassembly.

// splitDelivery cuts p into Options.SplitDeliveries-byte pieces (stream
// data only: a UDP datagram is one +IPD), or returns p whole.
func (e *Emulator) splitDelivery(p []byte, stream bool) [][]byte {
	n := e.opts.SplitDeliveries
	if n <= 0 || !stream || len(p) <= n {
		return [][]byte{p}
	}
	out := make([][]byte, 0, (len(p)+n-1)/n)
	for len(p) > n {
		out = append(out, p[:n])
		p = p[n:]
	}
	return append(out, p)
}

// wsPiece bounds one +WS_DATA piece of at most max bytes by
// Options.SplitDeliveries.
func (e *Emulator) wsPiece(max uint64) uint64 {
	if n := e.opts.SplitDeliveries; n > 0 {
		return min(max, uint64(n))
	}
	return max
}
