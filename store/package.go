package store

import (
	"fmt"
	"time"

	"github.com/ipfs/go-cid"
	bolt "go.etcd.io/bbolt"
)

// PackageRecord indexes a package for listing. The signed package root block
// itself is a normal block; this record only summarises it.
type PackageRecord struct {
	CID       cid.Cid // the package root block
	Content   cid.Cid // the root of the content DAG
	Title     string
	Kind      string
	Size      int64 // bytes of content
	Files     int64
	Publisher []byte // raw Ed25519 public key
	Added     time.Time
}

// Package returns the record of package c (ErrNotFound if none).
func (db *DB) Package(c cid.Cid) (PackageRecord, error) {
	var r PackageRecord
	var found bool
	err := db.view(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketPackages).Get(c.Bytes())
		if v == nil {
			return nil
		}
		found = true
		var err error
		r, err = decodePackage(v)
		return err
	})
	if err == nil && !found {
		err = ErrNotFound
	}
	if err != nil {
		return PackageRecord{}, fmt.Errorf("store: package %s: %w", c, err)
	}
	return r, nil
}

// Packages returns every package record, ordered by CID bytes.
func (db *DB) Packages() ([]PackageRecord, error) {
	var out []PackageRecord
	err := db.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketPackages).ForEach(func(k, v []byte) error {
			r, err := decodePackage(v)
			if err != nil {
				return fmt.Errorf("package %s: %w", keyString(k), err)
			}
			out = append(out, r)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("store: packages: %w", err)
	}
	return out, nil
}

// PutPackage writes a package record outside a batch, replacing any record
// with the same CID.
func (db *DB) PutPackage(r PackageRecord) error {
	if !r.CID.Defined() {
		return fmt.Errorf("store: put package: undefined CID")
	}
	err := db.update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketPackages).Put(r.CID.Bytes(), encodePackage(r))
	})
	if err != nil {
		return fmt.Errorf("store: put package %s: %w", r.CID, err)
	}
	return nil
}

// DeletePackage deletes the record of package c (ErrNotFound if none). It
// does not touch pins or blocks.
func (db *DB) DeletePackage(c cid.Cid) error {
	err := db.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketPackages)
		if b.Get(c.Bytes()) == nil {
			return ErrNotFound
		}
		return b.Delete(c.Bytes())
	})
	if err != nil {
		return fmt.Errorf("store: delete package %s: %w", c, err)
	}
	return nil
}
