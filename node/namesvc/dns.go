package namesvc

// The names service while the node is on the network: the DHT for
// published names, the DNS server for the zone, and republishing.

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os/exec"
	"sync"
	"sync/atomic"
	"time"

	dht "github.com/libp2p/go-libp2p-kad-dht"

	"github.com/myconet/myconet/node/dnsserver"
	"github.com/myconet/myconet/node/names"
)

// Online is the names service's part that runs with the network: Start
// begins it, Close ends it.
type Online struct {
	s      *Service
	dht    *dht.IpfsDHT
	dns    *dnsserver.Server // nil when off
	setup  atomic.Pointer[string]
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
}

// Start puts the names service on the network d runs on: published names
// resolve and are kept published, and the zone is served over DNS as
// where (overlay.dns) says: "tun" or "" (port 53 on the TUN's address, when
// there is a TUN: tunName), "none", or HOST:PORT. It then points the host's
// resolver at it where it can.
func (s *Service) Start(ctx context.Context, d *dht.IpfsDHT, where, tunName string) *Online {
	ctx, cancel := context.WithCancel(ctx)
	r := &Online{s: s, dht: d, cancel: cancel}
	r.startDNS(ctx, where, tunName)
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		r.republishHosts(ctx)
	}()
	s.mu.Lock()
	s.run = r
	s.mu.Unlock()
	return r
}

// Close stops the DNS server and republishing and waits for them.
func (r *Online) Close() error {
	r.once.Do(func() {
		r.s.mu.Lock()
		if r.s.run == r {
			r.s.run = nil
		}
		r.s.mu.Unlock()
		r.cancel()
		if r.dns != nil {
			r.dns.Close()
		}
		r.wg.Wait()
	})
	return nil
}

// republishHosts publishes every kept name once the DHT has peers, then
// every names.RepublishInterval.
func (r *Online) republishHosts(ctx context.Context) {
	s := r.s
	t := time.NewTimer(2 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if r.dht.RoutingTable().Size() == 0 {
			t.Reset(2 * time.Second)
			continue
		}
		namesMu.Lock()
		hosts, err := s.hostnames()
		namesMu.Unlock()
		if err != nil {
			s.log.Warn("names", "err", err)
		}
		for name, h := range hosts {
			if _, err := s.publishHost(ctx, r.dht, name, h); err != nil && ctx.Err() == nil {
				s.log.Debug("republish name", "name", name, "err", err)
			}
		}
		t.Reset(names.RepublishInterval)
	}
}

// dnsLookup is the DNS server's Lookup.
func (s *Service) dnsLookup(ctx context.Context, q string) ([]netip.Addr, bool, error) {
	info, found, err := s.lookupName(ctx, q)
	if err != nil || !found {
		return nil, found, err
	}
	a, err := netip.ParseAddr(info.Addr)
	if err != nil {
		return nil, false, err
	}
	return []netip.Addr{a}, true, nil
}

// startDNS serves the zone (see Start).
func (r *Online) startDNS(ctx context.Context, where, tunName string) {
	s := r.s
	switch {
	case where == "none":
		return
	case where == "" || where == "tun":
		if tunName == "" {
			return // no TUN: nothing routes to the overlay address anyway
		}
		where = net.JoinHostPort(s.addr.String(), "53")
	}
	srv, err := dnsserver.Start(where, Zone, s.dnsLookup, s.base.With("component", "dns"))
	if err != nil {
		s.log.Warn("names: DNS server did not start", "address", where, "err", err)
		return
	}
	r.dns = srv
	manual := resolverHowTo(srv.Addr(), tunName)
	r.setup.Store(&manual)
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		setup := manual
		if st, ok := resolverSetup(ctx, srv.Addr(), tunName); ok {
			setup = st
			r.setup.Store(&setup)
		}
		s.log.Info("names: DNS for ."+Zone, "address", srv.Addr(), "resolver", setup)
	}()
}

// resolverSetup points systemd-resolved at the DNS server for the zone on
// the TUN link, when the server listens on port 53 there and resolvectl
// works.
func resolverSetup(ctx context.Context, addr, tunName string) (string, bool) {
	host, port, _ := net.SplitHostPort(addr)
	if tunName == "" || port != "53" {
		return "", false
	}
	if _, err := exec.LookPath("resolvectl"); err != nil {
		return "", false
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	resolvectl := func(args ...string) error { return exec.CommandContext(ctx, "resolvectl", args...).Run() }
	// Fails when systemd-resolved does not run: the printed how-to stays.
	if err := resolvectl("dns", tunName, host); err != nil {
		return "", false
	}
	if err := resolvectl("domain", tunName, "~"+Zone); err != nil {
		_ = resolvectl("revert", tunName) // a server without its domain could get other queries
		return "", false
	}
	// Only .myco goes to the link, never other names (systemd < 240 lacks
	// default-route; the routing-only domain is enough there).
	_ = resolvectl("default-route", tunName, "false")
	return "systemd-resolved sends ." + Zone + " queries on " + tunName + " to " + host, true
}

// resolverHowTo says how to point the host's resolver at the DNS server.
func resolverHowTo(addr, tunName string) string {
	host, port, _ := net.SplitHostPort(addr)
	if tunName != "" && port == "53" {
		return fmt.Sprintf("point the resolver at %s for .%s: `resolvectl dns %s %s && resolvectl domain %s ~%s` (systemd-resolved), or a dnsmasq line server=/%s/%s", host, Zone, tunName, host, tunName, Zone, Zone, host)
	}
	return fmt.Sprintf("ask %s for .%s names, e.g. `dig -p %s @%s laptop.%s AAAA`; dnsmasq: server=/%s/%s#%s", addr, Zone, port, host, Zone, Zone, host, port)
}
