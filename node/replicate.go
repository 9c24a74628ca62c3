package node

// Replication and repair.
//
// Every package has a target replica count R (replication.replicas, default
// 3): R nodes other than its publisher should hold it, so that it outlives
// the publisher and any R-1 of them.
//
// # Placement
//
// The nodes responsible for a package are the ones closest in the DHT's
// keyspace to the key its provider records live under (SHA-256 of the
// package CID's multihash, the key kad-dht uses for Provide), skipping the
// publisher (its peer ID is derived from the package's publisher key) and
// any node that refuses. So the replicas sit next to the provider records
// that point at them, and every node computes the same responsible set from
// a GetClosestPeers lookup without coordination.
//
// # Protocol
//
// /myconet/replicate/1.0.0 (package node/replication) carries one request
// per stream: "please replicate <root>" (with the size the asker knows) or
// "do you hold <root>?". The answer is one byte: holding, fetching
// (accepted, not done), not holding, refused (quota or policy), or busy. A
// node accepts when it does not hold the package yet, its allow hook (for
// moderation) allows the root, the bytes pinned as replicas plus those being
// fetched plus this one fit quota.replicas (unlimited when unset), and fewer
// than maxPendingReplicas fetches are queued. It answers at once and fetches
// in the background with ensureLocal (reason replica), at most quota.cpu
// fetches at a time. Before fetching it records the asker as a provider in
// its own DHT provider store (the same trust as the asker's own
// ADD_PROVIDER), so a fresh package is found even before the publisher's
// provider records have spread. A replica that turns out larger than the
// quota after all (the size was a hint) is unpinned again.
//
// # Repair loop
//
// Every node runs one loop. For each root it holds pinned local or replica,
// a check: look up the closest peers to the key, add itself, drop the
// publisher, sort by XOR distance, and walk that list in waves, sending
// "please replicate" to as many candidates as slots remain. Holding or
// fetching fills a slot; a refusal, busy or unreachable peer is skipped and
// the next candidate is asked, up to R+maxExtraCandidates candidates. So a
// check costs one DHT lookup and, when all is well, R one-byte exchanges.
// A package whose R slots all answered holding is settled and checked again
// after the interval (Config.ReplicateInterval, ±25% jitter per check);
// otherwise after the retry delay (min(interval, 30 s)). New pins are
// noticed on the next scan of the pin list (a local read, every tick), and
// replicateNow asks for a check at once. At most quota.cpu checks run at a
// time (default 2; a change applies at once).
//
// A node holding a package only as a replica, which finds R confirmed holders
// closer to the key than itself and itself at least dropMargin places beyond
// them, unpins its replica (nodes joined nearer the key); GC frees the blocks.
// It never drops a local pin, and never drops on the word of fetching nodes.

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ipfs/go-cid"
	kbucket "github.com/libp2p/go-libp2p-kbucket"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/config"
	"github.com/myconet/myconet/node/replication"
	"github.com/myconet/myconet/store"
)

// Replication tuning.
const (
	// defaultReplicateInterval is how often a settled package is checked.
	defaultReplicateInterval = 30 * time.Minute
	// maxReplicateRetry bounds the delay before an unsettled package is
	// checked again.
	maxReplicateRetry = 30 * time.Second
	// maxReplicateTick bounds the loop's tick (pin scan and dispatch), and
	// so how long a new pin waits for its first check.
	maxReplicateTick = time.Second
	// closestLookupTimeout bounds the DHT lookup of a check.
	closestLookupTimeout = 30 * time.Second
	// replicaFetchTimeout bounds fetching one replica.
	replicaFetchTimeout = 30 * time.Minute
	// maxExtraCandidates is how many candidates beyond R a check may ask.
	maxExtraCandidates = 8
	// dropMargin: a replica holder drops its replica only when at least R
	// confirmed holders are closer and it ranks R+dropMargin or farther.
	dropMargin = 2
	// maxPendingReplicas bounds the replica fetches a node has accepted and
	// not finished.
	maxPendingReplicas = 32
	// defaultReplicationWorkers is the background parallelism when
	// quota.cpu is 0.
	defaultReplicationWorkers = 2
)

// replicator runs replication for one netState.
type replicator struct {
	n        *Node
	ns       *netState
	svc      *replication.Service
	interval time.Duration
	retry    time.Duration
	tick     time.Duration
	// slots bound the checks running at once, fetchSlots the replica
	// fetches: quota.cpu each, changed live by setWorkers.
	slots, fetchSlots *limiter
	kick              chan cid.Cid  // replicateNow
	wake              chan struct{} // a worker finished
	// allow is the policy hook: nil allows every root. Moderation will set
	// it.
	allow func(root cid.Cid) bool

	mu       sync.Mutex
	fetching map[cid.Cid]int64     // replica fetches accepted, not finished: reserved bytes; guarded by mu
	due      map[cid.Cid]time.Time // next check of each held root; guarded by mu
	running  map[cid.Cid]bool      // checks in progress; guarded by mu
	scanned  bool                  // the first scan is done; guarded by mu

	checks, lookups, recruited, refused, dropped                      atomic.Int64
	accepted, refQuota, refPolicy, busy, fetched, fetchFailed, fBytes atomic.Int64
}

// startReplication registers the replication protocol and starts the loop
// on ns's goroutines. StartNetwork calls it once ns.ctx is set.
func (n *Node) startReplication(ns *netState) *replicator {
	n.mu.Lock()
	cpu := n.cfg.Quota.CPU
	n.mu.Unlock()
	r := &replicator{
		n:        n,
		ns:       ns,
		interval: n.replInt,
		kick:     make(chan cid.Cid, 64),
		wake:     make(chan struct{}, 1),
		fetching: map[cid.Cid]int64{},
		due:      map[cid.Cid]time.Time{},
		running:  map[cid.Cid]bool{},
	}
	if r.interval <= 0 {
		r.interval = defaultReplicateInterval
	}
	r.retry = min(r.interval, maxReplicateRetry)
	r.tick = min(max(r.retry/4, 20*time.Millisecond), maxReplicateTick)
	if cpu <= 0 {
		cpu = defaultReplicationWorkers
	}
	r.slots, r.fetchSlots = newLimiter(cpu), newLimiter(cpu)
	r.allow = func(root cid.Cid) bool { return !n.withheld(root) }
	svc, err := replication.New(replication.Config{
		Host:   dialHost{ns.host, ns}, // dial.go: directly or relayed
		Decide: r.decide,
		Logger: n.log.With("component", "replication"),
	})
	if err != nil { // only on a programming error
		n.log.Error("replication disabled", "err", err)
		return nil
	}
	r.svc = svc
	ns.goOwned(r.run)
	return r
}

// replicateNow asks for a check of root without waiting for its turn. It
// never blocks; a no-op offline.
func (n *Node) replicateNow(root cid.Cid) {
	ns := n.network()
	if ns == nil || ns.repl == nil {
		return
	}
	select {
	case ns.repl.kick <- root:
	default: // the next pin scan finds it
	}
}

// ReplicationStats returns the replication counters (zero offline).
func (n *Node) ReplicationStats() apitype.ReplicationStats {
	ns := n.network()
	if ns == nil || ns.repl == nil {
		return apitype.ReplicationStats{}
	}
	r := ns.repl
	ps := r.svc.Stats()
	held, limit := r.slots.inUse()
	return apitype.ReplicationStats{
		Checks: r.checks.Load(), Lookups: r.lookups.Load(), Recruited: r.recruited.Load(),
		Refused: r.refused.Load(), Dropped: r.dropped.Load(),
		Accepted: r.accepted.Load(), RefusedQuota: r.refQuota.Load(), RefusedPolicy: r.refPolicy.Load(),
		Busy: r.busy.Load(), Fetched: r.fetched.Load(), FetchFailed: r.fetchFailed.Load(), FetchedBytes: r.fBytes.Load(),
		Messages:     ps.Sent + ps.Received,
		MessageBytes: ps.BytesSent + ps.BytesReceived,
		Workers:      int64(limit),
		Running:      int64(held),
	}
}

// jitter returns d scaled by a random factor in [0.75, 1.25).
func jitter(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (0.75 + rand.Float64()/2))
}

// run is the loop: scan pins, dispatch due checks to the workers.
func (r *replicator) run(ctx context.Context) {
	defer r.svc.Close()
	t := time.NewTicker(jitter(r.tick))
	defer t.Stop()
	for {
		var kicked cid.Cid
		select {
		case <-ctx.Done():
			return
		case kicked = <-r.kick:
		case <-r.wake:
		case <-t.C:
		}
		if r.ns.dht.RoutingTable().Size() == 0 {
			continue // nobody to replicate to yet
		}
		now := time.Now()
		r.scan(now)
		if kicked.Defined() {
			r.mu.Lock()
			if _, ok := r.due[kicked]; ok {
				r.due[kicked] = now
			}
			r.mu.Unlock()
		}
		r.dispatch(now)
	}
}

// scan adds newly held roots and forgets roots no longer held. Roots found
// by the first scan (held from before this run) are spread over one
// interval; later ones are due at once.
func (r *replicator) scan(now time.Time) {
	pins, err := r.n.db.Pins()
	if err != nil {
		return
	}
	held := map[cid.Cid]bool{}
	for _, p := range pins {
		if p.Reason == store.ReasonLocal || p.Reason == store.ReasonReplica {
			held[p.Root] = true
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for root := range held {
		if _, ok := r.due[root]; !ok {
			at := now
			if !r.scanned {
				at = now.Add(time.Duration(rand.Int64N(int64(r.interval))))
			}
			r.due[root] = at
		}
	}
	r.scanned = true
	for root := range r.due {
		if !held[root] && !r.running[root] {
			delete(r.due, root)
		}
	}
}

// dispatch starts a check of each due root while a worker slot (quota.cpu)
// is free; the rest wait for the next tick or a freed slot.
func (r *replicator) dispatch(now time.Time) {
	r.mu.Lock()
	var ready []cid.Cid
	for root, at := range r.due {
		if !at.After(now) && !r.running[root] {
			ready = append(ready, root)
		}
	}
	r.mu.Unlock()
	for _, root := range ready {
		if !r.slots.tryAcquire() {
			return // every worker is busy
		}
		r.mu.Lock()
		r.running[root] = true
		r.mu.Unlock()
		r.ns.goOwned(func(ctx context.Context) {
			defer func() {
				r.slots.release()
				select {
				case r.wake <- struct{}{}: // a worker is free: dispatch again
				default:
				}
			}()
			settled, held := r.check(ctx, root)
			r.reschedule(root, settled, held)
		})
	}
}

// setWorkers changes how many checks and replica fetches run at once
// (quota.cpu; 0 means the default).
func (r *replicator) setWorkers(n int) {
	if n <= 0 {
		n = defaultReplicationWorkers
	}
	r.slots.setLimit(n)
	r.fetchSlots.setLimit(n)
}

// reschedule sets root's next check and ends its running mark.
func (r *replicator) reschedule(root cid.Cid, settled, held bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.running, root)
	switch {
	case !held:
		delete(r.due, root)
	case settled:
		r.due[root] = time.Now().Add(jitter(r.interval))
	default:
		r.due[root] = time.Now().Add(jitter(r.retry))
	}
}

// replicaTarget reads R from the effective config.
func (n *Node) replicaTarget() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	if r := n.cfg.Replication.Replicas; r > 0 {
		return r
	}
	return config.DefaultReplicas
}

// publisherPeer returns the peer ID of root's publisher, or "" when root is
// not a known package.
func (n *Node) publisherPeer(root cid.Cid) peer.ID {
	rec, err := n.db.Package(root)
	if err != nil {
		return ""
	}
	pk, err := crypto.UnmarshalEd25519PublicKey(rec.Publisher)
	if err != nil {
		return ""
	}
	id, err := peer.IDFromPublicKey(pk)
	if err != nil {
		return ""
	}
	return id
}

// check makes sure R responsible nodes hold root, recruiting where they do
// not. settled reports that R confirmed holders answered; held that this
// node still holds root (local or replica).
func (r *replicator) check(ctx context.Context, root cid.Cid) (settled, held bool) {
	n := r.n
	pins, err := n.db.PinsOf(root)
	if err != nil {
		return false, true
	}
	var size int64
	local, replica := false, false
	for _, p := range pins {
		size = max(size, p.Size)
		local = local || p.Reason == store.ReasonLocal
		replica = replica || p.Reason == store.ReasonReplica
	}
	if !local && !replica {
		return false, false
	}
	if n.withheldCached(root) { // moderation: not spread further
		return true, true
	}
	r.checks.Add(1)
	R := n.replicaTarget()
	self := n.id.PeerID
	publisher := n.publisherPeer(root)
	key := string(root.Hash())

	start := time.Now()
	lctx, cancel := context.WithTimeout(ctx, closestLookupTimeout)
	closest, err := r.ns.dht.GetClosestPeers(lctx, key)
	cancel()
	r.lookups.Add(1)
	if err != nil && len(closest) == 0 {
		n.log.Debug("replication: lookup", "root", root, "err", err)
		return false, true
	}
	cands := make([]peer.ID, 0, len(closest)+1)
	for _, p := range closest {
		if p != self && p != publisher {
			cands = append(cands, p)
		}
	}
	if self != publisher {
		cands = append(cands, self)
	}
	cands = kbucket.SortClosestPeers(cands, kbucket.ConvertKey(key))
	selfRank := len(cands)
	for i, p := range cands {
		if p == self {
			selfRank = i
		}
	}

	// Walk the candidates nearest first, in waves of as many requests as
	// slots remain.
	slots, confirmed, next := 0, 0, 0
	selfWalked := false
	limit := min(len(cands), R+maxExtraCandidates)
	for slots < R && next < limit {
		wave := cands[next:min(limit, next+R-slots)]
		next += len(wave)
		answers := make([]replication.Status, len(wave))
		var wg sync.WaitGroup
		for i, p := range wave {
			if p == self {
				selfWalked = true
				answers[i] = replication.Holding
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				st, err := r.svc.Ask(ctx, p, replication.Request{Op: replication.OpReplicate, Root: root, Size: uint64(size)})
				if err != nil {
					n.log.Debug("replication: ask", "peer", p, "root", root, "err", err)
					answers[i] = replication.Busy // unreachable: skip
					return
				}
				answers[i] = st
			}()
		}
		wg.Wait()
		for i, st := range answers {
			switch {
			case st == replication.Holding:
				slots++
				confirmed++
			case st == replication.Fetching:
				slots++
				r.recruited.Add(1)
				n.log.Debug("replication: recruited", "peer", wave[i], "root", root)
			default:
				r.refused.Add(1)
			}
		}
		if ctx.Err() != nil {
			return false, true
		}
	}
	settled = slots >= R && confirmed == slots
	n.log.Debug("replication: checked", "root", root, "slots", slots, "confirmed", confirmed,
		"asked", next, "candidates", len(cands), "took", time.Since(start))

	// A replica-only holder that is no longer among the responsible nodes
	// steps back, once R others closer to the key confirm they hold it.
	if replica && !local && !selfWalked && settled && selfRank >= R+dropMargin {
		if err := n.db.RemovePin(root, store.ReasonReplica); err == nil {
			n.searchChanged(root)
			r.dropped.Add(1)
			n.log.Info("replica dropped: enough closer holders", "root", root, "rank", selfRank)
			return true, false
		}
	}
	return settled, true
}

// decide answers a replication request; it starts the fetch of an accepted
// replica in the background.
func (r *replicator) decide(ctx context.Context, from peer.ID, req replication.Request) replication.Status {
	n := r.n
	root := req.Root
	pins, err := n.db.PinsOf(root)
	if err != nil {
		return replication.Busy
	}
	for _, p := range pins {
		if p.Reason == store.ReasonLocal || p.Reason == store.ReasonReplica {
			return replication.Holding
		}
	}
	r.mu.Lock()
	_, fetching := r.fetching[root]
	r.mu.Unlock()
	if fetching {
		return replication.Fetching
	}
	if req.Op == replication.OpQuery {
		return replication.NotHolding
	}
	if r.allow != nil && !r.allow(root) {
		r.refPolicy.Add(1)
		return replication.RefusedPolicy
	}
	quota := n.replicaQuota()
	size := int64(min(req.Size, 1<<62))
	u, err := n.db.Usage()
	if err != nil {
		return replication.Busy
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.fetching[root]; ok {
		return replication.Fetching
	}
	var reserved int64
	for _, b := range r.fetching {
		reserved += b
	}
	if quota != apitype.Unlimited && (quota == 0 || u.ByReason[store.ReasonReplica]+reserved+size > quota) {
		r.refQuota.Add(1)
		return replication.RefusedQuota
	}
	if u.Quota > 0 && u.ByReason[store.ReasonLocal]+u.ByReason[store.ReasonReplica]+reserved+size > u.Quota {
		r.refQuota.Add(1) // cannot fit even after evicting the cache
		return replication.RefusedQuota
	}
	if len(r.fetching) >= maxPendingReplicas {
		r.busy.Add(1)
		return replication.Busy
	}
	r.fetching[root] = size
	r.accepted.Add(1)
	r.ns.goOwned(func(ctx context.Context) { r.fetchReplica(ctx, from, root) })
	return replication.Fetching
}

// replicaQuota is quota.replicas in bytes, or Unlimited; 0 means the node
// takes no replicas.
func (n *Node) replicaQuota() int64 {
	n.mu.Lock()
	s := n.cfg.Quota.Replicas
	n.mu.Unlock()
	q, err := apitype.ParseLimit(s)
	if err != nil {
		return 0 // validated at load; never take replicas on a bad value
	}
	return q
}

// fetchReplica fetches and pins an accepted replica, at most quota.cpu at a
// time.
func (r *replicator) fetchReplica(ctx context.Context, from peer.ID, root cid.Cid) {
	n := r.n
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
	_ = r.ns.dht.ProviderStore().AddProvider(ctx, root.Hash(), peer.AddrInfo{ID: from})
	fctx, cancel := context.WithTimeout(ctx, replicaFetchTimeout)
	defer cancel()
	if err := n.ensureLocal(fctx, root, store.ReasonReplica, nil); err != nil {
		r.fetchFailed.Add(1)
		if !errors.Is(err, context.Canceled) {
			n.log.Warn("replica fetch failed", "root", root, "from", from, "err", err)
		}
		return
	}
	var size int64
	if pins, err := n.db.PinsOf(root); err == nil {
		for _, p := range pins {
			size = max(size, p.Size)
		}
	}
	if q := n.replicaQuota(); q != apitype.Unlimited {
		if u, err := n.db.Usage(); err == nil && u.ByReason[store.ReasonReplica] > q {
			// The size hint was wrong: give the space back.
			if err := n.db.RemovePin(root, store.ReasonReplica); err == nil {
				n.searchChanged(root)
				n.log.Warn("replica over quota.replicas dropped", "root", root, "bytes", size)
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
	n.log.Info("replica taken", "root", root, "bytes", size, "asked-by", from, "took", time.Since(start))
}
