package node_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/myconet/myconet/internal/leakcheck"
	"github.com/myconet/myconet/node"
	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/config"
	"github.com/myconet/myconet/node/nodetest"
	"github.com/myconet/myconet/store"
)

// testReplicateInterval keeps the repair loop busy in tests.
const testReplicateInterval = time.Second

// published is a package added by a test.
type published struct {
	ref       string
	root      cid.Cid
	publisher int
	data      []byte
	added     time.Time
	settled   time.Duration // until R holders besides the publisher
}

// holders lists the live nodes other than the publisher that hold root
// pinned local or replica.
func holders(net *nodetest.Net, p *published) []int {
	var out []int
	for _, i := range net.Live() {
		if i == p.publisher {
			continue
		}
		pins, err := net.Nodes[i].Store().PinsOf(p.root)
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

// orphans reports whether killing the nodes in dead would leave a package
// with no live copy: neither its publisher nor a holder.
func orphans(net *nodetest.Net, pkgs []*published, dead []int) bool {
	live := net.Live()
	for _, p := range pkgs {
		left := 0
		for _, x := range append(holders(net, p), p.publisher) {
			if slices.Contains(live, x) && !slices.Contains(dead, x) {
				left++
			}
		}
		if left == 0 {
			return true
		}
	}
	return false
}

func publish(t *testing.T, net *nodetest.Net, i int, seed uint64, size int) *published {
	t.Helper()
	path := filepath.Join(t.TempDir(), fmt.Sprintf("p%d.bin", seed))
	data := writeRand(t, path, seed, size)
	res, err := net.Nodes[i].Add(context.Background(), apitype.AddRequest{Path: path, Title: fmt.Sprintf("package %d", seed)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	root, err := cid.Decode(res.Package)
	if err != nil {
		t.Fatal(err)
	}
	return &published{ref: res.MRI, root: root, publisher: i, data: data, added: time.Now()}
}

// waitReplicated waits until every package has at least r holders besides
// its publisher, and records when each got there.
func waitReplicated(t *testing.T, net *nodetest.Net, pkgs []*published, r int, d time.Duration, what string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		all := true
		for _, p := range pkgs {
			if len(holders(net, p)) >= r {
				if p.settled == 0 {
					p.settled = time.Since(p.added)
				}
			} else {
				all = false
			}
		}
		if all {
			return
		}
		if time.Now().After(deadline) {
			for _, p := range pkgs {
				if h := holders(net, p); len(h) < r {
					t.Errorf("%s (publisher %d, dead %v): holders %v", p.root, p.publisher, net.Dead[p.publisher], h)
				}
			}
			t.Fatalf("timed out after %v waiting for %s; stats %+v", d, what, sumStats(net, nil))
		}
		time.Sleep(20 * time.Millisecond) // polling a condition
	}
}

// sumStats adds up the replication counters of the live nodes, less what
// each had in base (if given).
func sumStats(net *nodetest.Net, base map[int]apitype.ReplicationStats) apitype.ReplicationStats {
	var s apitype.ReplicationStats
	for _, i := range net.Live() {
		x := net.Nodes[i].ReplicationStats()
		if b, ok := base[i]; ok {
			x.Checks -= b.Checks
			x.Lookups -= b.Lookups
			x.Recruited -= b.Recruited
			x.Refused -= b.Refused
			x.Dropped -= b.Dropped
			x.Accepted -= b.Accepted
			x.RefusedQuota -= b.RefusedQuota
			x.Fetched -= b.Fetched
			x.FetchFailed -= b.FetchFailed
			x.FetchedBytes -= b.FetchedBytes
			x.Messages -= b.Messages
			x.MessageBytes -= b.MessageBytes
		}
		s.Checks += x.Checks
		s.Lookups += x.Lookups
		s.Recruited += x.Recruited
		s.Refused += x.Refused
		s.Dropped += x.Dropped
		s.Accepted += x.Accepted
		s.RefusedQuota += x.RefusedQuota
		s.Fetched += x.Fetched
		s.FetchFailed += x.FetchFailed
		s.FetchedBytes += x.FetchedBytes
		s.Messages += x.Messages
		s.MessageBytes += x.MessageBytes
	}
	return s
}

// fetchAll checks that each sampled live node gets every package
// byte-identical. The nodes fetch in parallel.
func fetchAll(t *testing.T, net *nodetest.Net, sample []int, pkgs []*published) {
	t.Helper()
	errs := make(chan error, len(sample)*len(pkgs))
	var wg sync.WaitGroup
	for _, i := range sample {
		dir := t.TempDir()
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k, p := range pkgs {
				out := filepath.Join(dir, fmt.Sprintf("%d.bin", k))
				if err := getWithRetry(net.Nodes[i], p.ref, out); err != nil {
					errs <- fmt.Errorf("node %d: get %s: %w", i, p.ref, err)
					continue
				}
				if got, err := os.ReadFile(out); err != nil || !bytes.Equal(got, p.data) {
					errs <- fmt.Errorf("node %d got different bytes for %s (%v)", i, p.ref, err)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// getWithRetry is getEventually for a goroutine: it returns the error.
func getWithRetry(n *node.Node, ref, dest string) error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		err := n.Get(ctx, ref, dest, nil)
		cancel()
		if err == nil || !errors.Is(err, apitype.ErrNotFound) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond) // polling: provider records are announced asynchronously
	}
}

// connectRandomParallel is nodetest's ConnectRandom with the dials made in
// parallel (sequential dials dominate the setup of 50 nodes under -race).
func connectRandomParallel(t *testing.T, net *nodetest.Net, k int) {
	t.Helper()
	n := len(net.Nodes)
	addrs := make([]string, n)
	for j := range n {
		ai := net.AddrInfo(j)
		addrs[j] = ai.Addrs[0].String() + "/p2p/" + ai.ID.String()
	}
	errs := make(chan error, n*k)
	var wg sync.WaitGroup
	for i := range n {
		step := 1
		for c := 0; c < k && step < n; c++ {
			j := (i + step) % n
			step *= 2
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
				defer cancel()
				if _, err := net.Nodes[i].Connect(ctx, addrs[j]); err != nil {
					errs <- fmt.Errorf("connect %d → %d: %w", i, j, err)
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func maxSettled(pkgs []*published) (worst, total time.Duration) {
	for _, p := range pkgs {
		worst = max(worst, p.settled)
		total += p.settled
	}
	return worst, total
}

func TestReplicationOutlivesPublisher(t *testing.T) {
	if testing.Short() {
		t.Skip("30 nodes")
	}
	leakcheck.Check(t)
	const n, r = 30, config.DefaultReplicas
	// A long interval: what is counted is the cost of placing new packages,
	// not of periodic checks.
	net := nodetest.New(t, n, nodetest.Options{ReplicateInterval: 10 * time.Minute, Logs: os.Getenv("MESH_LOGS") != ""})
	connectRandomParallel(t, net, 4)

	var pkgs []*published
	for k := range 5 {
		pkgs = append(pkgs, publish(t, net, 0, uint64(100+k), 64<<10+k*300<<10))
	}
	waitReplicated(t, net, pkgs, r, 60*time.Second, "R replicas of every package")
	worst, total := maxSettled(pkgs)
	st := sumStats(net, nil)
	t.Logf("R=%d on %d nodes: time to R replicas after add: mean %v, max %v", r, n,
		(total / time.Duration(len(pkgs))).Round(time.Millisecond), worst.Round(time.Millisecond))
	t.Logf("per package: %.1f replication messages, %.0f message bytes, %.1f lookups, %.1f checks; replicas fetched %d (%d bytes), refused %d",
		float64(st.Messages)/float64(len(pkgs)), float64(st.MessageBytes)/float64(len(pkgs)),
		float64(st.Lookups)/float64(len(pkgs)), float64(st.Checks)/float64(len(pkgs)),
		st.Fetched, st.FetchedBytes, st.Refused)

	net.Kill(0)
	rng := rand.New(rand.NewPCG(30, 1))
	sample := rng.Perm(n - 1)[:10]
	for k := range sample {
		sample[k]++ // never the dead publisher
	}
	fetchAll(t, net, sample, pkgs)
}

func TestReplicationRepairsAfterChurn(t *testing.T) {
	if testing.Short() {
		t.Skip("50 nodes")
	}
	leakcheck.Check(t)
	const n, r, publishers, perPublisher = 50, config.DefaultReplicas, 5, 4
	setup := time.Now()
	var closing time.Time
	t.Cleanup(func() { t.Logf("closing took %v", time.Since(closing).Round(time.Millisecond)) })
	net := nodetest.New(t, n, nodetest.Options{ReplicateInterval: testReplicateInterval, Logs: os.Getenv("MESH_LOGS") != ""})
	t.Cleanup(func() { closing = time.Now() })
	t.Logf("new %v", time.Since(setup).Round(time.Millisecond))
	connectRandomParallel(t, net, 4)
	t.Logf("connect %v", time.Since(setup).Round(time.Millisecond))

	var pkgs []*published
	for p := range publishers {
		for k := range perPublisher {
			pkgs = append(pkgs, publish(t, net, p, uint64(1000+10*p+k), 32<<10+k*100<<10))
		}
	}
	t.Logf("setup %v", time.Since(setup).Round(time.Millisecond))
	waitReplicated(t, net, pkgs, r, 90*time.Second, "R replicas of every package")
	worst, total := maxSettled(pkgs)
	before := sumStats(net, nil)
	base := map[int]apitype.ReplicationStats{}
	for i, nd := range net.Nodes {
		base[i] = nd.ReplicationStats()
	}
	t.Logf("%d packages on %d nodes: time to R replicas: mean %v, max %v; per package %.1f messages, %.0f message bytes, %.1f lookups",
		len(pkgs), n, (total / time.Duration(len(pkgs))).Round(time.Millisecond), worst.Round(time.Millisecond),
		float64(before.Messages)/float64(len(pkgs)), float64(before.MessageBytes)/float64(len(pkgs)),
		float64(before.Lookups)/float64(len(pkgs)))

	var counts []int
	for _, p := range pkgs {
		counts = append(counts, len(holders(net, p)))
	}
	t.Logf("holders per package besides the publisher, before the churn: %v", counts)

	// Kill 30% of the nodes, chosen with a fixed seed, in three waves with a
	// repair between them. (All at once, a package whose publisher and three
	// replicas all die is gone: with 15 of 50 nodes that is about 0.8% per
	// package, 15% for 20 packages; no repair can help that.)
	rng := rand.New(rand.NewPCG(50, 3))
	victims := rng.Perm(n)[:n*3/10]
	const waves = 3
	per := len(victims) / waves
	for w := range waves {
		// A victim whose death, with the wave's others, would leave some
		// package without a live copy is spared: that package is gone, no
		// repair can bring it back. (Which nodes hold a package after a
		// repair depends on timing; once in CI a wave took all three.)
		var wave []int
		for _, v := range victims[w*per : (w+1)*per] {
			if orphans(net, pkgs, append(slices.Clone(wave), v)) {
				t.Logf("wave %d spares node %d: it holds the last live copies of a package", w+1, v)
				continue
			}
			wave = append(wave, v)
		}
		hit := 0
		for _, p := range pkgs {
			for _, x := range append(holders(net, p), p.publisher) {
				if slices.Contains(wave, x) {
					hit++
					break
				}
			}
		}
		for _, v := range wave {
			net.Kill(v)
		}
		killed := time.Now()
		for _, p := range pkgs {
			p.added, p.settled = killed, 0
		}
		// Repair takes seconds (max 4 s with 8 engineers' runs on 2 cores);
		// the deadline only bounds a failure: 60 s was missed once under load.
		waitReplicated(t, net, pkgs, r, 3*time.Minute, fmt.Sprintf("repair to R live replicas after wave %d", w+1))
		worst, total := maxSettled(pkgs)
		after := sumStats(net, base)
		t.Logf("wave %d killed %v (%d packages lost a holder): repaired in max %v, mean %v (interval %v)",
			w+1, wave, hit, worst.Round(time.Millisecond), (total / time.Duration(len(pkgs))).Round(time.Millisecond), testReplicateInterval)
		t.Logf("  since the churn began: %d checks, %d lookups, %d messages (%d bytes), %d replicas fetched, %d dropped",
			after.Checks, after.Lookups, after.Messages, after.MessageBytes, after.Fetched, after.Dropped)
	}

	// Nothing is lost: two live nodes get every package.
	live := net.Live()
	start := time.Now()
	fetchAll(t, net, []int{live[0], live[len(live)-1]}, pkgs)
	t.Logf("2 nodes fetched all %d packages in %v", len(pkgs), time.Since(start).Round(time.Millisecond))
}

// TestReplicaQuotaRefuses: a node whose quota.replicas is too small for a
// package, or 0 (take no replicas: issue 10 item 6, where 0 meant no limit),
// refuses it.
func TestReplicaQuotaRefuses(t *testing.T) {
	for _, quota := range []string{"1KB", "0"} {
		t.Run(quota, func(t *testing.T) { testReplicaQuotaRefuses(t, quota) })
	}
}

func testReplicaQuotaRefuses(t *testing.T, quota string) {
	leakcheck.Check(t)
	const tiny = 1
	net := nodetest.New(t, 4, nodetest.Options{
		ReplicateInterval: testReplicateInterval,
		Logs:              os.Getenv("MESH_LOGS") != "",
		Override: func(i int, fc *config.FileConfig) {
			if i == tiny {
				fc.Quota.Replicas = quota
			}
		},
	})
	net.ConnectRandom(2)
	p := publish(t, net, 0, 7, 100<<10)
	// Three nodes besides the publisher, so R=3 asks every one of them; the
	// one without room refuses, the other two take replicas.
	net.Eventually(30*time.Second, "replicas on the two nodes with room and a refusal for quota", func() bool {
		return len(holders(net, p)) == 2 && net.Nodes[tiny].ReplicationStats().RefusedQuota > 0
	})
	for _, i := range holders(net, p) {
		if i == tiny {
			t.Fatalf("the node with a %s replica quota holds a 100KB replica", quota)
		}
	}
	if st := net.Nodes[tiny].ReplicationStats(); st.Accepted != 0 || st.Fetched != 0 {
		t.Fatalf("node with replica quota %s: stats %+v", quota, st)
	}
}
