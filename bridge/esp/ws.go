package esp

import (
	"bytes"
	"fmt"
	"strings"
	"time"
)

// The WebSocket command handlers (esp-at.md §2). Their range checks answer
// a plain ERROR with no ERR CODE line, as the firmware's do.

// maxWS is the buffer_size and WSSEND length limit of the firmware.
func (e *Emulator) maxWS() int64 {
	if e.opts.Firmware == FirmwareDev {
		return 16384
	}
	return 8192
}

// wsInts reads the set command's parameters as numbers, rejecting empty
// fields (the WebSocket handlers do not accept "omitted").
func (c *call) wsInts() ([]int64, bool) {
	out := make([]int64, len(c.cmd.Params))
	for i := range c.cmd.Params {
		v, ok := c.cmd.Int(i)
		if !ok {
			return nil, false
		}
		out[i] = v
	}
	return out, true
}

// cmdWSCFG: AT+WSCFG=<link>,<ping_intv>,<ping_timeout>[,<buffer_size>][,<auth_mode>,<pki>,<ca>]
// with 3, 4, 5 (auth 0) or 7 (auth 1..3) fields (esp-at.md §2.1).
func cmdWSCFG(c *call) result {
	v, ok := c.wsInts()
	n := len(v)
	if !ok || n != 3 && n != 4 && n != 5 && n != 7 {
		return c.errorf("AT+WSCFG takes 3, 4, 5 or 7 numeric fields, none empty")
	}
	id, intv, tmo := v[0], v[1], v[2]
	if id < 0 || id >= wsLinks || intv < 1 || intv > 7200 || tmo < 1 || tmo > 7200 {
		return c.errorf("AT+WSCFG link 0..2, ping interval and timeout 1..7200")
	}
	cfg := defaultWSConfig()
	cfg.pingIntv, cfg.pongTimeout = time.Duration(intv)*time.Second, time.Duration(tmo)*time.Second
	if n >= 4 {
		if v[3] < 1 || v[3] > c.e.maxWS() {
			return c.errorf(fmt.Sprintf("AT+WSCFG buffer_size must be 1..%d", c.e.maxWS()))
		}
		cfg.bufSize = int(v[3])
	}
	if n == 5 && v[4] != 0 {
		return c.errorf("AT+WSCFG with 5 fields needs auth_mode 0 (modes 1..3 need pki and ca numbers)")
	}
	if n == 7 {
		auth, pki, ca := v[4], v[5], v[6]
		if auth < 1 || auth > 3 || pki < 0 || ca < 0 {
			return c.errorf("AT+WSCFG auth_mode 1..3 with pki and ca numbers >= 0")
		}
		cfg.authMode = int(auth)
		if auth&1 != 0 {
			cert, msg, err := c.e.loadClientCert(int(pki))
			if msg != "" {
				c.print(msg)
				return c.errorf("AT+WSCFG client certificate: "+msg[:len(msg)-2], "err", err)
			}
			if err != nil {
				return c.errorf("AT+WSCFG client certificate unusable", "err", err)
			}
			cfg.clientCert = cert
		}
		if auth&2 != 0 {
			ca, err := c.e.loadCA(int(ca))
			if err != nil {
				c.print("NO CA FOUND\r\n")
				return c.errorf("AT+WSCFG CA: NO CA FOUND", "err", err)
			}
			cfg.caPEM = ca
		}
	}
	c.e.mu.Lock()
	if c.e.links[id] != nil {
		c.e.log.Warn("AT+WSCFG on an open link: stored for the next AT+WSOPEN (the firmware frees buffers the live client still uses)", "link", id)
	}
	c.e.st.wscfg[id] = &cfg
	c.e.mu.Unlock()
	return resOK
}

// cmdWSHEADSet: AT+WSHEAD=<len>; 0 clears all headers, otherwise a prompt
// for exactly len bytes of "key:value" (esp-at.md §2.2).
func cmdWSHEADSet(c *call) result {
	v, ok := c.wsInts()
	if !ok || len(v) != 1 || v[0] < 0 {
		return c.errorf("AT+WSHEAD takes one length >= 0")
	}
	if v[0] == 0 {
		c.e.mu.Lock()
		c.e.st.headers = nil
		c.e.mu.Unlock()
		return resOK
	}
	if v[0] > 1<<20 {
		// The firmware's limit is its heap; the emulator's is 1 MiB.
		return c.errorf("AT+WSHEAD length larger than the emulated heap (1 MiB)")
	}
	data := c.readPrompt(int(v[0]))
	if data == nil {
		return resNone
	}
	switch {
	case bytes.IndexByte(data, 0) >= 0:
		return c.errorf("AT+WSHEAD data contains a NUL byte")
	case bytes.HasSuffix(data, []byte("\r\n")):
		return c.errorf("req header shouldn't contain CR-LF")
	case bytes.IndexByte(data, ':') < 0:
		return c.errorf("AT+WSHEAD data has no ':'")
	}
	k, val, _ := strings.Cut(string(data), ":")
	c.e.mu.Lock()
	c.e.st.headers = append([]wsHeader{{k, val}}, c.e.st.headers...)
	c.e.mu.Unlock()
	return resOK
}

func cmdWSHEADQuery(c *call) result {
	c.e.mu.Lock()
	hs := c.e.st.headers
	c.e.mu.Unlock()
	var b strings.Builder
	for i, h := range hs {
		fmt.Fprintf(&b, "+WSHEAD:%d,\"%s:%s\"\r\n", i, h.key, h.value)
	}
	if b.Len() > 0 {
		c.print(b.String())
	}
	return resOK
}

// cmdWSOPENSet: AT+WSOPEN=<link>,"uri"[,"subprotocol"][,<timeout_ms>][,"auth"]
// (esp-at.md §2.3). +WS_CONNECTED (or +WS_DISCONNECTED) is printed by the
// link before this handler prints OK (or ERROR).
func cmdWSOPENSet(c *call) result {
	p := c.cmd.Params
	if len(p) < 2 || len(p) > 5 {
		return c.errorf("AT+WSOPEN takes 2..5 parameters")
	}
	id, ok := p[0].Int()
	if !ok || id < 0 || id >= wsLinks {
		return c.errorf("AT+WSOPEN link must be 0..2")
	}
	if !p[1].Quoted || p[1].Value == "" {
		return c.errorf("AT+WSOPEN uri must be a quoted, non-empty string")
	}
	u, err := parseWSURI(p[1].Value)
	if err != nil {
		return c.errorf("AT+WSOPEN uri rejected", "err", err)
	}
	d := wsDial{u: u}
	if len(p) > 2 && !p[2].Empty {
		if !p[2].Quoted {
			return c.errorf("AT+WSOPEN subprotocol must be quoted")
		}
		d.subprotocol = p[2].Value
	}
	timeout := 15000 * time.Millisecond
	if len(p) > 3 {
		t, ok := p[3].Int()
		if !ok || t < 1 || t > 180000 {
			return c.errorf("AT+WSOPEN timeout must be 1..180000 (0 and empty are rejected)")
		}
		timeout = time.Duration(t) * time.Millisecond
	}
	if len(p) > 4 && !p[4].Empty {
		if !p[4].Quoted {
			return c.errorf("AT+WSOPEN auth must be quoted")
		}
		if strings.HasSuffix(p[4].Value, "\r\n") {
			return c.errorf("AT+WSOPEN auth ends in CR-LF")
		}
		d.auth = p[4].Value
	}
	e := c.e
	e.mu.Lock()
	if e.links[id] != nil {
		e.mu.Unlock()
		return c.errorf(fmt.Sprintf("ws:%d already established", id))
	}
	if c.ctx.Err() != nil {
		e.mu.Unlock()
		return resNone
	}
	cfg := defaultWSConfig()
	if e.st.wscfg[id] != nil {
		cfg = *e.st.wscfg[id]
	}
	for _, h := range e.st.headers {
		d.headers = append(d.headers, h.key+": "+h.value)
	}
	if u.Scheme == "wss" {
		tc, err := cfg.tlsConfig()
		if err != nil {
			e.mu.Unlock()
			return c.errorf("AT+WSOPEN TLS configuration", "err", err)
		}
		d.tls = tc
	}
	l := e.startLink(c.ctx, c.gen, int(id), p[1].Value, d, cfg)
	e.links[id] = l
	e.mu.Unlock()

	tm := time.NewTimer(timeout)
	defer tm.Stop()
	select {
	case ev := <-l.events:
		if ev == evConnected {
			return resOK
		}
		c.e.log.Info("AT+WSOPEN failed: link freed", "link", id)
	case <-tm.C:
		c.e.log.Info("AT+WSOPEN timed out: link freed", "link", id, "timeout", timeout)
	case <-c.ctx.Done():
	}
	e.mu.Lock()
	if e.links[id] == l {
		e.links[id] = nil
		e.st.wscfg[id] = nil
	}
	e.mu.Unlock()
	l.stop()
	if c.ctx.Err() != nil {
		return resNone
	}
	return resError
}

// cmdWSOPENQuery lists allocated links in one write.
func cmdWSOPENQuery(c *call) result {
	c.e.mu.Lock()
	ls := c.e.links
	c.e.mu.Unlock()
	var b strings.Builder
	for _, l := range ls {
		if l != nil {
			fmt.Fprintf(&b, "+WSOPEN:%d,%d,\"%s\"\r\n", l.id, l.getState(), l.uri)
		}
	}
	if b.Len() > 0 {
		c.print(b.String())
	}
	return resOK
}

// cmdWSSEND: AT+WSSEND=<link>,<length>[,<opcode>][,<timeout_ms>][,<fin>]
// (fin on dev only) (esp-at.md §2.4).
func cmdWSSEND(c *call) result {
	v, ok := c.wsInts()
	maxN := 4
	if c.e.opts.Firmware == FirmwareDev {
		maxN = 5
	}
	if !ok || len(v) < 2 || len(v) > maxN {
		return c.errorf(fmt.Sprintf("AT+WSSEND takes 2..%d numeric fields, none empty", maxN))
	}
	id, n := v[0], v[1]
	op, tmo, fin := int64(1), int64(10000), int64(1)
	if len(v) > 2 {
		op = v[2]
	}
	if len(v) > 3 {
		tmo = v[3]
	}
	if len(v) > 4 {
		fin = v[4]
	}
	if id < 0 || id >= wsLinks || n < 0 || n > c.e.maxWS() || op < 0 || op > 15 || tmo < 0 || tmo > 60000 || fin < 0 || fin > 1 {
		return c.errorf("AT+WSSEND parameter out of range")
	}
	c.e.mu.Lock()
	l := c.e.links[id]
	c.e.mu.Unlock()
	if l == nil {
		return c.errorf(fmt.Sprintf("no ws: %d", id))
	}
	var data []byte
	switch {
	case n > 0:
		data = c.readPrompt(int(n))
		if data == nil {
			return resNone
		}
	case c.e.opts.Firmware == FirmwareRelease:
		// v5.0.1 has no zero-length case: it prompts and blocks until some
		// byte arrives; that byte is excess input (busy p...) and an empty
		// frame is sent. Choice: the emulator waits for one byte the same way.
		if c.readPrompt(1) == nil {
			return resNone
		}
		c.e.busyInput([]byte{0})
	}
	timeout := time.Duration(tmo) * time.Millisecond
	if err := l.send(uint8(op), fin == 1, c.e.opts.Firmware == FirmwareDev, data, timeout); err != nil {
		return c.errorf("AT+WSSEND failed", "link", id, "err", err)
	}
	return resSendOK
}

// cmdWSDATAFMT: AT+WSDATAFMT=<link>,[<level>],[<mask>] with exactly 3
// fields (dev firmware only; esp-at.md §2.5).
func cmdWSDATAFMT(c *call) result {
	p := c.cmd.Params
	if len(p) != 3 {
		return c.errorf("AT+WSDATAFMT needs exactly 3 fields (e.g. AT+WSDATAFMT=0,2,)")
	}
	id, ok := p[0].Int()
	if !ok || id < 0 || id >= wsLinks {
		return c.errorf("AT+WSDATAFMT link must be 0..2")
	}
	f := dataFmt{level: 0, mask: 48}
	if !p[1].Empty {
		lv, ok := p[1].Int()
		if !ok || lv < 0 || lv > 2 {
			return c.errorf("AT+WSDATAFMT level must be 0..2")
		}
		f.level = int(lv)
	}
	if !p[2].Empty {
		m, ok := p[2].Int()
		if !ok || m < 1 || m > 63 {
			return c.errorf("AT+WSDATAFMT mask must be 1..63")
		}
		f.mask = int(m)
	}
	c.e.mu.Lock()
	c.e.st.datafmt[id] = f
	c.e.mu.Unlock()
	return resOK
}

// cmdWSCLOSE drops the link without a closing handshake and frees its
// WSCFG; always OK, never a URC (esp-at.md §2.6).
func cmdWSCLOSE(c *call) result {
	v, ok := c.wsInts()
	if !ok || len(v) != 1 || v[0] < 0 || v[0] >= wsLinks {
		return c.errorf("AT+WSCLOSE takes one link id 0..2")
	}
	id := v[0]
	c.e.mu.Lock()
	l := c.e.links[id]
	c.e.links[id] = nil
	c.e.st.wscfg[id] = nil
	c.e.mu.Unlock()
	if l != nil {
		l.stop()
		c.e.log.Info("AT+WSCLOSE: TCP dropped without a close handshake", "link", id)
	}
	return resOK
}

// wsCommands adds the WebSocket commands (DOC-WS) of firmware fw to t:
// AT+WSDATAFMT is only on the development line.
func wsCommands(t map[string]handler, fw Firmware) {
	t["+WSCFG"] = handler{set: cmdWSCFG}
	t["+WSHEAD"] = handler{query: cmdWSHEADQuery, set: cmdWSHEADSet}
	t["+WSOPEN"] = handler{query: cmdWSOPENQuery, set: cmdWSOPENSet}
	t["+WSSEND"] = handler{set: cmdWSSEND}
	t["+WSCLOSE"] = handler{set: cmdWSCLOSE}
	if fw == FirmwareDev {
		t["+WSDATAFMT"] = handler{set: cmdWSDATAFMT}
	}
}
