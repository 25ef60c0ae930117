package port

import (
	"fmt"

	"golang.org/x/sys/unix"
)

const (
	cmspar  = 0 // macOS has no mark/space parity
	crtscts = unix.CRTSCTS
	// ptyForcesCS8: the kernel forces CS8 and clears PARENB on ptys.
	ptyForcesCS8 = false
	osName       = "macos"
)

// macOS termios carry speeds as plain numbers. Speeds other than the
// classic ones may be refused by the driver (IOSSIOSPEED is not used).

func getTermios(fd int) (*unix.Termios, error) {
	return unix.IoctlGetTermios(fd, unix.TIOCGETA)
}

func setTermios(fd int, t *unix.Termios) error {
	return unix.IoctlSetTermios(fd, unix.TIOCSETA, t)
}

func speedOf(t *unix.Termios) int { return int(t.Ospeed) }

func setSpeed(t *unix.Termios, baud int) error {
	if baud <= 0 {
		return fmt.Errorf("baud %d", baud)
	}
	t.Ispeed, t.Ospeed = uint64(baud), uint64(baud)
	return nil
}
