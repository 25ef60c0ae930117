package at

// DeviceAbsent tells the decoder that host bytes fed so far (up to time t)
// did not reach the device: the recorder found the device side gone (a
// capture's not_delivered event). Every command still waiting for its
// result ends now, without one, with ErrDeviceAbsent, rather than as
// ErrNoResult at the end of the input; the device's state (echo, links) is
// kept, since only the wire went away. It returns the events this settles;
// they belong to the caller, as Feed's do.
func (d *Decoder) DeviceAbsent(t int64) []Event {
	d.begin(false)
	d.closeRuns()
	d.runHost()
	for len(d.s.pending) > 0 {
		d.finish(d.s.pending[0], "", -1, t, ErrDeviceAbsent)
	}
	d.runHost()
	return d.take()
}
