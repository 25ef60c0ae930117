package esp

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/atbridge/atbridge/internal/rig"
)

// pipePort is an in-memory serial line made of two os.Pipes.
type pipePort struct {
	r *os.File // what the host wrote
	w *os.File // what the host will read
}

func (p pipePort) Read(b []byte) (int, error)        { return p.r.Read(b) }
func (p pipePort) Write(b []byte) (int, error)       { return p.w.Write(b) }
func (p pipePort) SetReadDeadline(t time.Time) error { return p.r.SetReadDeadline(t) }

// pipeLine returns a fresh line: dev is the emulator's end, the host reads
// hr and writes hw. The read ends close at the test's end; the test closes
// hw (the host hangs up) and dev.w itself.
func pipeLine(t testing.TB) (dev pipePort, hr, hw *os.File) {
	hr, ew, err := os.Pipe()
	rig.Must(t, err)
	er, hw, err := os.Pipe()
	rig.Must(t, err)
	t.Cleanup(func() {
		hr.Close()
		er.Close()
	})
	return pipePort{r: er, w: ew}, hr, hw
}

// FuzzEmulatorInput feeds arbitrary host bytes, cut into two writes, to an
// emulator and checks it neither panics nor hangs: when the host side closes,
// Serve returns an error wrapping io.EOF. WebSocket and TCP connections are
// vetoed so no input reaches the network.
func FuzzEmulatorInput(f *testing.F) {
	seeds := []string{
		"AT\r\n", "ATE0\r\nAT\r\n", "AT+WSHEAD=3\r\na:bAT\r\n", "AT+RST\r\n", "AT+WSSEND=0,4\r\n",
		"AT+CWJAP=\"a\",\"b\"\r\nAT+WSOPEN=0,\"ws://127.0.0.1:1\"\r\nAT+WSSEND=0,2\r\nhi",
		"AT+WSCFG=0,30,60,4096,3,0,0\r\n", "\x00\xff\r\n\r\n", "AT+CIPSNTPCFG=1,-0330\r\nAT+CIPSNTPTIME?\r\n",
		"AT+UART_CUR=9600,8,1,0,0\r\n", "AT+SYSLOG=1\r\nAT+X\r\nat\r\n", "AT+WSDATAFMT=0,2,\r\n",
		"AT+CIPSTART=\"TCP\",\"127.0.0.1\",1\r\nAT+CIPSEND=3\r\n+++", "AT+CIPMUX=1\r\nAT+CIPSTART=0,\"TCP\",\"127.0.0.1\",1,60\r\nAT+CIPSEND=0,2\r\nhi",
		"AT+CIPMODE=1\r\nAT+CIPSEND\r\nab+++", "AT+CIPDINFO=1\r\nAT+CIPSTATUS\r\nAT+CIPSTATE?\r\nAT+CIPCLOSE=5\r\nAT+CIPCLOSE\r\n",
		"AT+SYSMSG=7\r\nAT+CIPMUX?\r\nAT+CIPMODE?\r\nAT+CIPDINFO?\r\n",
		"AT+MQTTUSERCFG=0,1,\"c\",\"\",\"\",0,0,\"\"\r\nAT+MQTTLONGPASSWORD=0,3\r\nabcAT+MQTTCONN=0,\"127.0.0.1\",1,1\r\nAT+MQTTPUBRAW=0,\"t\",2,0,0\r\nhiAT+MQTTSUB?\r\nAT+MQTTCLEAN=0\r\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s), uint8(len(s)/2))
	}
	f.Fuzz(func(t *testing.T, in []byte, cut uint8) {
		dev, hr, hw := pipeLine(t)
		em := New(&Options{Log: slog.New(slog.DiscardHandler), RestartDelay: time.Millisecond, Firmware: Firmware(cut & 1)})
		em.dialFilter = func(string) error { return errors.New("fuzzing: no network") }
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		done := make(chan error, 1)
		go func() { done <- em.Serve(ctx, dev) }()
		drained := make(chan struct{})
		go func() {
			_, _ = io.Copy(io.Discard, hr)
			close(drained)
		}()
		began := time.Now()
		c := min(int(cut), len(in))
		_, _ = hw.Write(in[:c])
		_, _ = hw.Write(in[c:])
		hw.Close()
		err := <-done
		dev.w.Close()
		<-drained
		if ctx.Err() != nil {
			t.Fatalf("Serve did not return after the host closed (input %q)", in)
		}
		if d := time.Since(began); d > 5*time.Second {
			t.Fatalf("Serve took %v to return after the host closed (input %q)", d, in)
		}
		if !errors.Is(err, io.EOF) {
			t.Fatalf("Serve = %v, want io.EOF", err)
		}
	})
}
