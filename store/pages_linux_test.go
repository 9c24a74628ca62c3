package store_test

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/myconet/myconet/store"
)

// cachedPages counts the pages of file path that are in the page cache.
func cachedPages(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	m, err := unix.Mmap(int(f.Fd()), 0, int(st.Size()), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(m)
	vec := make([]byte, (len(m)+os.Getpagesize()-1)/os.Getpagesize())
	if _, _, e := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&m[0])), uintptr(len(m)), uintptr(unsafe.Pointer(&vec[0]))); e != 0 {
		t.Fatal(e)
	}
	n := 0
	for _, v := range vec {
		n += int(v & 1)
	}
	return n
}

// TestBatchDropsWrittenPages checks that a batch's flush leaves the large
// blocks it wrote out of the page cache (see dropWritten), that a read asks
// for a whole block ahead (see readAhead), and that blocks read back intact.
func TestBatchDropsWrittenPages(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	db, err := store.Open(store.Config{Path: path, Links: toyLinks}) // synced: dropped pages must be clean
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	b, err := db.NewBatch(store.BatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Abort()
	rng := rand.New(rand.NewPCG(1, 2))
	var blocks []store.Block
	for range 8 {
		data := make([]byte, 1<<20)
		for i := range data {
			data[i] = byte(rng.Uint32())
		}
		blk := rawBlock(t, data)
		blocks = append(blocks, blk)
		if err := b.Put(blk.CID, blk.Data); err != nil {
			t.Fatal(err)
		}
	}
	before := cachedPages(t, path)
	if err := b.Flush(); err != nil {
		t.Fatal(err)
	}
	grew := cachedPages(t, path) - before
	written := 8 << 20 / os.Getpagesize()
	if grew > written/4 {
		t.Fatalf("after the flush %d more pages of the store are cached, want far fewer than the %d written", grew, written)
	}
	// A read of a block not in the cache asks for all its pages at once
	// (readAhead), before anything touches them.
	before = cachedPages(t, path)
	for _, blk := range blocks {
		if err := db.ViewUnverified(blk.CID, func([]byte) error { return nil }); err != nil {
			t.Fatal(err)
		}
	}
	if grew := cachedPages(t, path) - before; grew < written/2 {
		t.Fatalf("reading %d blocks brought %d pages into the cache, want about the %d they hold", len(blocks), grew, written)
	}
	for _, blk := range blocks {
		got, err := db.Get(blk.CID)
		if err != nil || !bytes.Equal(got, blk.Data) {
			t.Fatalf("block %s read back wrong: %v", blk.CID, err)
		}
	}
}
