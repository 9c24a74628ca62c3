package store

import (
	"bytes"
	"crypto/sha256"
	"fmt"

	"github.com/ipfs/go-cid"
	mh "github.com/multiformats/go-multihash"
	bolt "go.etcd.io/bbolt"
)

// Block is a block to write: its CID and its bytes.
type Block struct {
	CID  cid.Cid
	Data []byte
}

// Has reports whether the block is stored (committed or staged).
func (db *DB) Has(c cid.Cid) (bool, error) {
	var ok bool
	err := db.view(func(tx *bolt.Tx) error {
		ok = db.blocksIn(tx).has(blockKey(c))
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("store: has %s: %w", c, err)
	}
	return ok, nil
}

// Get returns a verified copy of the block's bytes. It returns ErrNotFound
// for a missing block and ErrCorrupt for one whose bytes changed since they
// were written: a block in the blob file is checked against the CRC-32C its
// index entry recorded when it was written (its bytes were hashed before
// that, by the caller or by PutVerified), any other block against its CID
// (SHA-256, or the CID's hash function). Verify hashes every block.
func (db *DB) Get(c cid.Cid) ([]byte, error) {
	var out []byte
	err := db.viewBlock(c, true, new([]byte), func(data []byte, own bool) error {
		if own {
			out = data // read from the blob file into a buffer of its own
		} else {
			out = bytes.Clone(data)
		}
		return nil
	})
	return out, err
}

// GetInto is Get into a buffer the caller reuses from call to call: a blob
// block is read straight into *buf (replaced when too small or not aligned
// for a direct read), other bytes are copied into it. The bytes returned
// are valid until the next call with buf.
func (db *DB) GetInto(c cid.Cid, buf *[]byte) ([]byte, error) {
	var out []byte
	err := db.viewBlock(c, true, buf, func(data []byte, own bool) error {
		if !own {
			*buf = append((*buf)[:0], data...)
			data = *buf
		}
		out = data
		return nil
	})
	return out, err
}

// View calls fn with the block's bytes, verified as by Get, without copying
// them. data points into the database file: it is valid only during fn and
// must not be modified. fn runs inside a read transaction; keep it short, as
// a long read transaction delays the reuse of freed space.
func (db *DB) View(c cid.Cid, fn func(data []byte) error) error {
	return db.viewPooled(c, true, fn)
}

// ViewUnverified is View without the check (CRC-32C or hash), for callers
// that verify themselves (for example in a parallel pipeline).
func (db *DB) ViewUnverified(c cid.Cid, fn func(data []byte) error) error {
	return db.viewPooled(c, false, fn)
}

// viewPooled is viewBlock with a pooled read buffer for blob blocks.
func (db *DB) viewPooled(c cid.Cid, verify bool, fn func(data []byte) error) error {
	buf := blobReads.Get().(*[]byte)
	defer blobReads.Put(buf)
	return db.viewBlock(c, verify, buf, func(data []byte, _ bool) error { return fn(data) })
}

// viewBlock calls fn with block c's bytes, checked if verify (checkBlock).
// A blob block is read into *scratch (own is then true); other bytes point
// into the bbolt mmap.
func (db *DB) viewBlock(c cid.Cid, verify bool, scratch *[]byte, fn func(data []byte, own bool) error) error {
	var notFound, corrupt bool
	var ferr error
	err := db.view(func(tx *bolt.Tx) error {
		t := db.blocksIn(tx)
		t.db = db
		t.scratch = scratch
		data, loc, err := t.getLoc(blockKey(c))
		if err != nil {
			corrupt = true
			return fmt.Errorf("store: get %s: %w", c, err)
		}
		if data == nil {
			notFound = true
			return nil
		}
		if verify {
			if err := checkBlock(c, data, loc); err != nil {
				corrupt = true
				return err
			}
		}
		own := len(data) > 0 && len(*scratch) > 0 && &data[0] == &(*scratch)[0]
		ferr = fn(data, own)
		if !own {
			releasePages(data)
		}
		return nil
	})
	switch {
	case err != nil && !corrupt:
		return fmt.Errorf("store: get %s: %w", c, err)
	case err != nil:
		return err
	case notFound:
		return fmt.Errorf("store: get %s: %w", c, ErrNotFound)
	}
	return ferr
}

// BlockSize returns the size of the block's data.
func (db *DB) BlockSize(c cid.Cid) (int, error) {
	n := -1
	err := db.view(func(tx *bolt.Tx) error {
		if size, ok := db.blocksIn(tx).size(blockKey(c)); ok {
			n = size
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: block size %s: %w", c, err)
	}
	if n < 0 {
		return 0, fmt.Errorf("store: block size %s: %w", c, ErrNotFound)
	}
	return n, nil
}

// checkBlock is the check of a read: a blob block whose index entry has a
// CRC-32C (loc.hasSum) against that sum, any other block against c
// (verifyBlock).
func checkBlock(c cid.Cid, data []byte, loc blobLoc) error {
	if !loc.hasSum {
		return verifyBlock(c, data)
	}
	if !loc.sumMatches(data) {
		return fmt.Errorf("store: block %s: %w: checksum mismatch (CRC-32C of the blob file's bytes)", c, ErrCorrupt)
	}
	return nil
}

// verifyBlock checks that data hashes to c, with a fast path for sha2-256.
func verifyBlock(c cid.Cid, data []byte) error {
	h := c.Hash()
	dec, err := mh.Decode(h)
	if err != nil {
		return fmt.Errorf("store: block %s: %w: bad multihash: %v", c, ErrCorrupt, err)
	}
	if dec.Code == mh.SHA2_256 && dec.Length == sha256.Size {
		sum := sha256.Sum256(data)
		if !bytes.Equal(sum[:], dec.Digest) {
			return fmt.Errorf("store: block %s: %w: hash mismatch", c, ErrCorrupt)
		}
		return nil
	}
	sum, err := mh.Sum(data, dec.Code, dec.Length)
	if err != nil {
		return fmt.Errorf("store: block %s: %w: %v", c, ErrCorrupt, err)
	}
	if !bytes.Equal(sum, h) {
		return fmt.Errorf("store: block %s: %w: hash mismatch", c, ErrCorrupt)
	}
	return nil
}

// VerifyBlock reports whether data hashes to c; it returns an error wrapping
// ErrCorrupt if not. Callers of ViewUnverified can use it.
func VerifyBlock(c cid.Cid, data []byte) error { return verifyBlock(c, data) }
