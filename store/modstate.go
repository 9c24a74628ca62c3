package store

import (
	"bytes"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Moderation state of a package that is neither a vote nor an annotation:
// the node's last community decision (its snapshot of tallies) and the
// publisher's retraction. The store keeps each as opaque bytes, at most one
// per kind and package; package node encodes and verifies them.
//
//	modstate  kind(1) | target  → encoding
var bucketModState = []byte("modstate")

// ModStateKind names a kind of moderation state.
type ModStateKind byte

// Kinds of moderation state.
const (
	ModDecision   ModStateKind = 'd' // moderation.Snapshot
	ModRetraction ModStateKind = 'r' // moderation.Retraction
)

// PutModState stores enc as the state of kind for target, replacing any.
func (db *DB) PutModState(kind ModStateKind, target, enc []byte) error {
	err := db.update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketModState).Put(append([]byte{byte(kind)}, target...), enc)
	})
	if err != nil {
		return fmt.Errorf("store: put moderation state: %w", err)
	}
	return nil
}

// ModState returns a copy of the state of kind for target (ErrNotFound if
// none).
func (db *DB) ModState(kind ModStateKind, target []byte) ([]byte, error) {
	var out []byte
	err := db.view(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketModState).Get(append([]byte{byte(kind)}, target...))
		if v == nil {
			return ErrNotFound
		}
		out = bytes.Clone(v)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: moderation state: %w", err)
	}
	return out, nil
}

// DeleteModStates deletes the states of kind for which drop, given the
// target and a view of the encoding (valid during the call), says so. It
// returns how many it deleted.
func (db *DB) DeleteModStates(kind ModStateKind, drop func(target, enc []byte) bool) (int, error) {
	n := 0
	err := db.update(func(tx *bolt.Tx) error {
		n = 0
		b := tx.Bucket(bucketModState)
		var del [][]byte
		c := b.Cursor()
		for k, v := c.Seek([]byte{byte(kind)}); k != nil && k[0] == byte(kind); k, v = c.Next() {
			if drop(k[1:], v) {
				del = append(del, bytes.Clone(k))
			}
		}
		for _, k := range del {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		n = len(del)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: delete moderation states: %w", err)
	}
	return n, nil
}

// ModStates calls fn with each target and encoding of kind (views valid
// during the call) until fn returns false.
func (db *DB) ModStates(kind ModStateKind, fn func(target, enc []byte) bool) error {
	return db.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketModState).Cursor()
		for k, v := c.Seek([]byte{byte(kind)}); k != nil && k[0] == byte(kind); k, v = c.Next() {
			if !fn(k[1:], v) {
				break
			}
		}
		return nil
	})
}
