package store

import (
	"bytes"
	"fmt"

	"github.com/ipfs/go-cid"
	bolt "go.etcd.io/bbolt"
)

// The block index answers "which pinned roots hold this block?" in one
// bbolt seek, so that moderation can withhold every block of a withheld
// package (its content root and any inner block named directly) while
// still serving a block that a package it does not withhold shares.
//
// Bucket blockroots holds one empty-valued key per (block, pinned root)
// pair: cid.Bytes(block) followed by cid.Bytes(root). CIDs are prefix-free
// (a CID's header fixes its length), so the roots of a block are the keys
// under its CID bytes. The index follows the pins: a root's DAG is entered
// when the root gains its first pin (add, fetch, replicate and import all
// pin through addPinTx) and removed when it loses its last (RemovePin and
// cache eviction), in the same transaction; GC deletes only unpinned
// blocks, so it never leaves an entry behind. Open builds the index of a
// store written before it existed (meta key blockroots).
var (
	bucketBlockRoots = []byte("blockroots")
	keyBlockRoots    = []byte("blockroots") // in meta: the index is built
)

// BlockRoots returns the pinned roots whose DAG holds block c (c itself
// when c is a pinned root), in key order. It costs one seek plus one step
// per root.
func (db *DB) BlockRoots(c cid.Cid) ([]cid.Cid, error) {
	var out []cid.Cid
	prefix := blockKey(c)
	err := db.view(func(tx *bolt.Tx) error {
		cur := tx.Bucket(bucketBlockRoots).Cursor()
		for k, _ := cur.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = cur.Next() {
			root, err := cid.Cast(k[len(prefix):])
			if err != nil {
				continue // not ours: a longer CID sharing the prefix cannot exist
			}
			out = append(out, root)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: roots of block %s: %w", c, err)
	}
	return out, nil
}

// walkDAG calls fn with the key of every stored block reachable from root
// (root included), once each. Raw and missing blocks end their branch.
func (db *DB) walkDAG(tx *bolt.Tx, root cid.Cid, fn func(kb []byte) error) error {
	blocks := db.blocksIn(tx)
	seen := make(map[string]struct{})
	stack := []cid.Cid{root}
	for len(stack) > 0 {
		c := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		key := string(blockKey(c))
		if _, ok := seen[key]; ok {
			continue
		}
		seen[key] = struct{}{}
		kb := []byte(key)
		if !blocks.has(kb) {
			continue
		}
		if err := fn(kb); err != nil {
			return err
		}
		children, err := db.childLinks(blocks, c, kb)
		if err != nil {
			return err
		}
		stack = append(stack, children...)
	}
	return nil
}

// indexRootTx enters root's DAG in the block index.
func (db *DB) indexRootTx(tx *bolt.Tx, root cid.Cid) error {
	b, rk := tx.Bucket(bucketBlockRoots), blockKey(root)
	return db.walkDAG(tx, root, func(kb []byte) error {
		return b.Put(append(bytes.Clone(kb), rk...), nil)
	})
}

// unindexRootTx removes root's DAG from the block index.
func (db *DB) unindexRootTx(tx *bolt.Tx, root cid.Cid) error {
	b, rk := tx.Bucket(bucketBlockRoots), blockKey(root)
	return db.walkDAG(tx, root, func(kb []byte) error {
		return b.Delete(append(bytes.Clone(kb), rk...))
	})
}

// buildBlockIndex indexes every pinned root, once per store (Open). A root
// whose DAG cannot be read is skipped with a warning: its blocks are then
// not known to belong to it, which Check reports.
func (db *DB) buildBlockIndex(tx *bolt.Tx) error {
	meta := tx.Bucket(bucketMeta)
	if meta.Get(keyBlockRoots) != nil {
		return nil
	}
	var roots []cid.Cid
	_ = tx.Bucket(bucketPins).ForEach(func(k, _ []byte) error {
		if c, err := cid.Cast(k); err == nil {
			roots = append(roots, c)
		}
		return nil
	})
	for _, r := range roots {
		if err := db.indexRootTx(tx, r); err != nil {
			db.log.Warn("block index: cannot walk a pinned DAG", "root", r, "err", err)
		}
	}
	if len(roots) > 0 {
		db.log.Info("block index built", "roots", len(roots))
	}
	return meta.Put(keyBlockRoots, []byte{1})
}

// checkBlockIndex reports entries of the block index that the pins do not
// explain, and pinned blocks missing from it.
func (db *DB) checkBlockIndex(tx *bolt.Tx) []error {
	want := make(map[string]bool)
	var errs []error
	_ = tx.Bucket(bucketPins).ForEach(func(k, _ []byte) error {
		root, err := cid.Cast(k)
		if err != nil {
			return nil
		}
		rk := blockKey(root)
		if err := db.walkDAG(tx, root, func(kb []byte) error {
			want[string(kb)+string(rk)] = true
			return nil
		}); err != nil {
			errs = append(errs, fmt.Errorf("block index: walk %s: %w", root, err))
		}
		return nil
	})
	got := 0
	_ = tx.Bucket(bucketBlockRoots).ForEach(func(k, _ []byte) error {
		got++
		if !want[string(k)] {
			errs = append(errs, fmt.Errorf("block index: stray entry %x", k))
		}
		return nil
	})
	if got != len(want) && len(errs) == 0 {
		errs = append(errs, fmt.Errorf("block index: %d entries, the pins explain %d", got, len(want)))
	}
	return errs
}
