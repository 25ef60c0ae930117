package capture

import (
	"strings"

	"github.com/atbridge/atbridge/formats/at"
)

// DecoderOptions reads how the traffic starts from the capture's metadata:
// "echo" ("off" when ATE0 was sent before the recording began) and
// "firmware" ("release", or "development" or "dev"), in any case. Without them the decoder
// assumes a freshly booted device of either firmware line. Every reader
// that decodes a capture (show, stats, report, redact, export) starts its
// decoder with these.
func (h *Header) DecoderOptions() *at.DecoderOptions {
	o := &at.DecoderOptions{EchoOff: strings.EqualFold(h.Meta["echo"], "off")}
	switch strings.ToLower(h.Meta["firmware"]) {
	case "release":
		o.Firmware = at.FirmwareRelease
	case "dev", "development":
		o.Firmware = at.FirmwareDevelopment
	}
	return o
}
