// Package library owns a node's content: adding files as signed packages,
// reading them (info, ls, cat, get, open, tar, CAR export), pins, GC, quota
// accounting and CAR import on the store, and bringing packages in from the
// network — whole (ensure-local: one fetch per root at a time, joined by
// every other caller, resumed from the verified blocks an interrupted one
// kept) or block by block for a read that streams.
//
// It may import node/apitype, node/content, node/retrieval, store, mri,
// metadata and libp2p's types; never node nor another service package.
// What it needs of the rest of the node (moderation's withheld check,
// channel resolution, search and replication notices, provider records)
// comes in as the functions of [Options]; the network as a [Network], from
// StartNetwork to StopNetwork.
package library

import (
	"context"
	"crypto/ed25519"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/myconet/myconet/metadata"
	"github.com/myconet/myconet/mri"
	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/content"
	"github.com/myconet/myconet/node/internal/svc"
	"github.com/myconet/myconet/node/retrieval"
	"github.com/myconet/myconet/store"
)

// Options is what New needs besides the store. Every function may be nil
// (no-op, or "nothing withheld").
type Options struct {
	// Logger receives the library's logs; nil discards them.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Key signs the packages Add makes.
	Key ed25519.PrivateKey
	// Self is this node's peer ID (never its own provider).
	Self peer.ID

	// ResolveRef parses a ref and resolves a channel to the package it
	// points at now; kept is the time of the resolution a followed
	// bookmark kept when that is the answer (the network could not give
	// one), nil otherwise.
	ResolveRef func(ctx context.Context, ref string) (m mri.MRI, kept *time.Time, err error)
	// Withheld is the coded error of reading c (moderation: withheld or
	// retracted), nil when it may be read. It may wait for a decision.
	Withheld func(ctx context.Context, c cid.Cid) error
	// KeepRetracted handles pinning a retracted package (the owner may keep
	// it local): kept reports that it did, err why it may not.
	KeepRetracted func(root cid.Cid, reason store.Reason) (kept bool, err error)
	// Retracted is the coded error of a root learnt retracted, or nil.
	Retracted func(root cid.Cid) error
	// Annotations and RetractedNote are what Info shows of moderation.
	Annotations   func(c cid.Cid) *apitype.Annotations
	RetractedNote func(c cid.Cid) string
	// Changed is told after the pins of roots change (none: of any).
	Changed func(roots ...cid.Cid)
	// Added is told of a root pinned local by Add or Import while online
	// (replication checks it at once).
	Added func(root cid.Cid)
	// Unprovide withdraws the provider records of roots no longer held.
	Unprovide func(ctx context.Context)
	// CountFetch is deferred by each network fetch with its error.
	CountFetch func(err *error)
}

// Network is the node's network while it runs.
type Network struct {
	// Host adds provider addresses to its peerstore and lists connected
	// peers (asked when no provider record is found).
	Host host.Host
	// Routing finds providers (the DHT).
	Routing ProviderFinder
	// Retrieval fetches blocks.
	Retrieval *retrieval.Service
	// Provide announces a content root; it runs on the library's
	// goroutines, which StopNetwork waits for.
	Provide func(ctx context.Context, root cid.Cid)
}

// ProviderFinder is the part of the DHT a fetch uses.
type ProviderFinder interface {
	FindProvidersAsync(ctx context.Context, key cid.Cid, count int) <-chan peer.AddrInfo
}

// Service is a node's library. Its methods are safe for concurrent use.
type Service struct {
	db  *store.DB
	log *slog.Logger
	now func() time.Time
	opt Options

	fetchMu  sync.Mutex
	fetching map[cid.Cid]*inflight // roots being fetched

	mu  sync.Mutex
	net *online // guarded by mu; nil offline
}

// online is the network while attached, and the goroutines the library runs
// on it.
type online struct {
	Network
	grp       *svc.Group    // goroutines started on this network; stop waits for them
	streamSem chan struct{} // bounds on-demand block fetches (stream.go)
}

// New returns the library of db.
func New(db *store.DB, opt Options) *Service {
	s := &Service{db: db, log: opt.Logger, now: opt.Now, opt: opt, fetching: map[cid.Cid]*inflight{}}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s
}

// StartNetwork attaches the running network: fetches and streamed reads use
// it from now on. It replaces a network attached before.
func (s *Service) StartNetwork(n Network) {
	on := &online{Network: n, grp: svc.NewGroup(context.Background()), streamSem: make(chan struct{}, maxStreamFetches)}
	s.mu.Lock()
	old := s.net
	s.net = on
	s.mu.Unlock()
	old.stop()
}

// StopNetwork detaches the network and waits for the goroutines the library
// started on it (background fetches, announcements). Fetches that callers
// run on their own goroutines end with their callers' contexts.
func (s *Service) StopNetwork() {
	s.mu.Lock()
	on := s.net
	s.net = nil
	s.mu.Unlock()
	on.stop()
}

func (on *online) stop() {
	if on == nil {
		return
	}
	on.grp.Stop()
}

// network returns the attached network, or nil offline.
func (s *Service) network() *online {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.net
}

// Online reports whether a network is attached.
func (s *Service) Online() bool { return s.network() != nil }

// goOwned runs f on a goroutine of the attached network: StopNetwork waits
// for it, and nothing starts after StopNetwork began.
func (on *online) goOwned(f func(ctx context.Context)) { on.grp.Go(f) }

// provide announces root in the background.
func (s *Service) provide(on *online, root cid.Cid) {
	if on.Provide != nil {
		on.goOwned(func(ctx context.Context) { on.Provide(ctx, root) })
	}
}

// announce tells the network of a root pinned local: providers, replication.
func (s *Service) announce(root cid.Cid) {
	if on := s.network(); on != nil {
		s.provide(on, root)
		if s.opt.Added != nil {
			s.opt.Added(root)
		}
	}
}

// changed tells search (and the like) that the pins of roots changed.
func (s *Service) changed(roots ...cid.Cid) {
	if s.opt.Changed != nil {
		s.opt.Changed(roots...)
	}
}

func (s *Service) unprovide(ctx context.Context) {
	if s.opt.Unprovide != nil {
		s.opt.Unprovide(ctx)
	}
}

func (s *Service) withheld(ctx context.Context, c cid.Cid) error {
	if s.opt.Withheld == nil {
		return nil
	}
	return s.opt.Withheld(ctx, c)
}

// resolveRef is Options.ResolveRef, or a plain parse without it.
func (s *Service) resolveRef(ctx context.Context, ref string) (mri.MRI, *time.Time, error) {
	if s.opt.ResolveRef != nil {
		return s.opt.ResolveRef(ctx, ref)
	}
	m, err := mri.Parse(ref)
	if err != nil {
		return mri.MRI{}, nil, apitype.Wrap(apitype.CodeInvalid, err)
	}
	return m, nil, nil
}

// BlockLinks is the store's LinksFunc: UnixFS links, and a package root's
// content link.
func BlockLinks(c cid.Cid, data []byte) ([]cid.Cid, error) {
	if c.Type() == cid.DagCBOR {
		p, err := metadata.Decode(data)
		if err != nil {
			return nil, nil // not a package: nothing we know how to follow
		}
		return []cid.Cid{p.Content}, nil
	}
	return content.Links(c, data)
}

// ParseRef parses an MRI with a coded error.
func ParseRef(ref string) (mri.MRI, error) {
	m, err := mri.Parse(ref)
	if err != nil {
		return mri.MRI{}, apitype.Wrap(apitype.CodeInvalid, err)
	}
	if m.Mutable() {
		return mri.MRI{}, apitype.Errorf(apitype.CodeInvalid, "%s is a channel; give the package MRI here", ref)
	}
	return m, nil
}

// ReadErr gives content and store errors their codes, naming the MRI.
func ReadErr(err error, m mri.MRI) error {
	switch {
	case errors.Is(err, content.ErrNoSuchPath), errors.Is(err, content.ErrNotDir):
		return apitype.Errorf(apitype.CodeNotFound, "%s: %v", m, err)
	case errors.Is(err, content.ErrNotFile):
		return apitype.Errorf(apitype.CodeInvalid, "%s: %v", m, err)
	case errors.Is(err, store.ErrNotFound):
		return apitype.Errorf(apitype.CodeNotFound, "%s: content incomplete in the local store: %v", m, err)
	}
	return svc.StoreErr(err)
}
