package store

import (
	"encoding/binary"
	"fmt"

	"github.com/ipfs/go-cid"

	bolt "go.etcd.io/bbolt"
)

// blockTable stores block data under sequential keys, with an index from
// CID to (sequence, size).
//
// Why not key the data by CID: bbolt keeps at least two entries per leaf,
// so inserting a random key next to a 1 MiB value rewrites that neighbour
// too. Sequential data keys make a batch append to the right edge of the
// tree, so each transaction writes little more than its new blocks. The
// index has small values and absorbs the random inserts.
//
// A block of nestThreshold bytes or more lives in a nested bucket of its own
// (data[seq] is a bucket holding valueKey → bytes). Its pages are then written
// once and never copied again: a plain value shares its leaf with neighbours,
// and bbolt rewrites (and reads back through the mmap) every value of a leaf
// it touches, which for 1 MiB leaves cost both write bandwidth and resident
// memory. Small blocks stay plain values. Readers accept both forms.
//
// A block a batch wrote into the blob file (see blobFile) has only its index
// entry here: blobSumTag, uvarint offset, uvarint size, CRC-32C (or, as
// schema version 3 wrote it, blobTag and no CRC).
type blockTable struct {
	idx   *bolt.Bucket // cid.Bytes() -> 8-byte big-endian sequence, uvarint size (or a blob entry)
	data  *bolt.Bucket // 8-byte big-endian sequence -> block bytes, or a bucket {valueKey: bytes}
	db    *DB          // for readAhead; nil to skip it
	tx    *bolt.Tx
	blobs *blobFile
	// scratch is the buffer blob blocks are read into: the bytes get
	// returns are valid until the next get.
	scratch *[]byte
}

// nestThreshold is the block size from which a block gets its own bucket.
const nestThreshold = 16 << 10

// releaseThreshold is the block size from which readers drop the block's
// mmap pages from the resident set after use (see releasePages).
const releaseThreshold = 256 << 10

// written names a block a transaction stored: its data key and size.
type written struct {
	seq  []byte
	size int
}

// valueKey is the one key inside a block's nested bucket.
var valueKey = []byte{0}

func (db *DB) blocksIn(tx *bolt.Tx) blockTable {
	return blockTable{idx: tx.Bucket(bucketBlocks), data: tx.Bucket(bucketData), tx: tx, blobs: db.blobs, scratch: new([]byte)}
}

// decodeEntry parses an index value of either form: a sequence number in
// the data bucket (seq non-nil), or a range of the blob file.
func decodeEntry(v []byte) (seq []byte, blob blobLoc, size int, ok bool) {
	if l, ok := decodeBlobIndex(v); ok {
		return nil, l, l.size, true
	}
	seq, size, ok = decodeIndex(v)
	return seq, blobLoc{}, size, ok
}

// decodeIndex parses a sequence-form index value.
func decodeIndex(v []byte) (seq []byte, size int, ok bool) {
	if len(v) < 9 || v[0] == blobTag || v[0] == blobSumTag {
		return nil, 0, false
	}
	n, k := binary.Uvarint(v[8:])
	if k <= 0 || k != len(v)-8 || n > 1<<40 {
		return nil, 0, false
	}
	return v[:8], int(n), true
}

// has reports whether block k is indexed.
func (t blockTable) has(k []byte) bool { return t.idx.Get(k) != nil }

// size returns the indexed size of block k.
func (t blockTable) size(k []byte) (int, bool) {
	_, _, n, ok := decodeEntry(t.idx.Get(k))
	return n, ok
}

// get returns block k's bytes, valid only in the transaction, or nil. A
// broken index entry or missing data yields nil and an ErrCorrupt error.
func (t blockTable) get(k []byte) ([]byte, error) {
	data, _, err := t.getLoc(k)
	return data, err
}

// getLoc is get that also returns the block's blob range with the CRC-32C
// its index entry records (zero for a block in bbolt). It does not check
// the bytes against the sum: see blobLoc.sumMatches.
func (t blockTable) getLoc(k []byte) (data []byte, loc blobLoc, err error) {
	v := t.idx.Get(k)
	if v == nil {
		return nil, blobLoc{}, nil
	}
	seq, loc, n, ok := decodeEntry(v)
	if !ok {
		return nil, blobLoc{}, fmt.Errorf("%w: block %s: bad index entry", ErrCorrupt, keyString(k))
	}
	if seq == nil {
		if t.blobs == nil {
			return nil, blobLoc{}, fmt.Errorf("%w: block %s: in a blob file that is not open", ErrCorrupt, keyString(k))
		}
		data, err := t.blobs.read(loc, *t.scratch)
		if err != nil {
			return nil, blobLoc{}, fmt.Errorf("%w: block %s: blob file: %v", ErrCorrupt, keyString(k), err)
		}
		*t.scratch = data
		return data, loc, nil
	}
	data = t.data.Get(seq)
	if data == nil {
		if b := t.data.Bucket(seq); b != nil {
			t.readAhead(b, n)
			data = b.Get(valueKey)
		}
	}
	if data == nil || len(data) != n {
		return nil, blobLoc{}, fmt.Errorf("%w: block %s: data missing or truncated", ErrCorrupt, keyString(k))
	}
	return data, blobLoc{}, nil
}

// put stores block k; the caller checked that it is absent. data must stay
// unmodified until the transaction commits.
func (t blockTable) put(k, data []byte) error {
	seq, err := t.data.NextSequence()
	if err != nil {
		return err
	}
	v := binary.BigEndian.AppendUint64(make([]byte, 0, 8+binary.MaxVarintLen64), seq)
	if len(data) >= nestThreshold {
		b, err := t.data.CreateBucket(v[:8])
		if err != nil {
			return err
		}
		b.FillPercent = 1
		if err := b.Put(valueKey, data); err != nil {
			return err
		}
	} else if err := t.data.Put(v[:8], data); err != nil {
		return err
	}
	return t.idx.Put(k, binary.AppendUvarint(v, uint64(len(data))))
}

// putBlob indexes block k at l in the blob file, written and synced (with
// l's CRC-32C if it has one).
func (t blockTable) putBlob(k []byte, l blobLoc) error {
	return t.idx.Put(k, encodeBlobIndex(l))
}

// release is releasePages for bytes get returned from the bbolt mmap.
func (t blockTable) release(data []byte) {
	if len(data) > 0 && len(*t.scratch) > 0 && &data[0] == &(*t.scratch)[0] {
		return // our own buffer
	}
	releasePages(data)
}

// del deletes block k and returns its indexed size, or ok false if absent.
// A blob block's range is freed once the transaction commits.
func (t blockTable) del(k []byte) (size int, ok bool, err error) {
	v := t.idx.Get(k)
	if v == nil {
		return 0, false, nil
	}
	seq, loc, n, good := decodeEntry(v)
	if good && seq == nil {
		if blobs := t.blobs; blobs != nil {
			t.tx.OnCommit(func() { blobs.free([]blobLoc{loc}) })
		}
	} else if good {
		if t.data.Bucket(seq) != nil {
			if err := t.data.DeleteBucket(seq); err != nil {
				return 0, false, err
			}
		} else if err := t.data.Delete(seq); err != nil {
			return 0, false, err
		}
	}
	if err := t.idx.Delete(k); err != nil {
		return 0, false, err
	}
	return n, true, nil
}

// forEach calls fn with each block key (valid only during the call) and
// indexed size, in key order.
func (t blockTable) forEach(fn func(k []byte, size int)) {
	c := t.idx.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		_, _, n, _ := decodeEntry(v)
		fn(k, n)
	}
}

// dataEntries counts the top-level entries of the data bucket (plain values
// and nested block buckets alike).
func (t blockTable) dataEntries() int {
	n := 0
	c := t.data.Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		n++
	}
	return n
}

// blockKey is the key of block c in the index (and of root c in the pins):
// its CIDv1 bytes, so that a block is found whatever the CID version that
// names it (a CIDv0 "Qm…" is dag-pb sha2-256, the same block as its CIDv1
// "bafybei…"), as boxo's blockstore finds blocks by multihash.
func blockKey(c cid.Cid) []byte {
	if c.Version() == 0 {
		return cid.NewCidV1(cid.DagProtobuf, c.Hash()).Bytes()
	}
	return c.Bytes()
}

// isV0Key reports whether k is a CIDv0 (a bare sha2-256 multihash), the key
// form stores written before blockKey used.
func isV0Key(k []byte) bool { return len(k) == 34 && k[0] == 0x12 && k[1] == 0x20 }
