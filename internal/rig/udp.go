package rig

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"testing"
)

// UDPEcho is a UDP server on loopback that sends every datagram back to
// its sender, until the test ends.
type UDPEcho struct {
	Conn *net.UDPConn
	Port int
}

// NewUDPEcho starts one on network "udp4" (127.0.0.1) or "udp6" (::1).
func NewUDPEcho(t testing.TB, network string) *UDPEcho {
	t.Helper()
	host := "127.0.0.1"
	if network == "udp6" {
		host = "::1"
	}
	c, err := net.ListenUDP(network, &net.UDPAddr{IP: net.ParseIP(host)})
	Must(t, err)
	s := &UDPEcho{Conn: c, Port: c.LocalAddr().(*net.UDPAddr).Port}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 65535)
		for {
			n, from, err := c.ReadFromUDP(buf)
			if err != nil {
				if errors.Is(err, net.ErrClosed) {
					return
				}
				continue
			}
			_, _ = c.WriteToUDP(buf[:n], from)
		}
	}()
	t.Cleanup(func() { c.Close(); <-done })
	return s
}

// NewTLSEcho is a TLS echo server on 127.0.0.1 with cfg (PKI.ServerTLS asks
// for a client certificate from the client CA); it returns the port and
// the ConnServer holding the raw TCP connections.
func NewTLSEcho(t testing.TB, cfg *tls.Config) (*ConnServer, int) {
	s := StartConnServer(t, "tcp4", func(c net.Conn) {
		tc := tls.Server(c, cfg)
		defer tc.Close()
		if err := tc.Handshake(); err != nil {
			return
		}
		_, _ = io.Copy(tc, tc)
	})
	return s, s.Addr().(*net.TCPAddr).Port
}
