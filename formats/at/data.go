package at

import (
	"bytes"

	"github.com/atbridge/atbridge/formats"
)

// This file decodes the device items that carry binary data: +WS_DATA in
// every AT+WSDATAFMT form (esp-at.md §2.5, §3) and +IPD (§1.5).

// maxHeader bounds a +WS_DATA or +IPD header (up to the data).
const maxHeader = 96

// num reads a decimal number (1..18 digits, so it fits an int64) at b[i:],
// returning it and the index after it; matchMore when b ends inside or
// right after the digits.
func num(b []byte, i int) (int64, int, match) {
	j := i
	var n int64
	for j < len(b) && b[j] >= '0' && b[j] <= '9' {
		if j-i >= 18 {
			return 0, 0, matchNo
		}
		n = n*10 + int64(b[j]-'0')
		j++
	}
	if j == len(b) {
		return 0, 0, matchMore
	}
	if j == i {
		return 0, 0, matchNo
	}
	return n, j, matchYes
}

// wsHeader is a parsed "+WS_DATA:" header.
type wsHeader struct {
	link  int64
	field [5]int64 // opcode, fin, payload_len, payload_offset, data_len; -1 when absent
	end   int      // index just past the comma before the data
}

// parseWSHeader parses "+WS_DATA:" at b[lead:] with the link's mask.
func (d *Decoder) parseWSHeader(b []byte, lead int) (wsHeader, match) {
	var h wsHeader
	truncated := len(b) > lead+maxHeader
	if truncated {
		b = b[:lead+maxHeader]
	}
	st := func(m match) match {
		if m == matchMore && truncated {
			return matchNo // a header this long is no header
		}
		return m
	}
	i := lead + len("+WS_DATA:")
	link, i, m := num(b, i)
	if m != matchYes {
		return h, st(m)
	}
	if link > 2 {
		return h, matchNo
	}
	h.link = link
	mask := d.s.fmts[link].Mask
	for bit := 0; bit < 5; bit++ {
		h.field[bit] = -1
		if mask&(1<<bit) == 0 {
			continue
		}
		if b[i] != ',' {
			return h, matchNo
		}
		h.field[bit], i, m = num(b, i+1)
		if m != matchYes {
			return h, st(m)
		}
	}
	if b[i] != ',' {
		return h, matchNo
	}
	h.end = i + 1
	return h, matchYes
}

// wsData decodes "+WS_DATA:" at b[lead:] as the link's AT+WSDATAFMT
// setting says (esp-at.md §2.5, §3). matchNo means the header is malformed
// and the bytes are to be read as a line.
//
// At levels 1 and 2 the data is taken to be the whole frame (payload_len
// bytes) in one piece: the firmware prints the prefix once per frame, and
// the decoder assumes no other output lands inside the frame's data.
func (d *Decoder) wsData(b []byte, lead int) match {
	h, m := d.parseWSHeader(b, lead)
	if m != matchYes {
		return m
	}
	link, field, hdr := h.link, h.field, h.end
	f := d.s.fmts[link]
	n := int64(-1) // data length
	switch {
	case f.Level > 0 && field[2] >= 0:
		n = field[2]
		if field[3] > 0 && field[3] <= n {
			n -= field[3]
		}
	case field[4] >= 0:
		n = field[4]
	}
	tail := f.Mask&32 != 0 && !(f.Level == 2 && field[1] == 0)
	var err error
	if n > int64(d.opts.MaxData) {
		d.emitBytes(&d.dev, hdr, EvUnparsed, "", int(link), ErrDataTooLong)
		return matchYes
	}
	var end int
	if n < 0 {
		// No length in the header: guess the data ends at the next CRLF.
		err = ErrUndelimited
		win := b[hdr:]
		if len(win) > d.opts.MaxData+2 {
			win = win[:d.opts.MaxData+2]
		}
		k := bytes.Index(win, crlf)
		if k < 0 {
			if len(win) >= d.opts.MaxData+2 {
				d.emitBytes(&d.dev, hdr, EvUnparsed, "", int(link), ErrDataTooLong)
				return matchYes
			}
			return matchMore
		}
		end = hdr + k
		tail = true
	} else {
		end = hdr + int(n)
	}
	total := end
	if tail {
		if len(b) < end+2 {
			d.waitDev(end + 2)
			return matchMore
		}
		if b[end] == '\r' && b[end+1] == '\n' {
			total = end + 2
		}
	} else if len(b) < end {
		d.waitDev(end)
		return matchMore
	}
	seq, e := d.emitBytes(&d.dev, total, EvURC, "+WS_DATA", int(link), err)
	e.Line = e.Raw[lead:hdr]
	e.Data = e.Raw[hdr:end]
	t, data := e.Time, e.Data
	d.s.unsolicited(seq)
	msg := d.newMsg()
	msg.Link, msg.Dir, msg.Opcode, msg.Fin = int(link), formats.ToClient, int(field[0]), int(field[1])
	msg.PayloadLen, msg.PayloadOffset, msg.Data, msg.Result = field[2], field[3], data, ""
	e = d.derivedEvent(EvWSMessage, t)
	e.Dir, e.Name, e.Link, e.Data, e.Msg = formats.ToClient, "+WS_DATA", int(link), data, msg
	return matchYes
}

// ipd decodes "+IPD," at b[lead:] (esp-at.md §1.5): active forms carry
// <len> raw bytes after ':' and no CRLF; passive forms end in CRLF.
func (d *Decoder) ipd(b []byte, lead int) match {
	m := d.ipd1(b, lead)
	if m == matchMore && len(b) > lead+maxHeader && bytes.IndexByte(b[lead:lead+maxHeader], ':') < 0 {
		return matchNo // a header this long is no header
	}
	return m
}

func (d *Decoder) ipd1(b []byte, lead int) match {
	hb := b
	if len(hb) > lead+maxHeader {
		hb = hb[:lead+maxHeader]
	}
	i := lead + len("+IPD,")
	var nums []int64
	quoted := -1 // index among fields of the quoted ip
	for field := 0; ; field++ {
		if field >= 4 {
			return matchNo
		}
		if i >= len(hb) {
			return matchMore
		}
		if hb[i] == '"' {
			k := bytes.IndexByte(hb[i+1:], '"')
			if k < 0 {
				return matchMore
			}
			quoted = field
			nums = append(nums, -1)
			i += k + 2
			if i >= len(hb) {
				return matchMore
			}
		} else {
			var v int64
			var st match
			v, i, st = num(hb, i)
			if st != matchYes {
				return st
			}
			nums = append(nums, v)
		}
		if hb[i] == ',' {
			i++
			continue
		}
		break
	}
	link, n := int64(-1), int64(-1)
	switch {
	case len(nums) == 1 && quoted < 0:
		n = nums[0]
	case len(nums) == 2 && quoted < 0:
		link, n = nums[0], nums[1]
	case len(nums) == 3 && quoted == 1:
		n = nums[0]
	case len(nums) == 4 && quoted == 2:
		link, n = nums[0], nums[1]
	default:
		return matchNo
	}
	switch hb[i] {
	case '\r':
		// Passive mode: "+IPD,[<link>,]<len>\r\n", no data.
		if quoted >= 0 {
			return matchNo
		}
		if i+1 >= len(b) {
			return matchMore
		}
		if b[i+1] != '\n' {
			return matchNo
		}
		seq, e := d.emitBytes(&d.dev, i+2, EvURC, "+IPD", int(link), nil)
		e.Line = e.Raw[lead:i]
		d.s.unsolicited(seq)
		return matchYes
	case ':':
	default:
		return matchNo
	}
	hdr := i + 1
	if n > int64(d.opts.MaxData) {
		d.emitBytes(&d.dev, hdr, EvUnparsed, "", int(link), ErrDataTooLong)
		return matchYes
	}
	if int64(len(b)) < int64(hdr)+n {
		d.waitDev(hdr + int(n))
		return matchMore
	}
	seq, e := d.emitBytes(&d.dev, hdr+int(n), EvURC, "+IPD", int(link), nil)
	e.Line = e.Raw[lead:hdr]
	e.Data = e.Raw[hdr:]
	d.s.unsolicited(seq)
	return matchYes
}
