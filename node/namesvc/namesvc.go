// Package namesvc is the node's local names service: petnames, the names
// the node publishes for itself, and the DNS server for the .myco zone.
//
// It may import node/apitype, node/dnsserver, node/names (the signed
// records), the pure core overlay and libp2p; never package node nor
// another service package.
//
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
package namesvc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
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
	"github.com/myconet/myconet/node/names"
	"github.com/myconet/myconet/overlay"
)

// Zone is the DNS zone the daemon answers for.
const Zone = "myco"

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

// Options is what the names service takes from the node.
type Options struct {
	Home string         // where petnames.json and hostnames.json live
	Priv crypto.PrivKey // the node's key: it signs the names it publishes
	Now  func() time.Time
	// WriteFile writes a file atomically (a temporary file and a rename).
	WriteFile func(path string, data []byte, perm os.FileMode) error
	Logger    *slog.Logger // without component; the service adds its own
}

// Service is the names of one node. Petnames work offline; published names
// and names published by other nodes need the network (Start).
type Service struct {
	home      string
	priv      crypto.PrivKey
	self      peer.ID
	addr      netip.Addr // this node's overlay address
	now       func() time.Time
	writeFile func(path string, data []byte, perm os.FileMode) error
	log       *slog.Logger
	base      *slog.Logger

	mu  sync.Mutex
	run *Online // guarded by mu; nil while the node is offline
}

// New returns the names service of the node whose key is opts.Priv.
func New(opts Options) (*Service, error) {
	self, err := peer.IDFromPrivateKey(opts.Priv)
	if err != nil {
		return nil, fmt.Errorf("names: %w", err)
	}
	pub, err := crypto.MarshalPublicKey(opts.Priv.GetPublic())
	if err != nil {
		return nil, fmt.Errorf("names: %w", err)
	}
	return &Service{
		home: opts.Home, priv: opts.Priv, self: self, addr: overlay.AddressFromKey(pub),
		now: opts.Now, writeFile: opts.WriteFile,
		log: opts.Logger.With("component", "names"), base: opts.Logger,
	}, nil
}

// online returns the running network part, or nil offline.
func (s *Service) online() *Online {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.run
}

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

func (s *Service) readNames(file string, v any) error {
	b, err := os.ReadFile(filepath.Join(s.home, file))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s is damaged: %v", filepath.Join(s.home, file), err)
	}
	return nil
}

func (s *Service) writeNames(file string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return s.writeFile(filepath.Join(s.home, file), append(b, '\n'), 0o600)
}

func (s *Service) petnames() (map[string]petname, error) {
	m := map[string]petname{}
	return m, s.readNames(petnamesFile, &m)
}

func (s *Service) hostnames() (map[string]hostEntry, error) {
	m := map[string]hostEntry{}
	return m, s.readNames(hostnamesFile, &m)
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

// Names lists the petnames and the published names.
func (s *Service) Names(ctx context.Context) (apitype.NamesInfo, error) {
	namesMu.Lock()
	pets, err := s.petnames()
	hosts, herr := s.hostnames()
	namesMu.Unlock()
	if err = errors.Join(err, herr); err != nil {
		return apitype.NamesInfo{}, apitype.Errorf(apitype.CodeCorrupt, "names: %v", err)
	}
	self := PeerDNSLabel(s.self)
	info := apitype.NamesInfo{Petnames: []apitype.NameInfo{}, Published: []apitype.NameInfo{}, Self: self + "." + Zone}
	for name, p := range pets {
		info.Petnames = append(info.Petnames, apitype.NameInfo{Name: name, FQDN: name + "." + Zone, Addr: p.Addr, Peer: p.Peer, Kind: "petname"})
	}
	for name, h := range hosts {
		info.Published = append(info.Published, apitype.NameInfo{Name: name, FQDN: name + "." + self + "." + Zone, Addr: h.Addr, Peer: s.self.String(), Kind: "published"})
	}
	sort.Slice(info.Petnames, func(i, j int) bool { return info.Petnames[i].Name < info.Petnames[j].Name })
	sort.Slice(info.Published, func(i, j int) bool { return info.Published[i].Name < info.Published[j].Name })
	if r := s.online(); r != nil && r.dns != nil {
		info.DNS = r.dns.Addr()
		if p := r.setup.Load(); p != nil {
			info.Setup = *p
		}
	}
	return info, nil
}

// Set gives a petname to a peer ID or an overlay address.
func (s *Service) Set(ctx context.Context, name, target string) (apitype.NameInfo, error) {
	if err := checkNameLabel(&name); err != nil {
		return apitype.NameInfo{}, err
	}
	var p petname
	if id, ok := parsePeerLabel(strings.TrimSuffix(target, "."+Zone)); ok {
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
	pets, err := s.petnames()
	if err != nil {
		return apitype.NameInfo{}, apitype.Errorf(apitype.CodeCorrupt, "names: %v", err)
	}
	pets[name] = p
	if err := s.writeNames(petnamesFile, pets); err != nil {
		return apitype.NameInfo{}, err
	}
	return apitype.NameInfo{Name: name, FQDN: name + "." + Zone, Addr: p.Addr, Peer: p.Peer, Kind: "petname"}, nil
}

// Remove removes a petname, or stops publishing a name (its record lapses
// at its expiry).
func (s *Service) Remove(ctx context.Context, name string) error {
	namesMu.Lock()
	defer namesMu.Unlock()
	pets, err := s.petnames()
	hosts, herr := s.hostnames()
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
		if err := s.writeNames(petnamesFile, pets); err != nil {
			return err
		}
	}
	if host {
		delete(hosts, name)
		if err := s.writeNames(hostnamesFile, hosts); err != nil {
			return err
		}
	}
	return nil
}

// Publish signs name.<this peer>.myco → target (this node's own overlay
// address when empty) into the DHT and keeps it published.
func (s *Service) Publish(ctx context.Context, name, target string) (apitype.NameInfo, error) {
	if err := checkNameLabel(&name); err != nil {
		return apitype.NameInfo{}, err
	}
	addr := s.addr
	if target != "" {
		a, err := s.resolveTarget(ctx, target)
		if err != nil {
			return apitype.NameInfo{}, err
		}
		addr = a
	}
	r := s.online()
	if r == nil {
		return apitype.NameInfo{}, apitype.Errorf(apitype.CodeNoDaemon, "publishing a name needs the network: start `myconet daemon`")
	}
	namesMu.Lock()
	hosts, err := s.hostnames()
	if err != nil {
		namesMu.Unlock()
		return apitype.NameInfo{}, apitype.Errorf(apitype.CodeCorrupt, "names: %v", err)
	}
	h := hosts[name]
	h.Seq++
	h.Addr = addr.String()
	hosts[name] = h
	err = s.writeNames(hostnamesFile, hosts)
	namesMu.Unlock()
	if err != nil {
		return apitype.NameInfo{}, err
	}
	rec, err := s.publishHost(ctx, r.dht, name, h)
	if err != nil {
		return apitype.NameInfo{}, err
	}
	return apitype.NameInfo{Name: name, FQDN: name + "." + PeerDNSLabel(s.self) + "." + Zone, Addr: addr.String(),
		Peer: s.self.String(), Kind: "published", Expires: &rec.Expires}, nil
}

// resolveTarget reads an overlay address, a peer ID or a name this node
// resolves.
func (s *Service) resolveTarget(ctx context.Context, target string) (netip.Addr, error) {
	if a, err := netip.ParseAddr(target); err == nil {
		if !a.Is6() || a.Zone() != "" || !overlay.Prefix.Contains(a) {
			return netip.Addr{}, apitype.Errorf(apitype.CodeInvalid, "%s is not an overlay address (fd6d:7963::/32)", target)
		}
		return a, nil
	}
	info, err := s.Resolve(ctx, target)
	if err != nil {
		return netip.Addr{}, err
	}
	return netip.MustParseAddr(info.Addr), nil
}

func (s *Service) publishHost(ctx context.Context, d names.Routing, name string, h hostEntry) (names.HostRecord, error) {
	addr, err := netip.ParseAddr(h.Addr)
	if err != nil {
		return names.HostRecord{}, apitype.Errorf(apitype.CodeCorrupt, "names: %s: bad address %q", hostnamesFile, h.Addr)
	}
	pctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	rec, err := names.PublishHost(pctx, d, s.priv, name, addr, h.Seq, 0, s.now())
	if err != nil {
		return names.HostRecord{}, fmt.Errorf("publish name %s: %w", name, err)
	}
	return rec, nil
}

// Resolve says what name (with or without .myco) resolves to, and from
// where.
func (s *Service) Resolve(ctx context.Context, name string) (apitype.NameInfo, error) {
	q := strings.TrimSuffix(strings.TrimSuffix(name, "."), "."+Zone)
	if strings.EqualFold(q, Zone) || q == "" {
		return apitype.NameInfo{}, apitype.Errorf(apitype.CodeInvalid, "no name given")
	}
	info, found, err := s.lookupName(ctx, q)
	if err != nil {
		return apitype.NameInfo{}, err
	}
	if !found {
		return apitype.NameInfo{}, apitype.Errorf(apitype.CodeNotFound, "%s.%s: no such name", q, Zone)
	}
	return info, nil
}

// lookupName resolves the part of a .myco name before the zone.
func (s *Service) lookupName(ctx context.Context, q string) (apitype.NameInfo, bool, error) {
	labels := strings.Split(q, ".")
	fqdn := q + "." + Zone
	switch len(labels) {
	case 1:
		if id, ok := parsePeerLabel(labels[0]); ok {
			a, ok := peerAddr(id)
			return apitype.NameInfo{Name: q, FQDN: fqdn, Addr: a.String(), Peer: id.String(), Kind: "peer"}, ok, nil
		}
		namesMu.Lock()
		pets, err := s.petnames()
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
			pets, err := s.petnames()
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
		r := s.online()
		if r == nil {
			return apitype.NameInfo{}, false, apitype.Errorf(apitype.CodeNoDaemon, "names published by nodes need the network: start `myconet daemon`")
		}
		rec, err := names.ResolveHost(ctx, r.dht, id, host, s.now())
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
