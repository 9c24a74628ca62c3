// Command searchindex measures a node's local search index with many
// packages held: the time from opening the node to the first answer, the
// time of local queries, the heap the index holds, and the bytes of the
// store file per package (all buckets, and the search index's own).
//
//	go run ./bench/searchindex -packages 10000
//
// The node home is kept in -home (created and filled on the first run) so
// that runs of different versions compare the same store.
package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/myconet/myconet/node"
	"github.com/myconet/myconet/node/apitype"
)

func main() {
	packages := flag.Int("packages", 10000, "packages held by the node")
	home := flag.String("home", "", "node home (default: a new temporary directory, removed at the end)")
	runs := flag.Int("runs", 20, "runs of each query")
	flag.Parse()
	if err := run(*home, *packages, *runs); err != nil {
		fmt.Fprintln(os.Stderr, "searchindex:", err)
		os.Exit(1)
	}
}

// queries are run on the filled node: a rare word, a common one, two
// common ones (AND), a phrase, an exclusion, a filter.
var queries = []string{"w1234g", "w0a", "w3d", "w0a w3d", `"w0a w1b"`, "w3d -w0a", "w0a kind:video"}

func word(r *rand.Rand, z *rand.Zipf) string {
	i := z.Uint64()
	return fmt.Sprintf("w%x%c", i, 'a'+rune(i%26))
}

func run(home string, packages, runs int) error {
	if home == "" {
		d, err := os.MkdirTemp("", "bench-searchindex-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		home = d
	}
	ctx := context.Background()
	if _, err := os.Stat(filepath.Join(home, "store.db")); err != nil {
		n, err := node.New(node.Config{Home: home, StoreNoSync: true})
		if err != nil {
			return err
		}
		r := rand.New(rand.NewPCG(1, 2))
		z := rand.NewZipf(r, 1.1, 4, 20000)
		kinds := []string{"video", "document", "audio", "software"}
		dir, err := os.MkdirTemp("", "bench-searchindex-files-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		start := time.Now()
		for i := range packages {
			var title, desc []string
			for range 3 + r.IntN(4) {
				title = append(title, word(r, z))
			}
			for range 10 + r.IntN(20) {
				desc = append(desc, word(r, z))
			}
			tags := []string{word(r, z), word(r, z)}
			if tags[0] == tags[1] {
				tags = tags[:1]
			}
			p := filepath.Join(dir, "f")
			if err := os.WriteFile(p, fmt.Appendf(nil, "package %d", i), 0o644); err != nil {
				return err
			}
			_, err := n.Add(ctx, apitype.AddRequest{Path: p, Title: strings.Join(title, " "), Description: strings.Join(desc, " "),
				Tags: tags, Authors: []string{word(r, z) + " " + word(r, z)}, Kind: kinds[r.IntN(len(kinds))]}, nil)
			if err != nil {
				return err
			}
			if (i+1)%1000 == 0 {
				fmt.Fprintf(os.Stderr, "%d packages added in %v\n", i+1, time.Since(start).Round(time.Millisecond))
			}
		}
		if err := n.Close(); err != nil {
			return err
		}
	}

	// Open the node and answer one query: what a restarted daemon does
	// before its first search.
	runtime.GC()
	var m0 runtime.MemStats
	runtime.ReadMemStats(&m0)
	start := time.Now()
	n, err := node.New(node.Config{Home: home, StoreNoSync: true})
	if err != nil {
		return err
	}
	opened := time.Since(start)
	res, err := n.Search(ctx, queries[0], apitype.SearchOptions{Local: true}, nil)
	if err != nil {
		return err
	}
	first := time.Since(start)
	runtime.GC()
	var m1 runtime.MemStats
	runtime.ReadMemStats(&m1)
	fmt.Printf("packages %d  open %v  open to first answer %v (%d results)  heap after %.1f MB (+%.1f MB)\n",
		packages, opened.Round(time.Microsecond), first.Round(time.Microsecond), len(res),
		float64(m1.HeapAlloc)/1e6, (float64(m1.HeapAlloc)-float64(m0.HeapAlloc))/1e6)
	for _, q := range queries {
		var lat []time.Duration
		var count int
		for range runs {
			t0 := time.Now()
			res, err := n.Search(ctx, q, apitype.SearchOptions{Local: true, Limit: 20}, nil)
			lat = append(lat, time.Since(t0))
			if err != nil {
				return fmt.Errorf("%q: %w", q, err)
			}
			count = len(res)
		}
		slices.Sort(lat)
		fmt.Printf("query %-16q results %2d  p50 %v  max %v\n", q, count, lat[len(lat)/2].Round(time.Microsecond), lat[len(lat)-1].Round(time.Microsecond))
	}
	if err := n.Close(); err != nil {
		return err
	}
	return diskCost(filepath.Join(home, "store.db"), packages)
}

// diskCost prints the bytes of the store file's pages per package: in use
// and allocated, for the whole file and for the search index's bucket.
func diskCost(path string, packages int) error {
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		return err
	}
	defer db.Close()
	return db.View(func(tx *bolt.Tx) error {
		var all, idx bolt.BucketStats
		if err := tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			s := b.Stats()
			all.Add(s)
			if string(name) == "indexes" {
				idx = s
			}
			return nil
		}); err != nil {
			return err
		}
		inuse := func(s bolt.BucketStats) int { return s.BranchInuse + s.LeafInuse }
		alloc := func(s bolt.BucketStats) int { return s.BranchAlloc + s.LeafAlloc }
		fi, _ := os.Stat(path)
		fmt.Printf("store file %.1f MB; all buckets: %d B/package in use, %d B/package in pages; search index: %d B/package in use, %d B/package in pages (%d keys)\n",
			float64(fi.Size())/1e6, inuse(all)/packages, alloc(all)/packages, inuse(idx)/packages, alloc(idx)/packages, idx.KeyN)
		return nil
	})
}
