package analysis

import (
	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/formats/at"
)

// DecoderOptions reads how the traffic starts from the capture's metadata:
// "echo" ("off" when ATE0 was sent before the recording began) and
// "firmware" ("release" or "development"). Without them the decoder
// assumes a freshly booted device of either firmware line.
func DecoderOptions(h *capture.Header) *at.DecoderOptions {
	o := &at.DecoderOptions{EchoOff: h.Meta["echo"] == "off"}
	switch h.Meta["firmware"] {
	case "release":
		o.Firmware = at.FirmwareRelease
	case "development":
		o.Firmware = at.FirmwareDevelopment
	}
	return o
}
