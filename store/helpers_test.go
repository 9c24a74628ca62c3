package store_test

import (
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	mh "github.com/multiformats/go-multihash"

	"github.com/myconet/myconet/store"
	"github.com/myconet/myconet/store/storetest"
)

// The tests use a toy DAG codec: a node is a count byte, then for each link
// a length byte and the CID bytes, then a payload.
const toyCodec = cid.DagProtobuf

func mustCID(tb testing.TB, codec uint64, data []byte) cid.Cid {
	tb.Helper()
	h, err := mh.Sum(data, mh.SHA2_256, -1)
	if err != nil {
		tb.Fatal(err)
	}
	return cid.NewCidV1(codec, h)
}

func rawBlock(tb testing.TB, data []byte) store.Block {
	return store.Block{CID: mustCID(tb, cid.Raw, data), Data: data}
}

func nodeBlock(tb testing.TB, children []cid.Cid, payload []byte) store.Block {
	data := []byte{byte(len(children))}
	for _, c := range children {
		b := c.Bytes()
		data = append(data, byte(len(b)))
		data = append(data, b...)
	}
	data = append(data, payload...)
	return store.Block{CID: mustCID(tb, toyCodec, data), Data: data}
}

func toyLinks(c cid.Cid, data []byte) ([]cid.Cid, error) {
	if c.Type() != toyCodec {
		return nil, errors.New("not a toy node")
	}
	if len(data) < 1 {
		return nil, errors.New("short node")
	}
	n := int(data[0])
	data = data[1:]
	var out []cid.Cid
	for i := 0; i < n; i++ {
		if len(data) < 1 || len(data) < 1+int(data[0]) {
			return nil, errors.New("short link")
		}
		l := int(data[0])
		c, err := cid.Cast(data[1 : 1+l])
		if err != nil {
			return nil, err
		}
		out = append(out, c)
		data = data[1+l:]
	}
	return out, nil
}

// dag is a two-level test DAG: raw leaves under one node.
type dag struct {
	root   store.Block
	leaves []store.Block
}

func (d dag) blocks() []store.Block { return append([]store.Block{d.root}, d.leaves...) }

func (d dag) size() int64 {
	var n int64
	for _, b := range d.blocks() {
		n += int64(len(b.Data))
	}
	return n
}

// makeDAG builds a DAG of n leaves of size bytes; seeds make leaves unique
// (equal seeds give shared leaves).
func makeDAG(tb testing.TB, seeds []uint64, size int) dag {
	var d dag
	var kids []cid.Cid
	for _, s := range seeds {
		data := make([]byte, size)
		r := rand.New(rand.NewPCG(s, 7))
		for i := 0; i+8 <= len(data); i += 8 {
			binary.LittleEndian.PutUint64(data[i:], r.Uint64())
		}
		b := rawBlock(tb, data)
		d.leaves = append(d.leaves, b)
		kids = append(kids, b.CID)
	}
	d.root = nodeBlock(tb, kids, binary.AppendUvarint(nil, uint64(len(seeds))))
	return d
}

// clock is a manual clock for Config.Now.
type clock struct{ t time.Time }

func (c *clock) Now() time.Time { c.t = c.t.Add(time.Second); return c.t }

func openTest(tb testing.TB, cfg store.Config) *store.DB {
	tb.Helper()
	if cfg.Links == nil {
		cfg.Links = toyLinks
	}
	return storetest.Open(tb, cfg)
}

// addDAG writes d in one batch and pins it.
func addDAG(tb testing.TB, db *store.DB, d dag, reason store.Reason) {
	tb.Helper()
	if err := tryAddDAG(db, d, reason); err != nil {
		tb.Fatalf("add %s: %v", d.root.CID, err)
	}
}

func tryAddDAG(db *store.DB, d dag, reason store.Reason) error {
	b, err := db.NewBatch(store.BatchOptions{Expected: d.size()})
	if err != nil {
		return err
	}
	for _, l := range d.leaves {
		if err := b.Put(l.CID, l.Data); err != nil {
			b.Abort()
			return err
		}
	}
	err = b.Commit(store.Commit{
		Blocks: []store.Block{d.root},
		Pin:    store.Pin{Root: d.root.CID, Reason: reason, Size: d.size()},
	})
	if err != nil {
		b.Abort()
	}
	return err
}

// dagComplete reports the first missing or corrupt block of d.
func dagComplete(db *store.DB, d dag) error {
	for _, b := range d.blocks() {
		if _, err := db.Get(b.CID); err != nil {
			return err
		}
	}
	return nil
}

func castKey(k string) (cid.Cid, error) { return cid.Cast([]byte(k)) }
