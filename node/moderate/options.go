package moderate

import (
	"context"
	"crypto/ed25519"
	"errors"
	"log/slog"
	"time"

	"github.com/ipfs/go-cid"
	dht "github.com/libp2p/go-libp2p-kad-dht"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/myconet/myconet/mri"
	"github.com/myconet/myconet/node/config"
	"github.com/myconet/myconet/node/internal/svc"
	"github.com/myconet/myconet/store"
)

// Options are what a Service is built from. DB and Key are required; every
// other nil field means a sensible default or a no-op.
type Options struct {
	// DB is the node's store: votes, annotations, rules, kept decisions and
	// retractions live in it, and the block index answers which packages
	// hold a block.
	DB *store.DB
	// Logger is where the service logs (nil: discard); the protocol's own
	// lines add component=moderation.
	Logger *slog.Logger
	// Key is the node's key: it signs votes, annotations, tallies and
	// retractions, and names this node among the aggregators.
	Key ed25519.PrivateKey
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// Config returns the [moderation] section in effect now (it may change
	// while the node runs; ConfigChanged says when). Nil: the defaults.
	Config func() config.ModerationConfig
	// Resolve turns an API ref (MRI, CID, name) into the package it names.
	Resolve func(ctx context.Context, ref string) (mri.MRI, error)
	// Links lists the links of a block (to check that a retracted
	// package's whole DAG is still here before the owner keeps it).
	Links func(c cid.Cid, data []byte) ([]cid.Cid, error)
	// Reindex tells search that what it indexes about package c changed
	// (its annotations, a local rule).
	Reindex func(c cid.Cid)
	// Changed tells search that the pins of roots changed (a retraction
	// dropped them, the owner kept one).
	Changed func(roots ...cid.Cid)
}

// Router is the part of the DHT the service uses: *dht.IpfsDHT.
type Router interface {
	// GetClosestPeers returns the peers closest to key in the keyspace.
	GetClosestPeers(ctx context.Context, key string) ([]peer.ID, error)
	// Mode says whether this node is a DHT server (then it aggregates).
	Mode() dht.ModeOpt
	// FindProvidersAsync lists the holders of c (a retraction reaches them).
	FindProvidersAsync(ctx context.Context, c cid.Cid, count int) <-chan peer.AddrInfo
}

// Network is what the service uses while the node is on the network.
type Network struct {
	// Host carries the protocol; its NewStream should reach a peer as the
	// node does (directly or relayed).
	Host host.Host
	// DHT finds a package's aggregators and holders.
	DHT Router
}

// New builds the moderation service of a node. It starts nothing:
// StartNetwork does, for each network session.
func New(opt Options) (*Service, error) {
	if opt.DB == nil || len(opt.Key) != ed25519.PrivateKeySize {
		return nil, errors.New("moderate: a store and an Ed25519 key are needed")
	}
	pub, err := crypto.UnmarshalEd25519PublicKey(opt.Key.Public().(ed25519.PublicKey))
	if err != nil {
		return nil, err
	}
	self, err := peer.IDFromPublicKey(pub)
	if err != nil {
		return nil, err
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Config == nil {
		def := config.DefaultConfig().Moderation
		opt.Config = func() config.ModerationConfig { return def }
	}
	if opt.Reindex == nil {
		opt.Reindex = func(cid.Cid) {}
	}
	if opt.Links == nil {
		opt.Links = func(cid.Cid, []byte) ([]cid.Cid, error) { return nil, errors.New("moderate: no link reader") }
	}
	if opt.Changed == nil {
		opt.Changed = func(...cid.Cid) {}
	}
	return &Service{opt: opt, db: opt.DB, log: opt.Logger, key: opt.Key, self: self, now: opt.Now}, nil
}

// netSession is what exists while the node is on the network: the
// protocol, and the goroutines the service runs (the refresh and sync
// loops, background refreshes), which StopNetwork waits for.
type netSession struct {
	host       host.Host
	dht        Router
	mod        *modService
	*svc.Group // the session's goroutines: Go, and Stop waits for them
}

// StartNetwork registers the protocol on nw.Host and starts the refresh and
// sync loops; they run until ctx ends or StopNetwork. It is an error to
// start twice without a stop.
func (m *Service) StartNetwork(ctx context.Context, nw Network) error {
	ns := &netSession{host: nw.Host, dht: nw.DHT, Group: svc.NewGroup(ctx)}
	m.netMu.Lock()
	defer m.netMu.Unlock()
	if m.net != nil {
		ns.Stop()
		return errors.New("moderate: network already started")
	}
	ns.mod = m.startModeration(ns)
	m.net = ns
	return nil
}

// StopNetwork takes the service off the network: the protocol stops, and
// its goroutines end before it returns. It is idempotent.
func (m *Service) StopNetwork() {
	m.netMu.Lock()
	ns := m.net
	m.net = nil
	m.netMu.Unlock()
	if ns == nil {
		return
	}
	ns.Stop()
	ns.mod.close()
}

// network returns the network session, or nil when offline.
func (m *Service) network() *netSession {
	m.netMu.Lock()
	defer m.netMu.Unlock()
	return m.net
}
