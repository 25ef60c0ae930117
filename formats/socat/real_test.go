package socat

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/atbridge/atbridge/internal/rig"
)

// socatTraffic is what the real-socat tests push each way: every byte value,
// AT-looking text and a long pseudo-random binary run.
func socatTraffic() (left, right []byte) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 256 {
		left = append(left, byte(i))
	}
	left = append(left, "AT+WSSEND=0,4\r\n"...)
	for range 20000 {
		left = append(left, byte(r.UintN(256)))
	}
	right = append(right, "\r\nOK\r\n\r\n>"...)
	for i := 255; i >= 0; i-- {
		right = append(right, byte(i))
	}
	for range 30000 {
		right = append(right, byte(r.UintN(256)))
	}
	return left, right
}

// runSocatTCP runs "socat FLAGS STDIO TCP:127.0.0.1:PORT" against a loopback
// server, sends left on socat's stdin and right from the server, checks both
// arrive, and returns socat's stderr: the dump.
func runSocatTCP(t *testing.T, flags ...string) []byte {
	t.Helper()
	bin := rig.NeedProgram(t, "socat")
	left, right := socatTraffic()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	serverGot := make(chan []byte, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			serverGot <- nil
			return
		}
		defer c.Close()
		wrote := make(chan struct{})
		go func() {
			defer close(wrote)
			// Several writes so socat sees several reads.
			for p := right; len(p) > 0; {
				n := min(len(p), 7000)
				c.Write(p[:n])
				p = p[n:]
				time.Sleep(2 * time.Millisecond)
			}
		}()
		got, _ := io.ReadAll(io.LimitReader(c, int64(len(left))))
		<-wrote // closing before all of right is written would cut it short
		serverGot <- got
	}()

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	args := append(flags, "STDIO", "TCP:"+ln.Addr().String())
	cmd := exec.CommandContext(ctx, bin, args...)
	var dump bytes.Buffer
	cmd.Stderr = &dump
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		for p := left; len(p) > 0; {
			n := min(len(p), 5000)
			stdin.Write(p[:n])
			p = p[n:]
			time.Sleep(2 * time.Millisecond)
		}
	}()
	clientGot, _ := io.ReadAll(io.LimitReader(stdout, int64(len(right))))
	if g := <-serverGot; !bytes.Equal(g, left) {
		t.Fatalf("server got %d bytes, want %d", len(g), len(left))
	}
	if !bytes.Equal(clientGot, right) {
		t.Fatalf("client got %d bytes, want %d", len(clientGot), len(right))
	}
	stdin.Close()
	if err := cmd.Wait(); err != nil && ctx.Err() != nil {
		t.Fatalf("socat: %v", err)
	}
	return dump.Bytes()
}

// checkSocatDump reads dump and checks the bytes each way equal want.
func checkSocatDump(t *testing.T, dump []byte, wantLeft, wantRight []byte) {
	t.Helper()
	s := NewReader(bytes.NewReader(dump))
	s.Location = time.Local
	var gotLeft, gotRight []byte
	var last time.Time
	n := 0
	for {
		b, err := s.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%v\ndump starts:\n%s", err, dump[:min(len(dump), 2000)])
		}
		n++
		if b.Gap != 0 {
			t.Errorf("block at line %d: gap %d", b.Line, b.Gap)
		}
		if b.Time.Before(last) {
			t.Errorf("block at line %d: time %v before %v", b.Line, b.Time, last)
		}
		if d := time.Since(b.Time); d < 0 || d > time.Minute {
			t.Errorf("block at line %d: time %v is %v from now (fraction misread?)", b.Line, b.Time, d)
		}
		last = b.Time
		if b.LeftToRight {
			gotLeft = append(gotLeft, b.Data...)
		} else {
			gotRight = append(gotRight, b.Data...)
		}
	}
	if !bytes.Equal(gotLeft, wantLeft) || !bytes.Equal(gotRight, wantRight) {
		t.Fatalf("recovered %d/%d bytes left-to-right, %d/%d right-to-left, or they differ", len(gotLeft), len(wantLeft), len(gotRight), len(wantRight))
	}
	if n < 4 {
		t.Fatalf("only %d blocks; the test wants several reads each way", n)
	}
}

func TestSocatRealTCP(t *testing.T) {
	left, right := socatTraffic()
	for _, flags := range [][]string{{"-x"}, {"-x", "-v"}, {"-v", "-x", "-d", "-d"}} {
		t.Run(strings.Join(flags, " "), func(t *testing.T) {
			checkSocatDump(t, runSocatTCP(t, flags...), left, right)
		})
	}
	t.Run("-v", func(t *testing.T) {
		dump := runSocatTCP(t, "-v")
		_, err := NewReader(bytes.NewReader(dump)).Next()
		if !errors.Is(err, ErrTextOnly) {
			t.Fatalf("text-only dump: err = %v, want ErrSocatTextOnly", err)
		}
	})
}

// TestSocatRealPTY runs socat between two pseudo-terminals, the way a
// host app and a serial device are bridged, and pushes bytes both ways.
func TestSocatRealPTY(t *testing.T) {
	fa, fb, stop := rig.SocatPTYs(t)
	// A pty holds about 4 KiB, so push in small steps and read each across.
	left, right := socatTraffic()
	left, right = left[:3000], right[:3000]
	for i := 0; i < 3000; i += 1000 {
		rig.Relay(t, fa, fb, left[i:i+1000])
		rig.Relay(t, fb, fa, right[i:i+1000])
	}
	checkSocatDump(t, stop(), left, right)
}
