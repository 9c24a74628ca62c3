package store

import (
	"bytes"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// ModTargets returns the targets that have records of kind, in key order,
// starting after the target after (nil: from the first) and at most limit
// of them (0: all). It steps from target to target with one seek each, not
// through every record.
func (db *DB) ModTargets(kind ModKind, after []byte, limit int) ([][]byte, error) {
	var out [][]byte
	err := db.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketModRecords).Cursor()
		seek := []byte{byte(kind)}
		if after != nil {
			seek = nextTarget(modTargetPrefix(kind, after))
		}
		for k, _ := c.Seek(seek); k != nil && k[0] == byte(kind); k, _ = c.Seek(seek) {
			if len(k) < 2 || len(k) < 2+int(k[1]) {
				return fmt.Errorf("bad record key %x", k)
			}
			prefix := k[:2+int(k[1])]
			out = append(out, bytes.Clone(prefix[2:]))
			if limit > 0 && len(out) >= limit {
				return nil
			}
			seek = nextTarget(prefix)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: moderation targets: %w", err)
	}
	return out, nil
}

// nextTarget is the smallest key after every key under prefix.
func nextTarget(prefix []byte) []byte {
	return append(bytes.Clone(prefix), bytes.Repeat([]byte{0xff}, ModAuthorSize+1)...)
}
