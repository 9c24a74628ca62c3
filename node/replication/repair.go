package replication

// The repair loop: placement, the checks that keep R replicas of every
// package this node holds, and the answers to other nodes' requests.
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
// /myconet/replicate/1.0.0 (replication.go) carries one request
// per stream: "please replicate <root>" (with the size the asker knows) or
// "do you hold <root>?". The answer is one byte: holding, fetching
// (accepted, not done), not holding, refused (quota or policy), or busy. A
// node accepts when it does not hold the package yet, its allow hook (for
// moderation) allows the root, the bytes pinned as replicas plus those being
// fetched plus this one fit quota.replicas (unlimited when unset), and fewer
// than maxPendingReplicas fetches are queued. It answers at once and fetches
// in the background with ReplicatorConfig.Fetch (pinned as a replica), at
// most quota.cpu fetches at a time. Before fetching it records the asker as a provider in
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
// after the interval (ReplicatorConfig.Interval, ±25% jitter per check);
// otherwise after the retry delay (min(interval, 30 s)). New pins are
// noticed on the next scan of the pin list (a local read, every tick), and
// Kick asks for a check at once. At most quota.cpu checks run at a
// time (default 2; a change applies at once).
//
// A node holding a package only as a replica, which finds R confirmed holders
// closer to the key than itself and itself at least dropMargin places beyond
// them, unpins its replica (nodes joined nearer the key); GC frees the blocks.
// It never drops a local pin, and never drops on the word of fetching nodes.

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ipfs/go-cid"
	dht "github.com/libp2p/go-libp2p-kad-dht"
	kbucket "github.com/libp2p/go-libp2p-kbucket"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/config"
	"github.com/myconet/myconet/node/internal/p2px"
	"github.com/myconet/myconet/node/internal/svc"
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
	// ClosestLookupTimeout bounds the DHT lookup of a check.
	ClosestLookupTimeout = 30 * time.Second
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

// ReplicatorConfig is what a Replicator needs. Store, Host, DHT and Fetch
// are required; a nil function is a no-op (or: allow, withhold nothing).
type ReplicatorConfig struct {
	// Store holds the pins the loop reads and the replicas it drops.
	Store *store.DB
	// Host carries the protocol; its NewStream is how peers are dialed.
	Host host.Host
	// DHT finds the peers closest to a package and keeps provider records.
	DHT *dht.IpfsDHT
	// Self is this node.
	Self peer.ID
	// Interval is how often a settled package is checked (±25%); 0 means
	// 30 minutes.
	Interval time.Duration
	// Workers is how many checks, and replica fetches, run at once
	// (quota.cpu); 0 means 2. SetWorkers changes it live.
	Workers int
	// Replicas is R, read at each check (replication.replicas).
	Replicas func() int
	// Quota is quota.replicas in bytes, read at each request: Unlimited,
	// or 0 for "take no replicas".
	Quota func() int64
	// Allow is the policy for taking a replica of root (moderation).
	Allow func(root cid.Cid) bool
	// Withheld reports a root the node does not spread further
	// (moderation, without waiting on the network); its checks leave it
	// alone.
	Withheld func(root cid.Cid) bool
	// Fetch brings root's whole DAG in and pins it as a replica.
	Fetch func(ctx context.Context, root cid.Cid) error
	// Changed is told when a replica pin goes.
	Changed func(roots ...cid.Cid)
	// Logger; nil discards.
	Logger *slog.Logger
}

// Replicator runs replication on one network: it answers requests (its
// Service) and runs the repair loop. Start starts it; Close stops it and
// waits for its goroutines.
type Replicator struct {
	cfg      ReplicatorConfig
	log      *slog.Logger
	svc      *Service
	interval time.Duration
	retry    time.Duration
	tick     time.Duration
	// slots bound the checks running at once, fetchSlots the replica
	// fetches: quota.cpu each, changed live by SetWorkers.
	slots, fetchSlots *limiter
	kick              chan cid.Cid  // Kick
	wake              chan struct{} // a worker finished

	grp *svc.Group // the loop, checks and replica fetches; Close waits for them

	mu       sync.Mutex
	fetching map[cid.Cid]int64     // replica fetches accepted, not finished: reserved bytes; guarded by mu
	due      map[cid.Cid]time.Time // next check of each held root; guarded by mu
	running  map[cid.Cid]bool      // checks in progress; guarded by mu
	scanned  bool                  // the first scan is done; guarded by mu

	checks, lookups, recruited, refused, dropped                      atomic.Int64
	accepted, refQuota, refPolicy, busy, fetched, fetchFailed, fBytes atomic.Int64
}

// NewReplicator registers the replication protocol on cfg.Host and starts
// the repair loop.
func NewReplicator(cfg ReplicatorConfig) (*Replicator, error) {
	if cfg.Store == nil || cfg.Host == nil || cfg.DHT == nil || cfg.Fetch == nil {
		return nil, errors.New("replication: Store, Host, DHT and Fetch are required")
	}
	r := &Replicator{
		cfg:      cfg,
		log:      cfg.Logger,
		interval: cfg.Interval,
		kick:     make(chan cid.Cid, 64),
		wake:     make(chan struct{}, 1),
		fetching: map[cid.Cid]int64{},
		due:      map[cid.Cid]time.Time{},
		running:  map[cid.Cid]bool{},
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if r.interval <= 0 {
		r.interval = defaultReplicateInterval
	}
	r.retry = min(r.interval, maxReplicateRetry)
	r.tick = min(max(r.retry/4, 20*time.Millisecond), maxReplicateTick)
	cpu := cfg.Workers
	if cpu <= 0 {
		cpu = defaultReplicationWorkers
	}
	r.slots, r.fetchSlots = newLimiter(cpu), newLimiter(cpu)
	proto, err := New(Config{Host: cfg.Host, Decide: r.decide, Logger: r.log})
	if err != nil {
		return nil, err
	}
	r.svc = proto
	r.grp = svc.NewGroup(context.Background())
	r.goOwned(r.run)
	return r, nil
}

// Close stops the loop, the checks and the replica fetches, waits for them
// and removes the protocol handler. It is idempotent.
func (r *Replicator) Close() {
	r.grp.Stop()
	r.svc.Close()
}

// goOwned runs f on a goroutine Close waits for; nothing starts once Close
// began.
func (r *Replicator) goOwned(f func(ctx context.Context)) { r.grp.Go(f) }

// Kick asks for a check of root without waiting for its turn. It never
// blocks.
func (r *Replicator) Kick(root cid.Cid) {
	select {
	case r.kick <- root:
	default: // the next pin scan finds it
	}
}

// Stats returns the replication counters.
func (r *Replicator) Stats() apitype.ReplicationStats {
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

// replicas is R.
func (r *Replicator) replicas() int {
	if r.cfg.Replicas != nil {
		if n := r.cfg.Replicas(); n > 0 {
			return n
		}
	}
	return config.DefaultReplicas
}

// quota is quota.replicas (Unlimited without a Quota function).
func (r *Replicator) quota() int64 {
	if r.cfg.Quota == nil {
		return apitype.Unlimited
	}
	return r.cfg.Quota()
}

// skip reports a root not spread further.
func (r *Replicator) skip(root cid.Cid) bool {
	return r.cfg.Withheld != nil && r.cfg.Withheld(root)
}

func (r *Replicator) changed(roots ...cid.Cid) {
	if r.cfg.Changed != nil {
		r.cfg.Changed(roots...)
	}
}

// publisherPeer returns the peer ID of root's publisher, or "" when root is
// not a known package.
func (r *Replicator) publisherPeer(root cid.Cid) peer.ID {
	rec, err := r.cfg.Store.Package(root)
	if err != nil {
		return ""
	}
	return p2px.PeerIDFromEd25519(rec.Publisher)
}

// jitter returns d scaled by a random factor in [0.75, 1.25).
func jitter(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (0.75 + rand.Float64()/2))
}

// run is the loop: scan pins, dispatch due checks to the workers.
func (r *Replicator) run(ctx context.Context) {
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
		if r.cfg.DHT.RoutingTable().Size() == 0 {
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
func (r *Replicator) scan(now time.Time) {
	pins, err := r.cfg.Store.Pins()
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
func (r *Replicator) dispatch(now time.Time) {
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
		r.goOwned(func(ctx context.Context) {
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

// SetWorkers changes how many checks and replica fetches run at once
// (quota.cpu; 0 means the default).
func (r *Replicator) SetWorkers(n int) {
	if n <= 0 {
		n = defaultReplicationWorkers
	}
	r.slots.setLimit(n)
	r.fetchSlots.setLimit(n)
}

// reschedule sets root's next check and ends its running mark.
func (r *Replicator) reschedule(root cid.Cid, settled, held bool) {
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

// check makes sure R responsible nodes hold root, recruiting where they do
// not. settled reports that R confirmed holders answered; held that this
// node still holds root (local or replica).
func (r *Replicator) check(ctx context.Context, root cid.Cid) (settled, held bool) {
	pins, err := r.cfg.Store.PinsOf(root)
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
	if r.skip(root) { // moderation: not spread further
		return true, true
	}
	r.checks.Add(1)
	R := r.replicas()
	self := r.cfg.Self
	publisher := r.publisherPeer(root)
	key := string(root.Hash())

	start := time.Now()
	lctx, cancel := context.WithTimeout(ctx, ClosestLookupTimeout)
	closest, err := r.cfg.DHT.GetClosestPeers(lctx, key)
	cancel()
	r.lookups.Add(1)
	if err != nil && len(closest) == 0 {
		r.log.Debug("replication: lookup", "root", root, "err", err)
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
		answers := make([]Status, len(wave))
		var wg sync.WaitGroup
		for i, p := range wave {
			if p == self {
				selfWalked = true
				answers[i] = Holding
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				st, err := r.svc.Ask(ctx, p, Request{Op: OpReplicate, Root: root, Size: uint64(size)})
				if err != nil {
					r.log.Debug("replication: ask", "peer", p, "root", root, "err", err)
					answers[i] = Busy // unreachable: skip
					return
				}
				answers[i] = st
			}()
		}
		wg.Wait()
		for i, st := range answers {
			switch {
			case st == Holding:
				slots++
				confirmed++
			case st == Fetching:
				slots++
				r.recruited.Add(1)
				r.log.Debug("replication: recruited", "peer", wave[i], "root", root)
			default:
				r.refused.Add(1)
			}
		}
		if ctx.Err() != nil {
			return false, true
		}
	}
	settled = slots >= R && confirmed == slots
	r.log.Debug("replication: checked", "root", root, "slots", slots, "confirmed", confirmed,
		"asked", next, "candidates", len(cands), "took", time.Since(start))

	// A replica-only holder that is no longer among the responsible nodes
	// steps back, once R others closer to the key confirm they hold it.
	if replica && !local && !selfWalked && settled && selfRank >= R+dropMargin {
		if err := r.cfg.Store.RemovePin(root, store.ReasonReplica); err == nil {
			r.changed(root)
			r.dropped.Add(1)
			r.log.Info("replica dropped: enough closer holders", "root", root, "rank", selfRank)
			return true, false
		}
	}
	return settled, true
}
