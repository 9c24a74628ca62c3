package main

// The churn benchmark (-churn): do votes survive the replacement of the
// nodes that counted them?
//
// On a mocknet of -nodes full nodes, -voters distinct nodes vote on each of
// -packages packages (a mix of keep and remove majorities, so that both
// decisions are measured). Once every package's tally, read from a node,
// counts every vote, the decisions are recorded; then -replace of the nodes
// (aggregators included: they are chosen at random, and nothing spares the
// aggregators) are killed and as many fresh nodes join, in -waves waves
// -wave-gap apart. Afterwards each package's tally is read from a random
// surviving node until it counts at least 99% of its votes with the same
// decision as before, or -settle passes.

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/config"
	"github.com/myconet/myconet/node/nodetest"
)

type churnOptions struct {
	nodes, voters, packages, waves, bits int
	replace                              float64
	sync, waveGap, settle                time.Duration
	seed                                 uint64
	verbose                              bool
}

func runChurn(o churnOptions) (reterr error) {
	tb, err := nodetest.NewProgramTB("bench-moderation-churn-", o.verbose)
	if err != nil {
		return err
	}
	defer tb.Close()
	defer tb.Recover(&reterr)
	rng := rand.New(rand.NewPCG(o.seed, 7))
	start := time.Now()
	net := nodetest.New(tb, o.nodes, nodetest.Options{Override: func(i int, fc *config.FileConfig) {
		fc.Quota.Replicas = "1B"
		fc.Moderation.PowBits = o.bits
		fc.Moderation.MinVotes = 10
		fc.Moderation.MinTallies = 3
		fc.Moderation.Refresh = o.sync.String() // also the aggregator sync interval
	}})
	net.ConnectRandom(4)
	ctx := context.Background()
	logf := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "[%6.1fs] "+format+"\n", append([]any{time.Since(start).Seconds()}, args...)...)
	}
	logf("%d nodes up", o.nodes)

	// Packages, each from a random node; voter v votes remove on package j
	// when (v+j) % 3 != 0 for even j (a remove majority) and when
	// (v+j) % 3 == 0 for odd j (a keep majority).
	pkgs := make([]string, o.packages)
	for j := range pkgs {
		p := filepath.Join(tb.TempDir(), "f")
		if err := os.WriteFile(p, fmt.Appendf(nil, "churn bench package %d", j), 0o644); err != nil {
			return err
		}
		res, err := net.Nodes[rng.IntN(o.nodes)].Add(ctx, apitype.AddRequest{Path: p, Title: fmt.Sprintf("churn %d", j)}, nil)
		if err != nil {
			return err
		}
		pkgs[j] = res.Package
	}
	choice := func(v, j int) string {
		if ((v+j)%3 != 0) == (j%2 == 0) {
			return "remove"
		}
		return "keep"
	}
	want := make([]struct{ keep, remove int }, o.packages)
	for j := range pkgs {
		for v := range o.voters {
			if choice(v, j) == "remove" {
				want[j].remove++
			} else {
				want[j].keep++
			}
		}
	}
	voters := rng.Perm(o.nodes)[:o.voters]
	var wg sync.WaitGroup
	jobs := make(chan [2]int)
	var mu sync.Mutex
	var failed int
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for job := range jobs {
				v, j := job[0], job[1]
				var err error
				for try := 0; try < 50; try++ { // the routing tables fill during the first seconds
					var d apitype.Delivery
					d, err = net.Nodes[voters[v]].Vote(ctx, apitype.VoteRequest{Ref: pkgs[j], Choice: choice(v, j)})
					if err == nil && d.Accepted >= 3 {
						break
					}
					time.Sleep(100 * time.Millisecond)
				}
				if err != nil {
					mu.Lock()
					failed++
					mu.Unlock()
				}
			}
		}()
	}
	for v := range o.voters {
		for j := range pkgs {
			jobs <- [2]int{v, j}
		}
	}
	close(jobs)
	wg.Wait()
	if failed > 0 {
		return fmt.Errorf("%d votes reached no aggregator", failed)
	}
	logf("%d votes cast (%d voters × %d packages)", o.voters*o.packages, o.voters, o.packages)

	read := func(j int) (apitype.TallyReport, error) {
		live := net.Live()
		return net.Nodes[live[rng.IntN(len(live))]].Tally(ctx, pkgs[j], false)
	}
	settled := func(j int) (apitype.TallyReport, bool) {
		r, err := read(j)
		if err != nil {
			return r, false
		}
		total := want[j].keep + want[j].remove
		return r, float64(r.Keep+r.Remove) >= 0.99*float64(total)
	}
	before := make([]string, o.packages)
	for j := range pkgs {
		var r apitype.TallyReport
		nodetest.Eventually(tb, o.settle, "tallies to count every vote before the churn", func() bool {
			var ok bool
			r, ok = settled(j)
			return ok && r.Keep == want[j].keep && r.Remove == want[j].remove
		})
		before[j] = r.Decision
	}
	logf("before the churn: every tally counts all %d votes", o.voters)

	// Churn in waves.
	total := int(o.replace * float64(o.nodes))
	replaced := 0
	for w := range o.waves {
		n := total/o.waves + btoi(w < total%o.waves)
		live := net.Live()
		rng.Shuffle(len(live), func(a, b int) { live[a], live[b] = live[b], live[a] })
		for _, i := range live[:n] {
			net.Kill(i)
		}
		for range n {
			j := net.Add()
			now := net.Live()
			for range 4 {
				if k := now[rng.IntN(len(now))]; k != j {
					net.Connect(j, k)
				}
			}
		}
		replaced += n
		logf("wave %d: %d nodes replaced (%d in all)", w+1, n, replaced)
		time.Sleep(o.waveGap)
	}

	// After: every package's tally from a random survivor.
	churnEnd := time.Now()
	minShare, sumShare, same, atLeast := 1.0, 0.0, 0, 0
	var slowest time.Duration
	for j := range pkgs {
		var r apitype.TallyReport
		var ok bool
		deadline := time.Now().Add(o.settle)
		for {
			r, ok = settled(j)
			if ok && r.Decision == before[j] || time.Now().After(deadline) {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		if d := time.Since(churnEnd); ok && d > slowest {
			slowest = d
		}
		share := float64(r.Keep+r.Remove) / float64(want[j].keep+want[j].remove)
		minShare = min(minShare, share)
		sumShare += share
		if ok {
			atLeast++
		}
		if r.Decision == before[j] {
			same++
		}
		if o.verbose {
			logf("package %d: %d keep %d remove (want %d/%d), %s (before: %s)", j, r.Keep, r.Remove, want[j].keep, want[j].remove, r.Decision, before[j])
		}
	}
	var pulled, pushed int64
	for _, i := range net.Live() {
		st := net.Nodes[i].ModerationStats()
		pulled, pushed = pulled+st.VotesPulled, pushed+st.VotesPushed
	}
	fmt.Printf("churn: %d nodes, %d voters × %d packages (%d votes at %d bits), %d nodes (%.0f%%) replaced in %d waves %v apart, sync every %v\n",
		o.nodes, o.voters, o.packages, o.voters*o.packages, o.bits, replaced, 100*float64(replaced)/float64(o.nodes), o.waves, o.waveGap, o.sync)
	fmt.Printf("  after: tallies count min %.1f%%, mean %.1f%% of the votes; %d/%d packages at >= 99%%; %d/%d decisions as before; settled %v after the last wave\n",
		100*minShare, 100*sumShare/float64(o.packages), atLeast, o.packages, same, o.packages, slowest.Round(100*time.Millisecond))
	fmt.Printf("  aggregator sync on the survivors: %d votes pulled, %d pushed\n", pulled, pushed)
	return nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
