package rig

import (
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// ConnServer accepts TCP connections on 127.0.0.1, keeps them in accept
// order and runs a handler on each; Close (at the test's end) stops
// accepting, drops every connection and waits for the handlers.
type ConnServer struct {
	t  testing.TB
	ln net.Listener
	wg sync.WaitGroup

	mu    sync.Mutex
	conns []net.Conn
}

// StartConnServer listens on network ("tcp", "tcp4" at 127.0.0.1; "tcp6" at ::1) and
// accepts until Close, which the test's end calls.
func StartConnServer(t testing.TB, network string, handle func(net.Conn)) *ConnServer {
	host := "127.0.0.1:0"
	if network == "tcp6" {
		host = "[::1]:0"
	}
	ln, err := net.Listen(network, host)
	Must(t, err)
	s := &ConnServer{t: t, ln: ln}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns = append(s.conns, c)
			s.mu.Unlock()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				handle(c)
			}()
		}
	}()
	t.Cleanup(s.Close)
	return s
}

// Close stops accepting, drops every connection and waits.
func (s *ConnServer) Close() {
	s.ln.Close()
	s.mu.Lock()
	for _, c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// Conn waits for the i-th accepted connection (from 0), failing the test
// after Timeout.
func (s *ConnServer) Conn(i int) net.Conn {
	s.t.Helper()
	deadline := time.Now().Add(Timeout)
	for {
		s.mu.Lock()
		if i < len(s.conns) {
			c := s.conns[i]
			s.mu.Unlock()
			return c
		}
		s.mu.Unlock()
		if time.Now().After(deadline) {
			s.t.Fatalf("connection %d never arrived", i)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// Addr is the address the server listens on.
func (s *ConnServer) Addr() net.Addr { return s.ln.Addr() }

// EchoTCP is a TCP server that echoes bytes as they come; it returns
// the server's address.
func EchoTCP(t testing.TB) string {
	s := StartConnServer(t, "tcp", func(c net.Conn) {
		_, _ = io.Copy(c, c)
		c.Close()
	})
	return s.ln.Addr().String()
}
