package esp

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/atbridge/atbridge/capture"
	"github.com/atbridge/atbridge/formats"
	"github.com/atbridge/atbridge/formats/ws"
	"github.com/atbridge/atbridge/internal/rig"
)

func TestEmuRecording(t *testing.T) {
	frames := rig.NewFrameLog()
	srv := rig.NewRawWSServer(t, func(c *rig.RawConn) {
		f, err := c.ReadFrame()
		if err != nil {
			return
		}
		frames.Add(f)
		_ = c.WriteFrame(ws.OpPing, true, []byte("p"))
		_ = c.WriteFrame(ws.OpBinary, true, f.Payload)
		_ = c.WriteFrame(ws.OpClose, true, []byte{0x03, 0xE9, 'g', 'o'})
		for {
			if _, err := c.ReadFrame(); err != nil {
				return
			}
		}
	})
	sink := &rig.Records{}
	var clock int64
	var cmu sync.Mutex
	h := startEmu(t, &Options{Record: sink.Add, Clock: func() int64 {
		cmu.Lock()
		defer cmu.Unlock()
		clock++
		return clock
	}})
	h.Keep = true
	joinWiFi(h)
	h.Cmd(fmt.Sprintf("AT+WSOPEN=1,%q", srv.URL), "+WS_CONNECTED:1\r\n\r\nOK\r\n")
	h.Cmd("AT+WSSEND=1,3", "\r\nOK\r\n\r\n>")
	h.Send("abc")
	h.ExpectAnyOrder("\r\nSEND OK\r\n", "+WS_DATA:1,3,abc\r\n", "+WS_CLOSED:1\r\n")
	frames.Wait(t, 1)
	// Wait for the close reply to be recorded.
	deadline := time.Now().Add(rig.Timeout)
	var recs []capture.Record
	var toHost, toDev []byte
	var fr []string
	var evs []string
	for {
		recs = sink.All()
		toHost, toDev, fr, evs = nil, nil, nil, nil
		for _, r := range recs {
			switch r.Kind {
			case capture.KindChunk:
				if r.Port != capture.PortHost {
					t.Fatalf("chunk on port %d", r.Port)
				}
				if r.Dir == formats.ToHost {
					toHost = append(toHost, r.Data...)
				} else {
					toDev = append(toDev, r.Data...)
				}
			case capture.KindFrame:
				fr = append(fr, fmt.Sprintf("%d %v op%d fin=%v masked=%v %q len=%d", r.Frame.Link, r.Dir, r.Frame.Opcode, r.Frame.Fin, r.Frame.Masked, r.Data, r.Frame.Length))
			case capture.KindEvent:
				evs = append(evs, fmt.Sprintf("%v %d %d %s", r.Event.Type, r.Event.Link, r.Event.Code, r.Event.Text))
			}
		}
		seenLen := len(h.Received())
		if len(fr) >= 6 && len(evs) >= 3 && len(toHost) >= seenLen || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	wantFrames := []string{
		`1 to_server op1 fin=true masked=true "abc" len=3`,
		`1 to_client op9 fin=true masked=false "p" len=1`,
		`1 to_server op10 fin=true masked=true "p" len=1`,
		`1 to_client op2 fin=true masked=false "abc" len=3`,
		`1 to_client op8 fin=true masked=false "\x03\xe9go" len=4`,
		`1 to_server op8 fin=true masked=true "" len=0`,
	}
	if fmt.Sprint(fr) != fmt.Sprint(wantFrames) {
		t.Errorf("frames:\n%q\nwant\n%q", fr, wantFrames)
	}
	wantEv := []string{"note 0 0 emulator started (release firmware)", "ws_connected 1 0 " + srv.URL, "ws_closed 1 1001 go"}
	if fmt.Sprint(evs) != fmt.Sprint(wantEv) {
		t.Errorf("events %q, want %q", evs, wantEv)
	}
	if want := "AT+CWJAP=\"ap\",\"password\"\r\n" + fmt.Sprintf("AT+WSOPEN=1,%q\r\n", srv.URL) + "AT+WSSEND=1,3\r\nabc"; string(toDev) != want {
		t.Errorf("recorded host input %q, want %q", toDev, want)
	}
	seen := string(h.Received())
	if string(toHost) != seen {
		t.Errorf("recorded output\n%q\nhost saw\n%q", toHost, seen)
	}
	for i := 1; i < len(recs); i++ {
		if recs[i].Time < recs[i-1].Time {
			t.Fatalf("record %d goes back in time", i)
		}
	}
}

func TestEmuUARTCur(t *testing.T) {
	h := startEmu(t, nil)
	h.Cmd("AT+UART_CUR?", "+UART_CUR:115200,8,1,0,0\r\n\r\nOK\r\n")
	h.Cmd("AT+UART_CUR=921600,8,1,0,3", "\r\nOK\r\n")
	h.Cmd("AT+UART_CUR?", "+UART_CUR:921600,8,1,0,3\r\n\r\nOK\r\n")
	want := capture.LineSettings{Baud: 921600, DataBits: 8, Parity: capture.ParityNone, StopBits: capture.Stop1, Flow: capture.FlowRTSCTS}
	deadline := time.Now().Add(rig.Timeout)
	for h.port.Line() != want {
		if time.Now().After(deadline) {
			t.Fatalf("port line = %v, want %v", h.port.Line(), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
	for _, bad := range []string{"AT+UART_CUR=79,8,1,0,0", "AT+UART_CUR=115200,9,1,0,0", "AT+UART_CUR=115200,8,4,0,0", "AT+UART_CUR=115200,8,1,3,0", "AT+UART_CUR=115200,8,1,0"} {
		h.Cmd(bad, "\r\nERROR\r\n")
	}
	h.Cmd("AT+UART_DEF=115200,8,1,2,0", "\r\nOK\r\n")
	h.Cmd("AT+UART_DEF?", "+UART_DEF:115200,8,1,2,0\r\n\r\nOK\r\n")
}
