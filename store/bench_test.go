package store_test

import (
	"crypto/sha256"
	"encoding/binary"
	"flag"
	"hash/crc32"
	"os"
	"path/filepath"
	"testing"

	"github.com/ipfs/go-cid"
	mh "github.com/multiformats/go-multihash"

	"github.com/myconet/myconet/store"
)

// fakeCID returns a distinct CID for n without hashing block data: Put does
// not verify, so the Put benchmarks measure the store alone. The sha256
// sub-benchmark gives the hashing cost for comparison.
func fakeCID(n uint64) cid.Cid {
	sum := sha256.Sum256(binary.LittleEndian.AppendUint64(nil, n))
	h, _ := mh.Encode(sum[:], mh.SHA2_256)
	return cid.NewCidV1(cid.Raw, h)
}

var benchDir = flag.String("benchdir", "", "directory for benchmark stores (default: a temporary directory); try /dev/shm to leave the disk out")

func benchOpen(b *testing.B, noSync bool) *store.DB {
	dir := *benchDir
	if dir == "" {
		dir = b.TempDir()
	} else {
		var err error
		if dir, err = os.MkdirTemp(dir, "storebench"); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { os.RemoveAll(dir) })
	}
	db, err := store.Open(store.Config{Path: filepath.Join(dir, "store.db"), NoSync: noSync})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db
}

func benchPut(b *testing.B, size int, noSync bool) {
	db := benchOpen(b, noSync)
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i * 7)
	}
	batch, err := db.NewBatch(store.BatchOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	var n uint64
	for b.Loop() {
		n++
		if err := batch.Put(fakeCID(n), data); err != nil {
			b.Fatal(err)
		}
	}
	if err := batch.Flush(); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	batch.Abort()
}

func BenchmarkPut1MiB(b *testing.B) {
	data := make([]byte, 1<<20)
	b.Run("sha256", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			sha256.Sum256(data)
		}
	})
	b.Run("crc32c", func(b *testing.B) { // what a blob block's write adds, on the writer goroutine
		tab := crc32.MakeTable(crc32.Castagnoli)
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			crc32.Checksum(data, tab)
		}
	})
	b.Run("nosync", func(b *testing.B) { benchPut(b, 1<<20, true) })
	b.Run("sync", func(b *testing.B) { benchPut(b, 1<<20, false) })
}

func BenchmarkPutSmall(b *testing.B) {
	b.Run("nosync", func(b *testing.B) { benchPut(b, 4<<10, true) })
	b.Run("sync", func(b *testing.B) { benchPut(b, 4<<10, false) })
}

func BenchmarkGet1MiB(b *testing.B) {
	db := benchOpen(b, true)
	batch, _ := db.NewBatch(store.BatchOptions{})
	var cids []cid.Cid
	for i := range 64 {
		blk := makeDAG(b, []uint64{uint64(i)}, 1<<20).leaves[0]
		batch.Put(blk.CID, blk.Data)
		cids = append(cids, blk.CID)
	}
	if err := batch.Flush(); err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		view func(cid.Cid, func([]byte) error) error
	}{
		{"verified", db.View},
		{"unverified", db.ViewUnverified},
		{"get", func(c cid.Cid, fn func([]byte) error) error {
			data, err := db.Get(c)
			if err != nil {
				return err
			}
			return fn(data)
		}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(1 << 20)
			b.ReportAllocs()
			var i int
			var sink byte
			for b.Loop() {
				if err := tc.view(cids[i%len(cids)], func(data []byte) error { sink ^= data[len(data)/2]; return nil }); err != nil {
					b.Fatal(err)
				}
				i++
			}
			_ = sink
		})
	}
	batch.Abort()
}
