//go:build !darwin

package port

import (
	"strconv"

	"go.bug.st/serial/enumerator"

	"github.com/atbridge/atbridge/capture"
)

// adapterEnumerated asks go.bug.st/serial's enumerator (macOS, Windows,
// and Linux without sysfs).
func adapterEnumerated(path string) (capture.Adapter, bool) {
	var a capture.Adapter
	ports, err := enumerator.GetDetailedPortsList()
	if err != nil {
		return a, false
	}
	for _, p := range ports {
		if p.Name != path || !p.IsUSB {
			continue
		}
		vid, _ := strconv.ParseUint(p.VID, 16, 16)
		pid, _ := strconv.ParseUint(p.PID, 16, 16)
		a.VID, a.PID, a.Product, a.Serial = uint16(vid), uint16(pid), p.Product, p.SerialNumber
		return a, true
	}
	return a, false
}
