// Command moderation measures community moderation: the CPU cost of a
// vote's proof of work at the default difficulty (against the machine's
// raw SHA-256 rate, the physical limit of that work), and on a mocknet of
// full nodes the latency of a tally and the messages a vote and a tally
// take.
//
//	go run ./bench/moderation [-nodes 50] [-votes 20] [-cpu-votes 10]
package main

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/core/routing"
	"github.com/multiformats/go-multihash"

	"github.com/myconet/myconet/moderation"
	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/config"
	"github.com/myconet/myconet/node/moderate"
	"github.com/myconet/myconet/node/nodetest"
)

func main() {
	nodes := flag.Int("nodes", 50, "full nodes on the mocknet")
	votes := flag.Int("votes", 20, "votes cast on the mocknet (by distinct nodes, at -net-bits)")
	netBits := flag.Int("net-bits", 8, "proof of work of the mocknet votes")
	cpuVotes := flag.Int("cpu-votes", 10, "votes computed at the default difficulty for the CPU figure")
	verbose := flag.Bool("v", false, "progress on stderr")
	var co churnOptions
	churn := flag.Bool("churn", false, "run the churn benchmark (churn.go) instead")
	flag.IntVar(&co.voters, "voters", 50, "-churn: voters")
	flag.IntVar(&co.packages, "packages", 20, "-churn: packages voted on")
	flag.Float64Var(&co.replace, "replace", 0.3, "-churn: fraction of the nodes replaced")
	flag.IntVar(&co.waves, "waves", 3, "-churn: waves of replacement")
	flag.DurationVar(&co.sync, "sync", 2*time.Second, "-churn: moderation.refresh, the aggregator sync interval")
	flag.DurationVar(&co.waveGap, "wave-gap", 5*time.Second, "-churn: time between waves")
	flag.DurationVar(&co.settle, "settle", 2*time.Minute, "-churn: longest wait for tallies to settle")
	flag.Uint64Var(&co.seed, "seed", 1, "-churn: random seed")
	flag.Parse()
	if *churn {
		co.nodes, co.bits, co.verbose = *nodes, *netBits, *verbose
		if err := runChurn(co); err != nil {
			fmt.Fprintln(os.Stderr, "moderation:", err)
			os.Exit(1)
		}
		return
	}
	cpuCost(*cpuVotes)
	if err := runNetwork(*nodes, *votes, *netBits, *verbose); err != nil {
		fmt.Fprintln(os.Stderr, "moderation:", err)
		os.Exit(1)
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cpuCost times n votes at moderation.DefaultDifficulty, one at a time on
// one goroutine, and the raw rate of one-block SHA-256 on the same core.
func cpuCost(n int) {
	if n <= 0 {
		return
	}
	// 55 bytes: one compression with the padding, as a work hash that
	// restarts from the prefix's midstate.
	var block [55]byte
	const raw = 1 << 22
	c0 := cpuTime()
	for i := range raw {
		block[40], block[41], block[42] = byte(i), byte(i>>8), byte(i>>16)
		h := sha256.Sum256(block[:])
		copy(block[:32], h[:])
	}
	rawCPU := cpuTime() - c0
	rate := float64(raw) / rawCPU.Seconds()
	_, priv, _ := ed25519.GenerateKey(nil)
	mh, _ := multihash.Sum([]byte("bench"), multihash.SHA2_256, -1)
	target := cid.NewCidV1(cid.DagCBOR, mh)
	var per []float64
	var total time.Duration
	for i := range n {
		c0 := cpuTime()
		if _, err := moderation.NewVote(priv, target, moderation.ChoiceRemove, "", time.Unix(int64(1e9+i), 0), moderation.DefaultDifficulty); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return
		}
		d := cpuTime() - c0
		total += d
		per = append(per, d.Seconds())
	}
	slices.Sort(per)
	expected := float64(uint64(1)<<moderation.DefaultDifficulty) / rate
	fmt.Printf("vote cost at %d bits (%d votes, one core): mean %.2f CPU-s, median %.2f, max %.2f\n",
		moderation.DefaultDifficulty, n, total.Seconds()/float64(n), per[len(per)/2], per[len(per)-1])
	fmt.Printf("  physical limit: this core hashes %.1f M one-block SHA-256/s (sha256.Sum256 of 55 bytes);\n", rate/1e6)
	fmt.Printf("  2^%d of them take %.2f CPU-s: the mean vote costs %.2fx that\n",
		moderation.DefaultDifficulty, expected, total.Seconds()/float64(n)/expected)
}

// streamCounter counts the streams one node opens, by protocol.
type streamCounter struct {
	host.Host
	mu sync.Mutex
	by map[protocol.ID]int
}

func (h *streamCounter) NewStream(ctx context.Context, p peer.ID, pids ...protocol.ID) (network.Stream, error) {
	s, err := h.Host.NewStream(ctx, p, pids...)
	if err == nil {
		h.mu.Lock()
		h.by[s.Protocol()]++
		h.mu.Unlock()
	}
	return s, err
}

// snapshot returns the moderation streams opened so far.
func (h *streamCounter) snapshot() (mod int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.by[moderate.Protocol]
}

// countQueries returns a context that counts the DHT queries sent on its
// behalf (kad-dht reuses streams, so streams do not count messages), and a
// function that returns the count once the work is done.
func countQueries(ctx context.Context) (context.Context, func() int) {
	ctx, cancel := context.WithCancel(ctx)
	ctx, events := routing.RegisterForQueryEvents(ctx)
	n := 0
	done := make(chan struct{})
	go func() {
		defer close(done)
		for e := range events {
			if e.Type == routing.SendingQuery {
				n++
			}
		}
	}()
	return ctx, func() int { cancel(); <-done; return n }
}

func runNetwork(nodes, votes, bits int, verbose bool) (reterr error) {
	tb, err := nodetest.NewProgramTB("bench-moderation-", verbose)
	if err != nil {
		return err
	}
	defer tb.Close()
	defer tb.Recover(&reterr)
	counters := make([]*streamCounter, nodes)
	net := nodetest.New(tb, nodes, nodetest.Options{
		Override: func(i int, fc *config.FileConfig) {
			fc.Quota.Replicas = "1B"
			fc.Moderation.PowBits = bits
			fc.Moderation.MinVotes = 3
		},
		WrapHost: func(i int, h host.Host) host.Host {
			counters[i] = &streamCounter{Host: h, by: map[protocol.ID]int{}}
			return counters[i]
		},
	})
	net.ConnectRandom(4)
	ctx := context.Background()
	p := filepath.Join(tb.TempDir(), "f")
	if err := os.WriteFile(p, []byte("bench"), 0o644); err != nil {
		return err
	}
	res, err := net.Nodes[0].Add(ctx, apitype.AddRequest{Path: p, Title: "moderation bench"}, nil)
	if err != nil {
		return err
	}
	ref := res.Package
	votes = min(votes, nodes-1)
	var voteDHT, voteMod, accepted []int
	var voteLat []time.Duration
	for i := 1; i <= votes; i++ {
		var d apitype.Delivery
		var took time.Duration
		var queries, m0 int
		for try := 0; ; try++ { // the routing tables fill during the first seconds
			qctx, count := countQueries(ctx)
			m0 = counters[i].snapshot()
			start := time.Now()
			d, err = net.Nodes[i].Vote(qctx, apitype.VoteRequest{Ref: ref, Choice: "remove"})
			took, queries = time.Since(start), count()
			if err == nil || try == 50 {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if err != nil {
			return err
		}
		voteLat = append(voteLat, took)
		voteDHT, voteMod, accepted = append(voteDHT, queries), append(voteMod, counters[i].snapshot()-m0), append(accepted, d.Accepted)
	}
	var tallyLat, verifyLat []time.Duration
	var tallyDHT, tallyMod []int
	for i := votes + 1; i < nodes; i++ {
		m0 := counters[i].snapshot()
		start := time.Now()
		r, err := net.Nodes[i].Tally(ctx, ref, false)
		if err != nil {
			return err
		}
		tallyLat = append(tallyLat, time.Since(start))
		tallyMod = append(tallyMod, counters[i].snapshot()-m0)
		if r.Remove != votes || r.Decision != "remove" {
			return fmt.Errorf("node %d: tally %d remove, %s", i, r.Remove, r.Decision)
		}
		// The lookup of a verifying tally runs on the caller's context,
		// so its DHT queries can be counted; a plain tally makes the same
		// lookup.
		qctx, count := countQueries(ctx)
		start = time.Now()
		r, err = net.Nodes[i].Tally(qctx, ref, true)
		took, queries := time.Since(start), count()
		if err != nil || r.Remove != votes {
			return fmt.Errorf("verify at node %d: %+v %v", i, r, err)
		}
		verifyLat, tallyDHT = append(verifyLat, took), append(tallyDHT, queries)
	}
	fmt.Printf("mocknet: %d full nodes, %d remove votes at %d bits by distinct nodes\n", nodes, votes, bits)
	fmt.Printf("  per vote: %s DHT queries + %s moderation streams (aggregators accepting: %s); latency %s (PoW included)\n",
		ints(voteDHT), ints(voteMod), ints(accepted), durs(voteLat))
	fmt.Printf("  per tally (%d nodes): %s DHT queries (one lookup) + %s moderation streams (tally + annotations per aggregator); latency %s\n",
		len(tallyLat), ints(tallyDHT), ints(tallyMod), durs(tallyLat))
	fmt.Printf("  per tally --verify (fetch %d votes from each aggregator, recount): latency %s\n", votes, durs(verifyLat))
	return nil
}

func ints(v []int) string {
	s := slices.Clone(v)
	slices.Sort(s)
	sum := 0
	for _, x := range s {
		sum += x
	}
	return fmt.Sprintf("mean %.1f (min %d, max %d)", float64(sum)/float64(len(s)), s[0], s[len(s)-1])
}

func durs(v []time.Duration) string {
	s := slices.Clone(v)
	slices.Sort(s)
	return fmt.Sprintf("median %v, p90 %v", s[len(s)/2].Round(10*time.Microsecond), s[len(s)*9/10].Round(10*time.Microsecond))
}
