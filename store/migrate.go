package store

import (
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Schema versions and their migrations. Open upgrades an older file in
// place: every step from the file's version to schemaVersion runs inside
// the one write transaction that also bumps the version key, so a crash
// (or a failing step) leaves the file exactly as it was, still at its old
// version, and the next Open tries again. A newer file is refused
// (ErrVersion): downgrades are not supported, as in syncthing and Kubo.
//
//	1  the first layout (blocks, data, staged, pins, packages, bookmarks,
//	   peers, channels, moderation buckets; meta/version, meta/usage)
//	2  meta/history: one line per creation or migration, "v<N> <program>",
//	   so `repo verify` can say which releases wrote the file
//	3  large blocks in the blob file beside the bbolt file (blob.go): an
//	   index value may start with blobTag. Nothing moves: blocks already in
//	   bbolt stay there and read as before; the version keeps an older
//	   program, which would misread such entries, from opening the file
//	4  new blob entries start with blobSumTag and end with the CRC-32C of
//	   the block's bytes, which reads check instead of the CID's SHA-256.
//	   Nothing is rewritten: blobTag entries stay and are hashed as before.
//	   The version keeps a v3 program from opening the file, as it would
//	   take blobSumTag entries for garbage and, at Open, punch their
//	   ranges out of the blob file as unreferenced bytes
const schemaVersion = 4

var keyHistory = []byte("history")

// migrations[i] upgrades a store at version i+1 to version i+2.
var migrations = []func(db *DB, tx *bolt.Tx) error{
	migrate1to2,
	func(*DB, *bolt.Tx) error { return nil }, // 2 to 3: new entries only
	func(*DB, *bolt.Tx) error { return nil }, // 3 to 4: new entries only
}

func migrate1to2(db *DB, tx *bolt.Tx) error {
	return appendHistory(tx, "v1 (before history was kept)")
}

// appendHistory adds one line to meta/history.
func appendHistory(tx *bolt.Tx, line string) error {
	meta := tx.Bucket(bucketMeta)
	h := append([]byte(nil), meta.Get(keyHistory)...)
	h = append(h, line...)
	h = append(h, '\n')
	return meta.Put(keyHistory, h)
}

// migrate runs the migrations from version from to schemaVersion and then
// writes the new version, inside tx.
func (db *DB) migrate(tx *bolt.Tx, from uint64) error {
	for v := from; v < schemaVersion; v++ {
		if db.testMigrate != nil {
			if err := db.testMigrate(int(v)); err != nil {
				return fmt.Errorf("store: migrate %s from v%d: %w", db.path, v, err)
			}
		}
		if err := migrations[v-1](db, tx); err != nil {
			return fmt.Errorf("store: migrate %s from v%d: %w", db.path, v, err)
		}
	}
	if err := appendHistory(tx, fmt.Sprintf("v%d %s (migrated from v%d)", schemaVersion, db.program, from)); err != nil {
		return err
	}
	db.log.Info("store migrated", "from", from, "to", schemaVersion)
	return tx.Bucket(bucketMeta).Put(keyVersion, binary.BigEndian.AppendUint64(nil, schemaVersion))
}

// SchemaVersion returns the version of the layout this package writes.
func SchemaVersion() int { return schemaVersion }

// Info is what the store's meta bucket says about the file.
type Info struct {
	Version int    `json:"version"`
	History string `json:"history"` // one line per creation or migration
}

// Info returns the file's schema version and history.
func (db *DB) Info() (Info, error) {
	var in Info
	err := db.view(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if v := meta.Get(keyVersion); len(v) == 8 {
			in.Version = int(binary.BigEndian.Uint64(v))
		}
		in.History = string(meta.Get(keyHistory))
		return nil
	})
	return in, err
}
