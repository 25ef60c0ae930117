package port

import (
	"fmt"

	"golang.org/x/sys/unix"
)

const (
	cmspar  = unix.CMSPAR
	crtscts = unix.CRTSCTS
	// ptyForcesCS8: the kernel forces CS8 and clears PARENB on ptys.
	ptyForcesCS8 = true
	osName       = "linux"
)

// Linux termios go through termios2 (TCGETS2/TCSETS2), which carries any
// speed: standard ones as Bxxx codes, others as BOTHER plus the number.

func getTermios(fd int) (*unix.Termios, error) {
	return unix.IoctlGetTermios(fd, unix.TCGETS2)
}

func setTermios(fd int, t *unix.Termios) error {
	return unix.IoctlSetTermios(fd, unix.TCSETS2, t)
}

var linuxSpeeds = map[uint32]int{
	unix.B50: 50, unix.B75: 75, unix.B110: 110, unix.B134: 134, unix.B150: 150,
	unix.B200: 200, unix.B300: 300, unix.B600: 600, unix.B1200: 1200, unix.B1800: 1800,
	unix.B2400: 2400, unix.B4800: 4800, unix.B9600: 9600, unix.B19200: 19200,
	unix.B38400: 38400, unix.B57600: 57600, unix.B115200: 115200, unix.B230400: 230400,
	unix.B460800: 460800, unix.B500000: 500000, unix.B576000: 576000, unix.B921600: 921600,
	unix.B1000000: 1000000, unix.B1152000: 1152000, unix.B1500000: 1500000,
	unix.B2000000: 2000000, unix.B2500000: 2500000, unix.B3000000: 3000000,
	unix.B3500000: 3500000, unix.B4000000: 4000000,
}

var linuxCodes = func() map[int]uint32 {
	m := make(map[int]uint32, len(linuxSpeeds))
	for code, baud := range linuxSpeeds {
		m[baud] = code
	}
	return m
}()

// speedOf returns the output speed of t (B0, hang up, reads as 0).
func speedOf(t *unix.Termios) int {
	code := t.Cflag & unix.CBAUD
	if code == unix.BOTHER {
		return int(t.Ospeed)
	}
	return linuxSpeeds[code]
}

// setSpeed sets input and output speed to baud: a Bxxx code where one
// exists, so programs using cfgetospeed read it back, else BOTHER.
func setSpeed(t *unix.Termios, baud int) error {
	if baud <= 0 {
		return fmt.Errorf("baud %d", baud)
	}
	code, ok := linuxCodes[baud]
	if !ok {
		code = unix.BOTHER
	}
	t.Cflag &^= unix.CBAUD | unix.CIBAUD // CIBAUD 0: input speed = output speed
	t.Cflag |= code
	t.Ispeed, t.Ospeed = uint32(baud), uint32(baud)
	return nil
}
