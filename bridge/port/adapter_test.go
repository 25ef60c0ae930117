package port

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/atbridge/atbridge/capture"
)

// sysfsTree lays out a sysfs tree as the kernel does for three adapters a
// bench has: an FTDI FT232R (ftdi_sio, with its latency timer at the 16 ms
// default), a CP2102 (cp210x, no latency timer) and an ESP32-S3's own USB
// Serial/JTAG (cdc_acm: a ttyACM port whose device is the USB interface).
func sysfsTree(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	file := func(p, s string) {
		os.MkdirAll(filepath.Dir(filepath.Join(root, p)), 0o755)
		if err := os.WriteFile(filepath.Join(root, p), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	link := func(p, target string) {
		os.MkdirAll(filepath.Dir(filepath.Join(root, p)), 0o755)
		if err := os.Symlink(target, filepath.Join(root, p)); err != nil {
			t.Fatal(err)
		}
	}
	usb := func(dev, vid, pid, mfr, prod, serial string) {
		for k, v := range map[string]string{"idVendor": vid, "idProduct": pid, "manufacturer": mfr, "product": prod, "serial": serial} {
			if v != "" {
				file("devices/pci0000:00/0000:00:14.0/usb1/"+dev+"/"+k, v+"\n")
			}
		}
	}
	base := "devices/pci0000:00/0000:00:14.0/usb1/"
	// FTDI: usb1/1-2/1-2:1.0/ttyUSB0/tty/ttyUSB0
	usb("1-2", "0403", "6001", "FTDI", "FT232R USB UART", "A10KZP3X")
	file("bus/usb-serial/drivers/ftdi_sio/.keep", "")
	link(base+"1-2/1-2:1.0/ttyUSB0/driver", "../../../../../../../bus/usb-serial/drivers/ftdi_sio")
	file(base+"1-2/1-2:1.0/ttyUSB0/latency_timer", "16\n")
	file(base+"1-2/1-2:1.0/ttyUSB0/tty/ttyUSB0/dev", "188:0\n")
	link(base+"1-2/1-2:1.0/ttyUSB0/tty/ttyUSB0/device", "../../../ttyUSB0")
	link("class/tty/ttyUSB0", "../../"+base+"1-2/1-2:1.0/ttyUSB0/tty/ttyUSB0")
	link("bus/usb-serial/devices/ttyUSB0", "../../../"+base+"1-2/1-2:1.0/ttyUSB0")
	// CP2102: ttyUSB1, no latency timer.
	usb("1-4", "10c4", "ea60", "Silicon Labs", "CP2102 USB to UART Bridge Controller", "0001")
	file("bus/usb-serial/drivers/cp210x/.keep", "")
	link(base+"1-4/1-4:1.0/ttyUSB1/driver", "../../../../../../../bus/usb-serial/drivers/cp210x")
	file(base+"1-4/1-4:1.0/ttyUSB1/tty/ttyUSB1/dev", "188:1\n")
	link(base+"1-4/1-4:1.0/ttyUSB1/tty/ttyUSB1/device", "../../../ttyUSB1")
	link("class/tty/ttyUSB1", "../../"+base+"1-4/1-4:1.0/ttyUSB1/tty/ttyUSB1")
	// ESP32-S3 USB Serial/JTAG: ttyACM0's device is the interface.
	usb("1-3", "303a", "1001", "Espressif", "USB JTAG/serial debug unit", "F4:12:FA:4D:1E:2C")
	file("bus/usb/drivers/cdc_acm/.keep", "")
	link(base+"1-3/1-3:1.0/driver", "../../../../../../bus/usb/drivers/cdc_acm")
	file(base+"1-3/1-3:1.0/tty/ttyACM0/dev", "166:0\n")
	link(base+"1-3/1-3:1.0/tty/ttyACM0/device", "../../../1-3:1.0")
	link("class/tty/ttyACM0", "../../"+base+"1-3/1-3:1.0/tty/ttyACM0")
	// A USB device whose attributes are garbage.
	usb("1-5", "zzzz", "\x00\x01", "", "", "")
	file(base+"1-5/1-5:1.0/tty/ttyACM1/dev", "166:1\n")
	link(base+"1-5/1-5:1.0/tty/ttyACM1/device", "../../../1-5:1.0")
	link("class/tty/ttyACM1", "../../"+base+"1-5/1-5:1.0/tty/ttyACM1")
	return root
}

func TestAdapterSysfs(t *testing.T) {
	root := sysfsTree(t)
	// /dev/serial/by-id names resolve to the tty first.
	devDir := t.TempDir()
	os.WriteFile(filepath.Join(devDir, "ttyUSB0"), nil, 0o600)
	byID := filepath.Join(devDir, "usb-FTDI_FT232R_USB_UART_A10KZP3X-if00-port0")
	os.Symlink("ttyUSB0", byID)
	for _, c := range []struct {
		path string
		want capture.Adapter
		ok   bool
	}{
		{byID, capture.Adapter{VID: 0x0403, PID: 0x6001, Manufacturer: "FTDI", Product: "FT232R USB UART", Serial: "A10KZP3X", Driver: "ftdi_sio", LatencyTimerMS: 16}, true},
		{"/dev/ttyUSB1", capture.Adapter{VID: 0x10c4, PID: 0xea60, Manufacturer: "Silicon Labs", Product: "CP2102 USB to UART Bridge Controller", Serial: "0001", Driver: "cp210x"}, true},
		{"/dev/ttyACM0", capture.Adapter{VID: 0x303a, PID: 0x1001, Manufacturer: "Espressif", Product: "USB JTAG/serial debug unit", Serial: "F4:12:FA:4D:1E:2C", Driver: "cdc_acm"}, true},
		{"/dev/ttyACM1", capture.Adapter{}, false},
		{"/dev/ttyS0", capture.Adapter{}, false},
	} {
		got, ok := adapterSysfs(root, c.path)
		if ok != c.ok || got != c.want {
			t.Errorf("%s: %+v, %v; want %+v, %v", c.path, got, ok, c.want, c.ok)
		}
	}
	for _, spec := range []string{"pty:/tmp/x", "tcp:1.2.3.4:5", "emulate", "rfc2217://h:1"} {
		if _, ok := AdapterOf(spec); ok {
			t.Errorf("%s has an adapter", spec)
		}
	}
}

// TestLineCountsPty: a pty keeps no line counters; asking says so
// (ErrNotSupported), so the proxy stops asking.
func TestLineCountsPty(t *testing.T) {
	dir := t.TempDir()
	p, err := Open(t.Context(), "pty:"+filepath.Join(dir, "p"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	// The host app's side of a pty, opened as a serial device.
	s, err := Open(t.Context(), filepath.Join(dir, "p"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	lc, ok := s.(LineCounter)
	if !ok {
		t.Fatalf("%T is not a LineCounter", s)
	}
	if _, err := lc.LineCounts(); !errors.Is(err, ErrNotSupported) {
		t.Errorf("LineCounts on a pty: %v, want ErrNotSupported", err)
	}
}
