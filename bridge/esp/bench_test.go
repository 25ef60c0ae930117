package esp

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/coder/websocket"

	"github.com/atbridge/atbridge/formats/ws"
	"github.com/atbridge/atbridge/internal/rig"
)

// benchWSLink starts a quiet emulator with echo off, joins the station and
// opens link 0 to url: where the WebSocket benchmarks start.
func benchWSLink(b *testing.B, url string) *emuHost {
	b.Helper()
	h := startEmu(b, &Options{Log: slog.New(slog.DiscardHandler)})
	h.Send("ATE0\r\n")
	h.Expect("ATE0\r\n\r\nOK\r\n")
	h.Send(`AT+CWJAP="ap","password"` + "\r\n")
	h.Expect("WIFI CONNECTED\r\nWIFI GOT IP\r\n\r\nOK\r\n")
	h.Send(fmt.Sprintf("AT+WSOPEN=0,%q\r\n", url))
	h.Expect("+WS_CONNECTED:0\r\n\r\nOK\r\n")
	return h
}

// BenchmarkWSRoundTrip measures one WebSocket round trip of a 64-byte
// message to an echo server on loopback: through the emulator as a host app
// sees it (AT+WSSEND, prompt, payload, SEND OK and +WS_DATA over a pty), and
// by a direct coder/websocket client, in the same run.
func BenchmarkWSRoundTrip(b *testing.B) {
	srv := rig.NewWSEchoServer(b, nil)
	payload := strings.Repeat("x", 64)
	b.Run("emulator", func(b *testing.B) {
		h := benchWSLink(b, srv.URL)
		cmd := fmt.Sprintf("AT+WSSEND=0,%d\r\n", len(payload))
		data := fmt.Sprintf("+WS_DATA:0,%d,%s\r\n", len(payload), payload)
		b.SetBytes(int64(len(payload)))
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			h.Send(cmd)
			h.Expect("\r\nOK\r\n\r\n>")
			h.Send(payload)
			h.ExpectAnyOrder("\r\nSEND OK\r\n", data)
		}
	})
	b.Run("direct", func(b *testing.B) {
		ctx := context.Background()
		c, _, err := websocket.Dial(ctx, srv.URL, nil)
		rig.Must(b, err)
		defer c.CloseNow()
		msg := []byte(payload)
		b.SetBytes(int64(len(payload)))
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			rig.Must(b, c.Write(ctx, websocket.MessageText, msg))
			_, got, err := c.Read(ctx)
			rig.Must(b, err)
			if !bytes.Equal(got, msg) {
				b.Fatalf("echo %q", got)
			}
		}
	})
}

// BenchmarkWSDataThroughput measures sustained +WS_DATA delivery to the
// host over a pty while a server pushes 1 KiB binary frames (buffer_size
// 1024, one +WS_DATA line per frame). Bytes are payload bytes.
func BenchmarkWSDataThroughput(b *testing.B) {
	const size = 1024
	frame := bytes.Repeat([]byte{0xA5}, size)
	start := make(chan int, 1)
	srv := rig.NewRawWSServer(b, func(c *rig.RawConn) {
		n, ok := <-start
		if !ok {
			return
		}
		for i := 0; i < n; i++ {
			if c.WriteFrame(ws.OpBinary, true, frame) != nil {
				return
			}
		}
		for {
			if _, err := c.ReadFrame(); err != nil {
				return
			}
		}
	})
	defer close(start)
	h := benchWSLink(b, srv.URL)
	line := len(fmt.Sprintf("+WS_DATA:0,%d,", size)) + size + 2
	b.SetBytes(size)
	b.ResetTimer()
	start <- b.N
	h.Drain(b.N * line)
	b.StopTimer()
	h.Send("AT+WSCLOSE=0\r\n")
	h.Expect("\r\nOK\r\n")
}
