package store

import (
	"bytes"
	"errors"
	"fmt"
	"sort"

	bolt "go.etcd.io/bbolt"
)

// Moderation records: the community votes and annotations a node keeps (as
// an aggregator, or as what it learned from aggregators), and the owner's
// local allow and deny rules. The store treats the records as opaque bytes;
// package node decodes, verifies and counts them.
//
// Layout:
//
//	modrecords  kind(1) | u8 len(target) | target | author(32)  → encoding
//	modauthors  kind(1) | author(32) | target                   → empty
//	modrules    CID string                                      → rule byte
//
// modauthors indexes the records of one author, so that a per-author bound
// is a prefix count rather than a scan.
var (
	bucketModRecords = []byte("modrecords")
	bucketModAuthors = []byte("modauthors")
	bucketModRules   = []byte("modrules")
)

// ModKind tells votes from annotations.
type ModKind byte

// Kinds of moderation record.
const (
	ModVote       ModKind = 'v'
	ModAnnotation ModKind = 'a'
)

// ModAuthorSize is the length of an author key (a raw Ed25519 key).
const ModAuthorSize = 32

// Errors of PutModRecord.
var (
	// ErrModTargetFull means the target already has its maximum number of
	// authors and the record is from a new one.
	ErrModTargetFull = errors.New("store: too many records for this package")
	// ErrModAuthorFull means the author already has records on the maximum
	// number of packages and this one is for a new package.
	ErrModAuthorFull = errors.New("store: too many records by this author")
)

// ModLimits bound the records of one kind.
type ModLimits struct {
	PerTarget int // authors per target; 0 = unlimited
	PerAuthor int // targets per author; 0 = unlimited
}

func modKey(kind ModKind, target, author []byte) []byte {
	k := make([]byte, 0, 2+len(target)+len(author))
	k = append(k, byte(kind), byte(len(target)))
	k = append(k, target...)
	return append(k, author...)
}

func modTargetPrefix(kind ModKind, target []byte) []byte {
	return append([]byte{byte(kind), byte(len(target))}, target...)
}

func countPrefix(b *bolt.Bucket, prefix []byte, stop int) int {
	n := 0
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		n++
		if stop > 0 && n >= stop {
			break
		}
	}
	return n
}

// PutModRecord stores enc as author's record of kind on target (a binary
// CID, at most 255 bytes), replacing the author's earlier one. A new
// author on a full target, or a new target of a full author, is refused
// with ErrModTargetFull or ErrModAuthorFull and the store is unchanged.
func (db *DB) PutModRecord(kind ModKind, target, author, enc []byte, lim ModLimits) error {
	if len(target) == 0 || len(target) > 255 || len(author) != ModAuthorSize || len(enc) == 0 {
		return fmt.Errorf("store: put moderation record: %w: target of %d bytes, author of %d", ErrBadName, len(target), len(author))
	}
	key := modKey(kind, target, author)
	err := db.update(func(tx *bolt.Tx) error {
		recs, authors := tx.Bucket(bucketModRecords), tx.Bucket(bucketModAuthors)
		if recs.Get(key) == nil {
			if lim.PerTarget > 0 && countPrefix(recs, modTargetPrefix(kind, target), lim.PerTarget) >= lim.PerTarget {
				return ErrModTargetFull
			}
			ap := append([]byte{byte(kind)}, author...)
			if lim.PerAuthor > 0 && countPrefix(authors, ap, lim.PerAuthor) >= lim.PerAuthor {
				return ErrModAuthorFull
			}
			if err := authors.Put(append(ap, target...), nil); err != nil {
				return err
			}
		}
		return recs.Put(key, enc)
	})
	if err != nil {
		return fmt.Errorf("store: put moderation record: %w", err)
	}
	return nil
}

// ModRecords returns every record of kind on target, in key order (by
// author).
func (db *DB) ModRecords(kind ModKind, target []byte) ([][]byte, error) {
	var out [][]byte
	prefix := modTargetPrefix(kind, target)
	err := db.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketModRecords).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			if len(k) != len(prefix)+ModAuthorSize {
				continue // another target whose bytes extend this one
			}
			out = append(out, bytes.Clone(v))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: moderation records: %w", err)
	}
	return out, nil
}

// ModRule is a local moderation rule.
type ModRule struct {
	Target string // a CID string
	Allow  bool   // allow (true) or deny (false)
}

// SetModRule sets (or, with clear, removes) the local rule of target.
func (db *DB) SetModRule(target string, allow, clear bool) error {
	if target == "" || len(target) > 256 {
		return fmt.Errorf("store: moderation rule: %w", ErrBadName)
	}
	err := db.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketModRules)
		if clear {
			return b.Delete([]byte(target))
		}
		v := byte('d')
		if allow {
			v = 'a'
		}
		return b.Put([]byte(target), []byte{v})
	})
	if err != nil {
		return fmt.Errorf("store: moderation rule: %w", err)
	}
	return nil
}

// ModRules returns the local rules sorted by target. Unknown rule bytes
// read as deny (the safe side of a damaged record is the owner's own
// decision to withhold) and are reported by Check.
func (db *DB) ModRules() ([]ModRule, error) {
	var out []ModRule
	err := db.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketModRules).ForEach(func(k, v []byte) error {
			out = append(out, ModRule{Target: string(k), Allow: len(v) == 1 && v[0] == 'a'})
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("store: moderation rules: %w", err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Target < out[j].Target })
	return out, nil
}
