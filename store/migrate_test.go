package store_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/myconet/myconet/store"
)

// downgradeToV1 rewrites a closed store file into schema version 1: the
// version key says 1 and meta/history, which v2 added, is gone.
func downgradeToV1(t *testing.T, path string) {
	t.Helper()
	b, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket([]byte("meta"))
		if err := meta.Delete([]byte("history")); err != nil {
			return err
		}
		return meta.Put([]byte("version"), binary.BigEndian.AppendUint64(nil, 1))
	}); err != nil {
		t.Fatal(err)
	}
}

func rawMeta(t *testing.T, path string) (version uint64, history string) {
	t.Helper()
	b, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	b.View(func(tx *bolt.Tx) error {
		meta := tx.Bucket([]byte("meta"))
		version = binary.BigEndian.Uint64(meta.Get([]byte("version")))
		history = string(meta.Get([]byte("history")))
		return nil
	})
	return version, history
}

// TestMigrateV1 opens a v1 store with this version: a failing migration
// leaves the file untouched (still v1, openable again), a successful one
// upgrades it in place with its content intact.
func TestMigrateV1(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	cfg := store.Config{Path: path, Links: toyLinks, Program: "myconet test"}
	db, err := store.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if in, _ := db.Info(); in.Version != store.SchemaVersion() || in.History != fmt.Sprintf("v%d myconet test (created)\n", store.SchemaVersion()) {
		t.Fatalf("new store: %+v", in)
	}
	d := makeDAG(t, []uint64{1, 2, 3}, 5000)
	addDAG(t, db, d, store.ReasonLocal)
	db.Close()
	downgradeToV1(t, path)

	// A migration that fails midway (as a crash would): nothing changes.
	failing := cfg
	store.SetTestMigrate(&failing, func(v int) error { return errors.New("power cut") })
	if _, err := store.Open(failing); err == nil || !strings.Contains(err.Error(), "power cut") {
		t.Fatalf("failing migration: %v", err)
	}
	if v, h := rawMeta(t, path); v != 1 || h != "" {
		t.Fatalf("after a failed migration: version %d, history %q", v, h)
	}

	db, err = store.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	in, _ := db.Info()
	if in.Version != store.SchemaVersion() || !strings.Contains(in.History, fmt.Sprintf("v%d myconet test (migrated from v1)", store.SchemaVersion())) {
		t.Fatalf("migrated: %+v", in)
	}
	if got, err := db.Get(d.root.CID); err != nil || string(got) != string(d.root.Data) {
		t.Fatalf("root after migration: %v", err)
	}
	rep, err := db.Verify(context.Background())
	if err != nil || len(rep.Problems) != 0 || rep.Pins != 1 || rep.Blocks != int64(len(d.blocks())) {
		t.Fatalf("verify after migration: %+v %v", rep, err)
	}
}
