package ws

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
)

// Errors of Stream. After one of them a stream stays failed: Feed
// returns it again without looking at the bytes.
var (
	// ErrHTTPHead: the HTTP upgrade request or response is not HTTP, or
	// is longer than MaxHTTPHead.
	ErrHTTPHead = errors.New("websocket stream: bad HTTP head")
	// ErrNotUpgraded: the server answered with a status other than 101,
	// so no frames follow.
	ErrNotUpgraded = errors.New("websocket stream: server did not switch protocols")
)

// MaxHTTPHead bounds the HTTP head a Stream collects.
const MaxHTTPHead = 16 << 10

// ItemKind says what a Item holds.
type ItemKind uint8

// Item kinds.
const (
	ItemHTTP  ItemKind = 1 // the HTTP upgrade request or response
	ItemFrame ItemKind = 2 // one whole frame
)

// Item is what a Stream found: the HTTP head, or one frame.
type Item struct {
	Kind ItemKind
	// HTTP is the head as sent, up to and including the blank line.
	HTTP []byte
	// Status is a response's status code (0 for a request).
	Status int
	// Target is a request's target, e.g. "/chat" ("" for a response).
	Target string
	// Header is the frame's header; Header.Length the payload's full length.
	Header Header
	// Payload is the frame's payload, unmasked, cut at the stream's
	// maxPayload (Header.Length tells the real length).
	Payload []byte
	// Off is the stream offset of the item's first byte.
	Off int64
}

// Stream parses one direction of a WebSocket connection passively, as a
// tap sees it: the HTTP upgrade head, then RFC 6455 frames, from chunks cut
// anywhere. It only observes: it never answers, and it accepts what peers
// accept (non-minimal lengths, reserved opcodes, RSV bits, unmasked client
// frames) so that the record shows the wire as it was.
//
// Memory is bounded: the HTTP head by MaxHTTPHead, each frame's kept
// payload by maxPayload. A Stream is not safe for concurrent use.
type Stream struct {
	request    bool
	maxPayload int
	off        int64 // bytes consumed so far

	inFrames bool
	err      error
	head     []byte

	hdr     [14]byte
	hdrN    int
	cur     Header
	curLen  int // header size once known, 0 while reading it
	curOff  int64
	got     uint64 // payload bytes seen of cur
	payload []byte
}

// NewStream returns a parser for the client's direction (request true:
// an HTTP request, then masked frames) or the server's (an HTTP response,
// then frames if it is 101). maxPayload bounds the payload kept per frame;
// zero or less means 1 MiB.
func NewStream(request bool, maxPayload int) *Stream {
	if maxPayload <= 0 {
		maxPayload = 1 << 20
	}
	return &Stream{request: request, maxPayload: maxPayload}
}

// Err returns the error that stopped the stream, or nil.
func (s *Stream) Err() error { return s.err }

// Feed parses p, the next bytes of the direction, and returns the items it
// completed. Items do not alias p. On malformed input it returns the items
// completed before the fault and an error with the stream offset; the
// stream then stays failed.
func (s *Stream) Feed(p []byte) ([]Item, error) {
	if s.err != nil {
		return nil, s.err
	}
	var items []Item
	for len(p) > 0 {
		if !s.inFrames {
			n, it, err := s.feedHead(p)
			if err != nil {
				s.err = err
				return items, err
			}
			p = p[n:]
			s.off += int64(n)
			if it != nil {
				items = append(items, *it)
			}
			if s.err != nil {
				return items, s.err
			}
			continue
		}
		n, it, err := s.feedFrame(p)
		if err != nil {
			s.err = fmt.Errorf("offset %d: %w", s.off+int64(n), err)
			return items, s.err
		}
		p = p[n:]
		s.off += int64(n)
		if it != nil {
			items = append(items, *it)
		}
	}
	return items, nil
}

// feedHead collects the HTTP head up to the blank line.
func (s *Stream) feedHead(p []byte) (int, *Item, error) {
	start := len(s.head)
	s.head = append(s.head, p...)
	i := bytes.Index(s.head, []byte("\r\n\r\n"))
	if i < 0 {
		if len(s.head) > MaxHTTPHead {
			return len(p), nil, fmt.Errorf("%w: no end within %d bytes", ErrHTTPHead, MaxHTTPHead)
		}
		return len(p), nil, nil
	}
	end := i + 4
	head := s.head[:end:end]
	s.head = nil
	used := end - start
	it := &Item{Kind: ItemHTTP, HTTP: head}
	first, _, _ := bytes.Cut(head, []byte("\r\n"))
	f := bytes.Fields(first)
	if s.request {
		if len(f) != 3 || !bytes.HasPrefix(f[2], []byte("HTTP/")) {
			return used, nil, fmt.Errorf("%w: request line %q", ErrHTTPHead, first)
		}
		it.Target = string(f[1])
	} else {
		if len(f) < 2 || !bytes.HasPrefix(f[0], []byte("HTTP/")) {
			return used, nil, fmt.Errorf("%w: status line %q", ErrHTTPHead, first)
		}
		code, err := strconv.Atoi(string(f[1]))
		if err != nil {
			return used, nil, fmt.Errorf("%w: status line %q", ErrHTTPHead, first)
		}
		it.Status = code
		if code != 101 {
			s.err = ErrNotUpgraded
			return used, it, nil
		}
	}
	s.inFrames = true
	return used, it, nil
}

// feedFrame consumes bytes of the current frame.
func (s *Stream) feedFrame(p []byte) (int, *Item, error) {
	used := 0
	if s.curLen == 0 {
		if s.hdrN == 0 {
			s.curOff = s.off
		}
		// Take header bytes one slice at a time until ParseHeader is happy.
		for s.curLen == 0 {
			if used == len(p) {
				return used, nil, nil
			}
			s.hdr[s.hdrN] = p[used]
			s.hdrN++
			used++
			h, n, err := ParseHeader(s.hdr[:s.hdrN])
			switch {
			case err == ErrShort:
				continue
			case err != nil:
				return used, nil, err
			}
			s.cur, s.curLen, s.got = h, n, 0
			s.payload = nil
		}
	}
	want := s.cur.Length - s.got
	take := uint64(len(p) - used)
	if take > want {
		take = want
	}
	if len(s.payload) < s.maxPayload {
		k := take
		if room := uint64(s.maxPayload - len(s.payload)); k > room {
			k = room
		}
		start := len(s.payload)
		s.payload = append(s.payload, p[used:used+int(k)]...)
		if s.cur.Masked {
			Mask(s.cur.MaskKey, s.got, s.payload[start:])
		}
	}
	s.got += take
	used += int(take)
	if s.got < s.cur.Length {
		return used, nil, nil
	}
	it := &Item{Kind: ItemFrame, Header: s.cur, Payload: s.payload, Off: s.curOff}
	s.payload, s.curLen, s.hdrN, s.got = nil, 0, 0, 0
	return used, it, nil
}

// ParseClose reads a close frame's payload: the status code and reason.
// An empty payload gives code 0 (none); a single byte is malformed.
func ParseClose(payload []byte) (code uint16, reason string, ok bool) {
	switch len(payload) {
	case 0:
		return 0, "", true
	case 1:
		return 0, "", false
	}
	return binary.BigEndian.Uint16(payload), string(payload[2:]), true
}
