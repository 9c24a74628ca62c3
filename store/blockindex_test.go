package store_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/ipfs/go-cid"

	"github.com/myconet/myconet/store"
)

// rootsOf returns the roots the block index names for c.
func rootsOf(t *testing.T, db *store.DB, c cid.Cid) []string {
	t.Helper()
	roots, err := db.BlockRoots(c)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range roots {
		out = append(out, r.String())
	}
	slices.Sort(out)
	return out
}

func sorted(cs ...cid.Cid) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.String())
	}
	slices.Sort(out)
	return out
}

// TestBlockRoots follows the index through pin, unpin, shared blocks,
// eviction and a reopen; Check (on cleanup) compares it with the pins.
func TestBlockRoots(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	db := openTest(t, store.Config{Path: path})
	a := makeDAG(t, []uint64{1, 2, 3}, 64)
	b := makeDAG(t, []uint64{3, 4}, 64) // shares leaf 3 with a
	addDAG(t, db, a, store.ReasonLocal)
	addDAG(t, db, b, store.ReasonCache)

	for _, tc := range []struct {
		name  string
		block cid.Cid
		want  []string
	}{
		{"root of a", a.root.CID, sorted(a.root.CID)},
		{"leaf of a only", a.leaves[0].CID, sorted(a.root.CID)},
		{"shared leaf", a.leaves[2].CID, sorted(a.root.CID, b.root.CID)},
		{"leaf of b only", b.leaves[1].CID, sorted(b.root.CID)},
		{"unknown", mustCID(t, 0x55, []byte("nothing")), nil},
	} {
		if got := rootsOf(t, db, tc.block); !slices.Equal(got, tc.want) {
			t.Errorf("%s: roots %v, want %v", tc.name, got, tc.want)
		}
	}
	// A second pin of a root changes nothing; removing one of two neither.
	if err := db.AddPin(store.Pin{Root: a.root.CID, Reason: store.ReasonReplica}); err != nil {
		t.Fatal(err)
	}
	if err := db.RemovePin(a.root.CID, store.ReasonLocal); err != nil {
		t.Fatal(err)
	}
	if got := rootsOf(t, db, a.leaves[0].CID); !slices.Equal(got, sorted(a.root.CID)) {
		t.Errorf("after a second pin: %v", got)
	}
	// The last pin goes: a leaves the index, b keeps the shared leaf.
	if err := db.RemovePin(a.root.CID, store.ReasonReplica); err != nil {
		t.Fatal(err)
	}
	if got := rootsOf(t, db, a.leaves[2].CID); !slices.Equal(got, sorted(b.root.CID)) {
		t.Errorf("after unpin: shared leaf %v", got)
	}
	if got := rootsOf(t, db, a.leaves[0].CID); got != nil {
		t.Errorf("after unpin: leaf of a %v", got)
	}
	if _, err := db.GC(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Eviction of b's cache pin takes it out of the index too.
	if _, err := db.EvictCache(context.Background(), 1<<30); err != nil {
		t.Fatal(err)
	}
	if got := rootsOf(t, db, b.leaves[1].CID); got != nil {
		t.Errorf("after eviction: %v", got)
	}
	// Pinned again, then reopened: the index is on disk.
	addDAG(t, db, a, store.ReasonLocal)
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openTest(t, store.Config{Path: path})
	if got := rootsOf(t, db, a.leaves[1].CID); !slices.Equal(got, sorted(a.root.CID)) {
		t.Errorf("after reopen: %v", got)
	}
}
