package store

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/ipfs/go-cid"
	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// VerifyReport is what Verify looked at and what it found wrong.
type VerifyReport struct {
	Blocks   int64    `json:"blocks"`   // blocks re-hashed
	Bytes    int64    `json:"bytes"`    // their bytes
	Pins     int64    `json:"pins"`     // pinned roots whose DAG was walked
	Packages int64    `json:"packages"` // package records checked
	Problems []string `json:"problems"` // one line each; empty when healthy
}

// maxProblems bounds the report of a badly damaged store.
const maxProblems = 1000

// Verify checks the store more deeply than Check, whose findings it
// includes: every block's bytes hash to its CID (and match the CRC-32C its
// index entry records, which is what reads check), every pinned root's DAG is
// complete (followed with Config.Links), and every package record names a
// block that is present. It reads everything in one read transaction, so it
// sees one consistent state while writers go on. A non-nil error means the
// check itself could not run; problems found are in the report.
func (db *DB) Verify(ctx context.Context) (VerifyReport, error) {
	var r VerifyReport
	problem := func(format string, a ...any) {
		if len(r.Problems) < maxProblems {
			r.Problems = append(r.Problems, fmt.Sprintf(format, a...))
		}
	}
	if err := db.Check(); err != nil {
		var joined interface{ Unwrap() []error }
		if errors.As(err, &joined) {
			for _, e := range joined.Unwrap() {
				problem("%v", e)
			}
		} else {
			problem("%v", err)
		}
	}
	err := db.view(func(tx *bolt.Tx) error {
		blocks := db.blocksIn(tx)
		var ierr error
		blocks.forEach(func(k []byte, n int) {
			if ierr != nil {
				return
			}
			if r.Blocks%1024 == 0 {
				ierr = ctx.Err()
			}
			r.Blocks++
			r.Bytes += int64(n)
			c, err := cid.Cast(k)
			if err != nil {
				problem("block key %x is not a CID: %v", k, err)
				return
			}
			data, loc, err := blocks.getLoc(k)
			if err != nil || data == nil {
				problem("block %s: data unreadable: %v", c, err)
				return
			}
			if err := verifyBlock(c, data); err != nil {
				problem("block %s: bytes do not hash to the CID (corrupt)", c)
			}
			if !loc.sumMatches(data) {
				problem("block %s: checksum mismatch: bytes do not match the CRC-32C of the index entry (corrupt; reads fail)", c)
			}
			blocks.release(data)
		})
		if ierr != nil {
			return ierr
		}
		// Every pin's DAG: each block reachable from the root is present.
		seen := make(map[string]bool)
		if err := tx.Bucket(bucketPins).ForEach(func(k, _ []byte) error {
			root, err := cid.Cast(k)
			if err != nil {
				return nil // Check reported it
			}
			r.Pins++
			missing := 0
			stack := []cid.Cid{root}
			for len(stack) > 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
				c := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				key := string(c.Bytes())
				if seen[key] {
					continue
				}
				seen[key] = true
				data, err := blocks.get(c.Bytes())
				if err != nil || data == nil {
					if missing++; missing <= 3 {
						problem("pin %s: block %s of its DAG is missing (incomplete DAG)", root, c)
					}
					continue
				}
				if db.links == nil || c.Prefix().Codec == cid.Raw {
					continue
				}
				links, err := db.links(c, data)
				if err != nil {
					problem("pin %s: block %s: links unreadable: %v", root, c, err)
					continue
				}
				stack = append(stack, links...)
			}
			if missing > 3 {
				problem("pin %s: %d blocks of its DAG are missing in all", root, missing)
			}
			return nil
		}); err != nil {
			return err
		}
		return tx.Bucket(bucketPackages).ForEach(func(k, _ []byte) error {
			r.Packages++
			if !blocks.has(k) {
				problem("package record %s: its root block is missing", keyString(k))
			}
			return nil
		})
	})
	if err != nil {
		return r, fmt.Errorf("store: verify %s: %w", db.path, err)
	}
	if r.Problems == nil {
		r.Problems = []string{}
	}
	return r, nil
}

// CompactResult reports a compaction.
type CompactResult struct {
	Before int64 `json:"before"` // file bytes before
	After  int64 `json:"after"`  // file bytes after
}

// Compact rewrites the store file at path without its free pages (bbolt's
// Compact), giving the disk space a gc freed back to the file system. The
// store must not be open: Compact holds its lock throughout (ErrLocked if a
// daemon has it). It writes a new file beside the old one, fsyncs it,
// renames it over the old one and fsyncs the directory, so a crash at any
// point leaves either the old store or the new one, whole.
func Compact(ctx context.Context, path string) (CompactResult, error) {
	var res CompactResult
	fi, err := os.Stat(path)
	if err != nil {
		return res, fmt.Errorf("store: compact: %w", err)
	}
	res.Before = fi.Size()
	src, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: defaultOpenTimeout, NoFreelistSync: true, FreelistType: bolt.FreelistMapType})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return res, &lockedError{path: path}
	}
	if err != nil {
		return res, fmt.Errorf("store: compact: open %s: %w", path, err)
	}
	defer src.Close()
	if err := src.View(func(tx *bolt.Tx) error { return checkVersion(tx, path) }); err != nil {
		return res, err
	}
	tmp := path + ".compact"
	os.Remove(tmp) // a leftover of an interrupted compaction
	dst, err := bolt.Open(tmp, 0o600, &bolt.Options{NoFreelistSync: true, FreelistType: bolt.FreelistMapType})
	if err != nil {
		return res, fmt.Errorf("store: compact: %w", err)
	}
	fail := func(err error) (CompactResult, error) {
		dst.Close()
		os.Remove(tmp)
		return res, fmt.Errorf("store: compact %s: %w", path, err)
	}
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	if err := bolt.Compact(dst, src, 64<<20); err != nil {
		return fail(err)
	}
	if err := dst.Sync(); err != nil {
		return fail(err)
	}
	if err := dst.Close(); err != nil {
		os.Remove(tmp)
		return res, fmt.Errorf("store: compact %s: %w", path, err)
	}
	if err := syncFile(tmp); err != nil {
		os.Remove(tmp)
		return res, fmt.Errorf("store: compact %s: %w", path, err)
	}
	// Still holding src's lock: no one opens the old file meanwhile.
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return res, fmt.Errorf("store: compact %s: %w", path, err)
	}
	if err := syncFile(filepath.Dir(path)); err != nil {
		return res, fmt.Errorf("store: compact %s: %w", path, err)
	}
	if fi, err := os.Stat(path); err == nil {
		res.After = fi.Size()
	}
	return res, nil
}

func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// checkVersion refuses a file written by a newer schema.
func checkVersion(tx *bolt.Tx, path string) error {
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		return nil
	}
	if v := meta.Get(keyVersion); len(v) == 8 && binary.BigEndian.Uint64(v) > schemaVersion {
		return fmt.Errorf("%w: %s has schema version %d, this program supports up to %d (upgrade myconet)",
			ErrVersion, path, binary.BigEndian.Uint64(v), schemaVersion)
	}
	return nil
}
