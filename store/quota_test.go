package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/myconet/myconet/store"
)

func TestQuota(t *testing.T) {
	const leaf = 10_000
	clk := &clock{t: time.Unix(1000, 0)}
	db := openTest(t, store.Config{DiskQuota: 100_000, Now: clk.Now})

	local := makeDAG(t, []uint64{1, 2, 3}, leaf) // ~30 KB
	replica := makeDAG(t, []uint64{4, 5}, leaf)  // ~20 KB
	cacheOld := makeDAG(t, []uint64{6, 7}, leaf) // ~20 KB
	cacheNew := makeDAG(t, []uint64{8, 9}, leaf) // ~20 KB
	addDAG(t, db, local, store.ReasonLocal)
	addDAG(t, db, replica, store.ReasonReplica)
	addDAG(t, db, cacheOld, store.ReasonCache)
	addDAG(t, db, cacheNew, store.ReasonCache)
	before, _ := db.Usage()

	t.Run("NewBatch refuses what cannot fit", func(t *testing.T) {
		_, err := db.NewBatch(store.BatchOptions{Expected: 60_000})
		var qe *store.QuotaError
		if !errors.Is(err, store.ErrQuota) || !errors.As(err, &qe) || !strings.Contains(err.Error(), "need 60.0 kB") {
			t.Fatalf("NewBatch = %v", err)
		}
		if u, _ := db.Usage(); u.Bytes != before.Bytes {
			t.Errorf("usage changed: %d -> %d", before.Bytes, u.Bytes)
		}
		for _, d := range []dag{local, replica, cacheOld, cacheNew} {
			if err := dagComplete(db, d); err != nil {
				t.Errorf("refused batch evicted something: %v", err)
			}
		}
	})

	t.Run("Put refuses and Abort restores", func(t *testing.T) {
		big := makeDAG(t, []uint64{20, 21, 22, 23, 24, 25, 26}, leaf)
		b, err := db.NewBatch(store.BatchOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range big.leaves {
			err = b.Put(l.CID, l.Data)
			if err != nil {
				break
			}
		}
		if err == nil {
			err = b.Flush()
		}
		if !errors.Is(err, store.ErrQuota) {
			t.Fatalf("Put over quota = %v", err)
		}
		if err := b.Abort(); err != nil {
			t.Fatal(err)
		}
		// Both cache DAGs were evicted trying to make room; nothing else.
		for _, d := range []dag{local, replica} {
			if err := dagComplete(db, d); err != nil {
				t.Errorf("local/replica evicted: %v", err)
			}
		}
		u, _ := db.Usage()
		if u.Bytes != local.size()+replica.size() || u.Staged != 0 {
			t.Errorf("usage after abort = %+v", u)
		}
	})

	t.Run("LRU order", func(t *testing.T) {
		addDAG(t, db, cacheOld, store.ReasonCache)
		addDAG(t, db, cacheNew, store.ReasonCache)
		db.Touch(cacheOld.root.CID) // now cacheNew is least recently used
		d := makeDAG(t, []uint64{30}, leaf)
		addDAG(t, db, d, store.ReasonLocal)
		if ok, _ := db.Has(cacheNew.root.CID); ok {
			t.Error("most recently used cache pin survived, least recent evicted")
		}
		if err := dagComplete(db, cacheOld); err != nil {
			t.Errorf("recently used cache evicted: %v", err)
		}
	})

	t.Run("SetDiskQuota", func(t *testing.T) {
		if err := db.SetDiskQuota(1); err != nil {
			t.Fatal(err)
		}
		u, _ := db.Usage()
		if u.ByReason[store.ReasonCache] != 0 && u.Bytes > 1 {
			// the cache pin is gone, local/replica remain above quota
		}
		if pins, _ := db.Pins(); len(pins) != 3 {
			t.Errorf("pins after SetDiskQuota(1) = %d, want 3 (local, replica, local)", len(pins))
		}
		if err := tryAddDAG(db, makeDAG(t, []uint64{40}, 10), store.ReasonLocal); !errors.Is(err, store.ErrQuota) {
			t.Errorf("add above quota = %v", err)
		}
		if err := db.SetDiskQuota(0); err != nil {
			t.Fatal(err)
		}
		addDAG(t, db, makeDAG(t, []uint64{40}, 10), store.ReasonLocal)
	})
}

func TestEvictNeverTouchesLocalOrReplica(t *testing.T) {
	db := openTest(t, store.Config{})
	shared := makeDAG(t, []uint64{1, 2}, 1000)
	addDAG(t, db, shared, store.ReasonLocal)
	addDAG(t, db, shared, store.ReasonCache) // same root: pinned twice
	only := makeDAG(t, []uint64{2, 3}, 1000) // shares leaf 2 with a local pin
	addDAG(t, db, only, store.ReasonCache)
	rep := makeDAG(t, []uint64{5}, 1000)
	addDAG(t, db, rep, store.ReasonReplica)

	freed, err := db.EvictCache(context.Background(), 1<<40)
	if err != nil {
		t.Fatal(err)
	}
	if want := only.size() - 1000; freed != want {
		t.Errorf("freed %d, want %d", freed, want)
	}
	for _, d := range []dag{shared, rep} {
		if err := dagComplete(db, d); err != nil {
			t.Error(err)
		}
	}
	if pins, _ := db.PinsOf(shared.root.CID); len(pins) != 2 {
		t.Errorf("pins of doubly pinned root = %+v", pins)
	}
}
