package port

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/atbridge/atbridge/capture"
)

// AdapterOf returns what the OS says about the USB serial adapter behind a
// port as Open spells it: VID:PID, manufacturer, product, serial number,
// the kernel driver and, where the adapter has one, its latency timer (on
// Linux from sysfs, elsewhere from go.bug.st/serial's enumerator). ok is
// false for ports that are not USB serial devices (ptys, tcp:, emulate) or
// when nothing is known; it never fails otherwise.
func AdapterOf(spec string) (a capture.Adapter, ok bool) {
	path := devicePath(spec)
	if path == "" {
		return a, false
	}
	if a, ok = adapterSysfs("/sys", path); ok {
		return a, true
	}
	return adapterEnumerated(path)
}

// devicePath is the device file a port spec names, "" for other forms.
func devicePath(spec string) string {
	switch {
	case strings.HasPrefix(spec, "pty:"), strings.HasPrefix(spec, "tcp:"), strings.HasPrefix(spec, "rfc2217"), spec == "emulate", spec == "":
		return ""
	case strings.HasPrefix(spec, "serial:"):
		return strings.TrimPrefix(spec, "serial:")
	}
	return spec
}

// adapterSysfs reads the adapter of the tty device at path from the sysfs
// tree at root: /sys/class/tty/NAME/device is the USB interface (CDC ACM)
// or the usb-serial port below it (ttyUSB), whose ancestors include the USB
// device with idVendor, idProduct, manufacturer, product and serial.
func adapterSysfs(root, path string) (capture.Adapter, bool) {
	var a capture.Adapter
	real, err := filepath.EvalSymlinks(path) // /dev/serial/by-id/... -> /dev/ttyUSB0
	if err != nil {
		real = path
	}
	name := filepath.Base(real)
	dev, err := filepath.EvalSymlinks(filepath.Join(root, "class", "tty", name, "device"))
	if err != nil {
		return a, false
	}
	if drv, err := os.Readlink(filepath.Join(dev, "driver")); err == nil {
		a.Driver = filepath.Base(drv)
	}
	if ms, err := strconv.Atoi(readSys(filepath.Join(dev, "latency_timer"))); err == nil && ms > 0 {
		a.LatencyTimerMS = ms
	} else if ms, err := strconv.Atoi(readSys(filepath.Join(root, "bus", "usb-serial", "devices", name, "latency_timer"))); err == nil && ms > 0 {
		a.LatencyTimerMS = ms
	}
	for d := dev; d != root && d != "/" && d != "."; d = filepath.Dir(d) {
		vid, err1 := strconv.ParseUint(readSys(filepath.Join(d, "idVendor")), 16, 16)
		pid, err2 := strconv.ParseUint(readSys(filepath.Join(d, "idProduct")), 16, 16)
		if err1 != nil || err2 != nil {
			continue
		}
		a.VID, a.PID = uint16(vid), uint16(pid)
		a.Manufacturer = readSys(filepath.Join(d, "manufacturer"))
		a.Product = readSys(filepath.Join(d, "product"))
		a.Serial = readSys(filepath.Join(d, "serial"))
		return a, true
	}
	return a, false
}

// readSys reads a short sysfs attribute, trimmed; "" when it cannot, or
// when it is not printable text (a damaged or odd attribute is ignored).
func readSys(path string) string {
	b, err := os.ReadFile(path)
	if err != nil || len(b) > 256 {
		return ""
	}
	s := strings.TrimSpace(string(b))
	for _, r := range s {
		if r < ' ' || r == 0x7f {
			return ""
		}
	}
	return s
}
