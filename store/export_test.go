package store

import (
	"fmt"

	"github.com/ipfs/go-cid"
	bolt "go.etcd.io/bbolt"
)

// SetTestMigrate sets Config.testMigrate for the tests of package store_test.
func SetTestMigrate(cfg *Config, f func(v int) error) { cfg.testMigrate = f }

// BlobEntry returns the range of the blob file that block c's index entry
// names and whether the entry records a CRC-32C; blob is false if c is
// absent or not in the blob file.
func BlobEntry(db *DB, c cid.Cid) (off int64, size int, hasSum, blob bool, err error) {
	err = db.view(func(tx *bolt.Tx) error {
		seq, loc, _, ok := decodeEntry(db.blocksIn(tx).idx.Get(blockKey(c)))
		if ok && seq == nil {
			off, size, hasSum, blob = loc.off, loc.size, loc.hasSum, true
		}
		return nil
	})
	return off, size, hasSum, blob, err
}

// SetBlobEntry rewrites the index entry of blob block c, keeping its range:
// with CRC-32C sum, or in the form schema version 3 wrote (no sum) if
// !hasSum.
func SetBlobEntry(db *DB, c cid.Cid, sum uint32, hasSum bool) error {
	return db.update(func(tx *bolt.Tx) error {
		t := db.blocksIn(tx)
		k := blockKey(c)
		seq, loc, _, ok := decodeEntry(t.idx.Get(k))
		if !ok || seq != nil {
			return fmt.Errorf("block %s is not in the blob file", c)
		}
		loc.sum, loc.hasSum = sum, hasSum
		return t.putBlob(k, loc)
	})
}
