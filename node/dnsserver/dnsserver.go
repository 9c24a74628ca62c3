// Package dnsserver answers DNS for one zone (Myconet's "myco.") from a
// lookup function: AAAA records for the names it knows, NXDOMAIN for the
// others, REFUSED for names outside the zone (it is not a recursive
// resolver). It serves UDP and TCP on one address.
package dnsserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// Lookup resolves name, the part of a query name before the zone, as the
// query spelled it (DNS is case-insensitive, but base58 peer IDs are not;
// the lookup decides) and without the final dot ("laptop", "www.12D3KooW…"). found false
// means the name does not exist (NXDOMAIN); an error means it could not be
// answered now (SERVFAIL).
type Lookup func(ctx context.Context, name string) (addrs []netip.Addr, found bool, err error)

// TTL is the time to live of the answers, in seconds: short, since names
// and petnames change at their owners' will.
const TTL = 60

// lookupTimeout bounds one lookup (a DHT query) below common resolver
// timeouts (5 s).
const lookupTimeout = 4 * time.Second

// Server is a running DNS server.
type Server struct {
	zone   string // "myco."
	lookup Lookup
	log    *slog.Logger
	udp    *dns.Server
	tcp    *dns.Server
	addr   string
	once   sync.Once
}

// Start serves zone (such as "myco") on addr (HOST:PORT; port 0 picks one,
// the same for UDP and TCP when it can) until Close.
func Start(addr, zone string, lookup Lookup, log *slog.Logger) (*Server, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{zone: dns.Fqdn(strings.ToLower(zone)), lookup: lookup, log: log}
	pc, ln, err := listen(addr)
	if err != nil {
		return nil, fmt.Errorf("dns: %w", err)
	}
	bound := pc.LocalAddr().(*net.UDPAddr)
	s.addr = net.JoinHostPort(bound.IP.String(), fmt.Sprint(bound.Port))
	h := dns.HandlerFunc(s.serve)
	s.udp = &dns.Server{PacketConn: pc, Handler: h}
	s.tcp = &dns.Server{Listener: ln, Handler: h, ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second}
	var started sync.WaitGroup
	started.Add(2)
	s.udp.NotifyStartedFunc = started.Done
	s.tcp.NotifyStartedFunc = started.Done
	go s.run(s.udp)
	go s.run(s.tcp)
	started.Wait()
	return s, nil
}

// listenPacket is net.ListenPacket (a test replaces it).
var listenPacket = net.ListenPacket

// listen opens the UDP socket on addr and the TCP listener on the same
// address and port. With port 0 the kernel picks the UDP port, and that
// port may be taken for TCP (by any other program): then it tries again
// with another port, a few times.
func listen(addr string) (net.PacketConn, net.Listener, error) {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, nil, err
	}
	for try := 0; ; try++ {
		pc, err := listenPacket("udp", addr)
		if err != nil {
			return nil, nil, err
		}
		bound := pc.LocalAddr().(*net.UDPAddr)
		ln, err := net.Listen("tcp", net.JoinHostPort(bound.IP.String(), fmt.Sprint(bound.Port)))
		if err == nil {
			return pc, ln, nil
		}
		pc.Close()
		if port != "0" || try == 9 {
			return nil, nil, err
		}
	}
}

func (s *Server) run(srv *dns.Server) {
	if err := srv.ActivateAndServe(); err != nil && !errors.Is(err, net.ErrClosed) {
		s.log.Debug("dns server stopped", "err", err)
	}
}

// Addr is the HOST:PORT the server listens on.
func (s *Server) Addr() string { return s.addr }

// Close stops the server.
func (s *Server) Close() error {
	s.once.Do(func() {
		_ = s.udp.Shutdown()
		_ = s.tcp.Shutdown()
	})
	return nil
}

func (s *Server) soa() dns.RR {
	return &dns.SOA{
		Hdr: dns.RR_Header{Name: s.zone, Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: TTL},
		Ns:  "ns." + s.zone, Mbox: "hostmaster." + s.zone,
		Serial: 1, Refresh: 3600, Retry: 600, Expire: 86400, Minttl: TTL,
	}
}

func (s *Server) serve(w dns.ResponseWriter, req *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(req)
	m.Authoritative = true
	m.RecursionAvailable = false
	defer func() { _ = w.WriteMsg(m) }()
	if req.Opcode != dns.OpcodeQuery || len(req.Question) != 1 {
		m.Rcode = dns.RcodeNotImplemented
		return
	}
	q := req.Question[0]
	name := q.Name
	if q.Qclass != dns.ClassINET && q.Qclass != dns.ClassANY {
		m.Rcode = dns.RcodeRefused
		return
	}
	if strings.EqualFold(name, s.zone) {
		if q.Qtype == dns.TypeSOA {
			m.Answer = append(m.Answer, s.soa())
		} else {
			m.Ns = append(m.Ns, s.soa())
		}
		return
	}
	cut := len(name) - len(s.zone) - 1
	if cut <= 0 || !strings.EqualFold(name[cut:], "."+s.zone) {
		m.Rcode = dns.RcodeRefused
		return
	}
	label := name[:cut]
	if label == "" {
		m.Rcode = dns.RcodeRefused
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), lookupTimeout)
	defer cancel()
	addrs, found, err := s.lookup(ctx, label)
	switch {
	case err != nil:
		s.log.Debug("dns lookup", "name", label, "err", err)
		m.Rcode = dns.RcodeServerFailure
		return
	case !found:
		m.Rcode = dns.RcodeNameError
		m.Ns = append(m.Ns, s.soa())
		return
	}
	if q.Qtype == dns.TypeAAAA || q.Qtype == dns.TypeANY {
		for _, a := range addrs {
			if a.Is6() && !a.Is4In6() {
				m.Answer = append(m.Answer, &dns.AAAA{
					Hdr:  dns.RR_Header{Name: q.Name, Rrtype: dns.TypeAAAA, Class: dns.ClassINET, Ttl: TTL},
					AAAA: net.IP(a.AsSlice()),
				})
			}
		}
	}
	if len(m.Answer) == 0 {
		m.Ns = append(m.Ns, s.soa()) // NODATA: the name exists, with no record of this type
	}
}
