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
// blocks it wrote (into the blob file beside the bbolt file) out of the page
// cache (see dropWritten), and that blocks read back intact.
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
	if err := b.Flush(); err != nil {
		t.Fatal(err)
	}
	written := 8 << 20 / os.Getpagesize()
	for _, f := range []string{path, path + ".blob"} {
		if n := cachedPages(t, f); n > written/4 {
			t.Fatalf("after the flush %d pages of %s are cached, want far fewer than the %d written", n, filepath.Base(f), written)
		}
	}
	for _, blk := range blocks {
		got, err := db.Get(blk.CID)
		if err != nil || !bytes.Equal(got, blk.Data) {
			t.Fatalf("block %s read back wrong: %v", blk.CID, err)
		}
	}
}
