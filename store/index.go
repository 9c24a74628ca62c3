package store

import (
	"bytes"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Derived indexes (the search index) live in the bucket "indexes": one
// nested bucket per index, named by its user, holding one nested bucket per
// table, named by a byte. The store does not interpret their keys and
// values; the owner of an index keeps it consistent with the pins (the
// search index is reconciled with them when a node starts).
var bucketIndexes = []byte("indexes")

// ErrReadOnly is returned by IndexTx.Put and Delete in a read transaction.
var ErrReadOnly = errors.New("store: index transaction is read-only")

// IndexTx is a transaction over the tables of one derived index. Byte
// slices that Get and Scan return are valid only during the transaction
// (Scan: during the callback) and must not be modified. Put keeps its key
// and value until the transaction ends.
type IndexTx struct {
	tx   *bolt.Tx
	root *bolt.Bucket // nil in a read transaction when the index is new
}

func (t *IndexTx) table(id byte, create bool) (*bolt.Bucket, error) {
	if t.root == nil {
		return nil, nil
	}
	name := []byte{id}
	if b := t.root.Bucket(name); b != nil || !create {
		return b, nil
	}
	return t.root.CreateBucket(name)
}

// Get returns the value of key in table, or nil.
func (t *IndexTx) Get(table byte, key []byte) []byte {
	b, _ := t.table(table, false)
	if b == nil {
		return nil
	}
	return b.Get(key)
}

// Put sets key to value in table.
func (t *IndexTx) Put(table byte, key, value []byte) error {
	if !t.tx.Writable() {
		return ErrReadOnly
	}
	b, err := t.table(table, true)
	if err != nil {
		return err
	}
	return b.Put(key, value)
}

// Delete deletes key from table; an absent key is no error.
func (t *IndexTx) Delete(table byte, key []byte) error {
	if !t.tx.Writable() {
		return ErrReadOnly
	}
	b, err := t.table(table, false)
	if b == nil || err != nil {
		return err
	}
	return b.Delete(key)
}

// Scan calls fn with each key of table that starts with prefix, in order,
// until fn returns false. fn must not write to the table.
func (t *IndexTx) Scan(table byte, prefix []byte, fn func(key, value []byte) bool) error {
	b, _ := t.table(table, false)
	if b == nil {
		return nil
	}
	c := b.Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		if !fn(k, v) {
			break
		}
	}
	return nil
}

// ViewIndex runs fn in a read transaction over the index called name.
func (db *DB) ViewIndex(name string, fn func(*IndexTx) error) error {
	err := db.view(func(tx *bolt.Tx) error {
		t := &IndexTx{tx: tx}
		if b := tx.Bucket(bucketIndexes); b != nil {
			t.root = b.Bucket([]byte(name))
		}
		return fn(t)
	})
	if err != nil {
		return fmt.Errorf("store: index %s: %w", name, err)
	}
	return nil
}

// UpdateIndex runs fn in a write transaction over the index called name,
// creating it if needed. An error from fn rolls the transaction back.
func (db *DB) UpdateIndex(name string, fn func(*IndexTx) error) error {
	err := db.update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketIndexes)
		if err != nil {
			return err
		}
		root, err := b.CreateBucketIfNotExists([]byte(name))
		if err != nil {
			return err
		}
		return fn(&IndexTx{tx: tx, root: root})
	})
	if err != nil {
		return fmt.Errorf("store: index %s: %w", name, err)
	}
	return nil
}

// DropIndex deletes the index called name and everything in it.
func (db *DB) DropIndex(name string) error {
	err := db.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketIndexes)
		if b == nil || b.Bucket([]byte(name)) == nil {
			return nil
		}
		return b.DeleteBucket([]byte(name))
	})
	if err != nil {
		return fmt.Errorf("store: drop index %s: %w", name, err)
	}
	return nil
}
