// Package searchsvc is a node's search service: the persisted index of the
// packages the node pins (kept in step with the pins), searches of that
// index and of the other nodes, the /myconet/search/1.0.0 protocol that
// answers them, and the announcer that provides the held terms in the DHT.
//
// It may import the pure cores (search, metadata, mri, store), node/apitype
// and libp2p; never node nor another service package. What it needs of the
// node's other services it takes as functions in Config (the moderation
// policy's withheld check, the community's tags of a package).
package searchsvc

import (
	"context"
	"log/slog"
	"sync"

	"github.com/ipfs/go-cid"
	dht "github.com/libp2p/go-libp2p-kad-dht"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/myconet/myconet/metadata"
	"github.com/myconet/myconet/node/internal/p2px"
	"github.com/myconet/myconet/node/internal/svc"
	"github.com/myconet/myconet/search"
	"github.com/myconet/myconet/store"
)

// Config is what a Service is built from.
type Config struct {
	// DB holds the package roots, their pins and the persisted index.
	DB *store.DB
	// Logger gets the service's lines (component=search is added); nil
	// discards them.
	Logger *slog.Logger
	// Self is this node's peer ID: it holds what its own index finds.
	Self peer.ID
	// Withheld reports whether the node's moderation policy withholds a
	// package: such a package is never found in the index, never sent to a
	// searcher and dropped from what other nodes send. It must answer from
	// what the node already knows, without the network: one query asks it
	// about hundreds of packages. Nil withholds nothing.
	Withheld func(cid.Cid) bool
	// Tags returns the tags the community gave a package (moderation's
	// annotations), indexed beside the package's own. Nil: none.
	Tags func(cid.Cid) []string
}

// Net is what the service uses of the network while the node is online.
type Net struct {
	// Host serves the search protocol; its NewStream must connect to the
	// peer first (directly or relayed), as the node's dialer does.
	Host host.Host
	// DHT finds the providers of terms and announces this node's.
	DHT *dht.IpfsDHT
}

// Service is a node's search service. Its index works offline; Start puts
// it on the network (serving and announcing) until Stop. It is safe for
// concurrent use.
type Service struct {
	db       *store.DB
	log      *slog.Logger
	self     peer.ID
	withheld func(cid.Cid) bool
	tags     func(cid.Cid) []string

	syncMu sync.Mutex // serializes sync and Reindex

	mu sync.RWMutex // guards the fields below
	// indexed is the set of packages in the persisted index: nil until the
	// first sync of this process reads it.
	indexed map[cid.Cid]bool
	gen     uint64 // bumped by every change of the indexed set
	annGen  uint64 // the gen whose terms the announcer last finished
	read    int    // package roots read to index them (a test probe)

	kick chan struct{} // wakes the announcer after a change; cap 1

	netMu  sync.Mutex
	net    *Net               // the network while started; guarded by netMu
	cancel context.CancelFunc // ends the network goroutine; guarded by netMu
	wg     sync.WaitGroup     // the network goroutine
}

// New returns the search service of cfg.DB. It starts nothing: the index
// is read on first use.
func New(cfg Config) *Service {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{
		db: cfg.DB, log: log.With("component", "search"), self: cfg.Self,
		withheld: cfg.Withheld, tags: cfg.Tags,
		kick: make(chan struct{}, 1),
	}
}

// Start serves the search protocol on net.Host and announces the held
// terms until Stop. A started service is not started again.
func (s *Service) Start(net Net) {
	s.netMu.Lock()
	defer s.netMu.Unlock()
	if s.cancel != nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.net, s.cancel = &net, cancel
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.run(ctx, net)
	}()
}

// Stop takes the service off the network and waits for its goroutine;
// searches then stay local. It is safe to call when not started, and the
// index keeps working.
func (s *Service) Stop() {
	s.netMu.Lock()
	cancel := s.cancel
	s.net, s.cancel = nil, nil
	s.netMu.Unlock()
	if cancel != nil {
		cancel()
	}
	s.wg.Wait()
}

// online returns the network while started, else nil.
func (s *Service) online() *Net {
	s.netMu.Lock()
	defer s.netMu.Unlock()
	return s.net
}

// Announced reports whether the announcer has provided the terms of every
// package indexed so far.
func (s *Service) Announced() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.indexed != nil && s.annGen == s.gen
}

// RootsRead is how many package roots the index has read to index them,
// since New (a probe for tests of the index's upkeep).
func (s *Service) RootsRead() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.read
}

// changed bumps the generation and wakes the announcer.
func (s *Service) changed() {
	s.mu.Lock()
	s.gen++
	s.mu.Unlock()
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// doc makes the search document of the package pkg rooted at c.
func (s *Service) doc(c cid.Cid, pkg *metadata.Package) search.Doc {
	var tags []string
	if s.tags != nil {
		tags = s.tags(c)
	}
	return search.DocFromMeta(c.String(), pkg.Meta, p2px.PeerIDFromEd25519(pkg.Publisher).String(), tags)
}

// docOf reads a package root from the store as a search document.
func (s *Service) docOf(c cid.Cid) (search.Doc, error) {
	pkg, _, err := svc.PackageRoot(s.db, c)
	if err != nil {
		return search.Doc{}, err
	}
	return s.doc(c, pkg), nil
}
