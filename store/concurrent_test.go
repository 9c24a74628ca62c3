package store_test

import (
	"context"
	"sync"
	"testing"

	"github.com/myconet/myconet/store"
)

// TestConcurrentAddsAndGC runs overlapping adds (sharing leaves), unpins
// and GC at once; every DAG still pinned at the end must be complete.
func TestConcurrentAddsAndGC(t *testing.T) {
	db := openTest(t, store.Config{})
	ctx, cancel := context.WithCancel(context.Background())
	var gcWG sync.WaitGroup
	gcWG.Add(1)
	go func() {
		defer gcWG.Done()
		for ctx.Err() == nil {
			if _, err := db.GC(ctx); err != nil && ctx.Err() == nil {
				t.Error(err)
			}
		}
	}()
	var wg sync.WaitGroup
	kept := make([][]dag, 4)
	for w := range 4 {
		wg.Go(func() {
			for i := range 25 {
				d := makeDAG(t, []uint64{uint64(i), uint64(i + 1), uint64(100*w + i)}, 512)
				addDAG(t, db, d, store.ReasonLocal)
				if i%3 == 0 {
					// Unpin; another worker may still hold the root pinned.
					db.RemovePin(d.root.CID, store.ReasonLocal)
					continue
				}
				kept[w] = append(kept[w], d)
			}
		})
	}
	wg.Wait()
	cancel()
	gcWG.Wait()
	for _, ds := range kept {
		for _, d := range ds {
			if pins, _ := db.PinsOf(d.root.CID); len(pins) == 0 {
				continue // unpinned by another worker adding the same root
			}
			if err := dagComplete(db, d); err != nil {
				t.Error(err)
			}
		}
	}
}
