package store_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/myconet/myconet/store"
)

// TestVerifyFindsDamage: a flipped byte in a block and a block missing from
// a pin's DAG are each reported, naming the block.
func TestVerifyFindsDamage(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	cfg := store.Config{Path: path, Links: toyLinks}
	db, err := store.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	d := makeDAG(t, []uint64{11, 12, 13}, 3000)
	addDAG(t, db, d, store.ReasonLocal)
	if rep, err := db.Verify(context.Background()); err != nil || len(rep.Problems) != 0 || rep.Blocks != 4 || rep.Pins != 1 {
		t.Fatalf("healthy store: %+v %v", rep, err)
	}
	db.Close()

	// Damage: flip a byte of leaf 0's data; drop leaf 1 from the index and data.
	b, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Update(func(tx *bolt.Tx) error {
		data := tx.Bucket([]byte("data"))
		return data.ForEach(func(k, v []byte) error {
			if bytes.Equal(v, d.leaves[0].Data) {
				bad := bytes.Clone(v)
				bad[100] ^= 1
				return data.Put(k, bad)
			}
			return nil
		})
	}); err != nil {
		t.Fatal(err)
	}
	if err := b.Update(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte("blocks")).Delete(d.leaves[1].CID.Bytes())
	}); err != nil {
		t.Fatal(err)
	}
	b.Close()

	db, err = store.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rep, err := db.Verify(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	all := strings.Join(rep.Problems, "\n")
	for _, want := range []string{
		d.leaves[0].CID.String() + ": bytes do not hash",
		"block " + d.leaves[1].CID.String() + " of its DAG is missing",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("problems lack %q:\n%s", want, all)
		}
	}
}

// TestCompact: after a GC, compaction gives the file's free pages back, the
// content stays, and a store held open (a running daemon) is refused.
func TestCompact(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	cfg := store.Config{Path: path, Links: toyLinks, NoSync: true}
	db, err := store.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	keep := makeDAG(t, []uint64{21}, 4000)
	addDAG(t, db, keep, store.ReasonLocal)
	var seeds []uint64
	for i := range 64 {
		seeds = append(seeds, uint64(100+i))
	}
	big := makeDAG(t, seeds, 64<<10) // 4 MiB
	addDAG(t, db, big, store.ReasonLocal)
	if err := db.RemovePin(big.root.CID, store.ReasonLocal); err != nil {
		t.Fatal(err)
	}
	if _, err := db.GC(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Compact(context.Background(), path); !errors.Is(err, store.ErrLocked) {
		t.Fatalf("compact of an open store: %v", err)
	}
	db.Close()

	res, err := store.Compact(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	if res.After >= res.Before || res.After > 1<<20 {
		t.Fatalf("compact: %+v", res)
	}
	if _, err := os.Stat(path + ".compact"); !os.IsNotExist(err) {
		t.Fatalf("temporary file left: %v", err)
	}
	db, err = store.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got, err := db.Get(keep.leaves[0].CID); err != nil || !bytes.Equal(got, keep.leaves[0].Data) {
		t.Fatalf("content after compact: %v", err)
	}
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
}
