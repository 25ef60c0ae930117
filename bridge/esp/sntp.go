package esp

import (
	"fmt"
	"time"
)

// sntpConfig is AT+CIPSNTPCFG's state. The emulator does not query NTP
// servers: "synchronising" adopts the host clock.
type sntpConfig struct {
	enable  bool
	tz      int64         // as the query prints it: whole hours (parseTimezone)
	offset  time.Duration // east of UTC
	servers []string
	synced  bool
	// AT+CIPSNTPINTV, seconds: ESP-IDF's CONFIG_LWIP_SNTP_UPDATE_DELAY
	// default of one hour (a choice: the AT docs give no default).
	interval int64
	// AT+SYSTIMESTAMP=<t> set the clock to t at the host time setAt;
	// an SNTP update replaces it ("It will be the same as SNTP time when
	// the SNTP time is updated", DOC-BASIC).
	setTo, setAt time.Time
}

// timeUpdatedDelay is how long after AT+CIPSNTPCFG=1 the emulator prints
// +TIME_UPDATED, standing in for the first NTP round trip.
const timeUpdatedDelay = 100 * time.Millisecond

var defaultSNTPServers = []string{"cn.ntp.org.cn", "ntp.sjtu.edu.cn", "us.pool.ntp.org"}

func defaultSNTP() sntpConfig {
	return sntpConfig{servers: append([]string(nil), defaultSNTPServers...), interval: 3600}
}

// clock is the board's UTC time: the host's once SNTP has synced, else
// what AT+SYSTIMESTAMP set plus the time since, else the epoch plus the
// time since boot (the RTC starts at 0).
func (e *Emulator) clock() time.Time {
	e.mu.Lock()
	cfg := e.st.sntp
	e.mu.Unlock()
	switch {
	case cfg.synced:
		return e.opts.Now().UTC()
	case !cfg.setAt.IsZero():
		return cfg.setTo.Add(e.opts.Now().Sub(cfg.setAt))
	}
	return time.Unix(0, 0).UTC().Add(e.uptime())
}

// parseTimezone reads AT+CIPSNTPCFG's <timezone> as TCP-IP_AT_Commands.rst
// describes it: the number is read with leading zeros ignored; -12..14 is
// whole hours, anything else is the UTC offset [+|-][hh]mm with hh within
// -12..14 and mm within 0..59 (so 15 is UTC+00:15, 530 UTC+05:30, -1230
// UTC-12:30). It returns the offset and the value the query prints: the
// whole hours, as in the doc's example where 015 is read back as 0.
func parseTimezone(v int64) (time.Duration, int64, bool) {
	if v >= -12 && v <= 14 {
		return time.Duration(v) * time.Hour, v, true
	}
	a := v
	if a < 0 {
		a = -a
	}
	h, m := a/100, a%100
	if m >= 60 || v < 0 && h > 12 || v > 0 && h > 14 {
		return 0, 0, false
	}
	d := time.Duration(h)*time.Hour + time.Duration(m)*time.Minute
	if v < 0 {
		d, h = -d, -h
	}
	return d, h, true
}

// cmdSNTPCFGSet parses AT+CIPSNTPCFG=<enable>[,<timezone>][,"srv1"...]. With
// enable=1, +TIME_UPDATED follows after timeUpdatedDelay.
func cmdSNTPCFGSet(c *call) result {
	p := c.cmd.Params
	if len(p) < 1 || len(p) > 5 {
		return c.paramErr("0x01060000", "AT+CIPSNTPCFG takes 1..5 parameters")
	}
	en, ok := p[0].Int()
	if !ok || en < 0 || en > 1 {
		return c.badValue(0, "AT+CIPSNTPCFG enable must be 0 or 1")
	}
	cfg := defaultSNTP()
	cfg.enable = en == 1
	c.e.mu.Lock()
	cfg.interval, cfg.setTo, cfg.setAt = c.e.st.sntp.interval, c.e.st.sntp.setTo, c.e.st.sntp.setAt
	c.e.mu.Unlock()
	if len(p) > 1 && !p[1].Empty {
		if p[1].Quoted {
			return c.badType(1, "AT+CIPSNTPCFG timezone must be a number")
		}
		v, ok := p[1].Int()
		if !ok {
			return c.badType(1, "AT+CIPSNTPCFG timezone must be a number")
		}
		off, hours, ok := parseTimezone(v)
		if !ok {
			return c.badValue(1, "AT+CIPSNTPCFG timezone must be -12..14 or [+|-]hhmm")
		}
		cfg.tz, cfg.offset = hours, off
	}
	if len(p) > 2 {
		cfg.servers = nil
		for i, s := range p[2:] {
			if s.Empty {
				continue
			}
			if !s.Quoted {
				return c.badType(i+2, "AT+CIPSNTPCFG servers must be quoted strings")
			}
			cfg.servers = append(cfg.servers, s.Value)
		}
	}
	e := c.e
	e.mu.Lock()
	cfg.synced = cfg.enable && e.st.sntp.synced
	e.st.sntp = cfg
	e.mu.Unlock()
	if cfg.enable && !cfg.synced {
		gen, ctx := c.gen, c.ctx
		e.asyncWG.Add(1)
		go func() {
			defer e.asyncWG.Done()
			select {
			case <-time.After(timeUpdatedDelay):
			case <-ctx.Done():
				return
			}
			e.mu.Lock()
			ok := e.st.sntp.enable
			if ok {
				e.st.sntp.synced = true
			}
			e.mu.Unlock()
			if ok {
				e.write(gen, []byte("+TIME_UPDATED\r\n"))
			}
		}()
	}
	return resOK
}

func cmdSNTPCFGQuery(c *call) result {
	c.e.mu.Lock()
	cfg := c.e.st.sntp
	c.e.mu.Unlock()
	en := 0
	if cfg.enable {
		en = 1
	}
	s := fmt.Sprintf("+CIPSNTPCFG:%d,%d", en, cfg.tz)
	for _, srv := range cfg.servers {
		s += fmt.Sprintf(",%q", srv)
	}
	c.print(s + "\r\n")
	return resOK
}

// cmdSNTPTIME prints asctime of the local time, with no blank line before
// OK (esp-at.md §1.7). Before a sync the board's clock counts from the
// epoch, so the emulator prints 1970 plus the time since boot.
func cmdSNTPTIME(c *call) result {
	c.e.mu.Lock()
	off := c.e.st.sntp.offset
	c.e.mu.Unlock()
	t := c.e.clock().Add(off)
	c.final = []byte("+CIPSNTPTIME:" + t.Format("Mon Jan _2 15:04:05 2006") + "\r\nOK\r\n")
	return resNone
}

// cmdSNTPINTVSet is AT+CIPSNTPINTV=<15..4294967 s>. The emulator's clock
// follows the host's, so the interval changes nothing else.
func cmdSNTPINTVSet(c *call) result {
	v, ok := c.intParams(1)
	if !ok || v[0] < 15 || v[0] > 4294967 {
		return c.paramErr("0x01070000", "AT+CIPSNTPINTV must be 15..4294967 seconds")
	}
	c.e.mu.Lock()
	c.e.st.sntp.interval = v[0]
	c.e.mu.Unlock()
	return resOK
}

func cmdSNTPINTVQuery(c *call) result {
	c.e.mu.Lock()
	v := c.e.st.sntp.interval
	c.e.mu.Unlock()
	c.print(fmt.Sprintf("+CIPSNTPINTV:%d\r\n", v))
	return resOK
}

// cmdSYSTIMESTAMPQuery prints +SYSTIMESTAMP:<Unix seconds> (DOC-BASIC;
// WiFiEspAT reads the time with it after AT+CIPSNTPCFG).
func cmdSYSTIMESTAMPQuery(c *call) result {
	c.print(fmt.Sprintf("+SYSTIMESTAMP:%d\r\n", c.e.clock().Unix()))
	return resOK
}

// cmdSYSTIMESTAMPSet is AT+SYSTIMESTAMP=<Unix seconds>: it sets the clock
// until SNTP next updates it (a sync already done is overridden, as the
// board's settimeofday is, until the next SNTP interval; a choice: the
// emulator keeps the set time until AT+CIPSNTPCFG syncs again).
func cmdSYSTIMESTAMPSet(c *call) result {
	v, ok := c.intParams(1)
	if !ok || v[0] < 0 || v[0] > 1<<32-1 {
		return c.paramErr("0x01070000", "AT+SYSTIMESTAMP takes Unix seconds")
	}
	c.e.mu.Lock()
	c.e.st.sntp.setTo, c.e.st.sntp.setAt = time.Unix(v[0], 0).UTC(), c.e.opts.Now()
	c.e.st.sntp.synced = false
	c.e.mu.Unlock()
	return resOK
}
