package store_test

import (
	"context"
	"testing"

	"github.com/myconet/myconet/store"
)

// A Keep batch (a fetch) leaves its blocks behind on Abort and across a
// reopen, unpinned: GC reclaims them. Blocks it Holds are safe from GC while
// it is open. A block another batch staged is not held, and a Keep Put claims
// it from that batch's Abort.
func TestKeepBatchAndHold(t *testing.T) {
	path := t.TempDir() + "/store.db"
	db := openTest(t, store.Config{Path: path})
	ctx := context.Background()
	d := makeDAG(t, []uint64{1, 2, 3}, 40<<10)

	b, err := db.NewBatch(store.BatchOptions{Keep: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range d.leaves[:2] {
		if err := b.Put(l.CID, l.Data); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Abort(); err != nil {
		t.Fatal(err)
	}
	for _, l := range d.leaves[:2] {
		if ok, _ := db.Has(l.CID); !ok {
			t.Fatalf("abort of a keep batch dropped %s", l.CID)
		}
	}
	// Across a restart (a crash leaves the same state: nothing is staged).
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openTest(t, store.Config{Path: path})
	if ok, _ := db.Has(d.leaves[0].CID); !ok {
		t.Fatal("kept block lost at reopen")
	}
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}

	// Held blocks survive GC while the holder is open.
	h, err := db.NewBatch(store.BatchOptions{Keep: true})
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := h.Hold(d.leaves[0].CID); !ok || err != nil {
		t.Fatalf("hold: %v %v", ok, err)
	}
	if ok, _ := h.Hold(d.leaves[2].CID); ok {
		t.Fatal("hold of an absent block reported it present")
	}
	if _, err := db.GC(ctx); err != nil {
		t.Fatal(err)
	}
	if ok, _ := db.Has(d.leaves[0].CID); !ok {
		t.Fatal("GC deleted a held block")
	}
	if ok, _ := db.Has(d.leaves[1].CID); ok {
		t.Fatal("GC kept an unpinned, unheld block")
	}

	// A block staged by an open (add) batch is not held; a keep Put claims it.
	add, err := db.NewBatch(store.BatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := add.Put(d.leaves[2].CID, d.leaves[2].Data); err != nil {
		t.Fatal(err)
	}
	if err := add.Flush(); err != nil {
		t.Fatal(err)
	}
	if ok, _ := h.Hold(d.leaves[2].CID); ok {
		t.Fatal("hold counted a block another batch staged")
	}
	if err := h.Put(d.leaves[2].CID, d.leaves[2].Data); err != nil {
		t.Fatal(err)
	}
	if err := h.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := add.Abort(); err != nil {
		t.Fatal(err)
	}
	if ok, _ := db.Has(d.leaves[2].CID); !ok {
		t.Fatal("abort of the add removed a block the fetch claimed")
	}
	if err := h.Abort(); err != nil {
		t.Fatal(err)
	}
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
	res, err := db.GC(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Removed != 2 {
		t.Fatalf("GC removed %d blocks, want the 2 the fetch left", res.Removed)
	}
}
