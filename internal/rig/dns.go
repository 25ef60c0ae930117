package rig

import (
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/net/dns/dnsmessage"
)

// DNSServer is a real DNS server on 127.0.0.1 (UDP) answering A and AAAA
// questions from a fixed table; any other name gets NXDOMAIN.
type DNSServer struct {
	Port    int
	queries atomic.Int64
}

// Queries is how many questions the server has answered.
func (s *DNSServer) Queries() int { return int(s.queries.Load()) }

// StartDNS serves names (lower-case, without the final dot) until the test
// ends.
func StartDNS(t testing.TB, names map[string][]netip.Addr) *DNSServer {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	Must(t, err)
	t.Cleanup(func() { pc.Close() })
	s := &DNSServer{Port: pc.LocalAddr().(*net.UDPAddr).Port}
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if resp := s.answer(buf[:n], names); resp != nil {
				_, _ = pc.WriteTo(resp, from)
			}
		}
	}()
	return s
}

func (s *DNSServer) answer(q []byte, names map[string][]netip.Addr) []byte {
	var p dnsmessage.Parser
	h, err := p.Start(q)
	if err != nil {
		return nil
	}
	qs, err := p.AllQuestions()
	if err != nil || len(qs) != 1 {
		return nil
	}
	s.queries.Add(1)
	question := qs[0]
	name := strings.ToLower(strings.TrimSuffix(question.Name.String(), "."))
	addrs, known := names[name]
	rh := dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true, RecursionDesired: h.RecursionDesired, RecursionAvailable: true}
	if !known {
		rh.RCode = dnsmessage.RCodeNameError
	}
	b := dnsmessage.NewBuilder(nil, rh)
	b.EnableCompression()
	_ = b.StartQuestions()
	_ = b.Question(question)
	_ = b.StartAnswers()
	for _, a := range addrs {
		rr := dnsmessage.ResourceHeader{Name: question.Name, Class: dnsmessage.ClassINET, TTL: 60}
		switch {
		case a.Is4() && question.Type == dnsmessage.TypeA:
			_ = b.AResource(rr, dnsmessage.AResource{A: a.As4()})
		case a.Is6() && question.Type == dnsmessage.TypeAAAA:
			_ = b.AAAAResource(rr, dnsmessage.AAAAResource{AAAA: a.As16()})
		}
	}
	out, err := b.Finish()
	if err != nil {
		return nil
	}
	return out
}
