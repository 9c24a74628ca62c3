// Package channels is a node's channels, bookmarks and following: this
// node's mutable names (myco://<peer>/<channel>, signed /myco-name/ records
// in the DHT, republished while the node runs), the resolution of anyone's
// channel to the package it points at now, and the bookmarks that name
// packages or channels, a followed channel's new versions fetched as they
// appear and its last resolution kept for offline use.
//
// It may import store, mri, node/apitype, node/names and libp2p; never
// node nor another service package. What it needs of the node's other
// services it takes as functions in Config (fetching a package, the
// gateway's URLs).
package channels

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/ipfs/go-cid"
	dht "github.com/libp2p/go-libp2p-kad-dht"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/myconet/myconet/store"
)

// resolveTimeout bounds one DHT put or get of a name record.
const resolveTimeout = 30 * time.Second

// Config is what a Service is built from.
type Config struct {
	// DB holds the channels this node publishes and the bookmarks.
	DB *store.DB
	// Logger gets the service's lines (component=channels is added); nil
	// discards them.
	Logger *slog.Logger
	// Key is the node's key: it signs the name records of its channels.
	Key crypto.PrivKey
	// Self is the peer ID of Key: its channels resolve from the store.
	Self peer.ID
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// Fetch fetches the package rooted at root (from the network if
	// needed) and pins it local. Nil: publishing and following fail.
	Fetch func(ctx context.Context, root cid.Cid) error
	// URL returns the gateway URL of path under root. Nil: no URLs.
	URL func(root cid.Cid, path string) string
}

// Service is a node's channels and bookmarks. Bookmarks, this node's
// channels and kept resolutions work offline; Start puts the service on
// the network (publishing, resolving others' channels, republishing and
// following) until Stop. It is safe for concurrent use.
type Service struct {
	cfg Config
	log *slog.Logger

	pubMu sync.Mutex // serializes Publish and republish rounds

	netMu  sync.Mutex
	dht    *dht.IpfsDHT       // the DHT while started; guarded by netMu
	ctx    context.Context    // ends at Stop; guarded by netMu
	cancel context.CancelFunc // nil when not started; guarded by netMu
	wg     sync.WaitGroup     // the goroutines started while on the network
}

// New returns the service of cfg. It starts nothing.
func New(cfg Config) *Service {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Fetch == nil {
		cfg.Fetch = func(context.Context, cid.Cid) error { return errors.New("channels: no fetcher") }
	}
	if cfg.URL == nil {
		cfg.URL = func(cid.Cid, string) string { return "" }
	}
	return &Service{cfg: cfg, log: cfg.Logger.With("component", "channels")}
}

// Start puts the service on the network of d: it republishes this node's
// channels and follows the followed bookmarks until Stop. A started
// service is not started again.
func (s *Service) Start(d *dht.IpfsDHT) {
	s.netMu.Lock()
	if s.cancel != nil {
		s.netMu.Unlock()
		return
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.dht = d
	s.netMu.Unlock()
	s.goOnline(func(ctx context.Context) { s.republish(ctx, d) })
	s.goOnline(s.follow)
}

// Stop takes the service off the network and waits for its goroutines.
// It is safe to call when not started.
func (s *Service) Stop() {
	s.netMu.Lock()
	cancel := s.cancel
	s.dht, s.cancel = nil, nil
	s.netMu.Unlock()
	if cancel != nil {
		cancel()
	}
	s.wg.Wait()
}

// online returns the DHT while started, else nil.
func (s *Service) online() *dht.IpfsDHT {
	s.netMu.Lock()
	defer s.netMu.Unlock()
	return s.dht
}

// goOnline runs f on a goroutine Stop waits for, when started; f's
// context ends at Stop.
func (s *Service) goOnline(f func(ctx context.Context)) {
	s.netMu.Lock()
	defer s.netMu.Unlock()
	if s.cancel == nil { // not started, or stopped
		return
	}
	ctx := s.ctx
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f(ctx)
	}()
}
