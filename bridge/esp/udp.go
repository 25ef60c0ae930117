package esp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
)

// UDP links of AT+CIPSTART="UDP" (docs/esp-at-surface.md §3.2): one +IPD
// per datagram, and the remote that AT+CIPSTART's <mode> lets change.

// udpMaxDatagram is the largest datagram read at once.
const udpMaxDatagram = 65535

// udpConn is the UDP side of a tcpLink.
type udpConn struct {
	pc        *net.UDPConn
	connected bool // mode 0 without a local port: a connected socket
	mode      int  // 0 remote fixed, 1 changes once, 2 follows every sender
	mu        sync.Mutex
	remote    *net.UDPAddr
	changed   bool // mode 1: the remote changed already
}

// dialUDP opens l's socket: connected for mode 0, bound to the local port
// (if any) and unconnected for modes 1 and 2, so that other senders are
// heard.
func (e *Emulator) dialUDP(ctx context.Context, l *tcpLink, r *startReq, addr string) error {
	if f := e.dialFilter; f != nil {
		if err := f(addr); err != nil {
			return err
		}
	}
	network := "udp4"
	if r.v6 {
		network = "udp6"
	}
	ipNet := "ip4"
	if r.v6 {
		ipNet = "ip6"
	}
	ips, err := e.resolver().LookupNetIP(ctx, ipNet, r.host)
	if err != nil {
		return err
	}
	if len(ips) == 0 {
		return &net.DNSError{Err: "no address", Name: r.host, IsNotFound: true}
	}
	raddr := &net.UDPAddr{IP: net.IP(ips[0].Unmap().AsSlice()), Port: r.port}
	laddr := &net.UDPAddr{IP: localAddr(r.localIP), Port: r.localPort}
	u := &udpConn{mode: r.udpMode, remote: raddr}
	if r.udpMode == 0 {
		u.pc, err = net.DialUDP(network, laddr, raddr)
		u.connected = true
	} else {
		u.pc, err = net.ListenUDP(network, laddr)
	}
	if err != nil {
		return err
	}
	l.udp, l.conn = u, u.pc
	l.remote = &net.TCPAddr{IP: raddr.IP, Port: raddr.Port}
	l.local = u.pc.LocalAddr().(*net.UDPAddr).Port
	return nil
}

// peer is where the link sends and what +IPD and AT+CIPSTATUS show.
func (l *tcpLink) peer() *net.TCPAddr {
	if l.udp == nil {
		return l.remote
	}
	l.udp.mu.Lock()
	defer l.udp.mu.Unlock()
	return &net.TCPAddr{IP: l.udp.remote.IP, Port: l.udp.remote.Port}
}

// sendUDP sends one datagram to the remote, or to to when set (AT+CIPSEND's
// remote host and port, for this send only).
func (l *tcpLink) sendUDP(p []byte, to *net.UDPAddr) error {
	u := l.udp
	if to == nil && u.connected {
		_, err := u.pc.Write(p)
		return err
	}
	if to == nil {
		u.mu.Lock()
		to = u.remote
		u.mu.Unlock()
	}
	if u.connected {
		return errors.New("a connected UDP socket (mode 0) sends only to its remote")
	}
	_, err := u.pc.WriteToUDP(p, to)
	return err
}

// runUDP reads datagrams until the link is closed, one deliver each. An
// error from an ICMP "port unreachable" is not an end: UDP links close
// only with AT+CIPCLOSE or a reboot.
func (l *tcpLink) runUDP() {
	u := l.udp
	buf := make([]byte, udpMaxDatagram)
	for {
		n, from, err := u.pc.ReadFromUDP(buf)
		if err != nil {
			if l.closing.Load() || errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		if !u.connected {
			u.mu.Lock()
			same := from.IP.Equal(u.remote.IP) && from.Port == u.remote.Port
			switch {
			case same:
			case u.mode == 2 || (u.mode == 1 && !u.changed):
				u.remote, u.changed = from, true
			default:
				u.mu.Unlock()
				l.e.log.Info("UDP datagram from another sender dropped (mode 1 changed its remote already)", "link", l.id, "from", from.String())
				continue
			}
			u.mu.Unlock()
		}
		l.deliver(append([]byte(nil), buf[:n]...))
	}
}

// udpTarget parses AT+CIPSEND's optional "remote host",<remote port>.
func udpTarget(host string, port int64) (*net.UDPAddr, error) {
	if port < 1 || port > 65535 {
		return nil, errors.New("remote port must be 1..65535")
	}
	return net.ResolveUDPAddr("udp", net.JoinHostPort(host, strconv.FormatInt(port, 10)))
}

// sendArgs parses AT+CIPSEND's (and AT+CIPSENDEX's) fields:
// [<link>,]<len>[,"remote host",<remote port>], the remote only for a UDP
// link (a TCP or SSL link answers ERROR: a choice, the docs give the
// fields for UDP only).
func (c *call) sendArgs(name string, max int) (l *tcpLink, n int, to *net.UDPAddr, res result, ok bool) {
	p := c.cmd.Params
	c.e.mu.Lock()
	mux, links := c.e.st.tcp.mux, c.e.tcp
	c.e.mu.Unlock()
	id := int64(0)
	if mux {
		v, ok := c.cmd.Int(0)
		if !ok || v < 0 || v >= tcpLinks {
			return nil, 0, nil, c.paramErr("0x01070000", name+" under AT+CIPMUX=1 takes <link 0..4>,<len>"), false
		}
		id, p = v, p[1:]
	}
	if len(p) != 1 && len(p) != 3 {
		return nil, 0, nil, c.paramErr("0x01060000", name+" takes [<link>,]<len>[,\"remote host\",<remote port>]"), false
	}
	v, ok := p[0].Int()
	if !ok || v < 1 || v > int64(max) {
		return nil, 0, nil, c.paramErr("0x01070000", fmt.Sprintf("%s length must be 1..%d", name, max)), false
	}
	l = links[id]
	if l == nil {
		return nil, 0, nil, c.errorf(name + ": link is not connected"), false
	}
	if len(p) == 3 {
		port, pok := p[2].Int()
		if l.udp == nil || !p[1].Quoted || !pok {
			return nil, 0, nil, c.paramErr("0x01070000", name+": a remote host and port are for UDP links only, \"host\",<port>"), false
		}
		var err error
		if to, err = udpTarget(p[1].Value, port); err != nil {
			return nil, 0, nil, c.errorf(name+": remote", "err", err), false
		}
	}
	return l, int(v), to, resOK, true
}

// sendTo is send, to a UDP link's other remote when to is set.
func (l *tcpLink) sendTo(p []byte, to *net.UDPAddr) error {
	if to != nil && l.udp != nil {
		return l.sendUDP(p, to)
	}
	return l.send(p)
}
