package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	mh "github.com/multiformats/go-multihash"

	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/config"
	"github.com/myconet/myconet/node/nodetest"
	"github.com/myconet/myconet/node/p2p"
	"github.com/myconet/myconet/store"
)

// world is the simulated network: full nodes 0..F-1 (nodetest), then
// DHT-only nodes F..N-1; the first probes of those run the measured lookups
// and are never killed.
type world struct {
	o      options
	tb     *nodetest.ProgramTB
	net    *nodetest.Net
	dhts   []*dhtNode
	ids    []peer.ID
	tr     *traffic
	rng    *rand.Rand
	full   int
	probes []*dhtNode
}

// simPackage is a package published in the simulation.
type simPackage struct {
	ref       string
	root      cid.Cid
	publisher int
	added     time.Time
	settled   time.Duration // until R holders besides the publisher; 0: not yet
}

func simulate(tb *nodetest.ProgramTB, o options) error {
	dhtOnly := o.probes
	if o.full > 0 {
		dhtOnly = max(o.nodes-o.full, o.probes)
	}
	if dhtOnly >= o.nodes {
		return fmt.Errorf("-nodes %d leaves no full nodes beside %d DHT-only ones", o.nodes, dhtOnly)
	}
	w := &world{o: o, tb: tb, tr: newTraffic(), rng: rand.New(rand.NewPCG(o.seed, 2)), full: o.nodes - dhtOnly}
	ctx := context.Background()

	// Start.
	t0 := time.Now()
	progress("starting %d full nodes on mocknet", w.full)
	w.net = nodetest.New(tb, w.full, nodetest.Options{
		WrapHost:          func(i int, h host.Host) host.Host { return w.tr.wrap(h) },
		Override:          func(i int, fc *config.FileConfig) { fc.Replication.Replicas = o.replicas },
		ReplicateInterval: o.interval,
		Logs:              o.logs,
	})
	progress("%d full nodes started in %v; %s", w.full, time.Since(t0).Round(time.Millisecond), memLine())
	for _, nd := range w.net.Nodes {
		w.ids = append(w.ids, nd.Identity().PeerID)
	}
	progress("starting %d DHT-only nodes", dhtOnly)
	for j := range dhtOnly {
		d, err := newDHTNode(w.net.Mock, w.full+j, w.rng, w.tr)
		if err != nil {
			return fmt.Errorf("dht-only node: %w", err)
		}
		tb.Cleanup(func() {
			if !d.dead {
				d.dht.Close()
				d.host.Close()
			}
		})
		w.dhts = append(w.dhts, d)
		w.ids = append(w.ids, d.id)
	}
	w.probes = w.dhts[:o.probes]
	startTook := time.Since(t0)
	_, _, heapStarted := memory()
	progress("all %d nodes started in %v; %s", o.nodes, startTook.Round(time.Millisecond), memLine())

	// Connect and warm the routing tables.
	t1 := time.Now()
	w.connect(ctx)
	w.waitIdentified(ctx)
	connectTook := time.Since(t1)
	progress("connected (%d dials each) in %v; warming routing tables: %d random-key lookups per node",
		o.degree, time.Since(t1).Round(time.Millisecond), o.warm)
	t2 := time.Now()
	w.warm(ctx)
	warmTook := time.Since(t2)
	peersAfterWarm := w.meanPeers()
	rss, _, heapWarm := memory()
	progress("warmed in %v: %.1f connected peers per node; %s", warmTook.Round(time.Millisecond), peersAfterWarm, memLine())

	// Lookups in the settled network.
	closestBefore := w.lookups(ctx, "closest", nil)

	// Publish and replicate.
	pkgs, placed, placeStats, placeTook, err := w.publish(ctx)
	if err != nil {
		return err
	}
	provsBefore := w.lookups(ctx, "providers", pkgs)

	// Churn and repair.
	repairBase := w.tr.snapshot()
	repStatsBase := w.replStatsByNode()
	churnStart := time.Now()
	killed, lostAtOnce := w.churn(pkgs)
	killTook := time.Since(churnStart)
	_, repaired := w.waitRepair(pkgs)
	repairTook := time.Since(churnStart)
	repaired2 := w.tr.snapshot().since(repairBase)
	repStats := w.replStats(repStatsBase)
	closestAfter := w.lookups(ctx, "closest", nil)
	provsAfter := w.lookups(ctx, "providers", pkgs)
	fetchable, fetchTimes := w.fetchCheck(ctx, pkgs)
	_, peak, _ := memory()

	// Report.
	fmt.Printf("Simulation: %d nodes on mocknet = %d full nodes (nodetest: store, DHT, retrieval, replication) + %d DHT-only nodes (kad-dht, same options; %d of them run the measured lookups and are never killed).\n",
		o.nodes, w.full, dhtOnly, o.probes)
	fmt.Printf("Each node dialled %d random others, then made %d random-key lookups (warm-up: %.1f connected peers per node after). R=%d, replicate interval %v, seed %d.\n",
		o.degree, o.warm, peersAfterWarm, o.replicas, o.interval, o.seed)
	fmt.Printf("Start %v; connecting and identify, during which kad-dht's own routing-table refresh runs on every node, %v; warm-up %v. Memory: Go heap %s after start (%s per node), %s after warm-up; RSS %s, peak %s.\n\n",
		startTook.Round(time.Second), connectTook.Round(time.Second), warmTook.Round(time.Second), bytesStr(float64(heapStarted)),
		bytesStr(float64(heapStarted)/float64(o.nodes)), bytesStr(float64(heapWarm)), bytesStr(float64(rss)), bytesStr(float64(peak)))

	fmt.Println("DHT lookups from the probe nodes (kad-dht query events):")
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "lookup\twhen\tn\tfailed\thops mean\thops p95\tmsgs mean\tmsgs p95\terrors mean\ttime p50\ttime p95\ttime max\t")
	for _, l := range []struct {
		name, when string
		rs         []lookupRun
	}{
		{"closest peers (random key)", "before churn", closestBefore},
		{"first provider (package)", "before churn", provsBefore},
		{"closest peers (random key)", "after churn", closestAfter},
		{"first provider (package)", "after churn", provsAfter},
	} {
		printLookups(tw, l.name, l.when, l.rs)
	}
	tw.Flush()
	fmt.Println()

	worst, total := time.Duration(0), time.Duration(0)
	for _, p := range pkgs {
		worst = max(worst, p.settled)
		total += p.settled
	}
	fmt.Printf("Replication: %d packages of %s published on random full nodes; %d/%d reached R=%d holders besides the publisher (mean %v, max %v after add; all by %v).\n",
		len(pkgs), bytesStr(float64(o.size)), placed, len(pkgs), o.replicas,
		ms(total/time.Duration(max(1, len(pkgs)))), ms(worst), ms(placeTook))
	printTraffic(placeStats, fmt.Sprintf("Traffic per package from the first add until all had R replicas (all nodes, both directions; %d packages):", len(pkgs)), float64(len(pkgs)))

	fmt.Printf("Churn: killed %d of %d nodes (%.0f%% of the non-probe nodes: %d full, %d DHT-only), seed %d, in %v (8 at a time); repair runs meanwhile and is timed from the first kill.\n",
		killed.full+killed.dht, o.nodes-o.probes, 100*o.kill, killed.full, killed.dht, o.seed, killTook.Round(time.Second))
	tw = tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "packages\tno live holder at once\t≥R holders after repair\trepair took\tfetchable after\tfetch p50\tfetch max\t")
	fs := sortedDurations(fetchTimes)
	rt := ms(repairTook)
	if repaired < len(pkgs) {
		rt = "> " + ms(repairTook)
	}
	fmt.Fprintf(tw, "%d\t%d\t%d (%.0f%%)\t%s\t%d (%.0f%%)\t%s\t%s\t\n", len(pkgs), lostAtOnce,
		repaired, 100*float64(repaired)/float64(len(pkgs)), rt,
		fetchable, 100*float64(fetchable)/float64(len(pkgs)), ms(pct(fs, 50)), ms(pct(fs, 100)))
	tw.Flush()
	fmt.Println()
	fmt.Printf("Repair work (surviving full nodes, from the first kill): %d checks, %d closest-peer lookups, %d recruited, %d refused or unreachable, %d replicas fetched (%s).\n",
		repStats.Checks, repStats.Lookups, repStats.Recruited, repStats.Refused, repStats.Fetched, bytesStr(float64(repStats.FetchedBytes)))
	printTraffic(repaired2, fmt.Sprintf("Traffic per package from the first kill until repaired or given up (%v; includes every live node's periodic checks):", ms(repairTook)), float64(len(pkgs)))
	return nil
}

// connect makes each node dial o.degree others at random.
func (w *world) connect(ctx context.Context) {
	n := len(w.ids)
	type pair struct{ a, b int }
	var pairs []pair
	for i := range n {
		for range w.o.degree {
			j := w.rng.IntN(n - 1)
			if j >= i {
				j++
			}
			pairs = append(pairs, pair{i, j})
		}
	}
	parallel(len(pairs), 16, func(k int) {
		p := pairs[k]
		if _, err := w.net.Mock.ConnectPeers(w.ids[p.a], w.ids[p.b]); err != nil {
			progress("connect %d → %d: %v", p.a, p.b, err)
		}
	})
}

// waitIdentified waits (up to a minute) until every node has identified a
// connected peer that speaks the DHT, so that its routing table is not
// empty.
func (w *world) waitIdentified(ctx context.Context) {
	kad := protocol.ID(p2p.DHTPrefix + "/kad/1.0.0")
	deadline := time.Now().Add(time.Minute)
	for i := 0; i < len(w.ids); {
		h := w.net.Mock.Host(w.ids[i])
		ok := false
		for _, p := range h.Network().Peers() {
			if protos, err := h.Peerstore().SupportsProtocols(p, kad); err == nil && len(protos) > 0 {
				ok = true
				break
			}
		}
		if ok {
			i++
			continue
		}
		if time.Now().After(deadline) {
			progress("node %d has identified no DHT peer after a minute", i)
			i++
			continue
		}
		sleepCtx(ctx, 20*time.Millisecond) // polling identify
	}
}

// warm makes every node run o.warm lookups of random keys, the way a real
// node's routing-table refresh would (nodetest nodes have no bootstrap
// peers, so their own refresh finds an empty table).
func (w *world) warm(ctx context.Context) {
	n := len(w.ids)
	var done atomic.Int64
	keys := make([]cid.Cid, n*w.o.warm)
	for k := range keys {
		keys[k] = w.randomCID()
	}
	parallel(len(keys), 32, func(k int) {
		i := k % n
		lctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		defer cancel()
		lctx, finish := traceQuery(lctx)
		start := time.Now()
		defer func() {
			if q := finish(); w.o.verbose {
				progress("warm-up lookup on node %d: %v, %d msgs, %d errors, %d hops", i, ms(time.Since(start)), q.Messages, q.Errors, q.Hops)
			}
		}()
		if i < w.full {
			if _, err := w.net.Nodes[i].Providers(lctx, "myco://"+keys[k].String()); err != nil {
				progress("warm-up lookup on node %d: %v", i, err)
			}
		} else {
			w.dhts[i-w.full].dht.GetClosestPeers(lctx, string(keys[k].Hash()))
		}
		if d := done.Add(1); d%200 == 0 {
			progress("warm-up: %d/%d lookups", d, len(keys))
		}
	})
}

func (w *world) randomCID() cid.Cid {
	var b [32]byte
	for k := range b {
		b[k] = byte(w.rng.Uint32())
	}
	h, _ := mh.Sum(b[:], mh.SHA2_256, -1)
	return cid.NewCidV1(cid.DagCBOR, h)
}

func (w *world) meanPeers() float64 {
	total, live := 0, 0
	for i, id := range w.ids {
		if w.dead(i) {
			continue
		}
		if n := w.net.Mock.Net(id); n != nil {
			total += len(n.Peers())
			live++
		}
	}
	return float64(total) / float64(max(1, live))
}

func (w *world) dead(i int) bool {
	if i < w.full {
		return w.net.Dead[i]
	}
	return w.dhts[i-w.full].dead
}

// lookupRun is one measured lookup.
type lookupRun struct {
	took time.Duration
	ok   bool
	q    queryTrace
}

// lookups runs o.lookups lookups, one at a time, from random probes: of the
// closest peers to random keys (pkgs nil) or of the first provider of random
// packages of pkgs.
func (w *world) lookups(ctx context.Context, kind string, pkgs []*simPackage) []lookupRun {
	out := make([]lookupRun, w.o.lookups)
	for k := range out {
		probe := w.probes[w.rng.IntN(len(w.probes))]
		lctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		lctx, finish := traceQuery(lctx)
		start := time.Now()
		var r lookupRun
		if pkgs == nil {
			key := w.randomCID()
			peers, err := probe.dht.GetClosestPeers(lctx, string(key.Hash()))
			r.took, r.ok = time.Since(start), err == nil && len(peers) > 0
		} else {
			p := pkgs[w.rng.IntN(len(pkgs))]
			for range probe.dht.FindProvidersAsync(lctx, p.root, 1) {
				r.took, r.ok = time.Since(start), true
				break
			}
			if !r.ok {
				r.took = time.Since(start)
			}
		}
		r.q = finish()
		cancel()
		out[k] = r
	}
	progress("%d %s lookups done", len(out), kind)
	return out
}

func printLookups(tw *tabwriter.Writer, name, when string, rs []lookupRun) {
	var hops, msgs, errs []float64
	var times []time.Duration
	failed := 0
	for _, r := range rs {
		if !r.ok {
			failed++
			continue
		}
		hops = append(hops, float64(r.q.Hops))
		msgs = append(msgs, float64(r.q.Messages))
		errs = append(errs, float64(r.q.Errors))
		times = append(times, r.took)
	}
	sh, sm := sortedFloats(hops), sortedFloats(msgs)
	st := sortedDurations(times)
	fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%.1f\t%.0f\t%.1f\t%.0f\t%.1f\t%s\t%s\t%s\t\n", name, when, len(rs), failed,
		mean(hops), pct(sh, 95), mean(msgs), pct(sm, 95), mean(errs), ms(pct(st, 50)), ms(pct(st, 95)), ms(pct(st, 100)))
}

// publish adds o.packages packages on random full nodes and waits until each
// has R holders besides its publisher. It returns the traffic per package
// over that time.
func (w *world) publish(ctx context.Context) (pkgs []*simPackage, placed int, moved trafficSnap, took time.Duration, err error) {
	progress("publishing %d packages of %s", w.o.packages, bytesStr(float64(w.o.size)))
	base := w.tr.snapshot()
	start := time.Now()
	for k := range w.o.packages {
		i := w.rng.IntN(w.full)
		res, err := addPackage(ctx, w.tb, w.net.Nodes[i], w.o.seed*1000+uint64(k), w.o.size)
		if err != nil {
			return nil, 0, nil, 0, fmt.Errorf("add on node %d: %w", i, err)
		}
		root, err := cid.Decode(res.Package)
		if err != nil {
			return nil, 0, nil, 0, err
		}
		pkgs = append(pkgs, &simPackage{ref: res.MRI, root: root, publisher: i, added: time.Now()})
	}
	deadline := start.Add(w.o.timeout)
	for {
		placed = 0
		for _, p := range pkgs {
			if len(w.holders(p)) >= w.o.replicas {
				if p.settled == 0 {
					p.settled = time.Since(p.added)
				}
				placed++
			}
		}
		if placed == len(pkgs) || time.Now().After(deadline) {
			break
		}
		sleepCtx(ctx, 200*time.Millisecond) // polling the stores
	}
	took = time.Since(start)
	progress("%d/%d packages have R=%d replicas after %v", placed, len(pkgs), w.o.replicas, took.Round(time.Millisecond))
	return pkgs, placed, w.tr.snapshot().since(base), took, nil
}

// holders lists the live full nodes other than p's publisher that hold p
// pinned local or replica.
func (w *world) holders(p *simPackage) []int {
	var out []int
	for _, i := range w.net.Live() {
		if i == p.publisher {
			continue
		}
		pins, err := w.net.Nodes[i].Store().PinsOf(p.root)
		if err != nil {
			continue
		}
		for _, pin := range pins {
			if pin.Reason == store.ReasonLocal || pin.Reason == store.ReasonReplica {
				out = append(out, i)
				break
			}
		}
	}
	return out
}

type killCount struct{ full, dht int }

// churn kills o.kill of the nodes that are not probes, chosen at random, and
// counts the packages left with no live holder (publisher included).
func (w *world) churn(pkgs []*simPackage) (killed killCount, lost int) {
	var cands []int
	for i := range w.ids {
		if i < w.full || i >= w.full+len(w.probes) {
			cands = append(cands, i)
		}
	}
	w.rng.Shuffle(len(cands), func(a, b int) { cands[a], cands[b] = cands[b], cands[a] })
	victims := cands[:int(float64(len(cands))*w.o.kill+0.5)]
	progress("killing %d nodes", len(victims))
	var mu sync.Mutex
	parallel(len(victims), 8, func(k int) {
		i := victims[k]
		if i < w.full {
			w.net.Kill(i) // each index is killed once: Dead[i] is written by one goroutine
			mu.Lock()
			killed.full++
			mu.Unlock()
		} else {
			w.dhts[i-w.full].kill(w.net.Mock)
			mu.Lock()
			killed.dht++
			mu.Unlock()
		}
	})
	for _, p := range pkgs {
		if len(w.holders(p)) == 0 && w.net.Dead[p.publisher] {
			lost++
		}
	}
	progress("killed %d full and %d DHT-only nodes; %d packages have no live holder", killed.full, killed.dht, lost)
	return killed, lost
}

// waitRepair waits until every package has R live holders besides its
// publisher, or o.repair passes.
func (w *world) waitRepair(pkgs []*simPackage) (time.Duration, int) {
	start := time.Now()
	last := -1
	for {
		ok := 0
		for _, p := range pkgs {
			if len(w.holders(p)) >= w.o.replicas {
				ok++
			}
		}
		if ok != last {
			progress("repair: %d/%d packages have R live holders", ok, len(pkgs))
			last = ok
		}
		if ok == len(pkgs) || time.Since(start) > w.o.repair {
			return time.Since(start), ok
		}
		time.Sleep(time.Second) // polling the stores
	}
}

// replStatsByNode returns each live full node's replication counters.
func (w *world) replStatsByNode() map[int]apitype.ReplicationStats {
	out := map[int]apitype.ReplicationStats{}
	for _, i := range w.net.Live() {
		out[i] = w.net.Nodes[i].ReplicationStats()
	}
	return out
}

// replStats sums the replication counters of the live full nodes, each less
// its own in base (nodes killed since drop out of both).
func (w *world) replStats(base map[int]apitype.ReplicationStats) apitype.ReplicationStats {
	var s apitype.ReplicationStats
	for _, i := range w.net.Live() {
		x := w.net.Nodes[i].ReplicationStats()
		b := base[i]
		s.Checks += x.Checks - b.Checks
		s.Lookups += x.Lookups - b.Lookups
		s.Recruited += x.Recruited - b.Recruited
		s.Refused += x.Refused - b.Refused
		s.Fetched += x.Fetched - b.Fetched
		s.FetchedBytes += x.FetchedBytes - b.FetchedBytes
	}
	return s
}

// fetchCheck has, for every package, one random live full node that does
// not hold it Get it (all packages at once); it returns how many succeeded
// and how long each took.
func (w *world) fetchCheck(ctx context.Context, pkgs []*simPackage) (int, []time.Duration) {
	live := w.net.Live()
	fetchers := make([]int, len(pkgs))
	for k, p := range pkgs {
		held := map[int]bool{p.publisher: true}
		for _, i := range w.holders(p) {
			held[i] = true
		}
		for {
			i := live[w.rng.IntN(len(live))]
			if !held[i] {
				fetchers[k] = i
				break
			}
		}
	}
	var ok atomic.Int64
	times := make([]time.Duration, len(pkgs))
	parallel(len(pkgs), len(pkgs), func(k int) {
		dest := filepath.Join(w.tb.TempDir(), "out")
		gctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		defer cancel()
		start := time.Now()
		err := w.net.Nodes[fetchers[k]].Get(gctx, pkgs[k].ref, dest, nil)
		times[k] = time.Since(start)
		if err != nil {
			progress("package %d not fetchable on node %d: %v", k, fetchers[k], err)
			return
		}
		ok.Add(1)
		os.Remove(dest)
	})
	progress("%d/%d packages fetchable after the churn", ok.Load(), len(pkgs))
	return int(ok.Load()), times
}

// parallel runs f(0..n-1) on at most workers goroutines and waits.
func parallel(n, workers int, f func(k int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(n, max(1, workers)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				k := int(next.Add(1) - 1)
				if k >= n {
					return
				}
				f(k)
			}
		}()
	}
	wg.Wait()
}
