package store_test

import (
	"bytes"
	"context"
	"errors"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/myconet/myconet/store"
)

// blobSumStore is a store holding one pinned DAG whose leaf (1 MiB) is in
// the blob file, written with a CRC-32C in its index entry.
type blobSumStore struct {
	cfg  store.Config
	db   *store.DB
	leaf store.Block
	off  int64 // the leaf's offset in the blob file
}

// openBlobSum makes a blobSumStore, or skips the test where large blocks
// stay in bbolt (no hole punching).
func openBlobSum(t *testing.T) *blobSumStore {
	t.Helper()
	s := &blobSumStore{cfg: store.Config{Path: filepath.Join(t.TempDir(), "store.db")}}
	s.db = openTest(t, s.cfg)
	d := makeDAG(t, []uint64{31}, 1<<20)
	addDAG(t, s.db, d, store.ReasonLocal)
	s.leaf = d.leaves[0]
	off, size, hasSum, blob, err := store.BlobEntry(s.db, s.leaf.CID)
	switch {
	case err != nil:
		t.Fatal(err)
	case !blob:
		t.Skip("no hole punching here: large blocks stay in bbolt")
	case size != len(s.leaf.Data) || !hasSum:
		t.Fatalf("new blob entry: %d bytes, with a CRC-32C: %v", size, hasSum)
	}
	s.off = off
	return s
}

// rewrite closes the store, writes data over the leaf's bytes in the blob
// file, and opens the store again.
func (s *blobSumStore) rewrite(t *testing.T, data []byte) {
	t.Helper()
	s.db.Close()
	f, err := os.OpenFile(s.cfg.Path+".blob", os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(data, s.off); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	s.db = openTest(t, s.cfg)
}

// flipped is the leaf's bytes with one byte changed.
func (s *blobSumStore) flipped() []byte {
	bad := bytes.Clone(s.leaf.Data)
	bad[len(bad)/2] ^= 0x40
	return bad
}

// readsFail checks that Get, GetInto and View refuse the leaf with an
// ErrCorrupt naming it and saying why (want), and that ViewUnverified
// returns its bytes as they are on disk.
func (s *blobSumStore) readsFail(t *testing.T, want string, onDisk []byte) {
	t.Helper()
	c := s.leaf.CID
	check := func(api string, err error) {
		t.Helper()
		if !errors.Is(err, store.ErrCorrupt) || !strings.Contains(err.Error(), c.String()) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s of the damaged block: %v (want ErrCorrupt, %q)", api, err, want)
		}
	}
	_, err := s.db.Get(c)
	check("Get", err)
	var buf []byte
	_, err = s.db.GetInto(c, &buf)
	check("GetInto", err)
	called := false
	err = s.db.View(c, func([]byte) error { called = true; return nil })
	check("View", err)
	if called {
		t.Error("View called fn with the damaged block")
	}
	if err := s.db.ViewUnverified(c, func(data []byte) error {
		if !bytes.Equal(data, onDisk) {
			return errors.New("not the bytes on disk")
		}
		return nil
	}); err != nil {
		t.Errorf("ViewUnverified: %v", err)
	}
}

// verifyFinds runs Verify and checks which problems it reports for the
// leaf: that its bytes do not hash to its CID, and that they do not match
// the CRC-32C of its entry.
func (s *blobSumStore) verifyFinds(t *testing.T, hash, sum bool) {
	t.Helper()
	rep, err := s.db.Verify(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	all := strings.Join(rep.Problems, "\n")
	for _, p := range []struct {
		text string
		want bool
	}{
		{s.leaf.CID.String() + ": bytes do not hash to the CID", hash},
		{s.leaf.CID.String() + ": checksum mismatch", sum},
	} {
		if strings.Contains(all, p.text) != p.want {
			t.Errorf("verify reports %q: %v, want %v; problems:\n%s", p.text, !p.want, p.want, all)
		}
	}
}

// readsIntact checks that Get returns the leaf's bytes and that Verify
// finds nothing wrong.
func (s *blobSumStore) readsIntact(t *testing.T, what string) {
	t.Helper()
	if got, err := s.db.Get(s.leaf.CID); err != nil || !bytes.Equal(got, s.leaf.Data) {
		t.Fatalf("Get of %s: %v", what, err)
	}
	s.verifyFinds(t, false, false)
}

// flipAndCheck flips a byte of the leaf on disk, then checks that reads fail
// saying want and that Verify reports the hash (and, if sum, the checksum).
func (s *blobSumStore) flipAndCheck(t *testing.T, want string, sum bool) {
	t.Helper()
	bad := s.flipped()
	s.rewrite(t, bad)
	s.readsFail(t, want, bad)
	s.verifyFinds(t, true, sum)
}

func crc32c(data []byte) uint32 { return crc32.Checksum(data, crc32.MakeTable(crc32.Castagnoli)) }

// TestBlobSumCorruptBytes: a flipped byte of a blob block on disk fails
// Get, GetInto and View on the CRC-32C of its index entry, and Verify
// reports both its hash and its checksum.
func TestBlobSumCorruptBytes(t *testing.T) {
	s := openBlobSum(t)
	s.readsIntact(t, "the block as written")
	s.flipAndCheck(t, "checksum mismatch", true)
}

// TestBlobSumReadsSkipSHA256: bytes replaced on disk together with the
// CRC-32C of their entry read fine, which only a read that checks the CRC
// and not the CID allows; Verify, which hashes, still finds them. And an
// entry whose CRC is wrong fails reads over intact bytes.
func TestBlobSumReadsSkipSHA256(t *testing.T) {
	s := openBlobSum(t)
	bad := s.flipped()
	s.rewrite(t, bad)
	if err := store.SetBlobEntry(s.db, s.leaf.CID, crc32c(bad), true); err != nil {
		t.Fatal(err)
	}
	got, err := s.db.Get(s.leaf.CID)
	if err != nil || !bytes.Equal(got, bad) {
		t.Fatalf("Get of bytes that match their CRC-32C but not their CID: %v (the read hashed them)", err)
	}
	s.verifyFinds(t, true, false)

	// Intact bytes, a wrong sum (a bad index entry).
	s.rewrite(t, s.leaf.Data)
	if err := store.SetBlobEntry(s.db, s.leaf.CID, crc32c(s.leaf.Data)^1, true); err != nil {
		t.Fatal(err)
	}
	s.readsFail(t, "checksum mismatch", s.leaf.Data)
	s.verifyFinds(t, false, true)
}

// TestBlobSumOldEntry: an entry in the form schema version 3 wrote (no
// CRC-32C) still reads, and its reads hash the bytes against the CID.
func TestBlobSumOldEntry(t *testing.T) {
	s := openBlobSum(t)
	if err := store.SetBlobEntry(s.db, s.leaf.CID, 0, false); err != nil {
		t.Fatal(err)
	}
	if _, _, hasSum, _, err := store.BlobEntry(s.db, s.leaf.CID); err != nil || hasSum {
		t.Fatalf("the entry was not rewritten in the old form: %v", err)
	}
	s.readsIntact(t, "an old entry")
	s.flipAndCheck(t, "hash mismatch", false)
}

// TestPutSum: a sum given with PutSum is the one recorded (reads pass with
// the right one and fail with a wrong one, the bytes being intact), so the
// store did not compute its own.
func TestPutSum(t *testing.T) {
	for _, c := range []struct {
		name string
		skew uint32
		ok   bool
	}{{"right sum", 0, true}, {"wrong sum", 1, false}} {
		t.Run(c.name, func(t *testing.T) {
			db := openTest(t, store.Config{Path: filepath.Join(t.TempDir(), "store.db")})
			d := makeDAG(t, []uint64{41}, 1<<20)
			leaf := d.leaves[0]
			b, err := db.NewBatch(store.BatchOptions{Expected: d.size()})
			if err != nil {
				t.Fatal(err)
			}
			sum := crc32.Checksum(leaf.Data, crc32.MakeTable(crc32.Castagnoli)) + c.skew
			if err := b.PutSum(leaf.CID, leaf.Data, sum); err != nil {
				t.Fatal(err)
			}
			if err := b.Commit(store.Commit{Blocks: []store.Block{d.root}, Pin: store.Pin{Root: d.root.CID, Reason: store.ReasonLocal, Size: d.size()}}); err != nil {
				t.Fatal(err)
			}
			if _, _, hasSum, blob, err := store.BlobEntry(db, leaf.CID); err != nil || !blob {
				t.Skipf("not in a blob file here (%v)", err)
			} else if !hasSum {
				t.Fatal("no CRC-32C recorded")
			}
			got, err := db.Get(leaf.CID)
			switch {
			case c.ok && (err != nil || !bytes.Equal(got, leaf.Data)):
				t.Fatalf("Get: %v", err)
			case !c.ok && !errors.Is(err, store.ErrCorrupt):
				t.Fatalf("Get with a wrong recorded sum: %v, want ErrCorrupt", err)
			}
		})
	}
}

// TestPutSumThen: PutSumThen calls done exactly once, and only when the
// batch reads data no more, on every path: a large block once written to
// the blob file, a small block and a large block already stored once
// flushed, and at once when the batch is over. The test overwrites data as
// soon as done runs, as an importer reusing the buffer does; every block
// must still read back right.
func TestPutSumThen(t *testing.T) {
	db := openTest(t, store.Config{Path: filepath.Join(t.TempDir(), "store.db")})
	crc := func(b []byte) uint32 { return crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli)) }
	held := makeDAG(t, []uint64{51}, 1<<20) // stored before: its leaf is a duplicate
	addDAG(t, db, held, store.ReasonLocal)
	d := makeDAG(t, []uint64{52, 53, 54, 55}, 1<<20)
	small := rawBlock(t, []byte("a small block, kept in memory until the flush"))

	b, err := db.NewBatch(store.BatchOptions{Expected: d.size()})
	if err != nil {
		t.Fatal(err)
	}
	type put struct {
		blk   store.Block
		buf   []byte // what PutSumThen was given; overwritten by done
		calls atomic.Int32
		done  chan struct{} // closed by the first call
	}
	var puts []*put
	putThen := func(blk store.Block) *put {
		p := &put{blk: blk, buf: bytes.Clone(blk.Data), done: make(chan struct{})}
		done := func() {
			for i := range p.buf {
				p.buf[i] = 0xa5
			}
			if p.calls.Add(1) == 1 {
				close(p.done)
			}
		}
		if err := b.PutSumThen(blk.CID, p.buf, crc(blk.Data), done); err != nil {
			t.Fatal(err)
		}
		puts = append(puts, p)
		return p
	}
	for _, l := range d.leaves {
		putThen(l)
	}
	dup := putThen(held.leaves[0])
	sp := putThen(small)
	// The large new blocks are released once written, without a flush.
	for _, p := range puts[:len(d.leaves)] {
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			t.Fatalf("done not called for %s after its write", p.blk.CID)
		}
	}
	for _, p := range []*put{dup, sp} {
		if p.calls.Load() != 0 {
			t.Fatalf("done called for %s before the flush that stores it", p.blk.CID)
		}
	}
	if err := b.Commit(store.Commit{Blocks: []store.Block{d.root}, Pin: store.Pin{Root: d.root.CID, Reason: store.ReasonLocal, Size: d.size()}}); err != nil {
		t.Fatal(err)
	}
	for _, p := range puts {
		if got := p.calls.Load(); got != 1 {
			t.Errorf("done called %d times for %s, want once", got, p.blk.CID)
		}
		got, err := db.Get(p.blk.CID)
		if err != nil || !bytes.Equal(got, p.blk.Data) {
			t.Errorf("%s does not read back after its buffer was reused: %v", p.blk.CID, err)
		}
	}
	// After the batch: refused, and released at once.
	calls := 0
	if err := b.PutSumThen(small.CID, small.Data, crc(small.Data), func() { calls++ }); !errors.Is(err, store.ErrBatchDone) || calls != 1 {
		t.Fatalf("PutSumThen on a finished batch: %v, done called %d times; want ErrBatchDone, once", err, calls)
	}
}
