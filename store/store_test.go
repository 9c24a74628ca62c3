package store_test

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	mh "github.com/multiformats/go-multihash"
	bolt "go.etcd.io/bbolt"

	"github.com/myconet/myconet/store"
)

func TestAddAndRead(t *testing.T) {
	db := openTest(t, store.Config{})
	d := makeDAG(t, []uint64{1, 2, 3}, 1000)
	pkg := &store.PackageRecord{CID: d.root.CID, Content: d.leaves[0].CID, Title: "t", Kind: "k", Size: 3000, Files: 3, Publisher: []byte{1, 2}, Added: time.Unix(100, 0).UTC()}

	b, err := db.NewBatch(store.BatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range d.leaves {
		if err := b.Put(l.CID, l.Data); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Put(d.leaves[0].CID, d.leaves[0].Data); err != nil { // duplicate
		t.Fatal(err)
	}
	if err := b.Commit(store.Commit{Blocks: []store.Block{d.root}, Pin: store.Pin{Root: d.root.CID, Reason: store.ReasonLocal, Name: "n"}, Package: pkg}); err != nil {
		t.Fatal(err)
	}
	if got := b.Written(); got != d.size() {
		t.Errorf("Written = %d, want %d", got, d.size())
	}
	if err := b.Abort(); err != nil {
		t.Errorf("Abort after Commit: %v", err)
	}
	if err := b.Put(d.leaves[0].CID, d.leaves[0].Data); !errors.Is(err, store.ErrBatchDone) {
		t.Errorf("Put after Commit: %v", err)
	}

	for _, blk := range d.blocks() {
		got, err := db.Get(blk.CID)
		if err != nil || !bytes.Equal(got, blk.Data) {
			t.Fatalf("Get %s: %v", blk.CID, err)
		}
		if n, err := db.BlockSize(blk.CID); err != nil || n != len(blk.Data) {
			t.Errorf("BlockSize = %d, %v", n, err)
		}
		for _, view := range []func(cid.Cid, func([]byte) error) error{db.View, db.ViewUnverified} {
			if err := view(blk.CID, func(data []byte) error {
				if !bytes.Equal(data, blk.Data) {
					t.Error("View: wrong bytes")
				}
				return nil
			}); err != nil {
				t.Error(err)
			}
		}
	}
	missing := rawBlock(t, []byte("missing")).CID
	if _, err := db.Get(missing); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get missing: %v", err)
	}
	if ok, _ := db.Has(missing); ok {
		t.Error("Has missing")
	}
	if _, err := db.BlockSize(missing); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("BlockSize missing: %v", err)
	}
	sentinel := errors.New("x")
	if err := db.View(d.root.CID, func([]byte) error { return sentinel }); err != sentinel {
		t.Errorf("View error = %v", err)
	}

	got, err := db.Package(d.root.CID)
	if err != nil || got.Title != "t" || !got.Added.Equal(pkg.Added) || !bytes.Equal(got.Publisher, pkg.Publisher) || got.Content != pkg.Content {
		t.Errorf("Package = %+v, %v", got, err)
	}
	if pkgs, _ := db.Packages(); len(pkgs) != 1 {
		t.Errorf("Packages = %v", pkgs)
	}
	if err := db.DeletePackage(d.root.CID); err != nil {
		t.Error(err)
	}
	if _, err := db.Package(d.root.CID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Package after delete: %v", err)
	}

	pins, err := db.PinsOf(d.root.CID)
	if err != nil || len(pins) != 1 || pins[0].Name != "n" || pins[0].Reason != store.ReasonLocal || pins[0].Created.IsZero() {
		t.Fatalf("PinsOf = %+v, %v", pins, err)
	}
	u, err := db.Usage()
	if err != nil || u.Blocks != 4 || u.Bytes != d.size() || u.Staged != 0 {
		t.Errorf("Usage = %+v, %v", u, err)
	}

	// GC keeps pinned DAGs; removing the pin frees everything.
	if res, err := db.GC(context.Background()); err != nil || res.Removed != 0 {
		t.Errorf("GC = %+v, %v", res, err)
	}
	if err := db.AddPin(store.Pin{Root: d.root.CID, Reason: store.ReasonCache}); err != nil {
		t.Fatal(err)
	}
	if err := db.RemovePin(d.root.CID, store.ReasonLocal); err != nil {
		t.Fatal(err)
	}
	if err := db.RemovePin(d.root.CID, store.ReasonLocal); !errors.Is(err, store.ErrNotPinned) {
		t.Errorf("RemovePin twice: %v", err)
	}
	if res, err := db.GC(context.Background()); err != nil || res.Removed != 0 {
		t.Errorf("GC with cache pin = %+v, %v", res, err)
	}
	if err := db.RemovePin(d.root.CID, store.ReasonCache); err != nil {
		t.Fatal(err)
	}
	if res, err := db.GC(context.Background()); err != nil || res.Removed != 4 || res.Freed != d.size() {
		t.Errorf("GC = %+v, %v", res, err)
	}
	if err := db.AddPin(store.Pin{Root: d.root.CID, Reason: store.ReasonLocal}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("AddPin of missing root: %v", err)
	}
	if err := db.AddPin(store.Pin{Root: d.root.CID, Reason: "bogus"}); !errors.Is(err, store.ErrBadName) {
		t.Errorf("AddPin bad reason: %v", err)
	}
}

func TestAbortAndShared(t *testing.T) {
	db := openTest(t, store.Config{})
	a := makeDAG(t, []uint64{1, 2}, 100)
	b := makeDAG(t, []uint64{2, 3}, 100) // shares leaf 2

	ba, _ := db.NewBatch(store.BatchOptions{})
	bb, _ := db.NewBatch(store.BatchOptions{})
	for _, l := range a.leaves {
		ba.Put(l.CID, l.Data)
	}
	if err := ba.Flush(); err != nil {
		t.Fatal(err)
	}
	for _, l := range b.leaves {
		bb.Put(l.CID, l.Data)
	}
	if err := bb.Flush(); err != nil {
		t.Fatal(err)
	}
	if u, _ := db.Usage(); u.Staged != 300 || u.Blocks != 3 {
		t.Errorf("Usage while staged = %+v", u)
	}
	// GC never touches staged blocks.
	if res, _ := db.GC(context.Background()); res.Removed != 0 {
		t.Errorf("GC removed staged blocks: %+v", res)
	}
	if err := ba.Abort(); err != nil {
		t.Fatal(err)
	}
	// Leaf 1 is gone, leaf 2 is still held by bb.
	if ok, _ := db.Has(a.leaves[0].CID); ok {
		t.Error("aborted block still present")
	}
	if ok, _ := db.Has(a.leaves[1].CID); !ok {
		t.Error("shared block removed")
	}
	if err := bb.Commit(store.Commit{Blocks: []store.Block{b.root}, Pin: store.Pin{Root: b.root.CID, Reason: store.ReasonLocal}}); err != nil {
		t.Fatal(err)
	}
	if err := dagComplete(db, b); err != nil {
		t.Error(err)
	}
	if u, _ := db.Usage(); u.Staged != 0 || u.Bytes != b.size() {
		t.Errorf("Usage = %+v", u)
	}
}

func TestBookmarks(t *testing.T) {
	db := openTest(t, store.Config{})
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"a", true},
		{"Films_2024.old-1", true},
		{strings.Repeat("x", 64), true},
		{strings.Repeat("x", 65), false},
		{"", false},
		{"with space", false},
		{"slash/", false},
		{"é", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := db.PutBookmark(store.Bookmark{Name: tc.name, Target: "mri:" + tc.name})
			if tc.ok != (err == nil) || (!tc.ok && !errors.Is(err, store.ErrBadName)) {
				t.Fatalf("PutBookmark(%q) = %v", tc.name, err)
			}
			if !tc.ok {
				return
			}
			b, err := db.Bookmark(tc.name)
			if err != nil || b.Target != "mri:"+tc.name || b.Created.IsZero() {
				t.Errorf("Bookmark = %+v, %v", b, err)
			}
		})
	}
	bms, err := db.Bookmarks()
	if err != nil || len(bms) != 3 || bms[0].Name != "Films_2024.old-1" || bms[1].Name != "a" {
		t.Errorf("Bookmarks = %+v, %v", bms, err)
	}
	if err := db.DeleteBookmark("a"); err != nil {
		t.Error(err)
	}
	if _, err := db.Bookmark("a"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleted bookmark: %v", err)
	}
	if err := db.DeleteBookmark("a"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("delete twice: %v", err)
	}
}

func TestLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "store.db")
	db := openTest(t, store.Config{Path: path})
	_ = db
	start := time.Now()
	_, err := store.Open(store.Config{Path: path, OpenTimeout: 50 * time.Millisecond})
	if !errors.Is(err, store.ErrLocked) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "daemon") {
		t.Fatalf("second Open = %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("second Open took %v", d)
	}
}

func TestClosed(t *testing.T) {
	db, err := store.Open(store.Config{Path: filepath.Join(t.TempDir(), "store.db")})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := db.NewBatch(store.BatchOptions{})
	blk := rawBlock(t, []byte("x"))
	b.Put(blk.CID, blk.Data)
	b.Flush()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := db.Get(blk.CID); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Get after Close: %v", err)
	}
	if _, err := db.NewBatch(store.BatchOptions{}); !errors.Is(err, store.ErrClosed) {
		t.Errorf("NewBatch after Close: %v", err)
	}
	if err := b.Put(blk.CID, blk.Data); !errors.Is(err, store.ErrBatchDone) {
		t.Errorf("Put on batch aborted by Close: %v", err)
	}
}

func TestCorrupt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	db := openTest(t, store.Config{Path: path})
	d := makeDAG(t, []uint64{1}, 4096)
	addDAG(t, db, d, store.ReasonLocal)
	db.Close()

	bdb, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	key := d.leaves[0].CID.Bytes()
	err = bdb.Update(func(tx *bolt.Tx) error {
		// blocks maps the CID to an 8-byte data sequence number (then the size).
		seq := tx.Bucket([]byte("blocks")).Get(key)[:8]
		data := tx.Bucket([]byte("data"))
		v := bytes.Clone(data.Get(seq))
		v[100] ^= 1
		return data.Put(seq, v)
	})
	bdb.Close()
	if err != nil {
		t.Fatal(err)
	}

	db = openTest(t, store.Config{Path: path})
	_, err = db.Get(d.leaves[0].CID)
	if !errors.Is(err, store.ErrCorrupt) || !strings.Contains(err.Error(), d.leaves[0].CID.String()) {
		t.Fatalf("Get corrupt block = %v", err)
	}
	called := false
	if err := db.View(d.leaves[0].CID, func([]byte) error { called = true; return nil }); !errors.Is(err, store.ErrCorrupt) || called {
		t.Errorf("View corrupt block = %v (fn called %v)", err, called)
	}
	if err := db.ViewUnverified(d.leaves[0].CID, func([]byte) error { return nil }); err != nil {
		t.Errorf("ViewUnverified = %v", err)
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	db, err := store.Open(store.Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	bdb, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	bdb.Update(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte("meta")).Put([]byte("version"), []byte{0, 0, 0, 0, 0, 0, 0, 99})
	})
	bdb.Close()
	_, err = store.Open(store.Config{Path: path})
	if !errors.Is(err, store.ErrVersion) || !strings.Contains(err.Error(), "99") {
		t.Fatalf("Open newer schema = %v", err)
	}
}

func TestTouchOrdersEviction(t *testing.T) {
	clk := &clock{t: time.Unix(1000, 0)}
	db := openTest(t, store.Config{Now: clk.Now})
	var dags []dag
	for i := range 4 {
		d := makeDAG(t, []uint64{uint64(10 * i), uint64(10*i + 1)}, 1000)
		addDAG(t, db, d, store.ReasonCache)
		dags = append(dags, d)
	}
	// Access order now: 1, 2, 3, 0 (0 most recent).
	if err := db.Touch(dags[0].root.CID); err != nil {
		t.Fatal(err)
	}
	pins, _ := db.PinsOf(dags[0].root.CID)
	if !pins[0].Accessed.After(pins[0].Created) {
		t.Errorf("Touch not visible: %+v", pins[0])
	}
	freed, err := db.EvictCache(context.Background(), dags[1].size()+1)
	if err != nil || freed != dags[1].size()+dags[2].size() {
		t.Fatalf("EvictCache = %d, %v", freed, err)
	}
	for i, want := range []bool{true, false, false, true} {
		if ok, _ := db.Has(dags[i].root.CID); ok != want {
			t.Errorf("dag %d present = %v, want %v", i, ok, want)
		}
	}
}

func TestBookmarkAddUpdate(t *testing.T) {
	db := openTest(t, store.Config{})
	if err := db.AddBookmark(store.Bookmark{Name: "a", Target: "mri:1"}, false); err != nil {
		t.Fatal(err)
	}
	if err := db.AddBookmark(store.Bookmark{Name: "a", Target: "mri:2"}, false); !errors.Is(err, store.ErrExists) {
		t.Fatalf("add over an existing name = %v, want ErrExists", err)
	}
	if b, _ := db.Bookmark("a"); b.Target != "mri:1" {
		t.Fatalf("refused add changed the bookmark: %+v", b)
	}
	if err := db.AddBookmark(store.Bookmark{Name: "a", Target: "mri:2", Follow: true}, true); err != nil {
		t.Fatal(err)
	}
	h, _ := mh.Sum([]byte("x"), mh.SHA2_256, -1)
	c := cid.NewCidV1(cid.DagCBOR, h)
	at := time.Unix(1000, 5)
	if err := db.UpdateBookmark("a", func(b *store.Bookmark) error {
		b.Resolved, b.ResolvedAt = c, at
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	b, err := db.Bookmark("a")
	if err != nil || b.Target != "mri:2" || !b.Follow || !b.Resolved.Equals(c) || !b.ResolvedAt.Equal(at) {
		t.Fatalf("after update: %+v, %v", b, err)
	}
	boom := errors.New("boom")
	if err := db.UpdateBookmark("a", func(b *store.Bookmark) error { b.Target = "mri:3"; return boom }); !errors.Is(err, boom) {
		t.Fatalf("update error = %v", err)
	}
	if b, _ := db.Bookmark("a"); b.Target != "mri:2" {
		t.Fatalf("aborted update changed the bookmark: %+v", b)
	}
	if err := db.UpdateBookmark("nope", func(*store.Bookmark) error { return nil }); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("update of a missing bookmark = %v", err)
	}
}
