package store

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/myconet/myconet/internal/crc32c"
	"github.com/myconet/myconet/internal/directio"
)

// Large blocks live in a blob file beside the bbolt file (<path>.blob), and
// bbolt keeps only their index entry: CID -> (offset, size, CRC-32C).
//
// Why: a block written into bbolt is copied three times (into a page buffer
// bbolt allocates and zeroes, then by pwrite into fresh page-cache pages of a
// file that grows under its mmap), which was most of `add`'s CPU after the
// hashing. A blob block is written once, by pwrite from the caller's buffer,
// at the end of an append-only file.
//
// Crash safety: a Batch writes a block's bytes first, fsyncs the blob file
// (unless Config.NoSync), and only then commits the bbolt transaction that
// indexes them. A crash in between leaves bytes nothing references, never an
// index entry to missing bytes; Open cuts such bytes off the end of the file
// and punches holes where they lie inside it.
//
// Space: a deleted block's range is given back to the file system with
// fallocate(PUNCH_HOLE) once no read transaction that could still see it is
// open (see beginRead): the file keeps its apparent size and becomes sparse.
// Ranges are 4 KiB aligned so that a hole frees whole file-system blocks
// and never touches a neighbour. Where holes cannot be punched (another OS,
// or a file system without support) nothing is written to the blob file and
// large blocks stay in bbolt as before; blocks already in a blob file are
// read wherever pread works.
type blobFile struct {
	f      *os.File
	noSync bool
	// direct is the file opened for O_DIRECT writes, nil where that is
	// not available (or failed once): writing around the page cache spares
	// the copy into fresh page-cache pages, most of what a buffered write
	// of a large block costs, and the writeback at fsync.
	direct atomic.Pointer[os.File]
	// directRead is the file opened for O_DIRECT reads, nil where that is
	// not available (or failed once). A buffered read of a range written
	// around the page cache was found to cost 0.3–1.8 s of system time
	// per GiB on ext4 (against 0.1 s for the same read once the cache was
	// dropped, and 0.07–0.09 s direct), which made a node serving what it
	// had just added spend more CPU reading than hashing. Direct reads
	// cost the same whatever the cache holds; the price is that nothing
	// read is kept in the page cache for the next read.
	directRead atomic.Pointer[os.File]
	// write reports whether new blocks go to the blob file (holes work).
	write bool

	mu sync.Mutex
	// end is the offset of the next reservation.
	end int64
	// epoch counts the commits that freed ranges; readers[e] is how many
	// read transactions began at epoch e and are still open.
	epoch   uint64
	readers map[uint64]int
	// freed ranges wait here until no reader that began at their epoch or
	// before is open.
	freed []hole
	// writers holds a token per write under way (blobWriters).
	writers chan struct{}

	// punchMu serializes punching holes with closing the file: a read
	// transaction that ends while the store closes may still have holes
	// to punch, and os.File's Fd must not race its Close.
	punchMu sync.Mutex
	closed  bool // guarded by punchMu
}

// blobThreshold is the block size from which a batch writes a block into
// the blob file.
const blobThreshold = 64 << 10

// blobAlign is the alignment of blob ranges: direct I/O's.
const blobAlign = directio.Align

// blobTag starts an index value that points into the blob file (a
// sequence-form value starts with the high byte of a sequence number, 0):
// blobTag, uvarint offset, uvarint size. Stores of schema version 3 hold
// only this form; it stays readable, and its blocks are checked against
// their CID with SHA-256 as before.
const blobTag = 0xb1

// blobSumTag starts the index value of a blob block written since schema
// version 4: blobTag's fields, then the CRC-32C (Castagnoli) of the block's
// bytes, 4 bytes big endian. Reads check that sum instead of the CID's
// SHA-256: the bytes were hashed (by the importer, or to verify them) before
// they were written, so what a read has left to catch is damage between the
// write and the read (the disk, a torn write, a wrong index entry), which
// the CRC detects at a small fraction of SHA-256's cost. Verify still hashes
// every block.
const blobSumTag = 0xb2

// blobSum is the CRC-32C of a blob block's bytes.
func blobSum(data []byte) uint32 { return crc32c.Sum(data) }

type hole struct {
	epoch     uint64
	off, size int64
}

// blobLoc is a block's range in the blob file and, if hasSum, the CRC-32C
// of its bytes.
type blobLoc struct {
	off    int64
	size   int
	sum    uint32
	hasSum bool
}

// sumMatches reports whether data has the CRC-32C l records (true if l has
// none).
func (l blobLoc) sumMatches(data []byte) bool { return !l.hasSum || blobSum(data) == l.sum }

func alignUp(n int64) int64 { return (n + blobAlign - 1) &^ (blobAlign - 1) }

// encodeBlobIndex is the index value of a blob block: the blobSumTag form
// if l has a sum, the blobTag form if not.
func encodeBlobIndex(l blobLoc) []byte {
	return appendBlobIndex(make([]byte, 0, maxBlobIndex), l)
}

// maxBlobIndex is the longest index value of a blob block.
const maxBlobIndex = 1 + 2*binary.MaxVarintLen64 + 4

// appendBlobIndex appends the index value of l to dst.
func appendBlobIndex(dst []byte, l blobLoc) []byte {
	tag := byte(blobTag)
	if l.hasSum {
		tag = blobSumTag
	}
	dst = append(dst, tag)
	dst = binary.AppendUvarint(dst, uint64(l.off))
	dst = binary.AppendUvarint(dst, uint64(l.size))
	if l.hasSum {
		dst = binary.BigEndian.AppendUint32(dst, l.sum)
	}
	return dst
}

// decodeBlobIndex parses the index value of a blob block, of either form;
// ok is false for any other value.
func decodeBlobIndex(v []byte) (blobLoc, bool) {
	if len(v) < 3 || (v[0] != blobTag && v[0] != blobSumTag) {
		return blobLoc{}, false
	}
	var l blobLoc
	fields := v[1:]
	if v[0] == blobSumTag {
		if len(v) < 3+4 {
			return blobLoc{}, false
		}
		fields = v[1 : len(v)-4]
		l.sum, l.hasSum = binary.BigEndian.Uint32(v[len(v)-4:]), true
	}
	off, n := binary.Uvarint(fields)
	if n <= 0 || off%blobAlign != 0 || off > math.MaxInt64/2 {
		return blobLoc{}, false
	}
	size, m := binary.Uvarint(fields[n:])
	if m <= 0 || n+m != len(fields) || size > 1<<40 {
		return blobLoc{}, false
	}
	l.off, l.size = int64(off), int(size)
	var buf [maxBlobIndex]byte // on the stack: reads decode entries often
	if !bytes.Equal(appendBlobIndex(buf[:0], l), v) {
		return blobLoc{}, false // not the one encoding (overlong varints)
	}
	return l, true
}

// openBlobFile opens (creating) the blob file beside the store at path.
func openBlobFile(path string, noSync bool) (*blobFile, error) {
	f, err := os.OpenFile(path+".blob", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store: open blob file: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("store: open blob file: %w", err)
	}
	b := &blobFile{f: f, noSync: noSync, end: alignUp(st.Size()),
		readers: make(map[uint64]int), writers: make(chan struct{}, blobWriters)}
	b.write = canPunch(f)
	if b.write {
		if d := openDirect(path+".blob", os.O_WRONLY); d != nil {
			b.direct.Store(d)
		}
	}
	if d := openDirect(path+".blob", os.O_RDONLY); d != nil {
		b.directRead.Store(d)
	}
	return b, nil
}

// tidy runs at Open, before anything else uses the file: it cuts off what
// lies after the last indexed range and punches holes between indexed
// ranges (bytes of batches that crashed before their index committed).
func (b *blobFile) tidy(locs []blobLoc) error {
	slices.SortFunc(locs, func(x, y blobLoc) int { return cmp.Compare(x.off, y.off) })
	var at int64
	for _, l := range locs {
		if l.off > at {
			punch(b.f, at, l.off-at)
		}
		at = max(at, l.off+alignUp(int64(l.size)))
	}
	st, err := b.f.Stat()
	if err != nil {
		return err
	}
	if st.Size() > at {
		if err := b.f.Truncate(at); err != nil {
			return err
		}
		if err := b.sync(); err != nil {
			return err
		}
	}
	b.end = at
	return nil
}

// put stores data at a new range of the file and returns it (TidyAfterCrash
// uses it; batches use reserve and write).
func (b *blobFile) put(data []byte) (blobLoc, error) {
	l := b.reserve(len(data))
	if err := b.writeAt(data, l.off); err != nil {
		b.release([]blobLoc{l})
		return blobLoc{}, err
	}
	return l, nil
}

// reserve allocates a range of size bytes at the end of the file.
func (b *blobFile) reserve(size int) blobLoc {
	n := alignUp(int64(size))
	b.mu.Lock()
	off := b.end
	b.end += n
	b.mu.Unlock()
	return blobLoc{off: off, size: size}
}

// writeAt writes data at off, a range reserve returned.
func (b *blobFile) writeAt(data []byte, off int64) error {
	if b.writeDirect(data, off) {
		return nil
	}
	if _, err := b.f.WriteAt(data, off); err != nil {
		return fmt.Errorf("store: write blob: %w", err)
	}
	return nil
}

// blobWriters bounds the blob writes under way at once (per file): enough
// to keep a device queue busy while the caller hashes the next blocks.
const blobWriters = 4

// writeDirect writes data at off through the O_DIRECT handle, from an
// aligned copy when data is not aligned, and reports whether it did. On a
// failure it closes that handle for good: the caller writes buffered.
func (b *blobFile) writeDirect(data []byte, off int64) bool {
	d := b.direct.Load()
	if d == nil {
		return false
	}
	n := int(alignUp(int64(len(data))))
	buf := data
	var pooled *[]byte
	if len(data) != n || !directio.IsAligned(data) {
		pooled = alignedBuf(n)
		buf = (*pooled)[:n]
		copy(buf, data)
		clear(buf[len(data):])
	}
	_, err := d.WriteAt(buf, off)
	if pooled != nil {
		alignedBufs.Put(pooled)
	}
	if err != nil {
		if b.direct.CompareAndSwap(d, nil) {
			d.Close()
		}
		return false
	}
	return true
}

// alignedBufs pools the aligned buffers of writeDirect.
var alignedBufs sync.Pool

// alignedBuf returns a pooled buffer of at least n bytes that starts on a
// blobAlign boundary.
func alignedBuf(n int) *[]byte {
	if p, ok := alignedBufs.Get().(*[]byte); ok && cap(*p) >= n {
		return p
	}
	buf := directio.Bytes(n)
	return &buf
}

// release gives back ranges that were written but never indexed: nobody can
// read them, so their holes are punched at once.
func (b *blobFile) release(locs []blobLoc) {
	for _, l := range locs {
		punch(b.f, l.off, alignUp(int64(l.size)))
	}
}

// sync makes the written ranges durable (a no-op with NoSync).
func (b *blobFile) sync() error {
	if b.noSync {
		return nil
	}
	return fdatasync(b.f)
}

// read reads l into buf (grown as needed) and returns the bytes.
func (b *blobFile) read(l blobLoc, buf []byte) ([]byte, error) {
	if d := b.directRead.Load(); d != nil {
		if data, ok := b.readDirect(d, l, buf); ok {
			return data, nil
		}
	}
	if cap(buf) < l.size {
		buf = make([]byte, l.size)
	}
	buf = buf[:l.size]
	n, err := b.f.ReadAt(buf, l.off)
	if n == l.size {
		return buf, nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return nil, err
}

// readDirect reads l through the O_DIRECT handle d, into buf when it is
// aligned and large enough, and reports whether it did. On a failure it
// closes that handle for good: the caller reads buffered (which reports
// the error, if it is not O_DIRECT's).
func (b *blobFile) readDirect(d *os.File, l blobLoc, buf []byte) ([]byte, bool) {
	n := int(alignUp(int64(l.size)))
	if cap(buf) < n || !directio.IsAligned(buf) {
		buf = directio.Bytes(n)
	}
	got, err := d.ReadAt(buf[:n], l.off)
	if got >= l.size { // the last range may end at the end of the file
		return buf[:l.size], true
	}
	if err != nil && b.directRead.CompareAndSwap(d, nil) {
		d.Close()
	}
	return nil, false
}

// beginRead registers a read transaction about to begin; endRead with the
// result when it is over.
func (b *blobFile) beginRead() uint64 {
	b.mu.Lock()
	e := b.epoch
	b.readers[e]++
	b.mu.Unlock()
	return e
}

func (b *blobFile) endRead(e uint64) {
	b.mu.Lock()
	if b.readers[e]--; b.readers[e] <= 0 {
		delete(b.readers, e)
	}
	ready := b.readyLocked()
	b.mu.Unlock()
	b.punchAll(ready)
}

// free gives back the ranges of blocks whose deletion has committed. A read
// transaction that began before the commit may still read them, so each
// hole is punched when the readers registered at its epoch or before are
// done.
func (b *blobFile) free(locs []blobLoc) {
	b.mu.Lock()
	for _, l := range locs {
		b.freed = append(b.freed, hole{epoch: b.epoch, off: l.off, size: alignUp(int64(l.size))})
	}
	b.epoch++
	ready := b.readyLocked()
	b.mu.Unlock()
	b.punchAll(ready)
}

// readyLocked removes and returns the freed ranges no open reader can see.
func (b *blobFile) readyLocked() []hole {
	if len(b.freed) == 0 {
		return nil
	}
	oldest := uint64(math.MaxUint64)
	for e := range b.readers {
		oldest = min(oldest, e)
	}
	var ready []hole
	keep := b.freed[:0]
	for _, h := range b.freed {
		if h.epoch < oldest {
			ready = append(ready, h)
		} else {
			keep = append(keep, h)
		}
	}
	clear(b.freed[len(keep):])
	b.freed = keep
	return ready
}

func (b *blobFile) punchAll(hs []hole) {
	if len(hs) == 0 {
		return
	}
	b.punchMu.Lock()
	defer b.punchMu.Unlock()
	if b.closed {
		return // the space stays in use; the next Open tidies the file
	}
	for _, h := range hs {
		punch(b.f, h.off, h.size)
	}
}

// close punches what is still waiting (no reader is left) and closes the
// file.
func (b *blobFile) close() error {
	b.mu.Lock()
	hs := b.freed
	b.freed = nil
	b.mu.Unlock()
	b.punchAll(hs)
	b.punchMu.Lock()
	defer b.punchMu.Unlock()
	b.closed = true
	for _, h := range []*atomic.Pointer[os.File]{&b.direct, &b.directRead} {
		if d := h.Swap(nil); d != nil {
			d.Close()
		}
	}
	return b.f.Close()
}

// blobReads pools read buffers of blob blocks for View.
var blobReads = sync.Pool{New: func() any { return new([]byte) }}

// check reports index ranges that overlap or lie past the end of the file.
func (b *blobFile) check(locs []blobLoc) []error {
	var errs []error
	st, err := b.f.Stat()
	if err != nil {
		return []error{fmt.Errorf("blob file: %w", err)}
	}
	slices.SortFunc(locs, func(x, y blobLoc) int { return cmp.Compare(x.off, y.off) })
	var at int64
	for _, l := range locs {
		if l.off < at {
			errs = append(errs, fmt.Errorf("blob range at %d overlaps the one before", l.off))
		}
		if l.off+int64(l.size) > st.Size() {
			errs = append(errs, fmt.Errorf("blob range at %d (%d bytes) lies past the end of the file (%d)", l.off, l.size, st.Size()))
		}
		at = l.off + alignUp(int64(l.size))
	}
	return errs
}

// dropWritten drops the ranges a flush indexed, synced and so written back,
// from the page cache: see DB.dropWritten for why. With NoSync the pages are
// still dirty and the kernel would keep them anyway.
func (b *blobFile) dropWritten(locs []blobLoc) {
	if b.noSync || len(locs) == 0 {
		return
	}
	locs = slices.Clone(locs)
	slices.SortFunc(locs, func(x, y blobLoc) int { return cmp.Compare(x.off, y.off) })
	start, end := locs[0].off, locs[0].off
	for _, l := range locs {
		if l.off != end {
			dropCached(b.f, start, end-start)
			start = l.off
		}
		end = l.off + alignUp(int64(l.size))
	}
	dropCached(b.f, start, end-start)
}
