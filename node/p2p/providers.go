package p2p

import (
	"context"
	"encoding/base32"
	"errors"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru"
	"github.com/ipfs/go-cid"
	ds "github.com/ipfs/go-datastore"
	dssync "github.com/ipfs/go-datastore/sync"
	dht "github.com/libp2p/go-libp2p-kad-dht"
	"github.com/libp2p/go-libp2p-kad-dht/records"
	"github.com/libp2p/go-libp2p/core/peer"
	mh "github.com/multiformats/go-multihash"
)

// providerRecords is this node's half of the DHT's provider records: the
// datastore and cache the DHT's provider manager keeps them in, opened up so
// that the node can withdraw its own record of a root it no longer holds.
// (kad-dht has no call for that: a provide is only ever added, and lives
// 48 h. A record this node keeps is also what it answers other nodes'
// GET_PROVIDERS with.)
type providerRecords struct {
	self  peer.ID
	ds    ds.Batching
	cache *lru.Cache // thread-safe: the provider manager uses it, withdraw reaches it from outside

	mu    sync.Mutex
	roots map[cid.Cid]struct{} // content roots announced; guarded by mu
}

func newProviderRecords(self peer.ID) (*providerRecords, error) {
	cache, err := lru.New(256) // kad-dht's own default size
	if err != nil {
		return nil, err
	}
	return &providerRecords{self: self, ds: dssync.MutexWrap(ds.NewMapDatastore()), cache: cache,
		roots: make(map[cid.Cid]struct{})}, nil
}

// dhtOptions give the DHT this datastore and cache.
func (pr *providerRecords) dhtOptions() []dht.Option {
	return []dht.Option{dht.ProviderDatastore(pr.ds), dht.ProviderManagerOpts(records.Cache(pr.cache))}
}

// withdraw deletes this node's own record of m.
func (pr *providerRecords) withdraw(ctx context.Context, m mh.Multihash) error {
	pr.cache.Remove(string(m))
	key := ds.NewKey(records.ProvidersKeyPrefix + b32.EncodeToString(m) + "/" + b32.EncodeToString([]byte(pr.self)))
	err := pr.ds.Delete(ctx, key)
	pr.cache.Remove(string(m)) // a read may have cached the set meanwhile
	return err
}

// announced notes that this node provides content root c.
func (pr *providerRecords) announced(c cid.Cid) {
	pr.mu.Lock()
	pr.roots[c] = struct{}{}
	pr.mu.Unlock()
}

// ProvideContent announces content root c (a package, a UnixFS root) and
// remembers it, so that UnprovideGone can withdraw it. Search terms and
// other keys go through Provide alone.
func (h *Host) ProvideContent(ctx context.Context, c cid.Cid) {
	if h.provRecs != nil {
		h.provRecs.announced(c)
	}
	h.Provide(ctx, c)
}

// Provide announces this node as a provider of c (waiting up to 2 min).
func (h *Host) Provide(ctx context.Context, c cid.Cid) {
	pctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := h.dht.Provide(pctx, c, true); err != nil && !errors.Is(err, context.Canceled) {
		h.log.Debug("provide", "cid", c, "err", err)
	}
}

// reprovide announces every held root now and then every ReprovideInterval,
// so that provider records outlive their expiry while the node holds them.
func (h *Host) reprovide(ctx context.Context) {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		h.UnprovideGone(ctx) // evicted cache, for one
		// Wait until the routing table has someone to tell.
		if h.dht.RoutingTable().Size() > 0 {
			if hd := h.cfg.Holdings; hd.Pins != nil {
				if pins, err := hd.Pins(); err == nil {
					seen := map[cid.Cid]bool{}
					for _, p := range pins {
						if !seen[p.Root] && (hd.Retracted == nil || !hd.Retracted(p.Root)) {
							seen[p.Root] = true
							h.ProvideContent(ctx, p.Root)
						}
					}
				}
			}
			t.Reset(ReprovideInterval)
		} else {
			t.Reset(2 * time.Second)
		}
	}
}

// ReprovideInterval is how often held roots are announced again.
const ReprovideInterval = 12 * time.Hour

// UnprovideGone withdraws this node's provider records of the content roots
// it announced and no longer holds (unpinned, collected or evicted), so that
// neither it nor the nodes that ask it list it as a holder. Records already
// stored on other nodes expire on their own; Providers checks with each
// listed node.
func (h *Host) UnprovideGone(ctx context.Context) {
	if h.provRecs == nil || h.cfg.Holdings.Have == nil {
		return
	}
	pr := h.provRecs
	pr.mu.Lock()
	roots := make([]cid.Cid, 0, len(pr.roots))
	for c := range pr.roots {
		roots = append(roots, c)
	}
	pr.mu.Unlock()
	for _, c := range roots {
		if ok, err := h.cfg.Holdings.Have(c); ok || err != nil {
			continue
		}
		if err := pr.withdraw(ctx, c.Hash()); err != nil {
			h.log.Debug("withdraw provider record", "root", c, "err", err)
			continue
		}
		pr.mu.Lock()
		delete(pr.roots, c)
		pr.mu.Unlock()
		h.log.Debug("no longer providing", "root", c)
	}
}

// b32 is the base32 of the provider manager's datastore keys.
var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)
