package store_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/myconet/myconet/store"
)

const blobCrashEnv = "MYCONET_STORE_BLOB_CRASH_CHILD"

// TestBlobCrash is TestCrash with leaves large enough for the blob file,
// written with fsync: a child adds (some batches flushed midway, some
// aborted), unpins and collects until SIGKILLed. After each kill the store
// reopens clean, every committed DAG reads back verified, and after GC the
// blob file holds no more disk space than the blocks still stored.
func TestBlobCrash(t *testing.T) {
	if path := os.Getenv(blobCrashEnv); path != "" {
		blobCrashChild(t, path)
		return
	}
	if testing.Short() {
		t.Skip("slow")
	}
	path := filepath.Join(t.TempDir(), "store.db")
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 2))
	committed := map[string]dag{}
	for round := range 5 {
		seen := crashRound(t, "TestBlobCrash", blobCrashEnv, path, round, 1+rng.IntN(4), 20, rng, committed)

		db, err := store.Open(store.Config{Path: path, Links: toyLinks})
		if err != nil {
			t.Fatalf("round %d: reopen: %v", round, err)
		}
		if err := db.Check(); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		for _, d := range committed {
			if err := dagComplete(db, d); err != nil {
				t.Errorf("round %d: committed DAG incomplete: %v", round, err)
			}
		}
		if _, err := db.GC(context.Background()); err != nil {
			t.Fatal(err)
		}
		if leaked := leakedBytes(t, db); leaked != 0 {
			t.Errorf("round %d: %d bytes held by no pin after GC", round, leaked)
		}
		u, _ := db.Usage()
		var st syscall.Stat_t
		if err := syscall.Stat(path+".blob", &st); err != nil {
			t.Fatal(err)
		}
		// Each block rounds up to 4 KiB; the file system may keep a little.
		if disk := st.Blocks * 512; disk > u.Bytes+int64(u.Blocks)*4096+1<<20 {
			t.Errorf("round %d: blob file holds %d bytes on disk for %d bytes of blocks", round, disk, u.Bytes)
		}
		t.Logf("round %d: killed after %d commits; %d blocks, %d bytes", round, seen, u.Blocks, u.Bytes)
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func blobCrashChild(t *testing.T, path string) {
	seed, _ := strconv.Atoi(os.Getenv("CRASH_SEED"))
	rng := rand.New(rand.NewPCG(uint64(seed), uint64(time.Now().UnixNano())))
	db, err := store.Open(store.Config{Path: path, Links: toyLinks, OpenTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var mine []cid.Cid
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		seeds := make([]uint64, 2+rng.IntN(12))
		for i := range seeds {
			seeds[i] = uint64(rng.IntN(100)) // some leaves are shared
		}
		slices.Sort(seeds)
		seeds = slices.Compact(seeds)
		size := 64<<10 + 4096*rng.IntN(64) + rng.IntN(4096)
		d := makeDAG(t, seeds, size)
		b, err := db.NewBatch(store.BatchOptions{Keep: rng.IntN(4) == 0})
		if err != nil {
			t.Fatal(err)
		}
		for i, l := range d.leaves {
			if err := b.Put(l.CID, l.Data); err != nil {
				t.Fatal(err)
			}
			if i%3 == 2 {
				if err := b.Flush(); err != nil {
					t.Fatal(err)
				}
			}
		}
		if rng.IntN(5) == 0 {
			if err := b.Abort(); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := b.Commit(store.Commit{
			Blocks: []store.Block{d.root},
			Pin:    store.Pin{Root: d.root.CID, Reason: store.ReasonLocal, Size: d.size()},
		}); err != nil {
			t.Fatal(err)
		}
		fmt.Println("committed", formatDAG(size, seeds))
		mine = append(mine, d.root.CID)
		if rng.IntN(4) == 0 {
			c := mine[0]
			mine = mine[1:]
			fmt.Println("unpinning", c)
			if err := db.RemovePin(c, store.ReasonLocal); err != nil {
				t.Fatal(err)
			}
			if _, err := db.GC(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
	}
	db.Close()
}
