package store

import (
	"os"
	"unsafe"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/sys/unix"
)

var pageSize = uintptr(os.Getpagesize())

// releasePages tells the kernel that this process no longer needs the whole
// pages that data (a slice of the bbolt mmap) covers. The mapping is a
// read-only shared file mapping, so this only drops page-table entries: the
// bytes stay in the page cache and a later read faults them back in. It keeps
// a large sequential read from counting the whole file in our resident set.
func releasePages(data []byte) {
	if len(data) < releaseThreshold {
		return
	}
	addr := uintptr(unsafe.Pointer(unsafe.SliceData(data)))
	first := (addr + pageSize - 1) &^ (pageSize - 1) // first whole page
	last := (addr + uintptr(len(data))) &^ (pageSize - 1)
	if last <= first {
		return
	}
	off := int(first - addr)
	_ = unix.Madvise(data[off:off+int(last-first)], unix.MADV_DONTNEED)
}

// openCacheHandle opens the store file read-only for dropWritten; nil if
// that fails (the advice is an optimisation only).
func openCacheHandle(path string) *os.File {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	return f
}

// dropWritten asks the kernel to drop from the page cache the pages of the
// large blocks (each in its own nested bucket, see blockTable) that a transaction has just committed, and so written back.
//
// Why: a batch writes each block once and does not read it again, yet every
// new page-cache page costs a page allocation, and on a virtual machine whose
// free memory is handed back to the host (virtio-balloon free page
// reporting) each such page also costs a host fault on first touch: writing
// 1 GiB into fresh page cache took ~2 s of system CPU on the benchmark
// machine, against ~0.3 s when the same pages are recycled. Dropping the
// clean pages right after each commit lets the next flush reuse them while
// they are still hot; it also keeps a large add or fetch from pushing other
// files out of the cache. Pages mapped by a reader are left alone by the
// kernel, and readers fault dropped pages back in from disk.
func (db *DB) dropWritten(blocks []written) {
	if db.cache == nil || len(blocks) == 0 {
		return
	}
	fd := int(db.cache.Fd())
	ps := int64(db.bolt.Info().PageSize)
	_ = db.view(func(tx *bolt.Tx) error {
		data := tx.Bucket(bucketData)
		for _, w := range blocks {
			b := data.Bucket(w.seq)
			if b == nil || b.Root() == 0 {
				continue // gone again, or inline
			}
			// One leaf holding one value: page header, element, key, value.
			n := int64(16+16+len(valueKey)) + int64(w.size)
			_ = unix.Fadvise(fd, int64(b.Root())*ps, (n+ps-1)/ps*ps, unix.FADV_DONTNEED)
		}
		return nil
	})
}

// readAhead asks the kernel to read the pages of a large block in its own
// nested bucket b (size bytes, see blockTable) into the page cache in one
// request before they are read through the mmap, so that a block not in the
// cache costs one large read instead of a fault and a small read-ahead every
// few pages.
func (t blockTable) readAhead(b *bolt.Bucket, size int) {
	if t.db == nil || t.db.cache == nil || size < releaseThreshold || b.Root() == 0 {
		return
	}
	ps := int64(t.db.bolt.Info().PageSize)
	n := int64(16+16+len(valueKey)) + int64(size)
	_ = unix.Fadvise(int(t.db.cache.Fd()), int64(b.Root())*ps, (n+ps-1)/ps*ps, unix.FADV_WILLNEED)
}
