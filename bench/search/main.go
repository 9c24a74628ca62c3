// Command search measures Myconet's distributed keyword search on libp2p's
// in-memory mocknet, with full nodes started in one process by
// node/nodetest: packages with generated metadata are spread over the
// nodes, then queries for words of random packages run from random nodes.
// It prints query latency (p50, p95), messages per query (search requests,
// each with one response, and the DHT requests of the provider lookups,
// sent by the searching node), how many queries found their package, and
// the time from publish to findable.
//
//	go run ./bench/search -nodes 100 -packages 1000 -queries 50
//	go run ./bench/search -nodes 1000 -packages 1000 -queries 50
package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/config"
	"github.com/myconet/myconet/node/nodetest"
	"github.com/myconet/myconet/node/p2p"
	"github.com/myconet/myconet/search"
)

// countingHost counts the messages a node sends: search requests (one
// stream each, with one response) and DHT requests (kad-dht reuses a stream
// per peer and writes each message at once, so a write is a message).
type countingHost struct {
	host.Host
	search, dht *atomic.Int64
}

func (h *countingHost) NewStream(ctx context.Context, p peer.ID, pids ...protocol.ID) (network.Stream, error) {
	if slices.Contains(pids, protocol.ID(search.ProtocolID)) {
		h.search.Add(1)
	}
	st, err := h.Host.NewStream(ctx, p, pids...)
	if err != nil || st.Protocol() != kadProtocol {
		return st, err
	}
	return &countingStream{Stream: st, n: h.dht}, nil
}

var kadProtocol = protocol.ID(p2p.DHTPrefix + "/kad/1.0.0")

type countingStream struct {
	network.Stream
	n *atomic.Int64
}

func (s *countingStream) Write(b []byte) (int, error) {
	s.n.Add(1)
	return s.Stream.Write(b)
}

const commonWord = "wcommon"

var (
	settleTimeout time.Duration
	broad         int
)

func main() {
	// kad-dht starts an OpenTelemetry span per request; the global
	// delegating tracer provider takes one process-wide mutex for each,
	// which serialises a thousand nodes (as in bench/mesh).
	otel.SetTracerProvider(noop.NewTracerProvider())
	nodes := flag.Int("nodes", 100, "nodes in the network")
	packages := flag.Int("packages", 1000, "packages, spread round-robin over the nodes")
	queries := flag.Int("queries", 50, "queries, each for two words of a random package")
	flag.IntVar(&broad, "broad", 10, "broad queries, for a word half of the packages have")
	degree := flag.Int("degree", 4, "connections each node dials")
	seed := flag.Uint64("seed", 1, "random seed")
	verbose := flag.Bool("v", false, "progress on stderr")
	flag.DurationVar(&settleTimeout, "settle", 5*time.Minute, "how long to wait for announcements to settle, and for the new package to be findable")
	flag.Parse()
	if err := run(*nodes, *packages, *queries, *degree, *seed, *verbose); err != nil {
		fmt.Fprintln(os.Stderr, "search:", err)
		os.Exit(1)
	}
}

func run(nodes, packages, queries, degree int, seed uint64, verbose bool) (reterr error) {
	tb, err := nodetest.NewProgramTB("bench-search-", verbose)
	if err != nil {
		return err
	}
	defer tb.Close()
	defer tb.Recover(&reterr)
	progress := func(format string, a ...any) {
		if verbose {
			fmt.Fprintf(os.Stderr, format+"\n", a...)
		}
	}
	r := rand.New(rand.NewPCG(seed, 3))
	vocab := make([]string, 2000)
	for i := range vocab {
		vocab[i] = fmt.Sprintf("w%x%c", i*7919%65521, 'a'+rune(i%26))
	}
	word := func() string { return vocab[int(r.ExpFloat64()*200)%len(vocab)] } // skewed
	searches := make([]atomic.Int64, nodes)
	dhtMsgs := make([]atomic.Int64, nodes)
	start := time.Now()
	net := nodetest.New(tb, nodes, nodetest.Options{
		Override: func(i int, fc *config.FileConfig) { fc.Quota.Replicas = "1B" },
		WrapHost: func(i int, h host.Host) host.Host {
			return &countingHost{Host: h, search: &searches[i], dht: &dhtMsgs[i]}
		},
	})
	net.ConnectRandom(degree)
	progress("%d nodes up and connected in %v", nodes, time.Since(start).Round(time.Millisecond))
	ctx := context.Background()
	type pkg struct{ id, title string }
	var pkgs []pkg
	central := search.NewIndex() // every package's metadata, for recall
	add := func(i int, title string) (string, time.Duration) {
		p := filepath.Join(tb.TempDir(), "f")
		if err := os.WriteFile(p, []byte(title), 0o644); err != nil {
			tb.Fatal(err)
		}
		start := time.Now()
		desc := strings.Join([]string{word(), word(), word(), word(), word()}, " ")
		if r.IntN(2) == 0 { // a word half of all packages have: broad queries
			desc = commonWord + " " + desc
		}
		res, err := net.Nodes[i%nodes].Add(ctx, apitype.AddRequest{Path: p, Title: title, Description: desc}, nil)
		if err != nil {
			tb.Fatal(err)
		}
		central.Add(search.Doc{ID: res.Package, Title: title, Description: desc})
		return res.Package, time.Since(start)
	}
	start = time.Now()
	for i := range packages {
		title := strings.Join([]string{word(), word(), vocab[r.IntN(len(vocab))]}, " ")
		id, _ := add(i, title)
		pkgs = append(pkgs, pkg{id, title})
	}
	progress("%d packages added in %v", packages, time.Since(start))
	// Settle: the last package added on each node is findable (each
	// node's announcer works through its terms in rounds).
	start = time.Now()
	for _, p := range pkgs[max(0, len(pkgs)-nodes):] {
		w := strings.Fields(p.title)
		for {
			res, err := net.Nodes[0].Search(ctx, w[1]+" "+w[2], apitype.SearchOptions{Limit: 100}, nil)
			if err == nil && slices.ContainsFunc(res, func(x apitype.SearchResult) bool { return x.Package == p.id }) {
				break
			}
			if time.Since(start) > settleTimeout {
				return fmt.Errorf("announcements did not settle in %v", settleTimeout)
			}
		}
	}
	progress("settled in %v", time.Since(start))
	var lat []time.Duration
	asked, dhtSent, found := 0, 0, 0
	for q := range queries {
		p := pkgs[r.IntN(len(pkgs))]
		w := strings.Fields(p.title)
		text := w[1] + " " + w[2]
		fi := r.IntN(nodes)
		from := net.Nodes[fi]
		s0, d0 := searches[fi].Load(), dhtMsgs[fi].Load()
		t0 := time.Now()
		res, err := from.Search(ctx, text, apitype.SearchOptions{Limit: 100}, nil)
		lat = append(lat, time.Since(t0))
		if err != nil {
			return fmt.Errorf("query %d %q: %w", q, text, err)
		}
		if slices.ContainsFunc(res, func(x apitype.SearchResult) bool { return x.Package == p.id }) {
			found++
		}
		asked += int(searches[fi].Load() - s0)
		dhtSent += int(dhtMsgs[fi].Load() - d0)
	}
	slices.Sort(lat)
	fmt.Printf("nodes %d  packages %d  queries %d  found %d/%d  latency p50 %v p95 %v  messages per query: %.1f search requests, %.1f DHT requests (provider lookups; the searcher's, background included)\n",
		nodes, packages, queries, found, queries, lat[len(lat)/2].Round(time.Millisecond), lat[len(lat)*95/100].Round(time.Millisecond),
		float64(asked)/float64(queries), float64(dhtSent)/float64(queries))

	// Broad queries: the most common words, limit 10, against one central
	// index over the same metadata.
	var blat []time.Duration
	var recall float64
	asked, dhtSent = 0, 0
	for range broad {
		text := commonWord
		fi := r.IntN(nodes)
		s0, d0 := searches[fi].Load(), dhtMsgs[fi].Load()
		t0 := time.Now()
		res, err := net.Nodes[fi].Search(ctx, text, apitype.SearchOptions{Limit: 10}, nil)
		blat = append(blat, time.Since(t0))
		if err != nil {
			return fmt.Errorf("broad query %q: %w", text, err)
		}
		asked += int(searches[fi].Load() - s0)
		dhtSent += int(dhtMsgs[fi].Load() - d0)
		pq, _ := search.ParseQuery(text)
		want := central.Search(pq, 10)
		hit := 0
		for _, w := range want {
			if slices.ContainsFunc(res, func(x apitype.SearchResult) bool { return x.Package == w.ID }) {
				hit++
			}
		}
		if len(want) > 0 {
			recall += float64(hit) / float64(len(want))
		} else {
			recall++
		}
		progress("broad %q: %d holders of %d packages, recall@10 %d/%d, %d search requests", text, central.DF(text), len(pkgs), hit, len(want), searches[fi].Load()-s0)
	}
	if broad > 0 {
		slices.Sort(blat)
		fmt.Printf("broad queries (%q, in half of the packages; limit 10) %d  recall@10 against a central index %.3f  latency p50 %v p95 %v  messages per query: %.1f search requests, %.1f DHT requests\n",
			commonWord, broad, recall/float64(broad), blat[len(blat)/2].Round(time.Millisecond), blat[len(blat)*95/100].Round(time.Millisecond),
			float64(asked)/float64(broad), float64(dhtSent)/float64(broad))
	}

	// Publish to findable: a package with a word nobody else has.
	start = time.Now()
	id, _ := add(0, "freshly published zyzzyva")
	for {
		res, err := net.Nodes[nodes/2].Search(ctx, "zyzzyva", apitype.SearchOptions{}, nil)
		if err == nil && len(res) == 1 && res[0].Package == id {
			break
		}
		if time.Since(start) > settleTimeout {
			return fmt.Errorf("not findable after %v", settleTimeout)
		}
	}
	fmt.Printf("publish to findable: %v\n", time.Since(start).Round(time.Millisecond))
	return nil
}
