//go:build linux || darwin

package port

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"

	"go.bug.st/serial"

	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/internal/rig"
)

// A Python host app, using termios as C programs do, sets 19200 8O1 with
// RTS/CTS, sends a command and reads the answer, byte for byte.
func TestPtyPythonHostApp(t *testing.T) {
	py := rig.NeedProgram(t, "python3")
	host, _, link := openPtyPair(t, nil)
	script := `
import os, sys, termios
fd = os.open(sys.argv[1], os.O_RDWR | os.O_NOCTTY)
a = termios.tcgetattr(fd)
a[2] = (a[2] & ~(termios.CSIZE | termios.CSTOPB)) | termios.CS8 | termios.PARENB | termios.PARODD | termios.CRTSCTS
a[4] = a[5] = termios.B19200
termios.tcsetattr(fd, termios.TCSANOW, a)
os.write(fd, b"AT+GMR\r\n\x00\xff")
got = b""
while len(got) < 6:
    got += os.read(fd, 6 - len(got))
sys.stdout.write(got.hex())
os.close(fd)
`
	var out bytes.Buffer
	cmd := exec.Command(py, "-c", script, link)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()

	wantLine := capture.LineSettings{Baud: 19200, DataBits: 8, Parity: capture.ParityOdd, StopBits: capture.Stop1, Flow: capture.FlowRTSCTS}
	waitLineChange(t, host.(LineNotifier).LineChanges(), wantLine)
	cmdBytes := []byte("AT+GMR\r\n\x00\xff")
	if got := rig.ReadN(t, host, len(cmdBytes)); !bytes.Equal(got, cmdBytes) {
		t.Fatalf("port read %q, want %q", got, cmdBytes)
	}
	if _, err := host.Write([]byte("OK\r\n\x11\x13")); err != nil { // XON/XOFF bytes too
		t.Fatal(err)
	}
	select {
	case err := <-waited:
		if err != nil {
			t.Fatalf("python: %v: %s", err, out.String())
		}
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		<-waited
		t.Fatal("python host app did not finish")
	}
	if got := strings.TrimSpace(out.String()); got != "4f4b0d0a1113" {
		t.Fatalf("host app read %s, want 4f4b0d0a1113 (OK\\r\\n 11 13)", got)
	}
}

// socat opening and closing the link, twice: the port carries on.
func TestPtySocatReopens(t *testing.T) {
	socat := rig.NeedProgram(t, "socat")
	host, client, link := openPtyPair(t, nil)
	client.Close()
	for _, msg := range []string{"first\r\n", "second\r\n"} {
		cmd := exec.Command(socat, "-u", "STDIN", "FILE:"+link+",raw,echo=0")
		cmd.Stdin = strings.NewReader(msg)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("socat: %v: %s", err, out)
		}
		if got := rig.ReadN(t, host, len(msg)); string(got) != msg {
			t.Fatalf("port read %q, want %q", got, msg)
		}
	}
}

// go.bug.st/serial as the host app: its SetMode to 9600 7E2 is reported
// (as 8E2 on Linux, where ptys force 8 data bits).
func TestPtyGoSerialHostApp(t *testing.T) {
	host, client, link := openPtyPair(t, nil)
	client.Close()
	sp, err := serial.Open(link, &serial.Mode{BaudRate: 115200})
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	if err := sp.SetMode(&serial.Mode{BaudRate: 9600, DataBits: 7, Parity: serial.EvenParity, StopBits: serial.TwoStopBits}); err != nil {
		t.Fatal(err)
	}
	want := capture.LineSettings{Baud: 9600, DataBits: 7, Parity: capture.ParityEven, StopBits: capture.Stop2}
	if osName == "linux" {
		want.DataBits = 8
	}
	waitLineChange(t, host.(LineNotifier).LineChanges(), want)
	if _, err := sp.Write([]byte("AT\r\n")); err != nil {
		t.Fatal(err)
	}
	if got := rig.ReadN(t, host, 4); string(got) != "AT\r\n" {
		t.Fatalf("port read %q", got)
	}
}

func TestControlLinesOnPty(t *testing.T) {
	_, client, link := openPtyPair(t, nil)
	cp, ok := client.(Controller)
	if !ok {
		t.Fatal("serial port is not a Controller")
	}
	if _, err := cp.Control(); !errors.Is(err, ErrNotSupported) {
		t.Errorf("Control on a pty: %v, want ErrNotSupported", err)
	}
	if err := cp.SetControl(capture.LineDTR); !errors.Is(err, ErrNotSupported) {
		t.Errorf("SetControl on a pty: %v, want ErrNotSupported", err)
	}
	client.Close()
	// Asking for initial DTR/RTS on a device without them is not an error.
	lines := capture.LineDTR
	p, err := Open(context.Background(), link, &Options{Control: &lines})
	if err != nil {
		t.Fatal(err)
	}
	p.Close()
}
