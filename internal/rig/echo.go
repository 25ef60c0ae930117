package rig

import (
	"io"
	"sync"
	"testing"
)

// Echo makes dev an echo device: what is read from it is written back,
// until a read or write fails. It returns stop, which closes dev and waits
// for the echo; the test's end calls it too, so calling it is optional and
// may come earlier.
func Echo(t testing.TB, dev io.ReadWriteCloser) (stop func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = io.Copy(dev, dev)
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			dev.Close()
			<-done
		})
	}
	t.Cleanup(stop)
	return stop
}

// WSEchoServers are two independent WebSocket echo servers, by name, each
// started per test and returning its ws:// URL: coder/websocket in this
// process and python3-websockets (skipped where missing, see PythonWSEcho).
// Tests that must not depend on one implementation's quirks run on both.
var WSEchoServers = map[string]func(t *testing.T) string{
	"coder":  func(t *testing.T) string { return NewWSEchoServer(t, nil).URL },
	"python": func(t *testing.T) string { return PythonWSEcho(t) },
}
