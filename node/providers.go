package node

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

	"github.com/myconet/myconet/node/retrieval"
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

// provideContent announces content root c (a package, a UnixFS root) and
// remembers it, so that unprovideGone can withdraw it. Search terms and
// other keys go through provide alone.
func (n *Node) provideContent(ctx context.Context, ns *netState, c cid.Cid) {
	if ns.provRecs != nil {
		ns.provRecs.announced(c)
	}
	n.provide(ctx, ns, c)
}

// unprovideGone withdraws this node's provider records of the content roots
// it announced and no longer holds (unpinned, collected or evicted), so that
// neither it nor the nodes that ask it list it as a holder. Records already
// stored on other nodes expire on their own; Providers checks with each
// listed node.
func (n *Node) unprovideGone(ctx context.Context) {
	ns := n.network()
	if ns == nil || ns.provRecs == nil {
		return
	}
	pr := ns.provRecs
	pr.mu.Lock()
	roots := make([]cid.Cid, 0, len(pr.roots))
	for c := range pr.roots {
		roots = append(roots, c)
	}
	pr.mu.Unlock()
	for _, c := range roots {
		if ok, err := n.have(c); ok || err != nil {
			continue
		}
		if err := pr.withdraw(ctx, c.Hash()); err != nil {
			n.log.Debug("withdraw provider record", "root", c, "err", err)
			continue
		}
		pr.mu.Lock()
		delete(pr.roots, c)
		pr.mu.Unlock()
		n.log.Debug("no longer providing", "root", c)
	}
}

// b32 is the base32 of the provider manager's datastore keys.
var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// probeTimeout bounds the check Providers makes with each listed node.
const probeTimeout = 5 * time.Second

// lacks asks provider p for root's block alone and reports whether p
// answered that it does not have it. A node that cannot be reached or does
// not answer in time is not said to lack it.
func (n *Node) lacks(ctx context.Context, ns *netState, p peer.ID, root cid.Cid) bool {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	_, err := ns.retrieval.Fetch(ctx, root, probeSink{}, retrieval.FetchOptions{Providers: []peer.ID{p}, Shallow: true, Parallel: 1})
	return errors.Is(err, retrieval.ErrNotFound)
}

// probeSink keeps nothing: a probe only wants the answer.
type probeSink struct{}

func (probeSink) Put(cid.Cid, []byte) error { return nil }
