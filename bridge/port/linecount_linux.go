package port

import (
	"errors"
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

var _ LineCounter = (*serialPort)(nil)

// serialIcounter is Linux's struct serial_icounter_struct
// (include/uapi/linux/serial.h): ints, the same on every architecture.
type serialIcounter struct {
	cts, dsr, rng, dcd int32
	rx, tx             int32
	frame, overrun     int32
	parity, brk        int32
	bufOverrun         int32
	reserved           [9]int32
}

// LineCounts implements LineCounter with TIOCGICOUNT.
func (p *serialPort) LineCounts() (LineCounts, error) {
	var ic serialIcounter
	err := withFd(p.f, func(fd int) error {
		_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.TIOCGICOUNT, uintptr(unsafe.Pointer(&ic)))
		if e != 0 {
			return e
		}
		return nil
	})
	if errors.Is(err, unix.ENOTTY) || errors.Is(err, unix.EINVAL) {
		return LineCounts{}, fmt.Errorf("%w: %s keeps no line counters", ErrNotSupported, p.name)
	}
	if err != nil {
		return LineCounts{}, ioError("read line counters", p.name, err, p.closed.Load())
	}
	return LineCounts{CTS: int64(ic.cts), DSR: int64(ic.dsr), RI: int64(ic.rng), DCD: int64(ic.dcd),
		RX: int64(ic.rx), TX: int64(ic.tx), Frame: int64(ic.frame), Overrun: int64(ic.overrun),
		Parity: int64(ic.parity), Break: int64(ic.brk), BufOverrun: int64(ic.bufOverrun)}, nil
}
