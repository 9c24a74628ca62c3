package dnsserver

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

func TestServer(t *testing.T) {
	a := netip.MustParseAddr("fd6d:7963::1")
	s, err := Start("127.0.0.1:0", "myco", func(ctx context.Context, name string) ([]netip.Addr, bool, error) {
		switch strings.ToLower(name) {
		case "laptop", "www.12d3koowx":
			return []netip.Addr{a}, true, nil
		case "broken":
			return nil, false, errors.New("dht down")
		}
		return nil, false, nil
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ask := func(net, name string, qtype uint16) *dns.Msg {
		t.Helper()
		c := &dns.Client{Net: net}
		m := new(dns.Msg)
		m.SetQuestion(name, qtype)
		r, _, err := c.Exchange(m, s.Addr())
		if err != nil {
			t.Fatalf("%s %s: %v", net, name, err)
		}
		return r
	}
	for _, nw := range []string{"udp", "tcp"} {
		r := ask(nw, "LapTop.myco.", dns.TypeAAAA)
		if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 || r.Answer[0].(*dns.AAAA).AAAA.String() != a.String() || !r.Authoritative {
			t.Fatalf("%s laptop: %v", nw, r)
		}
	}
	if r := ask("udp", "www.12D3KooWx.myco.", dns.TypeAAAA); len(r.Answer) != 1 {
		t.Fatalf("two labels: %v", r)
	}
	if r := ask("udp", "laptop.myco.", dns.TypeA); r.Rcode != dns.RcodeSuccess || len(r.Answer) != 0 || len(r.Ns) != 1 {
		t.Fatalf("A of an existing name (NODATA): %v", r)
	}
	if r := ask("udp", "nobody.myco.", dns.TypeAAAA); r.Rcode != dns.RcodeNameError {
		t.Fatalf("unknown name: %v", r)
	}
	if r := ask("udp", "broken.myco.", dns.TypeAAAA); r.Rcode != dns.RcodeServerFailure {
		t.Fatalf("failing lookup: %v", r)
	}
	if r := ask("udp", "example.com.", dns.TypeAAAA); r.Rcode != dns.RcodeRefused {
		t.Fatalf("outside the zone: %v", r)
	}
	if r := ask("udp", "notmyco.", dns.TypeAAAA); r.Rcode != dns.RcodeRefused {
		t.Fatalf("outside the zone: %v", r)
	}
	if r := ask("udp", "myco.", dns.TypeSOA); r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
		t.Fatalf("apex SOA: %v", r)
	}
}
