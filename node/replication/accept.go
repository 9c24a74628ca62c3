package replication

import (
	"context"
	"errors"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/store"
)

// The answering side of the loop: taking replicas other nodes ask for.

// Allowed reports whether the policy (ReplicatorConfig.Allow) lets this
// node take a replica of root.
func (r *Replicator) Allowed(root cid.Cid) bool {
	return r.cfg.Allow == nil || r.cfg.Allow(root)
}

// decide answers a replication request; it starts the fetch of an accepted
// replica in the background.
func (r *Replicator) decide(ctx context.Context, from peer.ID, req Request) Status {
	root := req.Root
	pins, err := r.cfg.Store.PinsOf(root)
	if err != nil {
		return Busy
	}
	for _, p := range pins {
		if p.Reason == store.ReasonLocal || p.Reason == store.ReasonReplica {
			return Holding
		}
	}
	r.mu.Lock()
	_, fetching := r.fetching[root]
	r.mu.Unlock()
	if fetching {
		return Fetching
	}
	if req.Op == OpQuery {
		return NotHolding
	}
	if !r.Allowed(root) {
		r.refPolicy.Add(1)
		return RefusedPolicy
	}
	quota := r.quota()
	size := int64(min(req.Size, 1<<62))
	u, err := r.cfg.Store.Usage()
	if err != nil {
		return Busy
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.fetching[root]; ok {
		return Fetching
	}
	var reserved int64
	for _, b := range r.fetching {
		reserved += b
	}
	if quota != apitype.Unlimited && (quota == 0 || u.ByReason[store.ReasonReplica]+reserved+size > quota) {
		r.refQuota.Add(1)
		return RefusedQuota
	}
	if u.Quota > 0 && u.ByReason[store.ReasonLocal]+u.ByReason[store.ReasonReplica]+reserved+size > u.Quota {
		r.refQuota.Add(1) // cannot fit even after evicting the cache
		return RefusedQuota
	}
	if len(r.fetching) >= maxPendingReplicas {
		r.busy.Add(1)
		return Busy
	}
	r.fetching[root] = size
	r.accepted.Add(1)
	r.goOwned(func(ctx context.Context) { r.fetchReplica(ctx, from, root) })
	return Fetching
}

// fetchReplica fetches and pins an accepted replica, at most quota.cpu at a
// time.
func (r *Replicator) fetchReplica(ctx context.Context, from peer.ID, root cid.Cid) {
	defer func() {
		r.mu.Lock()
		delete(r.fetching, root)
		r.mu.Unlock()
	}()
	if r.fetchSlots.acquire(ctx) != nil {
		return
	}
	defer r.fetchSlots.release()
	start := time.Now()
	// The asker holds root: let our own provider lookup find it at once.
	_ = r.cfg.DHT.ProviderStore().AddProvider(ctx, root.Hash(), peer.AddrInfo{ID: from})
	fctx, cancel := context.WithTimeout(ctx, replicaFetchTimeout)
	defer cancel()
	if err := r.cfg.Fetch(fctx, root); err != nil {
		r.fetchFailed.Add(1)
		if !errors.Is(err, context.Canceled) {
			r.log.Warn("replica fetch failed", "root", root, "from", from, "err", err)
		}
		return
	}
	var size int64
	if pins, err := r.cfg.Store.PinsOf(root); err == nil {
		for _, p := range pins {
			size = max(size, p.Size)
		}
	}
	if q := r.quota(); q != apitype.Unlimited {
		if u, err := r.cfg.Store.Usage(); err == nil && u.ByReason[store.ReasonReplica] > q {
			// The size hint was wrong: give the space back.
			if err := r.cfg.Store.RemovePin(root, store.ReasonReplica); err == nil {
				r.changed(root)
				r.log.Warn("replica over quota.replicas dropped", "root", root, "bytes", size)
				r.fetchFailed.Add(1)
				return
			}
		}
	}
	r.fetched.Add(1)
	r.fBytes.Add(size)
	// The asker has just counted us: our own first check can wait a period.
	r.mu.Lock()
	r.due[root] = time.Now().Add(jitter(r.interval))
	r.mu.Unlock()
	r.log.Info("replica taken", "root", root, "bytes", size, "asked-by", from, "took", time.Since(start))
}
