//go:build linux || darwin

package port

import (
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/atbridge/atbridge/capture"
)

// makeRaw sets t to raw mode, as cfmakeraw does plus CLOCAL and CREAD: no
// echo, no signals, no CR/LF translation, no output processing, reads return
// as soon as one byte is there. A host app must see bytes exactly.
func makeRaw(t *unix.Termios) {
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR |
		unix.IGNCR | unix.ICRNL | unix.IXON | unix.IXOFF | unix.IXANY | unix.INPCK | unix.IGNPAR
	t.Oflag &^= unix.OPOST
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ECHOE | unix.ECHOK | unix.ECHOCTL |
		unix.ECHOKE | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag |= unix.CREAD | unix.CLOCAL
	t.Cc[unix.VMIN] = 1
	t.Cc[unix.VTIME] = 0
}

// applyFraming writes everything of l but the speed into t: data bits,
// parity (with INPCK, as go.bug.st/serial does, so a pty can tell parity is
// on), stop bits, and flow control. Stop1_5 is CSTOPB, which the drivers
// read as 1.5 stop bits with 5 data bits and as 2 otherwise.
func applyFraming(t *unix.Termios, l capture.LineSettings) error {
	t.Cflag &^= unix.CSIZE | unix.PARENB | unix.PARODD | cmspar | unix.CSTOPB | crtscts
	t.Iflag &^= unix.INPCK | unix.IXON | unix.IXOFF
	switch l.DataBits {
	case 5:
		t.Cflag |= unix.CS5
	case 6:
		t.Cflag |= unix.CS6
	case 7:
		t.Cflag |= unix.CS7
	case 8:
		t.Cflag |= unix.CS8
	default:
		return fmt.Errorf("data bits %d (want 5..8)", l.DataBits)
	}
	switch l.Parity {
	case capture.ParityNone:
	case capture.ParityEven:
		t.Cflag |= unix.PARENB
	case capture.ParityOdd:
		t.Cflag |= unix.PARENB | unix.PARODD
	case capture.ParityMark, capture.ParitySpace:
		if cmspar == 0 {
			return fmt.Errorf("%w: %c parity on %s", ErrNotSupported, l.Parity, osName)
		}
		t.Cflag |= unix.PARENB | cmspar
		if l.Parity == capture.ParityMark {
			t.Cflag |= unix.PARODD
		}
	}
	if l.Parity != capture.ParityNone {
		t.Iflag |= unix.INPCK
	}
	if l.StopBits == capture.Stop2 || l.StopBits == capture.Stop1_5 {
		t.Cflag |= unix.CSTOPB
	}
	switch l.Flow {
	case capture.FlowRTSCTS:
		t.Cflag |= crtscts
	case capture.FlowXONXOFF:
		t.Iflag |= unix.IXON | unix.IXOFF
	}
	return nil
}

// framingFromTermios reads the framing of t into l (all but Baud).
//
// ptyHints is for a pty's slave side, where Linux forces CS8 and clears
// PARENB whatever the host app asked for (drivers/tty/pty.c,
// pty_set_termios). Data bits are then unknowable and reported as 8, but
// parity is recovered from what the kernel leaves alone: PARODD means odd
// (mark with CMSPAR), CMSPAR alone means space, and INPCK alone means even
// (go.bug.st/serial and most C programs set INPCK with parity; pyserial does
// not, so its even parity shows as none).
func framingFromTermios(t *unix.Termios, ptyHints bool) capture.LineSettings {
	var l capture.LineSettings
	switch t.Cflag & unix.CSIZE {
	case unix.CS5:
		l.DataBits = 5
	case unix.CS6:
		l.DataBits = 6
	case unix.CS7:
		l.DataBits = 7
	default:
		l.DataBits = 8
	}
	parenb := t.Cflag&unix.PARENB != 0
	odd := t.Cflag&unix.PARODD != 0
	stick := cmspar != 0 && t.Cflag&cmspar != 0
	if ptyHints && ptyForcesCS8 && !parenb {
		parenb = odd || stick || t.Iflag&unix.INPCK != 0
	}
	switch {
	case !parenb:
		l.Parity = capture.ParityNone
	case stick && odd:
		l.Parity = capture.ParityMark
	case stick:
		l.Parity = capture.ParitySpace
	case odd:
		l.Parity = capture.ParityOdd
	default:
		l.Parity = capture.ParityEven
	}
	l.StopBits = capture.Stop1
	if t.Cflag&unix.CSTOPB != 0 {
		l.StopBits = capture.Stop2
		if l.DataBits == 5 {
			l.StopBits = capture.Stop1_5
		}
	}
	switch {
	case t.Cflag&crtscts != 0:
		l.Flow = capture.FlowRTSCTS
	case t.Iflag&unix.IXON != 0 && t.Iflag&unix.IXOFF != 0:
		l.Flow = capture.FlowXONXOFF
	}
	return l
}

// controlFromModem converts TIOCMGET bits.
func controlFromModem(m int) capture.ControlLines {
	var c capture.ControlLines
	for _, x := range []struct {
		tiocm int
		line  capture.ControlLines
	}{
		{unix.TIOCM_DTR, capture.LineDTR}, {unix.TIOCM_RTS, capture.LineRTS},
		{unix.TIOCM_CTS, capture.LineCTS}, {unix.TIOCM_DSR, capture.LineDSR},
		{unix.TIOCM_CD, capture.LineDCD}, {unix.TIOCM_RI, capture.LineRI},
	} {
		if m&x.tiocm != 0 {
			c |= x.line
		}
	}
	return c
}

// getLine reads fd's termios as LineSettings.
func getLine(fd int, ptyHints bool) (capture.LineSettings, error) {
	t, err := getTermios(fd)
	if err != nil {
		return capture.LineSettings{}, err
	}
	l := framingFromTermios(t, ptyHints)
	l.Baud = speedOf(t)
	return l, nil
}

// setLine applies l to fd's termios, raw mode included, at once (TCSANOW).
func setLine(fd int, l capture.LineSettings) error {
	t, err := getTermios(fd)
	if err != nil {
		return err
	}
	makeRaw(t)
	if err := applyFraming(t, l); err != nil {
		return err
	}
	if err := setSpeed(t, l.Baud); err != nil {
		return err
	}
	return setTermios(fd, t)
}
