package store

import (
	"github.com/myconet/myconet/internal/directio"

	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/ipfs/go-cid"
	mh "github.com/multiformats/go-multihash"
	bolt "go.etcd.io/bbolt"
)

func blobTestBlock(t *testing.T, seed uint64, size int) Block {
	t.Helper()
	data := make([]byte, size)
	r := rand.New(rand.NewPCG(seed, 9))
	for i := 0; i+8 <= len(data); i += 8 {
		binary.LittleEndian.PutUint64(data[i:], r.Uint64())
	}
	h, err := mh.Sum(data, mh.SHA2_256, -1)
	if err != nil {
		t.Fatal(err)
	}
	return Block{CID: cid.NewCidV1(cid.Raw, h), Data: data}
}

// putPinned writes blocks in one batch and pins the first.
func putPinned(t *testing.T, db *DB, blocks ...Block) {
	t.Helper()
	b, err := db.NewBatch(BatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, blk := range blocks[1:] {
		if err := b.Put(blk.CID, blk.Data); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Put(blocks[0].CID, blocks[0].Data); err != nil {
		t.Fatal(err)
	}
	if err := b.Commit(Commit{Pin: Pin{Root: blocks[0].CID, Reason: ReasonLocal}}); err != nil {
		t.Fatal(err)
	}
}

// openBlobTest opens a new store with cfg, or skips the test where large
// blocks stay in bbolt (no hole punching).
func openBlobTest(t *testing.T, cfg Config) (string, *DB) {
	t.Helper()
	cfg.Path = filepath.Join(t.TempDir(), "store.db")
	db, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !db.blobs.write {
		db.Close()
		t.Skip("no hole punching here: large blocks stay in bbolt")
	}
	return cfg.Path, db
}

// allocated is the disk space of the blob file (what holes give back).
func allocated(t *testing.T, path string) int64 {
	t.Helper()
	var st blobStat
	if err := statBlocks(path+".blob", &st); err != nil {
		t.Skip(err)
	}
	return st.allocated
}

// TestBlobReaderKeepsDeletedBlock: a read transaction that began before a
// GC deleted a blob block still reads its bytes: the hole is punched only
// when that reader is done.
func TestBlobReaderKeepsDeletedBlock(t *testing.T) {
	_, db := openBlobTest(t, Config{NoSync: true})
	path := db.path
	defer db.Close()
	blk := blobTestBlock(t, 1, 1<<20)
	putPinned(t, db, blk)
	err := db.view(func(tx *bolt.Tx) error {
		t := db.blocksIn(tx)
		if err := db.RemovePin(blk.CID, ReasonLocal); err != nil {
			return err
		}
		res, err := db.GC(context.Background())
		if err != nil || res.Removed != 1 {
			return fmtErr("gc removed %d: %v", res.Removed, err)
		}
		data, err := t.get(blockKey(blk.CID))
		if err != nil {
			return err
		}
		return verifyBlock(blk.CID, data)
	})
	if err != nil {
		t.Fatalf("a reader that began before the delete: %v", err)
	}
	if n := allocated(t, path); n != 0 {
		t.Fatalf("after the reader ended the blob file still holds %d bytes", n)
	}
}

// TestBlobTidyAfterCrash: bytes written but never indexed (a crash between
// the write and the commit) are cut off the end, or punched out of the
// middle, of the blob file at the next Open; indexed blocks stay intact.
func TestBlobTidyAfterCrash(t *testing.T) {
	path, db := openBlobTest(t, Config{})
	a, b := blobTestBlock(t, 1, 200_000), blobTestBlock(t, 2, 300_000)
	putPinned(t, db, a)
	// An orphan in the middle: written, never indexed, as by a batch
	// whose process died.
	orphan, err := db.blobs.put(blobTestBlock(t, 3, 1<<20).Data)
	if err != nil {
		t.Fatal(err)
	}
	putPinned(t, db, b)
	db.Close()
	// And one at the end.
	f, err := os.OpenFile(path+".blob", os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := f.Stat()
	if _, err := f.WriteAt(bytes.Repeat([]byte{7}, 5<<20), st.Size()); err != nil {
		t.Fatal(err)
	}
	f.Close()

	db, err = Open(Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
	for _, blk := range []Block{a, b} {
		if got, err := db.Get(blk.CID); err != nil || !bytes.Equal(got, blk.Data) {
			t.Fatalf("block after tidy: %v", err)
		}
	}
	if st, _ := os.Stat(path + ".blob"); st.Size() != orphan.off+alignUp(1<<20)+alignUp(300_000) {
		t.Fatalf("blob file is %d bytes: the tail was not cut", st.Size())
	}
	want := alignUp(200_000) + alignUp(300_000)
	if n := allocated(t, path); n > want+64<<10 {
		t.Fatalf("blob file holds %d bytes on disk, want about %d (the orphan punched out)", n, want)
	}
}

// TestBlobMigrateV2 opens a v2 store whose large blocks live in bbolt:
// they read as before, new large blocks go to the blob file, and GC frees
// both kinds.
func TestBlobMigrateV2(t *testing.T) {
	path, db := openBlobTest(t, Config{})
	db.blobs.write = false // as the v2 program wrote
	old := blobTestBlock(t, 1, 500_000)
	putPinned(t, db, old)
	db.Close()
	b, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(keyVersion, binary.BigEndian.AppendUint64(nil, 2))
	}); err != nil {
		t.Fatal(err)
	}
	b.Close()

	db, err = Open(Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if in, _ := db.Info(); in.Version != schemaVersion {
		t.Fatalf("version %d after migration", in.Version)
	}
	if got, err := db.Get(old.CID); err != nil || !bytes.Equal(got, old.Data) {
		t.Fatalf("old block: %v", err)
	}
	young := blobTestBlock(t, 2, 500_000)
	putPinned(t, db, young)
	if n := allocated(t, path); n < alignUp(500_000) {
		t.Fatalf("the new block is not in the blob file (%d bytes)", n)
	}
	for _, blk := range []Block{old, young} {
		if err := db.RemovePin(blk.CID, ReasonLocal); err != nil {
			t.Fatal(err)
		}
	}
	if res, err := db.GC(context.Background()); err != nil || res.Removed != 2 {
		t.Fatalf("gc: %+v %v", res, err)
	}
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
	if n := allocated(t, path); n != 0 {
		t.Fatalf("blob file holds %d bytes after gc", n)
	}
}

// TestBlobQuotaAbort: a batch refused by the quota gives back the blob
// space it had written.
func TestBlobQuotaAbort(t *testing.T) {
	path, db := openBlobTest(t, Config{DiskQuota: 3 << 20})
	defer db.Close()
	b, err := db.NewBatch(BatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		blk := blobTestBlock(t, uint64(i), 1<<20)
		if err = b.Put(blk.CID, blk.Data); err != nil {
			break
		}
	}
	if err == nil {
		err = b.Flush()
	}
	if !errorsIs(err, ErrQuota) {
		t.Fatalf("over quota: %v", err)
	}
	if err := b.Abort(); err != nil {
		t.Fatal(err)
	}
	if u, _ := db.Usage(); u.Bytes != 0 {
		t.Fatalf("usage %d after abort", u.Bytes)
	}
	if n := allocated(t, path); n != 0 {
		t.Fatalf("blob file holds %d bytes after abort", n)
	}
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
}

func FuzzBlobIndex(f *testing.F) {
	f.Add(encodeBlobIndex(blobLoc{off: 4096, size: 1 << 20}))
	f.Add(encodeBlobIndex(blobLoc{}))
	f.Add(encodeBlobIndex(blobLoc{off: 4096, size: 1 << 20, sum: 0xdeadbeef, hasSum: true}))
	f.Add(encodeBlobIndex(blobLoc{hasSum: true}))
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 1, 5})
	f.Add([]byte{blobTag, 0x80})
	f.Add([]byte{blobSumTag, 0, 0, 1, 2, 3})
	f.Add([]byte{blobTag, 0, 0, 1, 2, 3, 4})
	f.Fuzz(func(t *testing.T, v []byte) {
		seq, loc, n, ok := decodeEntry(v)
		if !ok {
			return
		}
		if seq == nil {
			if loc.size != n || loc.off%blobAlign != 0 || loc.off < 0 || !bytes.Equal(encodeBlobIndex(loc), v) {
				t.Fatalf("%x decodes to %+v", v, loc)
			}
			if loc.hasSum != (v[0] == blobSumTag) || loc.hasSum && loc.sum != binary.BigEndian.Uint32(v[len(v)-4:]) {
				t.Fatalf("%x decodes to %+v: the sum is not the last 4 bytes of a blobSumTag entry", v, loc)
			}
			// The other tag over the same bytes is not an entry.
			w := bytes.Clone(v)
			if w[0] = blobSumTag; loc.hasSum {
				w[0] = blobTag
			}
			if _, ok := decodeBlobIndex(w); ok {
				t.Fatalf("%x and %x both decode", v, w)
			}
			return
		}
		if len(seq) != 8 || n < 0 {
			t.Fatalf("%x decodes to seq %x size %d", v, seq, n)
		}
	})
}

// TestBlobIndexForms: the two forms of a blob entry, byte for byte, and
// values one byte short or long of them are refused.
func TestBlobIndexForms(t *testing.T) {
	old := blobLoc{off: 4096, size: 1 << 20}
	withSum := blobLoc{off: 4096, size: 1 << 20, sum: 0xdeadbeef, hasSum: true}
	for _, c := range []struct {
		loc  blobLoc
		want []byte
	}{
		{old, []byte{blobTag, 0x80, 0x20, 0x80, 0x80, 0x40}},
		{withSum, []byte{blobSumTag, 0x80, 0x20, 0x80, 0x80, 0x40, 0xde, 0xad, 0xbe, 0xef}},
	} {
		v := encodeBlobIndex(c.loc)
		if !bytes.Equal(v, c.want) {
			t.Fatalf("%+v encodes to %x, want %x", c.loc, v, c.want)
		}
		if l, ok := decodeBlobIndex(v); !ok || l != c.loc {
			t.Fatalf("%x decodes to %+v %v, want %+v", v, l, ok, c.loc)
		}
		if seq, l, n, ok := decodeEntry(v); !ok || seq != nil || l != c.loc || n != c.loc.size {
			t.Fatalf("decodeEntry(%x) = %x %+v %d %v", v, seq, l, n, ok)
		}
		for _, bad := range [][]byte{v[:len(v)-1], append(bytes.Clone(v), 0)} {
			if _, _, _, ok := decodeEntry(bad); ok {
				t.Fatalf("%x decodes", bad)
			}
		}
	}
}

func fmtErr(format string, a ...any) error { return fmt.Errorf(format, a...) }

func errorsIs(err, target error) bool { return errors.Is(err, target) }

// TestBlobConcurrentPuts: goroutines putting large blocks into one batch
// (written in the background) and a second batch sharing some of them; every
// committed block reads back verified, and nothing leaks after GC.
func TestBlobConcurrentPuts(t *testing.T) {
	_, db := openBlobTest(t, Config{NoSync: true})
	defer db.Close()
	var blocks []Block
	for i := range 24 {
		blocks = append(blocks, blobTestBlock(t, uint64(i), 64<<10+i*8191))
	}
	b1, err := db.NewBatch(BatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b2, err := db.NewBatch(BatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 3)
	for g := range 3 {
		go func() {
			var err error
			for i := g; i < len(blocks) && err == nil; i += 3 {
				if err = b1.Put(blocks[i].CID, blocks[i].Data); err == nil && i%2 == 0 {
					err = b2.Put(blocks[i].CID, blocks[i].Data)
				}
				if err == nil && i%5 == 0 {
					err = b1.Flush()
				}
			}
			errs <- err
		}()
	}
	for range 3 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if err := b1.Put(blocks[0].CID, blocks[0].Data); err != nil {
		t.Fatal(err)
	}
	if err := b1.Commit(Commit{Pin: Pin{Root: blocks[0].CID, Reason: ReasonLocal}}); err != nil {
		t.Fatal(err)
	}
	if err := b2.Abort(); err != nil {
		t.Fatal(err)
	}
	for _, blk := range blocks {
		if got, err := db.Get(blk.CID); err != nil || !bytes.Equal(got, blk.Data) {
			t.Fatalf("block %s: %v", blk.CID, err)
		}
	}
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
	if err := db.RemovePin(blocks[0].CID, ReasonLocal); err != nil {
		t.Fatal(err)
	}
	if _, err := db.GC(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := allocated(t, db.path); n != 0 {
		t.Fatalf("blob file holds %d bytes after gc", n)
	}
}

// TestBlobReaderEndsWhileClosing: a read transaction that ends while the
// store closes punches the holes it held back; that must not race the
// file's Close (go test -race caught it in CI once).
func TestBlobReaderEndsWhileClosing(t *testing.T) {
	for i := range 200 {
		b, err := openBlobFile(filepath.Join(t.TempDir(), fmt.Sprintf("blob%d", i)), true)
		if err != nil {
			t.Fatal(err)
		}
		if !b.write {
			t.Skip("this file system cannot punch holes: blocks stay in bbolt")
		}
		data := make([]byte, 1<<16)
		var locs []blobLoc
		for range 4 {
			l, err := b.put(data)
			if err != nil {
				t.Fatal(err)
			}
			locs = append(locs, l)
		}
		e := b.beginRead()
		b.free(locs) // held back: the reader may still read them
		done := make(chan struct{})
		go func() {
			defer close(done)
			b.endRead(e) // punches now, beside the close
		}()
		if err := b.close(); err != nil {
			t.Fatal(err)
		}
		<-done
	}
}

// TestBlobReadsDirectAndBuffered: a range reads back the same through the
// O_DIRECT handle and without it, into an aligned scratch buffer, an
// unaligned one and none, including a last range that ends, unaligned, at
// the end of the file (written buffered).
func TestBlobReadsDirectAndBuffered(t *testing.T) {
	b, err := openBlobFile(filepath.Join(t.TempDir(), "blob"), true)
	if err != nil {
		t.Fatal(err)
	}
	defer b.close()
	if b.directRead.Load() == nil {
		t.Skip("skipping: this file system refuses O_DIRECT")
	}
	first := blobTestBlock(t, 1, 300<<10).Data
	l1, err := b.put(first)
	if err != nil {
		t.Fatal(err)
	}
	last := blobTestBlock(t, 2, 100<<10+123).Data
	l2 := b.reserve(len(last))
	if _, err := b.f.WriteAt(last, l2.off); err != nil { // buffered: the file ends unaligned
		t.Fatal(err)
	}
	unaligned := make([]byte, 1<<20+1)[1:]
	for _, direct := range []bool{true, false} {
		if !direct {
			d := b.directRead.Swap(nil)
			d.Close()
		}
		for _, scratch := range [][]byte{nil, directio.Bytes(1 << 20), unaligned} {
			for _, c := range []struct {
				l    blobLoc
				want []byte
			}{{l1, first}, {l2, last}} {
				got, err := b.read(c.l, scratch)
				if err != nil || !bytes.Equal(got, c.want) {
					t.Fatalf("direct %v, scratch of %d: read %d bytes at %d: %d bytes, %v", direct, cap(scratch), c.l.size, c.l.off, len(got), err)
				}
			}
		}
	}
}

// TestGetInto: GetInto returns the verified bytes of a blob block and of a
// small block, reusing the caller's buffer, and refuses a corrupt one.
func TestGetInto(t *testing.T) {
	_, db := openBlobTest(t, Config{})
	big, small := blobTestBlock(t, 1, 200<<10), blobTestBlock(t, 2, 1000)
	putPinned(t, db, big, small)
	var buf []byte
	for range 2 {
		for _, b := range []Block{big, small} {
			got, err := db.GetInto(b.CID, &buf)
			if err != nil || !bytes.Equal(got, b.Data) {
				t.Fatalf("GetInto %d bytes: %d bytes, %v", len(b.Data), len(got), err)
			}
		}
	}
	if cap(buf) < len(big.Data) {
		t.Fatalf("the buffer was not kept for reuse: cap %d", cap(buf))
	}
	missing := blobTestBlock(t, 3, 10)
	if _, err := db.GetInto(missing.CID, &buf); !errorsIs(err, ErrNotFound) {
		t.Fatalf("GetInto of a missing block: %v", err)
	}
}
