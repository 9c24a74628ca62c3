package store

import (
	"os"

	"golang.org/x/sys/unix"
)

// canPunch reports whether the file system of f punches holes: a probe past
// the end of the file, which changes nothing.
func canPunch(f *os.File) bool {
	st, err := f.Stat()
	if err != nil {
		return false
	}
	return unix.Fallocate(int(f.Fd()), unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, alignUp(st.Size())+blobAlign, blobAlign) == nil
}

// punch frees the file-system blocks of [off, off+n), which then read as
// zeros. Errors are ignored: the space only stays in use.
func punch(f *os.File, off, n int64) {
	if n > 0 {
		_ = unix.Fallocate(int(f.Fd()), unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, off, n)
	}
}

func fdatasync(f *os.File) error { return unix.Fdatasync(int(f.Fd())) }

// dropCached drops the range [off, off+n) of f, just written back, from the
// page cache (see dropWritten for why).
func dropCached(f *os.File, off, n int64) {
	_ = unix.Fadvise(int(f.Fd()), off, n, unix.FADV_DONTNEED)
}

// openDirect opens path with O_DIRECT added to flag, or returns nil.
func openDirect(path string, flag int) *os.File {
	f, err := os.OpenFile(path, flag|unix.O_DIRECT, 0)
	if err != nil {
		return nil
	}
	return f
}

// blobStat is what statBlocks reports.
type blobStat struct{ allocated int64 }

// statBlocks reports the disk space the file at path holds.
func statBlocks(path string, st *blobStat) error {
	var s unix.Stat_t
	if err := unix.Stat(path, &s); err != nil {
		return err
	}
	st.allocated = s.Blocks * 512
	return nil
}
