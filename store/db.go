package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ipfs/go-cid"
	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// Tuning.
const (
	// flushBytes is how many bytes of new blocks a Batch buffers before it
	// writes them in one transaction.
	flushBytes = 16 << 20

	// sweepChunk is how many blocks GC and eviction delete per transaction.
	sweepChunk = 4096

	// initialMmapSize keeps bbolt from remapping (which waits for all read
	// transactions) while the file is small. It is address space, not memory.
	initialMmapSize = 1 << 30

	// allocSize is how much bbolt grows the file at a time.
	allocSize = 64 << 20

	defaultOpenTimeout = 200 * time.Millisecond
)

// Bucket and key names.
var (
	bucketMeta      = []byte("meta")
	bucketBlocks    = []byte("blocks")
	bucketData      = []byte("data")
	bucketStaged    = []byte("staged")
	bucketPins      = []byte("pins")
	bucketPackages  = []byte("packages")
	bucketBookmarks = []byte("bookmarks")
	bucketPeers     = []byte("peers")
	bucketChannels  = []byte("channels")

	keyVersion = []byte("version")
	keyUsage   = []byte("usage")
)

var allBuckets = [][]byte{bucketMeta, bucketBlocks, bucketData, bucketStaged, bucketPins, bucketPackages, bucketBookmarks, bucketPeers, bucketChannels,
	bucketModRecords, bucketModAuthors, bucketModRules, bucketBlockRoots, bucketModState}

// Config configures a DB. The zero value of every field except Path is a
// sensible default.
type Config struct {
	// Path is the bbolt file. It is created, with its directory, if missing.
	Path string

	// DiskQuota is the maximum number of bytes of block data; 0 means
	// unlimited. It can be changed later with SetDiskQuota.
	DiskQuota int64

	// Links decodes a block's child links. GC uses it to find the blocks
	// reachable from pins. It is never called for raw (0x55) blocks. data is
	// valid only during the call. nil means blocks have no links.
	Links LinksFunc

	// Logger receives the store's log; nil discards it.
	Logger *slog.Logger

	// OpenTimeout is how long Open waits for the file lock; 0 means 200ms.
	OpenTimeout time.Duration

	// NoSync skips fsync after each transaction. For tests and benchmarks
	// only: a power loss can then corrupt the file.
	NoSync bool

	// Now returns the current time; nil means time.Now. A test seam.
	Now func() time.Time

	// Program names the software writing the file ("myconet 0.2.0"), for
	// the history a new or migrated store records (migrate.go).
	Program string

	// testMigrate, if set, runs before each migration step (from version
	// v); an error fails the step. Tests of crash safety set it.
	testMigrate func(v int) error
}

// LinksFunc returns the CIDs a block links to. data is valid only during the
// call and must not be retained or modified.
type LinksFunc func(c cid.Cid, data []byte) ([]cid.Cid, error)

// DB is an open store. All methods are safe for concurrent use.
type DB struct {
	bolt  *bolt.DB
	path  string
	links LinksFunc
	log   *slog.Logger
	// program and testMigrate are Config's (migrate.go).
	program     string
	testMigrate func(v int) error
	now         func() time.Time
	quota       atomic.Int64
	closed      atomic.Bool

	closeOnce sync.Once
	closeErr  error

	// pinEpoch changes whenever a pin is added. GC re-marks when it changed
	// between its mark phase and a sweep transaction. Written inside write
	// transactions.
	pinEpoch atomic.Uint64

	// gcMu is held (write) by each GC and eviction transaction, and (read)
	// by Batch.Hold, so that a block Hold finds is never one a sweep is
	// about to delete.
	gcMu sync.RWMutex

	mu sync.Mutex
	// inflight counts, per block key, the open batches that wrote or
	// deduplicated the block. GC and eviction never delete such blocks.
	inflight map[string]int
	// batches is the set of open batches.
	batches map[*Batch]struct{}
	// touches holds deferred Touch times, written by the next write
	// transaction that calls flushTouchesLocked.
	touches map[string]time.Time

	// cache is a read-only handle on the bbolt file, for page-cache advice
	// (see dropWritten); nil where unsupported.
	cache *os.File

	// blobs holds large blocks beside the bbolt file (blob.go).
	blobs *blobFile
}

// Open opens or creates the store described by cfg. On open it removes the
// blocks left staged by a batch of a crashed process and recomputes the usage
// counters.
func Open(cfg Config) (_ *DB, reterr error) {
	if cfg.Path == "" {
		return nil, errors.New("store: open: empty path")
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "store")
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	timeout := cfg.OpenTimeout
	if timeout <= 0 {
		timeout = defaultOpenTimeout
	}
	if cfg.DiskQuota < 0 {
		return nil, fmt.Errorf("store: open: negative disk quota %d", cfg.DiskQuota)
	}
	if err := os.MkdirAll(filepath.Dir(cfg.Path), 0o700); err != nil {
		return nil, fmt.Errorf("store: open: %w", err)
	}
	bdb, err := bolt.Open(cfg.Path, 0o600, &bolt.Options{
		Timeout:         timeout,
		NoFreelistSync:  true,
		FreelistType:    bolt.FreelistMapType,
		InitialMmapSize: initialMmapSize,
		NoSync:          cfg.NoSync,
	})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, &lockedError{path: cfg.Path}
	}
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", cfg.Path, err)
	}
	defer func() {
		if reterr != nil {
			bdb.Close()
		}
	}()
	bdb.AllocSize = allocSize

	db := &DB{
		bolt:        bdb,
		path:        cfg.Path,
		links:       cfg.Links,
		log:         log,
		program:     cfg.Program,
		testMigrate: cfg.testMigrate,
		now:         now,
		inflight:    make(map[string]int),
		batches:     make(map[*Batch]struct{}),
		touches:     make(map[string]time.Time),
	}
	db.quota.Store(cfg.DiskQuota)
	db.cache = openCacheHandle(cfg.Path)
	defer func() {
		if reterr != nil && db.cache != nil {
			db.cache.Close()
		}
	}()
	if db.blobs, err = openBlobFile(cfg.Path, cfg.NoSync); err != nil {
		return nil, err
	}
	defer func() {
		if reterr != nil {
			db.blobs.close()
		}
	}()
	if err := db.bolt.Update(db.recover); err != nil {
		return nil, err
	}
	return db, nil
}

// recover creates the buckets, checks the schema version, deletes blocks
// left staged by a crashed process and recomputes the usage counters.
func (db *DB) recover(tx *bolt.Tx) error {
	for _, name := range allBuckets {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return fmt.Errorf("store: open: create bucket %s: %w", name, err)
		}
	}
	meta := tx.Bucket(bucketMeta)
	if v := meta.Get(keyVersion); v == nil {
		if err := meta.Put(keyVersion, binary.BigEndian.AppendUint64(nil, schemaVersion)); err != nil {
			return fmt.Errorf("store: open: %w", err)
		}
		if err := appendHistory(tx, fmt.Sprintf("v%d %s (created)", schemaVersion, db.program)); err != nil {
			return fmt.Errorf("store: open: %w", err)
		}
	} else if len(v) != 8 || binary.BigEndian.Uint64(v) == 0 {
		return fmt.Errorf("store: open %s: %w: bad version key", db.path, ErrCorrupt)
	} else if n := binary.BigEndian.Uint64(v); n > schemaVersion {
		return fmt.Errorf("%w: %s has schema version %d, this program supports up to %d (upgrade myconet)",
			ErrVersion, db.path, n, schemaVersion)
	} else if n < schemaVersion {
		if err := db.migrate(tx, n); err != nil {
			return err
		}
	}

	for _, name := range [][]byte{bucketBlocks, bucketStaged, bucketPins} {
		drop := func(k []byte) error { return tx.Bucket(name).Delete(k) }
		if bytes.Equal(name, bucketBlocks) { // a duplicate's data goes too
			drop = func(k []byte) error { _, _, err := db.blocksIn(tx).del(k); return err }
		}
		if err := rekeyV0(tx.Bucket(name), drop); err != nil {
			return fmt.Errorf("store: open: %w", err)
		}
	}

	blocks, staged := db.blocksIn(tx), tx.Bucket(bucketStaged)
	var removed int
	var freed int64
	var keys [][]byte
	if err := staged.ForEach(func(k, _ []byte) error {
		keys = append(keys, bytes.Clone(k))
		return nil
	}); err != nil {
		return err
	}
	for _, k := range keys {
		n, ok, err := blocks.del(k)
		if err != nil {
			return err
		}
		if ok {
			removed++
			freed += int64(n)
		}
		if err := staged.Delete(k); err != nil {
			return err
		}
	}
	if removed > 0 {
		db.log.Info("removed blocks staged by an interrupted add", "blocks", removed, "bytes", freed)
	}

	var real usageRecord
	var locs []blobLoc
	cur := blocks.idx.Cursor()
	for k, v := cur.First(); k != nil; k, v = cur.Next() {
		seq, loc, n, _ := decodeEntry(v)
		real.Blocks++
		real.Bytes += int64(n)
		if seq == nil && n > 0 {
			locs = append(locs, loc)
		}
	}
	tx.OnCommit(func() {
		if err := db.blobs.tidy(locs); err != nil {
			db.log.Warn("could not trim the blob file", "err", err)
		}
	})
	if p := meta.Get(keyUsage); p != nil {
		old, err := decodeUsage(p)
		if err != nil {
			db.log.Warn("usage counters unreadable; recomputed", "err", err)
		} else if old.Blocks != real.Blocks+int64(removed) || old.Bytes != real.Bytes+freed {
			db.log.Warn("usage counters were wrong; fixed",
				"blocks", old.Blocks, "bytes", old.Bytes, "realBlocks", real.Blocks, "realBytes", real.Bytes)
		}
	}
	if err := meta.Put(keyUsage, encodeUsage(real)); err != nil {
		return err
	}
	return db.buildBlockIndex(tx)
}

// rekeyV0 moves the entries of b keyed by a CIDv0 to their CIDv1 key (see
// blockKey); an entry already under the CIDv1 key wins, and drop deletes
// the duplicate.
func rekeyV0(b *bolt.Bucket, drop func(k []byte) error) error {
	var old [][]byte
	c := b.Cursor()
	for k, _ := c.Seek([]byte{0x12, 0x20}); k != nil && isV0Key(k); k, _ = c.Next() {
		old = append(old, bytes.Clone(k))
	}
	for _, k := range old {
		v := bytes.Clone(b.Get(k))
		c, err := cid.Cast(k)
		if err != nil {
			continue
		}
		if nk := blockKey(c); b.Get(nk) != nil {
			if err := drop(k); err != nil {
				return err
			}
			continue
		} else if err := b.Put(nk, v); err != nil {
			return err
		}
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// Close aborts the batches still open, writes deferred touches and closes
// the file. It is idempotent.
func (db *DB) Close() error {
	db.closeOnce.Do(func() {
		db.mu.Lock()
		open := make([]*Batch, 0, len(db.batches))
		for b := range db.batches {
			open = append(open, b)
		}
		db.mu.Unlock()
		var errs []error
		for _, b := range open {
			db.log.Warn("aborting batch left open at close")
			errs = append(errs, b.Abort())
		}
		errs = append(errs, db.bolt.Update(func(tx *bolt.Tx) error {
			return db.flushTouches(tx)
		}))
		db.closed.Store(true)
		errs = append(errs, db.bolt.Close())
		if db.cache != nil {
			db.cache.Close()
		}
		errs = append(errs, db.blobs.close())
		db.closeErr = errors.Join(errs...)
	})
	return db.closeErr
}

// view runs fn in a read transaction, mapping a closed database to ErrClosed.
func (db *DB) view(fn func(tx *bolt.Tx) error) error {
	if db.closed.Load() {
		return ErrClosed
	}
	e := db.blobs.beginRead()
	defer db.blobs.endRead(e)
	err := db.bolt.View(fn)
	if errors.Is(err, bolterrors.ErrDatabaseNotOpen) {
		return ErrClosed
	}
	return err
}

// update runs fn in a write transaction, mapping a closed database to
// ErrClosed.
func (db *DB) update(fn func(tx *bolt.Tx) error) error {
	if db.closed.Load() {
		return ErrClosed
	}
	err := db.bolt.Update(fn)
	if errors.Is(err, bolterrors.ErrDatabaseNotOpen) {
		return ErrClosed
	}
	return err
}

func readUsage(tx *bolt.Tx) (usageRecord, error) {
	return decodeUsage(tx.Bucket(bucketMeta).Get(keyUsage))
}

func writeUsage(tx *bolt.Tx, u usageRecord) error {
	return tx.Bucket(bucketMeta).Put(keyUsage, encodeUsage(u))
}

// Usage reports how much the store holds.
type Usage struct {
	Blocks int64 // number of blocks, including staged ones
	Bytes  int64 // bytes of block data, including staged ones
	// ByReason is the bytes of the DAGs pinned for each reason, summed from
	// Pin.Size: approximate, and DAGs shared by several pins count for each.
	ByReason map[Reason]int64
	Quota    int64 // the disk quota; 0 means unlimited
	Staged   int64 // bytes of blocks written by batches not yet committed
}

// Usage returns the current usage.
func (db *DB) Usage() (Usage, error) {
	u := Usage{ByReason: make(map[Reason]int64), Quota: db.quota.Load()}
	err := db.view(func(tx *bolt.Tx) error {
		rec, err := readUsage(tx)
		if err != nil {
			return err
		}
		u.Blocks, u.Bytes = rec.Blocks, rec.Bytes
		if err := forEachPins(tx, func(pins []Pin) error {
			for _, p := range pins {
				u.ByReason[p.Reason] += p.Size
			}
			return nil
		}); err != nil {
			return err
		}
		blocks := db.blocksIn(tx)
		return tx.Bucket(bucketStaged).ForEach(func(k, _ []byte) error {
			n, _ := blocks.size(k)
			u.Staged += int64(n)
			return nil
		})
	})
	if err != nil {
		return Usage{}, fmt.Errorf("store: usage: %w", err)
	}
	return u, nil
}

// SetDiskQuota sets the disk quota to n bytes (0 = unlimited), live. If the
// store holds more than n, it evicts cache pins to fit. It never evicts local
// or replica pins: usage may then stay above the quota, and further writes
// fail with ErrQuota.
func (db *DB) SetDiskQuota(n int64) error {
	if n < 0 {
		return fmt.Errorf("store: set disk quota: negative quota %d", n)
	}
	if db.closed.Load() {
		return ErrClosed
	}
	db.quota.Store(n)
	if n == 0 {
		return nil
	}
	u, err := db.Usage()
	if err != nil {
		return err
	}
	if u.Bytes <= n {
		return nil
	}
	freed, err := db.EvictCache(context.Background(), u.Bytes-n)
	if err != nil {
		return fmt.Errorf("store: set disk quota: %w", err)
	}
	if freed < u.Bytes-n {
		db.log.Warn("usage stays above the new disk quota; only cache pins are evicted",
			"used", u.Bytes-freed, "quota", n)
	}
	return nil
}

// Check verifies the file (bbolt's own check) and the store's invariants:
// the usage counters equal the blocks' sizes, every pin root is present,
// every record decodes, and every staged mark belongs to an open batch of
// this process. It does not re-hash blocks.
func (db *DB) Check() error {
	db.mu.Lock()
	defer db.mu.Unlock()
	var errs []error
	err := db.view(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			errs = append(errs, err)
		}
		u, err := readUsage(tx)
		if err != nil {
			errs = append(errs, err)
		}
		blocks := db.blocksIn(tx)
		var real usageRecord
		seqs := make(map[string]bool)
		var locs []blobLoc
		blocks.forEach(func(k []byte, n int) {
			real.Blocks++
			real.Bytes += int64(n)
			seq, loc, _, ok := decodeEntry(blocks.idx.Get(k))
			if !ok {
				errs = append(errs, fmt.Errorf("bad index entry for block %s", keyString(k)))
				return
			}
			if seq == nil {
				locs = append(locs, loc)
			} else {
				seqs[string(seq)] = true
			}
			if data, err := blocks.get(k); data == nil || err != nil || len(data) != n {
				errs = append(errs, fmt.Errorf("data of block %s missing or of wrong size", keyString(k)))
			}
		})
		if n := blocks.dataEntries(); n != len(seqs) {
			errs = append(errs, fmt.Errorf("%d data entries for %d indexed blocks", n, len(seqs)))
		}
		errs = append(errs, db.blobs.check(locs)...)
		if u != real {
			errs = append(errs, fmt.Errorf("usage counters say %d blocks / %d bytes, blocks hold %d / %d",
				u.Blocks, u.Bytes, real.Blocks, real.Bytes))
		}
		// Each staged mark's count must equal the open batches holding it.
		want := make(map[string]uint64)
		for b := range db.batches {
			for k := range b.staged {
				want[k]++
			}
		}
		staged := tx.Bucket(bucketStaged)
		_ = staged.ForEach(func(k, v []byte) error {
			if !blocks.has(k) {
				errs = append(errs, fmt.Errorf("staged mark for missing block %s", keyString(k)))
			}
			if n := decodeCount(v); n > want[string(k)] {
				errs = append(errs, fmt.Errorf("staged mark of block %s counts %d batches, %d open hold it",
					keyString(k), n, want[string(k)]))
			}
			return nil
		})
		_ = tx.Bucket(bucketPins).ForEach(func(k, v []byte) error {
			root, err := cid.Cast(k)
			if err != nil {
				errs = append(errs, fmt.Errorf("pin key %x: %w", k, err))
				return nil
			}
			if _, err := decodePins(root, v); err != nil {
				errs = append(errs, fmt.Errorf("pins of %s: %w", root, err))
			}
			if !blocks.has(k) {
				errs = append(errs, fmt.Errorf("pin root %s is missing", root))
			}
			return nil
		})
		errs = append(errs, db.checkBlockIndex(tx)...)
		_ = tx.Bucket(bucketPackages).ForEach(func(k, v []byte) error {
			if _, err := decodePackage(v); err != nil {
				errs = append(errs, fmt.Errorf("package %s: %w", keyString(k), err))
			}
			return nil
		})
		_ = tx.Bucket(bucketBookmarks).ForEach(func(k, v []byte) error {
			if _, err := decodeBookmark(string(k), v); err != nil {
				errs = append(errs, fmt.Errorf("bookmark %q: %w", k, err))
			}
			return nil
		})
		return nil
	})
	if err != nil {
		return err
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("store: check %s: %w", db.path, err)
	}
	return nil
}

// keyString renders a block key for messages.
func keyString(k []byte) string {
	c, err := cid.Cast(k)
	if err != nil {
		return fmt.Sprintf("%x", k)
	}
	return c.String()
}
