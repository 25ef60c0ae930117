package esp

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"os"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// AT+PING=<"host"> (docs/esp-at-surface.md §3.7; DOC-TCP "AT+PING"):
// +PING:<ms> then OK, or +PING:TIMEOUT then ERROR when the name does not
// resolve or no reply comes.
//
// The emulator sends one real ICMP echo request, as the firmware's
// esp_ping session does, and waits pingTimeout for the reply. It tries, in
// order: an unprivileged ICMP socket (Linux allows one when the user's
// group is in net.ipv4.ping_group_range; macOS always), a raw ICMP socket
// (root or CAP_NET_RAW), and, when the system allows neither, a documented
// fallback: the time a TCP handshake to port 80 takes, a refusal counting
// as a reply (the host is there and answered). The method is logged once.

// pingTimeout is how long one echo waits for its reply: ESP-IDF's
// ESP_PING_DEFAULT_CONFIG timeout_ms (ping_sock.h), which the AT core's
// ping starts from (a choice: the AT docs give no figure).
const pingTimeout = time.Second

// pingMethod says how AT+PING reaches the host.
type pingMethod int

const (
	pingAuto    pingMethod = iota // the first of the methods below the system allows
	pingDgram                     // unprivileged ICMP ("udp4"/"udp6")
	pingRaw                       // raw ICMP ("ip4:icmp"/"ip6:ipv6-icmp")
	pingTCPOnly                   // a TCP handshake to port 80
)

func (m pingMethod) String() string {
	return [...]string{"auto", "unprivileged ICMP", "raw ICMP", "TCP connect to port 80 (no ICMP socket allowed)"}[m]
}

// pingSeq numbers echo requests across every emulator in the process, so
// that replies seen on a shared raw socket are told apart.
var pingSeq atomic.Uint32

var errNoICMP = errors.New("no ICMP socket allowed")

func cmdPING(c *call) result {
	if len(c.cmd.Params) != 1 {
		return c.paramErr("0x01060000", "AT+PING takes one parameter: the host")
	}
	// 64 bytes, as AT+CIPSTART's <"remote host"> (a choice: the docs give
	// no limit for AT+PING).
	host, res, ok := c.quotedParam(0, 1, 64, "AT+PING's host")
	if !ok {
		return res
	}
	e := c.e
	e.mu.Lock()
	wifi, v6, via := e.st.wifi, e.st.tcp.v6, e.pingVia
	e.mu.Unlock()
	timedOut := func(why string, args ...any) result {
		c.print("+PING:TIMEOUT\r\n")
		return c.errorf("AT+PING: "+why, args...)
	}
	if wifi == wifiLost {
		return timedOut("no Wi-Fi (AT+CWJAP to join)")
	}
	// "ping will first resolve the domain name (IPv4 address preferred)";
	// IPv6 needs AT+CIPV6=1 (DOC-TCP "AT+PING" notes).
	ipNet := int64(2)
	if v6 {
		ipNet = 1
	}
	ctx, cancel := context.WithTimeout(c.ctx, e.opts.NetworkTimeout)
	ips, err := e.lookup(ctx, host, ipNet)
	cancel()
	if c.ctx.Err() != nil {
		return resNone
	}
	if err != nil {
		return timedOut("the host does not resolve", "host", host, "err", err)
	}
	rtt, used, err := ping(c.ctx, ips[0], via)
	if c.ctx.Err() != nil {
		return resNone
	}
	if pingMethod(e.pingLogged.Swap(int32(used))) != used {
		e.log.Info("AT+PING goes through "+used.String(), "host", host)
	}
	if err != nil {
		return timedOut("no reply", "host", host, "ip", ips[0], "err", err)
	}
	// Whole milliseconds, rounded up: a reply within the first millisecond
	// prints 1, since hosts read 0 as "no answer" (a choice).
	c.print(fmt.Sprintf("+PING:%d\r\n", int64(math.Ceil(float64(rtt)/float64(time.Millisecond)))))
	return resOK
}

// ping measures one round trip to ip by the method asked, or by the first
// the system allows; it reports the method it used.
func ping(ctx context.Context, ip netip.Addr, via pingMethod) (time.Duration, pingMethod, error) {
	for _, m := range []pingMethod{pingDgram, pingRaw} {
		if via != pingAuto && via != m {
			continue
		}
		rtt, err := pingICMP(ctx, ip, m)
		if !errors.Is(err, errNoICMP) {
			return rtt, m, err
		}
	}
	rtt, err := pingTCP(ctx, ip)
	return rtt, pingTCPOnly, err
}

// pingICMP sends one echo request through an ICMP socket and waits for the
// matching reply. It returns errNoICMP when the system refuses the socket.
func pingICMP(ctx context.Context, ip netip.Addr, m pingMethod) (time.Duration, error) {
	network, proto, echo, reply := "udp4", 1, icmp.Type(ipv4.ICMPTypeEcho), icmp.Type(ipv4.ICMPTypeEchoReply)
	listen := "0.0.0.0"
	if ip.Is6() {
		network, proto, echo, reply, listen = "udp6", 58, ipv6.ICMPTypeEchoRequest, ipv6.ICMPTypeEchoReply, "::"
	}
	if m == pingRaw {
		network = map[string]string{"udp4": "ip4:icmp", "udp6": "ip6:ipv6-icmp"}[network]
	}
	conn, err := icmp.ListenPacket(network, listen)
	if err != nil {
		if errors.Is(err, os.ErrPermission) || errors.Is(err, syscall.EPROTONOSUPPORT) || errors.Is(err, syscall.EACCES) {
			return 0, fmt.Errorf("%w: %v", errNoICMP, err)
		}
		return 0, err
	}
	defer conn.Close()
	tag := make([]byte, 16)
	_, _ = rand.Read(tag)
	seq := int(pingSeq.Add(1) & 0xffff)
	id := os.Getpid() & 0xffff // the kernel replaces it on an unprivileged socket
	msg := icmp.Message{Type: echo, Body: &icmp.Echo{ID: id, Seq: seq, Data: tag}}
	b, err := msg.Marshal(nil)
	if err != nil {
		return 0, err
	}
	var dst net.Addr = &net.UDPAddr{IP: ip.AsSlice(), Zone: ip.Zone()}
	if m == pingRaw {
		dst = &net.IPAddr{IP: ip.AsSlice(), Zone: ip.Zone()}
	}
	deadline := time.Now().Add(pingTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	_ = conn.SetReadDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = conn.SetReadDeadline(time.Now()) })
	defer stop()
	start := time.Now()
	if _, err := conn.WriteTo(b, dst); err != nil {
		return 0, err
	}
	buf := make([]byte, 1500)
	for {
		n, _, err := conn.ReadFrom(buf)
		if err != nil {
			return 0, err
		}
		got, err := icmp.ParseMessage(proto, buf[:n])
		if err != nil || got.Type != reply {
			continue // our own request on loopback, or another host's traffic
		}
		if e, ok := got.Body.(*icmp.Echo); ok && e.Seq == seq && bytes.Equal(e.Data, tag) {
			return time.Since(start), nil
		}
	}
}

// pingTCP is the fallback: the time of a TCP handshake to port 80, or of
// its refusal; a timeout or an unreachable network counts as no reply.
func pingTCP(ctx context.Context, ip netip.Addr) (time.Duration, error) {
	d := net.Dialer{Timeout: pingTimeout}
	start := time.Now()
	conn, err := d.DialContext(ctx, "tcp", netip.AddrPortFrom(ip, 80).String())
	rtt := time.Since(start)
	if err == nil {
		_ = conn.Close()
		return rtt, nil
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		return rtt, nil
	}
	return 0, err
}
