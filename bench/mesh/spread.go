package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/libp2p/go-libp2p/core/host"

	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/config"
	"github.com/myconet/myconet/node/nodetest"
)

// fetchResult is one node's wait for a package.
type fetchResult struct {
	node     int
	hops     int           // connections from the publisher at the start
	took     time.Duration // from the end of Add to the first Get that succeeded
	attempts int
	dht      queryTrace // DHT queries of the Get that succeeded
	err      error      // the last error, if it never succeeded
}

// spread adds a package on node 0 of a sparse network and measures, for
// every other node, how long until Get succeeds.
func spread(tb *nodetest.ProgramTB, o options) error {
	tr := newTraffic()
	progress("starting %d full nodes on mocknet", o.nodes)
	t0 := time.Now()
	net := nodetest.New(tb, o.nodes, nodetest.Options{
		WrapHost: func(i int, h host.Host) host.Host { return tr.wrap(h) },
		Override: func(i int, fc *config.FileConfig) { fc.Replication.Replicas = o.replicas },
		Logs:     o.logs,
	})
	progress("started in %v; %s", time.Since(t0).Round(time.Millisecond), memLine())
	net.ConnectRandom(o.degree)
	// Hops over the connections ConnectRandom made; the DHT's own lookups
	// soon add more (counted in "peers" below).
	dist := chordHops(o.nodes, o.degree, 0)
	maxHops := 0
	for _, d := range dist {
		maxHops = max(maxHops, d)
	}
	progress("connected: ConnectRandom(%d), %d hops at most from the publisher", o.degree, maxHops)
	fetchers := farthestFirst(dist, o.fetchers)

	ctx := context.Background()
	base := tr.snapshot()
	addStart := time.Now()
	res, err := addPackage(ctx, tb, net.Nodes[0], o.seed, o.size)
	if err != nil {
		return fmt.Errorf("add: %w", err)
	}
	addTook := time.Since(addStart)
	added := time.Now()
	peersAtAdd := meanPeers(net)
	progress("added %s (%s) in %v; fetching from %d nodes at once", res.MRI, bytesStr(float64(o.size)), addTook.Round(time.Millisecond), len(fetchers))

	results := make([]fetchResult, len(fetchers))
	var wg sync.WaitGroup
	var mu sync.Mutex
	done := 0
	for k, i := range fetchers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := fetchResult{node: i, hops: dist[i]}
			dest := filepath.Join(tb.TempDir(), "out")
			deadline := added.Add(o.timeout)
			for {
				r.attempts++
				gctx, cancel := context.WithDeadline(ctx, deadline)
				gctx, finish := traceQuery(gctx)
				err := net.Nodes[i].Get(gctx, res.MRI, dest, nil)
				r.dht = finish()
				cancel()
				if err == nil {
					r.took, r.err = time.Since(added), nil
					break
				}
				r.err = err
				if !errors.Is(err, apitype.ErrNotFound) || time.Now().After(deadline) {
					break
				}
				sleepCtx(ctx, 50*time.Millisecond) // polling: records spread asynchronously
			}
			os.Remove(dest)
			results[k] = r
			mu.Lock()
			done++
			if o.verbose {
				progress("node %d (%d hops): %v after %d attempts (%v)", i, r.hops, ms(r.took), r.attempts, r.err)
			} else if done%10 == 0 || done == len(fetchers) {
				progress("%d/%d nodes have it", done, len(fetchers))
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(added)
	moved := tr.snapshot().since(base)

	var ok []time.Duration
	byHops := map[int][]time.Duration{}
	failed := 0
	attempts := 0
	var msgs, hops []float64
	for _, r := range results {
		attempts += r.attempts
		if r.err != nil {
			failed++
			progress("node %d (%d hops): %v", r.node, r.hops, r.err)
			continue
		}
		ok = append(ok, r.took)
		msgs = append(msgs, float64(r.dht.Messages))
		hops = append(hops, float64(r.dht.Hops))
		byHops[r.hops] = append(byHops[r.hops], r.took)
	}
	s := sortedDurations(ok)

	fmt.Printf("Spread: %d full nodes on mocknet, ConnectRandom(%d) (ring plus chords, %d hops at most from the publisher), R=%d\n",
		o.nodes, o.degree, maxHops, o.replicas)
	fmt.Printf("Connected peers per node when the package was added: %.1f on average (the DHT's lookups add to ConnectRandom's).\n", peersAtAdd)
	fmt.Printf("One package of %s added on node 0 in %v; %d nodes (farthest first) poll Get from then on, all at once.\n\n",
		bytesStr(float64(o.size)), ms(addTook), len(fetchers))
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "fetchers\tp50\tp95\tmax\tfailed\tGet attempts\tDHT msgs/Get\tDHT hops/Get\t")
	fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%d\t%d\t%.1f\t%.1f\t\n", len(results), ms(pct(s, 50)), ms(pct(s, 95)), ms(pct(s, 100)), failed, attempts, mean(msgs), mean(hops))
	w.Flush()
	fmt.Println()
	w = tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "hops from publisher\tnodes\tp50\tmax\t")
	for h := 1; h <= maxHops; h++ {
		ds := sortedDurations(byHops[h])
		if len(ds) == 0 {
			continue
		}
		fmt.Fprintf(w, "%d\t%d\t%s\t%s\t\n", h, len(ds), ms(pct(ds, 50)), ms(pct(ds, 100)))
	}
	w.Flush()
	fmt.Println()
	printTraffic(moved, fmt.Sprintf("Traffic from the add until the last fetch (%v), all nodes, both directions:", ms(elapsed)), 1)
	return nil
}

// chordHops returns each node's distance from src in the graph that
// nodetest's ConnectRandom(k) builds: i connected to i±1, i±2, i±4, … (k of
// them each way), modulo n.
func chordHops(n, k, src int) []int {
	dist := make([]int, n)
	for i := range dist {
		dist[i] = -1
	}
	dist[src] = 0
	queue := []int{src}
	for len(queue) > 0 {
		i := queue[0]
		queue = queue[1:]
		step := 1
		for c := 0; c < k && step < n; c++ {
			for _, j := range []int{(i + step) % n, (i - step + n) % n} {
				if dist[j] < 0 {
					dist[j] = dist[i] + 1
					queue = append(queue, j)
				}
			}
			step *= 2
		}
	}
	return dist
}

// farthestFirst returns the nodes other than the publisher (dist 0), the
// farthest first, at most k of them (0: all).
func farthestFirst(dist []int, k int) []int {
	var out []int
	for i, d := range dist {
		if d > 0 {
			out = append(out, i)
		}
	}
	slices.SortStableFunc(out, func(a, b int) int { return dist[b] - dist[a] })
	if k > 0 && k < len(out) {
		out = out[:k]
	}
	return out
}

// meanPeers is the mean number of connected peers per live node.
func meanPeers(net *nodetest.Net) float64 {
	live := net.Live()
	total := 0
	for _, i := range live {
		if n := net.Mock.Net(net.Nodes[i].Identity().PeerID); n != nil {
			total += len(n.Peers())
		}
	}
	return float64(total) / float64(len(live))
}

// printTraffic prints a traffic table by protocol family, divided by div.
func printTraffic(s trafficSnap, title string, div float64) {
	fmt.Println(title)
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "protocol\tstreams\twrites (≈msgs)\tbytes\t")
	g := s.group()
	var tot trafficRow
	for _, name := range sortedKeys(g) {
		r := g[name]
		tot.Streams += r.Streams
		tot.Writes += r.Writes
		tot.Bytes += r.Bytes
		fmt.Fprintf(w, "%s\t%.1f\t%.1f\t%s\t\n", name, float64(r.Streams)/div, float64(r.Writes)/div, bytesStr(float64(r.Bytes)/div))
	}
	fmt.Fprintf(w, "total\t%.1f\t%.1f\t%s\t\n", float64(tot.Streams)/div, float64(tot.Writes)/div, bytesStr(float64(tot.Bytes)/div))
	w.Flush()
	fmt.Println()
}
