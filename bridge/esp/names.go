package esp

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"time"
)

// Name resolution: AT+CIPDOMAIN and AT+CIPDNS (docs/esp-at-surface.md
// §3.7; DOC-TCP "AT+CIPDOMAIN", "AT+CIPDNS").
//
// With AT+CIPDNS=0 (the factory setting) a board takes its DNS servers
// from the AP's DHCP; the emulator's "DHCP" is the host, so it resolves
// with the host's own resolver (/etc/hosts included). With AT+CIPDNS=1 it
// asks the first configured server over UDP/TCP port 53, as lwIP asks its
// servers in order. The same resolver serves AT+CIPSTART, AT+CIPDOMAIN and
// AT+PING.

// defaultDNS are the servers AT+CIPDNS falls back to (DOC-TCP "AT+CIPDNS":
// "restored to 208.67.222.222, 114.114.114.114 and 8.8.8.8").
var defaultDNS = []string{"208.67.222.222", "114.114.114.114", "8.8.8.8"}

// dnsConfig is AT+CIPDNS's setting, kept in flash with AT+SYSSTORE=1.
type dnsConfig struct {
	manual  bool
	servers []string // nil: defaultDNS; never changed in place
}

func (d dnsConfig) list() []string {
	if d.servers == nil {
		return defaultDNS
	}
	return d.servers
}

// resolver is the resolver AT+CIPDNS selects. The caller must not hold e.mu.
func (e *Emulator) resolver() *net.Resolver {
	e.mu.Lock()
	d := e.st.dns
	e.mu.Unlock()
	if !d.manual {
		return net.DefaultResolver
	}
	port := "53"
	if e.dnsPort != 0 {
		port = strconv.Itoa(e.dnsPort)
	}
	server := net.JoinHostPort(d.list()[0], port)
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var nd net.Dialer
		return nd.DialContext(ctx, network, server)
	}}
}

// lookup resolves host for ip network 1 (IPv4 preferred), 2 (IPv4 only) or
// 3 (IPv6 only), as AT+CIPDOMAIN numbers them. The addresses come back in
// the order the resolver gave, the preferred family first.
func (e *Emulator) lookup(ctx context.Context, host string, ipNet int64) ([]netip.Addr, error) {
	if f := e.dialFilter; f != nil {
		if err := f(host); err != nil {
			return nil, err
		}
	}
	network := [...]string{1: "ip", 2: "ip4", 3: "ip6"}[ipNet]
	ips, err := e.resolver().LookupNetIP(ctx, network, host)
	if err != nil {
		return nil, err
	}
	var v4, v6 []netip.Addr
	for _, ip := range ips {
		if ip = ip.Unmap(); ip.Is4() {
			v4 = append(v4, ip)
		} else {
			v6 = append(v6, ip)
		}
	}
	switch ipNet {
	case 2:
		v6 = nil
	case 3:
		v4 = nil
	}
	if out := append(v4, v6...); len(out) > 0 {
		return out, nil
	}
	return nil, &net.DNSError{Err: "no address of the asked family", Name: host, IsNotFound: true}
}

// cmdCIPDOMAIN is AT+CIPDOMAIN=<"domain name">[,<ip network>][,<timeout>]
// and, on the development line, [,<show_all_ip>]. It prints
// +CIPDOMAIN:"<ip>" (quoted since v2.2, esp-at-surface.md §3.7), one line
// per address with show_all_ip=1; a name that does not resolve answers
// ERROR, as the firmware does after logging "unknown host".
func cmdCIPDOMAIN(c *call) result {
	max := 3
	if c.e.opts.Firmware == FirmwareDev {
		max = 4
	}
	if n := len(c.cmd.Params); n < 1 || n > max {
		return c.paramErr("0x01060000", fmt.Sprintf("AT+CIPDOMAIN takes 1..%d parameters", max))
	}
	// The length limit is a choice: the docs give none; 253 is DNS's own.
	name, res, ok := c.quotedParam(0, 1, 253, "AT+CIPDOMAIN's domain name")
	if !ok {
		return res
	}
	ipNet, res, ok := c.optInt(1, 1, 3, 1, "AT+CIPDOMAIN's ip network")
	if !ok {
		return res
	}
	tmo, res, ok := c.optInt(2, 0, 60000, 0, "AT+CIPDOMAIN's timeout (ms)")
	if !ok {
		return res
	}
	all, res, ok := c.optInt(3, 0, 1, 0, "AT+CIPDOMAIN's show_all_ip")
	if !ok {
		return res
	}
	e := c.e
	e.mu.Lock()
	wifi := e.st.wifi
	e.mu.Unlock()
	if wifi == wifiLost {
		return c.execFail("AT+CIPDOMAIN without Wi-Fi (AT+CWJAP to join)")
	}
	// Timeout 0 "depends on the network and lwIP": lwIP gives up after
	// its DNS retries, which the network timeout stands in for.
	d := e.opts.NetworkTimeout
	if tmo > 0 {
		d = time.Duration(tmo) * time.Millisecond
	}
	ctx, cancel := context.WithTimeout(c.ctx, d)
	defer cancel()
	ips, err := e.lookup(ctx, name, ipNet)
	if c.ctx.Err() != nil {
		return resNone
	}
	if err != nil {
		return c.execFail("AT+CIPDOMAIN: " + err.Error())
	}
	if all == 0 {
		ips = ips[:1]
	}
	for _, ip := range ips {
		c.print("+CIPDOMAIN:\"" + ip.String() + "\"\r\n")
	}
	return resOK
}

// cmdCIPDNSQuery prints +CIPDNS:<enable>,"<dns1>"[,"<dns2>"][,"<dns3>"].
// With enable 0 it shows the fallback servers, as a board does before a
// DHCP lease names others (the emulator's DHCP is the host's resolver).
func cmdCIPDNSQuery(c *call) result {
	c.e.mu.Lock()
	d := c.e.st.dns
	c.e.mu.Unlock()
	s := "+CIPDNS:0"
	if d.manual {
		s = "+CIPDNS:1"
	}
	for _, srv := range d.list() {
		s += ",\"" + srv + "\""
	}
	c.print(s + "\r\n")
	return resOK
}

// cmdCIPDNSSet is AT+CIPDNS=<enable>[,<"DNS IP1">][,<"DNS IP2">][,<"DNS IP3">].
// Servers must be IP addresses and no two the same (DOC-TCP: "The three
// parameters cannot be set to the same server"); with enable 0 they "only
// work when you set <enable> to 1", so they are checked and dropped and
// the fallback list returns.
func cmdCIPDNSSet(c *call) result {
	p := c.cmd.Params
	if len(p) < 1 || len(p) > 4 {
		return c.paramErr("0x01060000", "AT+CIPDNS takes 1..4 parameters")
	}
	en, res, ok := c.reqInt(0, 0, 1, "AT+CIPDNS enable")
	if !ok {
		return res
	}
	var servers []string
	seen := map[netip.Addr]bool{}
	for i := 1; i < len(p); i++ {
		if p[i].Empty {
			continue
		}
		if !p[i].Quoted {
			return c.badType(i, "AT+CIPDNS servers must be quoted IP addresses")
		}
		ip, err := netip.ParseAddr(p[i].Value)
		if err != nil {
			return c.badValue(i, "AT+CIPDNS server "+strconv.Quote(p[i].Value)+" is not an IP address")
		}
		if seen[ip] {
			return c.execFail("AT+CIPDNS: the same server twice")
		}
		seen[ip] = true
		servers = append(servers, ip.String())
	}
	d := dnsConfig{manual: en == 1}
	if d.manual && len(servers) > 0 {
		d.servers = servers
	}
	c.e.mu.Lock()
	c.e.storeLocked(func(f *flashSettings) { f.dns = d })
	c.e.mu.Unlock()
	return resOK
}

func nameCommands(t map[string]handler) {
	t["+CIPDOMAIN"] = handler{set: cmdCIPDOMAIN}
	t["+CIPDNS"] = handler{query: cmdCIPDNSQuery, set: cmdCIPDNSSet}
	t["+PING"] = handler{set: cmdPING}
}
