package esp

import (
	"fmt"
	"net/netip"
	"strings"
)

// Addresses of the two interfaces. The station's comes from the emulated
// AP's DHCP (fakeIP) unless AT+CIPSTA set a static one; the softAP's is
// ESP-AT's default 192.168.4.1/24 unless AT+CIPAP changed it. Nothing is
// bound to them: links go out through the host's own network.
const (
	softAPIP        = "192.168.4.1"
	defaultNetmask  = "255.255.255.0"
	defaultHostname = "espressif" // ESP-IDF's CONFIG_LWIP_LOCAL_HOSTNAME default
	noIP            = "0.0.0.0"
)

// netConfig is an interface's IPv4 configuration.
type netConfig struct {
	static               bool // set by AT+CIPSTA (the softAP's is always static)
	ip, gateway, netmask string
}

// staAddr returns the station's address as the netif has it: static if
// set, the DHCP lease while joined, 0.0.0.0 otherwise (esp-at-surface.md
// §10.6). Called with e.mu held.
func (e *Emulator) staAddrLocked() netConfig {
	switch {
	case e.st.staNet.static:
		return e.st.staNet
	case e.st.wifi == wifiGotIP:
		return netConfig{ip: fakeIP, gateway: fakeGateway, netmask: defaultNetmask}
	}
	return netConfig{ip: noIP, gateway: noIP, netmask: noIP}
}

// cmdNetQuery prints AT+CIPSTA? or AT+CIPAP? in LIB-IP's
// `%s:ip:"%d.%d.%d.%d"` form: ip, gateway and netmask lines (no IPv6 ones:
// the emulator has no AT+CIPV6).
func cmdNetQuery(ap bool) func(*call) result {
	return func(c *call) result {
		c.e.mu.Lock()
		n := c.e.staAddrLocked()
		if ap {
			n = c.e.st.apNet
		}
		c.e.mu.Unlock()
		c.print(fmt.Sprintf("%[1]s:ip:\"%[2]s\"\r\n%[1]s:gateway:\"%[3]s\"\r\n%[1]s:netmask:\"%[4]s\"\r\n", c.cmd.Name, n.ip, n.gateway, n.netmask))
		return resOK
	}
}

// ipv4Param reads parameter i as a quoted dotted IPv4 address.
func (c *call) ipv4Param(i int, what string) (netip.Addr, result, bool) {
	p, _ := c.cmd.Param(i)
	if !p.Quoted {
		return netip.Addr{}, c.badType(i, what+" must be a quoted IPv4 address"), false
	}
	a, err := netip.ParseAddr(p.Value)
	if err != nil || !a.Is4() {
		return netip.Addr{}, c.badValue(i, what+" is not an IPv4 address"), false
	}
	return a, resOK, true
}

// cmdNetSet parses AT+CIPSTA or AT+CIPAP=<"ip">[,<"gateway">,<"netmask">]
// and saves it with AT+SYSSTORE=1. A static address turns that interface's
// DHCP off (Wi-Fi_AT_Commands.rst AT+CWDHCP Notes: "the last configuration
// overwrites the previous"). With the ip alone the gateway is the .1 of
// its /24 and the netmask 255.255.255.0 (a choice: the docs are silent).
func cmdNetSet(ap bool) func(*call) result {
	return func(c *call) result {
		p := c.cmd.Params
		if len(p) != 1 && len(p) != 3 {
			return c.paramErr("0x01060000", c.cmd.Name+" takes <ip> or <ip>,<gateway>,<netmask>")
		}
		ip, res, ok := c.ipv4Param(0, "ip")
		if !ok {
			return res
		}
		b := ip.As4()
		n := netConfig{static: true, ip: ip.String(), gateway: fmt.Sprintf("%d.%d.%d.1", b[0], b[1], b[2]), netmask: defaultNetmask}
		if len(p) == 3 {
			gw, res, ok := c.ipv4Param(1, "gateway")
			if !ok {
				return res
			}
			nm, res, ok := c.ipv4Param(2, "netmask")
			if !ok {
				return res
			}
			n.gateway, n.netmask = gw.String(), nm.String()
		}
		c.e.mu.Lock()
		c.e.storeLocked(func(f *flashSettings) {
			if ap {
				f.apNet, f.dhcp = n, f.dhcp&^2
			} else {
				f.staNet, f.dhcp = n, f.dhcp&^1
			}
		})
		c.e.mu.Unlock()
		return resOK
	}
}

// cmdMACQuery prints LIB-IP's `%s:"%02x:..."`.
func cmdMACQuery(ap bool) func(*call) result {
	return func(c *call) result {
		c.e.mu.Lock()
		m := c.e.st.staMAC
		if ap {
			m = c.e.st.apMAC
		}
		c.e.mu.Unlock()
		c.print(fmt.Sprintf("%s:\"%s\"\r\n", c.cmd.Name, m))
		return resOK
	}
}

// cmdMACSet parses AT+CIPSTAMAC or AT+CIPAPMAC=<"mac"> and saves it with
// AT+SYSSTORE=1. Refused, as the docs say: bit 0 of the first byte set
// (multicast), all-00 and all-FF, and the other interface's MAC.
func cmdMACSet(ap bool) func(*call) result {
	return func(c *call) result {
		if len(c.cmd.Params) != 1 {
			return c.paramErr("0x01060000", c.cmd.Name+" takes 1 parameter")
		}
		p := c.cmd.Params[0]
		if !p.Quoted {
			return c.badType(0, c.cmd.Name+" mac must be a quoted string")
		}
		m, ok := parseMAC(p.Value)
		if !ok || m[0]&1 != 0 || m == (mac{}) || m == (mac{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}) {
			return c.badValue(0, c.cmd.Name+" mac is malformed, multicast, all-00 or all-FF")
		}
		c.e.mu.Lock()
		other := c.e.st.apMAC
		if ap {
			other = c.e.st.staMAC
		}
		clash := m == other
		if !clash {
			c.e.storeLocked(func(f *flashSettings) {
				if ap {
					f.apMAC = m
				} else {
					f.staMAC = m
				}
			})
		}
		c.e.mu.Unlock()
		if clash {
			return c.badValue(0, c.cmd.Name+" mac is the other interface's")
		}
		return resOK
	}
}

func cmdCWDHCPQuery(c *call) result {
	c.e.mu.Lock()
	v := c.e.st.dhcp
	c.e.mu.Unlock()
	c.print(fmt.Sprintf("+CWDHCP:%d\r\n", v))
	return resOK
}

// cmdCWDHCPSet parses AT+CWDHCP=<operate 0|1>,<mode bits 1..3> and saves
// it with AT+SYSSTORE=1; enabling the station's DHCP drops its static
// address (bit 2, Ethernet, is not in the ESP32 default build).
func cmdCWDHCPSet(c *call) result {
	v, ok := c.intParams(2)
	if !ok {
		if len(c.cmd.Params) != 2 {
			return c.paramErr("0x01060000", "AT+CWDHCP takes <operate>,<mode>")
		}
		return c.badType(0, "AT+CWDHCP takes numbers")
	}
	if v[0] < 0 || v[0] > 1 {
		return c.badValue(0, "AT+CWDHCP operate must be 0 or 1")
	}
	if v[1] < 0 || v[1] > 3 {
		return c.badValue(1, "AT+CWDHCP mode must be 0..3")
	}
	c.e.mu.Lock()
	c.e.storeLocked(func(f *flashSettings) {
		if v[0] == 0 {
			f.dhcp &^= v[1]
			return
		}
		f.dhcp |= v[1]
		if v[1]&1 != 0 {
			f.staNet = netConfig{}
		}
	})
	c.e.mu.Unlock()
	return resOK
}

// cmdCWHOSTNAMEQuery prints the name unquoted (LIB-WIFI `%s:%s`).
func cmdCWHOSTNAMEQuery(c *call) result {
	c.e.mu.Lock()
	h := c.e.st.hostname
	c.e.mu.Unlock()
	c.print("+CWHOSTNAME:" + h + "\r\n")
	return resOK
}

// cmdCWHOSTNAMESet parses AT+CWHOSTNAME=<"hostname"> (1..32 bytes). It
// answers ERROR without station mode, and the name is never saved
// (Wi-Fi_AT_Commands.rst AT+CWHOSTNAME).
func cmdCWHOSTNAMESet(c *call) result {
	if len(c.cmd.Params) != 1 {
		return c.paramErr("0x01060000", "AT+CWHOSTNAME takes 1 parameter")
	}
	h, res, ok := c.quotedParam(0, 1, 32, "AT+CWHOSTNAME hostname")
	if !ok {
		return res
	}
	c.e.mu.Lock()
	mode := c.e.st.cwmode
	if mode == 1 || mode == 3 {
		c.e.st.hostname = h
	}
	c.e.mu.Unlock()
	if mode != 1 && mode != 3 {
		return c.execFail("AT+CWHOSTNAME needs station mode")
	}
	return resOK
}

// cmdCIFSR lists the interfaces that are up in LIB-IP's order: the softAP
// in modes 2 and 3, the station in modes 1 and 3 (esp-at-surface.md §3.7).
func cmdCIFSR(c *call) result {
	c.e.mu.Lock()
	mode, sta, ap := c.e.st.cwmode, c.e.staAddrLocked(), c.e.st.apNet
	staMAC, apMAC := c.e.st.staMAC, c.e.st.apMAC
	c.e.mu.Unlock()
	var b strings.Builder
	if softAPOn(mode) {
		fmt.Fprintf(&b, "+CIFSR:APIP,\"%s\"\r\n+CIFSR:APMAC,\"%s\"\r\n", ap.ip, apMAC)
	}
	if mode == 1 || mode == 3 {
		fmt.Fprintf(&b, "+CIFSR:STAIP,\"%s\"\r\n+CIFSR:STAMAC,\"%s\"\r\n", sta.ip, staMAC)
	}
	if b.Len() > 0 {
		c.print(b.String())
	}
	return resOK
}
