package node

// Names on the overlay: the daemon answers DNS for the .myco zone
// (node/dnsserver) on port 53 of its TUN address (overlay.dns = "tun", the
// default) or on a HOST:PORT of the owner's choosing, from three sources:
//
//   - <peer-id>.myco: the overlay address of that node's key. The address is
//     a fingerprint of the key that the peer ID carries, so it needs no
//     lookup and cannot be forged. Base58 IDs (12D3KooW…) are case-sensitive;
//     the base36 form (k51…) that `myconet name ls` prints survives resolvers
//     that change case.
//   - petnames the owner gives (`myconet name set laptop <peer-id or
//     address>`), kept in <home>/petnames.json, local to this node.
//   - names a node publishes for itself (`myconet name publish www
//     [ADDR]`): a signed /myco-host/ DHT record (node/names), resolvable by
//     anyone as www.<peer-id>.myco (or www.<petname>.myco when the petname
//     names a peer). Published names are kept in <home>/hostnames.json and
//     republished every names.RepublishInterval; forged, moved or stale
//     records are refused by the DHT validators and again when resolving.
//
// The host's resolver is pointed at the zone where the node can do it
// (systemd-resolved per-link DNS on the TUN) and otherwise `myconet name ls`
// prints how.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/crypto"
	pb "github.com/libp2p/go-libp2p/core/crypto/pb"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multibase"

	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/config"
	"github.com/myconet/myconet/node/dnsserver"
	"github.com/myconet/myconet/node/names"
	"github.com/myconet/myconet/overlay"
)

// NameZone is the DNS zone the daemon answers for.
const NameZone = "myco"

// File names inside the home.
const (
	petnamesFile  = "petnames.json"
	hostnamesFile = "hostnames.json"
)

type petname struct {
	Peer string `json:"peer,omitempty"`
	Addr string `json:"addr"`
}

type hostEntry struct {
	Addr string `json:"addr"`
	Seq  uint64 `json:"seq"`
}

var namesMu sync.Mutex // guards the two files of every node in the process

// PeerDNSLabel is the case-insensitive DNS label of a peer ID: its CIDv1
// (libp2p-key) in base36, as IPNS subdomain gateways write it.
func PeerDNSLabel(id peer.ID) string {
	s, err := peer.ToCid(id).StringOfBase(multibase.Base36)
	if err != nil {
		return id.String()
	}
	return s
}

// peerAddr returns the overlay address of an Ed25519 peer ID.
func peerAddr(id peer.ID) (netip.Addr, bool) {
	pub, err := id.ExtractPublicKey()
	if err != nil || pub.Type() != pb.KeyType_Ed25519 {
		return netip.Addr{}, false
	}
	b, err := crypto.MarshalPublicKey(pub)
	if err != nil {
		return netip.Addr{}, false
	}
	return overlay.AddressFromKey(b), true
}

// parsePeerLabel reads a DNS label as a peer ID: base58 as written, or a
// CID form (base36, base32) in any case.
func parsePeerLabel(s string) (peer.ID, bool) {
	if id, err := peer.Decode(s); err == nil {
		return id, true
	}
	if c, err := cid.Decode(strings.ToLower(s)); err == nil {
		if id, err := peer.FromCid(c); err == nil {
			return id, true
		}
	}
	return "", false
}

func (n *Node) readNames(file string, v any) error {
	b, err := os.ReadFile(filepath.Join(n.home, file))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s is damaged: %v", filepath.Join(n.home, file), err)
	}
	return nil
}

func (n *Node) writeNames(file string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(n.home, file), append(b, '\n'), 0o600)
}

func (n *Node) petnames() (map[string]petname, error) {
	m := map[string]petname{}
	return m, n.readNames(petnamesFile, &m)
}

func (n *Node) hostnames() (map[string]hostEntry, error) {
	m := map[string]hostEntry{}
	return m, n.readNames(hostnamesFile, &m)
}

// checkNameLabel refuses a name that is not a DNS label or that reads as a
// peer ID (it would shadow that node). Names are folded to lower case
// first, as DNS compares them.
func checkNameLabel(p *string) error {
	*p = strings.ToLower(*p)
	name := *p
	if err := names.ValidateLabel(name); err != nil {
		return apitype.Errorf(apitype.CodeInvalid, "name %q: want 1 to 63 of a-z, 0-9 and '-', not at either end", name)
	}
	if _, ok := parsePeerLabel(name); ok {
		return apitype.Errorf(apitype.CodeInvalid, "name %q reads as a peer ID", name)
	}
	return nil
}

// Names implements API.
func (n *Node) Names(ctx context.Context) (apitype.NamesInfo, error) {
	namesMu.Lock()
	pets, err := n.petnames()
	hosts, herr := n.hostnames()
	namesMu.Unlock()
	if err = errors.Join(err, herr); err != nil {
		return apitype.NamesInfo{}, apitype.Errorf(apitype.CodeCorrupt, "names: %v", err)
	}
	self := PeerDNSLabel(n.id.PeerID)
	info := apitype.NamesInfo{Petnames: []apitype.NameInfo{}, Published: []apitype.NameInfo{}, Self: self + "." + NameZone}
	for name, p := range pets {
		info.Petnames = append(info.Petnames, apitype.NameInfo{Name: name, FQDN: name + "." + NameZone, Addr: p.Addr, Peer: p.Peer, Kind: "petname"})
	}
	for name, h := range hosts {
		info.Published = append(info.Published, apitype.NameInfo{Name: name, FQDN: name + "." + self + "." + NameZone, Addr: h.Addr, Peer: n.id.PeerID.String(), Kind: "published"})
	}
	sort.Slice(info.Petnames, func(i, j int) bool { return info.Petnames[i].Name < info.Petnames[j].Name })
	sort.Slice(info.Published, func(i, j int) bool { return info.Published[i].Name < info.Published[j].Name })
	if ns := n.network(); ns != nil && ns.dns != nil {
		info.DNS = ns.dns.Addr()
		if p := ns.dnsSetup.Load(); p != nil {
			info.Setup = *p
		}
	}
	return info, nil
}

// NameSet implements API: a petname for a peer ID or an overlay address.
func (n *Node) NameSet(ctx context.Context, name, target string) (apitype.NameInfo, error) {
	if err := checkNameLabel(&name); err != nil {
		return apitype.NameInfo{}, err
	}
	var p petname
	if id, ok := parsePeerLabel(strings.TrimSuffix(target, "."+NameZone)); ok {
		a, ok := peerAddr(id)
		if !ok {
			return apitype.NameInfo{}, apitype.Errorf(apitype.CodeInvalid, "%s has no Ed25519 key, so no overlay address", id)
		}
		p = petname{Peer: id.String(), Addr: a.String()}
	} else if a, err := netip.ParseAddr(target); err == nil && a.Is6() && a.Zone() == "" && overlay.Prefix.Contains(a) {
		p = petname{Addr: a.String()}
	} else {
		return apitype.NameInfo{}, apitype.Errorf(apitype.CodeInvalid, "%q is neither a peer ID nor an overlay address (fd6d:7963::/32)", target)
	}
	namesMu.Lock()
	defer namesMu.Unlock()
	pets, err := n.petnames()
	if err != nil {
		return apitype.NameInfo{}, apitype.Errorf(apitype.CodeCorrupt, "names: %v", err)
	}
	pets[name] = p
	if err := n.writeNames(petnamesFile, pets); err != nil {
		return apitype.NameInfo{}, err
	}
	return apitype.NameInfo{Name: name, FQDN: name + "." + NameZone, Addr: p.Addr, Peer: p.Peer, Kind: "petname"}, nil
}

// NameRm implements API: removes a petname, or stops publishing a name
// (its record lapses at its expiry).
func (n *Node) NameRm(ctx context.Context, name string) error {
	namesMu.Lock()
	defer namesMu.Unlock()
	pets, err := n.petnames()
	hosts, herr := n.hostnames()
	if err = errors.Join(err, herr); err != nil {
		return apitype.Errorf(apitype.CodeCorrupt, "names: %v", err)
	}
	_, pet := pets[name]
	_, host := hosts[name]
	if !pet && !host {
		return apitype.Errorf(apitype.CodeNotFound, "no name %q (see `myconet name ls`)", name)
	}
	if pet {
		delete(pets, name)
		if err := n.writeNames(petnamesFile, pets); err != nil {
			return err
		}
	}
	if host {
		delete(hosts, name)
		if err := n.writeNames(hostnamesFile, hosts); err != nil {
			return err
		}
	}
	return nil
}

// NamePublish implements API: signs name.<this peer>.myco → addr (this
// node's own overlay address when empty) into the DHT and keeps it
// published.
func (n *Node) NamePublish(ctx context.Context, name, target string) (apitype.NameInfo, error) {
	if err := checkNameLabel(&name); err != nil {
		return apitype.NameInfo{}, err
	}
	addr := n.id.Address
	if target != "" {
		a, err := n.resolveTarget(ctx, target)
		if err != nil {
			return apitype.NameInfo{}, err
		}
		addr = a
	}
	ns := n.network()
	if ns == nil {
		return apitype.NameInfo{}, apitype.Errorf(apitype.CodeNoDaemon, "publishing a name needs the network: start `myconet daemon`")
	}
	namesMu.Lock()
	hosts, err := n.hostnames()
	if err != nil {
		namesMu.Unlock()
		return apitype.NameInfo{}, apitype.Errorf(apitype.CodeCorrupt, "names: %v", err)
	}
	h := hosts[name]
	h.Seq++
	h.Addr = addr.String()
	hosts[name] = h
	err = n.writeNames(hostnamesFile, hosts)
	namesMu.Unlock()
	if err != nil {
		return apitype.NameInfo{}, err
	}
	rec, err := n.publishHost(ctx, ns, name, h)
	if err != nil {
		return apitype.NameInfo{}, err
	}
	return apitype.NameInfo{Name: name, FQDN: name + "." + PeerDNSLabel(n.id.PeerID) + "." + NameZone, Addr: addr.String(),
		Peer: n.id.PeerID.String(), Kind: "published", Expires: &rec.Expires}, nil
}

// resolveTarget reads an overlay address, a peer ID or a name this node
// resolves.
func (n *Node) resolveTarget(ctx context.Context, target string) (netip.Addr, error) {
	if a, err := netip.ParseAddr(target); err == nil {
		if !a.Is6() || a.Zone() != "" || !overlay.Prefix.Contains(a) {
			return netip.Addr{}, apitype.Errorf(apitype.CodeInvalid, "%s is not an overlay address (fd6d:7963::/32)", target)
		}
		return a, nil
	}
	info, err := n.NameResolve(ctx, target)
	if err != nil {
		return netip.Addr{}, err
	}
	return netip.MustParseAddr(info.Addr), nil
}

func (n *Node) publishHost(ctx context.Context, ns *netState, name string, h hostEntry) (names.HostRecord, error) {
	addr, err := netip.ParseAddr(h.Addr)
	if err != nil {
		return names.HostRecord{}, apitype.Errorf(apitype.CodeCorrupt, "names: %s: bad address %q", hostnamesFile, h.Addr)
	}
	pctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	rec, err := names.PublishHost(pctx, ns.dht, n.id.Priv, name, addr, h.Seq, 0, n.now())
	if err != nil {
		return names.HostRecord{}, fmt.Errorf("publish name %s: %w", name, err)
	}
	return rec, nil
}

// republishHosts publishes every kept name once the DHT has peers, then
// every names.RepublishInterval.
func (n *Node) republishHosts(ctx context.Context, ns *netState) {
	t := time.NewTimer(2 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if ns.dht.RoutingTable().Size() == 0 {
			t.Reset(2 * time.Second)
			continue
		}
		namesMu.Lock()
		hosts, err := n.hostnames()
		namesMu.Unlock()
		if err != nil {
			n.log.Warn("names", "err", err)
		}
		for name, h := range hosts {
			if _, err := n.publishHost(ctx, ns, name, h); err != nil && ctx.Err() == nil {
				n.log.Debug("republish name", "name", name, "err", err)
			}
		}
		t.Reset(names.RepublishInterval)
	}
}

// NameResolve implements API: what name (with or without .myco) resolves
// to, and from where.
func (n *Node) NameResolve(ctx context.Context, name string) (apitype.NameInfo, error) {
	q := strings.TrimSuffix(strings.TrimSuffix(name, "."), "."+NameZone)
	if strings.EqualFold(q, NameZone) || q == "" {
		return apitype.NameInfo{}, apitype.Errorf(apitype.CodeInvalid, "no name given")
	}
	info, found, err := n.lookupName(ctx, q)
	if err != nil {
		return apitype.NameInfo{}, err
	}
	if !found {
		return apitype.NameInfo{}, apitype.Errorf(apitype.CodeNotFound, "%s.%s: no such name", q, NameZone)
	}
	return info, nil
}

// lookupName resolves the part of a .myco name before the zone.
func (n *Node) lookupName(ctx context.Context, q string) (apitype.NameInfo, bool, error) {
	labels := strings.Split(q, ".")
	fqdn := q + "." + NameZone
	switch len(labels) {
	case 1:
		if id, ok := parsePeerLabel(labels[0]); ok {
			a, ok := peerAddr(id)
			return apitype.NameInfo{Name: q, FQDN: fqdn, Addr: a.String(), Peer: id.String(), Kind: "peer"}, ok, nil
		}
		namesMu.Lock()
		pets, err := n.petnames()
		namesMu.Unlock()
		if err != nil {
			return apitype.NameInfo{}, false, apitype.Errorf(apitype.CodeCorrupt, "names: %v", err)
		}
		if p, ok := pets[strings.ToLower(labels[0])]; ok {
			return apitype.NameInfo{Name: q, FQDN: fqdn, Addr: p.Addr, Peer: p.Peer, Kind: "petname"}, true, nil
		}
		return apitype.NameInfo{}, false, nil
	case 2:
		host := strings.ToLower(labels[0])
		if names.ValidateLabel(host) != nil {
			return apitype.NameInfo{}, false, nil
		}
		id, ok := parsePeerLabel(labels[1])
		if !ok {
			namesMu.Lock()
			pets, err := n.petnames()
			namesMu.Unlock()
			if err != nil {
				return apitype.NameInfo{}, false, apitype.Errorf(apitype.CodeCorrupt, "names: %v", err)
			}
			p, has := pets[strings.ToLower(labels[1])]
			if !has || p.Peer == "" {
				return apitype.NameInfo{}, false, nil
			}
			if id, err = peer.Decode(p.Peer); err != nil {
				return apitype.NameInfo{}, false, nil
			}
		}
		ns := n.network()
		if ns == nil {
			return apitype.NameInfo{}, false, apitype.Errorf(apitype.CodeNoDaemon, "names published by nodes need the network: start `myconet daemon`")
		}
		rec, err := names.ResolveHost(ctx, ns.dht, id, host, n.now())
		switch {
		case errors.Is(err, names.ErrNotFound):
			return apitype.NameInfo{}, false, nil
		case err != nil:
			return apitype.NameInfo{}, false, fmt.Errorf("%s: %w", fqdn, err)
		}
		exp := rec.Expires
		return apitype.NameInfo{Name: q, FQDN: fqdn, Addr: rec.Addr.String(), Peer: id.String(), Kind: "record", Expires: &exp}, true, nil
	}
	return apitype.NameInfo{}, false, nil
}

// dnsLookup is the DNS server's Lookup.
func (n *Node) dnsLookup(ctx context.Context, q string) ([]netip.Addr, bool, error) {
	info, found, err := n.lookupName(ctx, q)
	if err != nil || !found {
		return nil, found, err
	}
	a, err := netip.ParseAddr(info.Addr)
	if err != nil {
		return nil, false, err
	}
	return []netip.Addr{a}, true, nil
}

// startDNS serves the .myco zone as overlay.dns says: "tun" (port 53 on
// the TUN's address, when there is a TUN), "none", or HOST:PORT. It then
// points the host's resolver at it where it can.
func (n *Node) startDNS(ns *netState, cfg config.FileConfig, tunName string) {
	where := cfg.Overlay.DNS
	switch {
	case where == "none":
		return
	case where == "" || where == "tun":
		if tunName == "" {
			return // no TUN: nothing routes to the overlay address anyway
		}
		where = net.JoinHostPort(n.id.Address.String(), "53")
	}
	srv, err := dnsserver.Start(where, NameZone, n.dnsLookup, n.baseLog.With("component", "dns"))
	if err != nil {
		n.log.Warn("names: DNS server did not start", "address", where, "err", err)
		return
	}
	ns.dns = srv
	ns.goOwned(func(ctx context.Context) { <-ctx.Done(); srv.Close() })
	manual := n.resolverHowTo(srv.Addr(), tunName)
	ns.dnsSetup.Store(&manual)
	ns.goOwned(func(ctx context.Context) {
		setup := manual
		if s, ok := n.resolverSetup(ctx, srv.Addr(), tunName); ok {
			setup = s
			ns.dnsSetup.Store(&setup)
		}
		n.log.Info("names: DNS for ."+NameZone, "address", srv.Addr(), "resolver", setup)
	})
}

// resolverSetup points systemd-resolved at the DNS server for the zone on
// the TUN link, when the server listens on port 53 there and resolvectl
// works.
func (n *Node) resolverSetup(ctx context.Context, addr, tunName string) (string, bool) {
	host, port, _ := net.SplitHostPort(addr)
	if tunName == "" || port != "53" {
		return "", false
	}
	if _, err := exec.LookPath("resolvectl"); err != nil {
		return "", false
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	err := exec.CommandContext(ctx, "resolvectl", "dns", tunName, host).Run()
	if err == nil {
		err = exec.CommandContext(ctx, "resolvectl", "domain", tunName, "~"+NameZone).Run()
	}
	if err != nil {
		return "", false
	}
	return "systemd-resolved sends ." + NameZone + " queries on " + tunName + " to " + host, true
}

// resolverHowTo says how to point the host's resolver at the DNS server.
func (n *Node) resolverHowTo(addr, tunName string) string {
	host, port, _ := net.SplitHostPort(addr)
	if tunName != "" && port == "53" {
		return fmt.Sprintf("point the resolver at %s for .%s: `resolvectl dns %s %s && resolvectl domain %s ~%s` (systemd-resolved), or a dnsmasq line server=/%s/%s", host, NameZone, tunName, host, tunName, NameZone, NameZone, host)
	}
	return fmt.Sprintf("ask %s for .%s names, e.g. `dig -p %s @%s laptop.%s AAAA`; dnsmasq: server=/%s/%s#%s", addr, NameZone, port, host, NameZone, NameZone, host, port)
}
