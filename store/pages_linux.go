package store

import (
	"os"
	"unsafe"

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
