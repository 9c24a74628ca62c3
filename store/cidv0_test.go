package store_test

import (
	"testing"

	"github.com/ipfs/go-cid"
	mh "github.com/multiformats/go-multihash"
	bolt "go.etcd.io/bbolt"

	"github.com/myconet/myconet/store"
)

// A block is found whatever the CID version that names it, and Open moves
// the CIDv0 keys an older store wrote to the CIDv1 form.
func TestCIDv0AndV1NameOneBlock(t *testing.T) {
	path := t.TempDir() + "/store.db"
	db := openTest(t, store.Config{Path: path})
	data := []byte("\x00a dag-pb block as Kubo names it") // a toy node with no links
	sum, err := mh.Sum(data, mh.SHA2_256, -1)
	if err != nil {
		t.Fatal(err)
	}
	v0, v1 := cid.NewCidV0(sum), cid.NewCidV1(cid.DagProtobuf, sum)
	b, err := db.NewBatch(store.BatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Put(v0, data); err != nil {
		t.Fatal(err)
	}
	if err := b.Commit(store.Commit{Pin: store.Pin{Root: v0, Reason: store.ReasonLocal}}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []cid.Cid{v0, v1} {
		if got, err := db.Get(c); err != nil || string(got) != string(data) {
			t.Fatalf("get %s: %q %v", c, got, err)
		}
		if pins, err := db.PinsOf(c); err != nil || len(pins) != 1 {
			t.Fatalf("pins of %s: %v %v", c, pins, err)
		}
	}
	db.Close()

	// As an older store left it: block and pin under the CIDv0 key.
	bdb, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = bdb.Update(func(tx *bolt.Tx) error {
		for _, name := range []string{"blocks", "pins"} {
			bk := tx.Bucket([]byte(name))
			v := append([]byte(nil), bk.Get(v1.Bytes())...)
			if err := bk.Delete(v1.Bytes()); err != nil {
				return err
			}
			if err := bk.Put(v0.Bytes(), v); err != nil {
				return err
			}
		}
		return nil
	})
	bdb.Close()
	if err != nil {
		t.Fatal(err)
	}
	db = openTest(t, store.Config{Path: path})
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []cid.Cid{v0, v1} {
		if ok, _ := db.Has(c); !ok {
			t.Fatalf("%s not found after reopening an old store", c)
		}
		if pins, _ := db.PinsOf(c); len(pins) != 1 {
			t.Fatalf("pin of %s lost after reopening an old store", c)
		}
	}
}
