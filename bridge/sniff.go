package bridge

import (
	"context"
	"errors"
)

// OpenSniffer opens a passive recorder for a Y-cable bench: hostRx is a
// receive-only adapter on the host's TX line (its bytes are recorded
// ToDevice), deviceRx one on the ESP32's TX line (recorded ToHost). Both
// are opened with port.Options.ReadOnly, so nothing is ever written to
// either, not even a control line change; line settings still follow
// AT+UART_CUR. opts gives the Recorder and the rest; its Host, Device and
// Sniff fields are set here. Run and Close it as a Proxy.
func OpenSniffer(ctx context.Context, hostRx, deviceRx string, opts *ProxyOptions) (*Proxy, error) {
	if opts == nil {
		return nil, errors.New("sniff: a Recorder is required")
	}
	o := *opts
	o.Host, o.Device, o.Sniff = hostRx, deviceRx, true
	return OpenProxy(ctx, &o)
}
