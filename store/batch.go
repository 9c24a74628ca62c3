package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/ipfs/go-cid"
	bolt "go.etcd.io/bbolt"
)

// BatchOptions configures a Batch.
type BatchOptions struct {
	// Expected is how many bytes the batch expects to write, for the early
	// quota check in NewBatch; 0 means unknown.
	Expected int64
	// Keep writes blocks unstaged: they outlive Abort, Close and a crash as
	// unpinned blocks (protected from GC only while the batch is open), so
	// that an interrupted fetch of verified blocks can resume from them; GC
	// reclaims them if nothing pins them. A block another batch staged is
	// claimed the same way.
	Keep bool
}

// Commit is what Batch.Commit makes visible, in one transaction.
type Commit struct {
	// Blocks are small extra blocks written with the pin, such as a
	// package's root block.
	Blocks []Block
	// Pin pins the DAG the batch wrote. Its root must be present after
	// Blocks are written.
	Pin Pin
	// Package is an optional package record to write.
	Package *PackageRecord
}

// A Batch writes blocks in large transactions. Blocks it writes are staged:
// present (Has and Get see them) but removed by Abort, by Close, or by the
// next Open after a crash, unless Commit pins them first.
//
// A Batch is safe for concurrent use. Its lifecycle is
//
//	NewBatch ──► Put/Flush ... ──► Commit ──► (Abort is a no-op)
//	                          └──► Abort
type Batch struct {
	db   *DB
	keep bool // BatchOptions.Keep

	mu      sync.Mutex
	done    bool
	pending []pendingBlock
	pendLen int64 // bytes in pending held in memory
	blobLen int64 // bytes in pending written (or being written) to the blob file
	// writes counts the blob writes under way; werr is the first that
	// failed (under werrMu: writers never take mu).
	writes  sync.WaitGroup
	werrMu  sync.Mutex
	werr    error
	written int64
	// staged holds the keys on which this batch holds a staged reference.
	staged map[string]struct{}
	// touched holds every key this batch wrote or deduplicated; each is
	// counted in db.inflight while the batch is open.
	touched map[string]struct{}
}

// pendingBlock is a block Put and not yet flushed: its bytes, or (inBlob)
// the range of the blob file they were written to, with their CRC-32C.
// done, if set, is PutSumThen's: called once Data is no longer needed.
type pendingBlock struct {
	Block
	loc    blobLoc
	inBlob bool
	done   func()
}

// release calls and forgets the done func of each pending block.
func release(ps []pendingBlock) {
	for i := range ps {
		if d := ps[i].done; d != nil {
			ps[i].done = nil
			d()
		}
	}
}

func (p *pendingBlock) size() int64 {
	if p.inBlob {
		return int64(p.loc.size)
	}
	return int64(len(p.Data))
}

// flushBlobBytes is how many bytes of blob blocks a Batch writes before it
// syncs the blob file and indexes them in one transaction. Large, as the
// batch holds no memory for them (they are written already), while every
// flush costs three fsyncs (blob file, bbolt data, bbolt meta: ~5 ms each on
// the benchmark machine, during which Put waits): with 32 MiB they were ~0.7 s
// of a 1 GiB add.
const flushBlobBytes = 128 << 20

// blobFlush is the flushBlobBytes of this batch: a Keep batch (a fetch)
// flushes as often as for small blocks, so that a crash loses little of what
// it verified and the DAG shows in the store as it arrives.
func (b *Batch) blobFlush() int64 {
	if b.keep {
		return flushBytes
	}
	return flushBlobBytes
}

// NewBatch starts a batch. If opts.Expected bytes would not fit under the
// quota even after evicting every cache pin, it returns ErrQuota and changes
// nothing; otherwise it evicts least recently used cache pins as needed.
func (db *DB) NewBatch(opts BatchOptions) (*Batch, error) {
	if db.closed.Load() {
		return nil, ErrClosed
	}
	if opts.Expected > 0 {
		if err := db.makeRoom(opts.Expected); err != nil {
			var qe *QuotaError
			if errors.As(err, &qe) {
				return nil, err // says all there is to say
			}
			return nil, fmt.Errorf("store: new batch: %w", err)
		}
	}
	b := &Batch{
		db:      db,
		keep:    opts.Keep,
		staged:  make(map[string]struct{}),
		touched: make(map[string]struct{}),
	}
	db.mu.Lock()
	db.batches[b] = struct{}{}
	db.mu.Unlock()
	return b, nil
}

// Put adds a block to the batch. It does not re-hash data: the caller
// computed c from it. Put keeps a reference to data until the batch flushes,
// so the caller must not modify data afterwards. Blocks already present are
// skipped. Put flushes every ~16 MiB; it returns ErrQuota when that write
// would exceed the quota, after which the caller should Abort.
func (b *Batch) Put(c cid.Cid, data []byte) error { return b.put(c, data, 0, false, nil) }

// PutSum is Put with the CRC-32C (Castagnoli) of data already computed by
// the caller, who hashed data moments ago and still had it in cache: a
// large block's index entry records it (see blobSumTag) without the store
// reading data again. A wrong sum is not detected here; reads of the block
// then fail with ErrCorrupt.
func (b *Batch) PutSum(c cid.Cid, data []byte, crc32c uint32) error {
	return b.put(c, data, crc32c, true, nil)
}

// PutSumThen is PutSum that calls done (once, on some goroutine) as soon as
// the batch no longer reads data, whatever PutSum returns: after the blob
// write of a large block, or after the flush or the end of the batch for
// a block it keeps in memory. The caller may then reuse data's memory; an
// importer reads its next chunk into it instead of into a fresh buffer,
// which spares the garbage collector a GiB of 1 MiB buffers per GiB added.
func (b *Batch) PutSumThen(c cid.Cid, data []byte, crc32c uint32, done func()) error {
	return b.put(c, data, crc32c, true, done)
}

func (b *Batch) put(c cid.Cid, data []byte, sum uint32, haveSum bool, done func()) error {
	p := pendingBlock{Block: Block{CID: c, Data: data}, done: done}
	if !c.Defined() {
		release([]pendingBlock{p})
		return errors.New("store: put: undefined CID")
	}
	if len(data) >= blobThreshold && b.db.blobs.write {
		// A block already stored is only counted, as small blocks are.
		has, err := b.db.Has(c)
		if err != nil {
			release([]pendingBlock{p})
			return err
		}
		if !has {
			p = pendingBlock{Block: Block{CID: c}, loc: b.db.blobs.reserve(len(data)), inBlob: true, done: done}
			// On the caller's goroutine rather than the writer's, where
			// add spent 0.1-0.2 CPU-s more per GiB (bench/addget,
			// alternating); PutSum spares even this pass.
			if !haveSum {
				sum = blobSum(data)
			}
			p.loc.sum, p.loc.hasSum = sum, true
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.done {
		if p.inBlob {
			b.db.blobs.release([]blobLoc{p.loc})
		}
		release([]pendingBlock{p})
		return ErrBatchDone
	}
	if p.inBlob {
		// Written in the background (Put's contract lets the batch hold
		// data until the flush, which waits for the write): the caller
		// hashes the next blocks meanwhile.
		b.startWrite(data, p.loc.off, p.done)
		p.done = nil // startWrite calls it
	}
	b.pending = append(b.pending, p)
	if p.inBlob {
		b.blobLen += p.size()
	} else {
		b.pendLen += p.size()
	}
	if b.pendLen >= flushBytes || b.blobLen >= b.blobFlush() {
		return b.flushLocked()
	}
	if q := b.db.quota.Load(); q > 0 && b.pendLen+b.blobLen > q {
		return b.flushLocked()
	}
	return nil
}

// startWrite writes data at off in the blob file on its own goroutine, at
// most blobWriters at a time, then calls done if set. Must hold b.mu.
func (b *Batch) startWrite(data []byte, off int64, done func()) {
	blobs := b.db.blobs
	blobs.writers <- struct{}{}
	b.writes.Add(1)
	go func() {
		defer b.writes.Done()
		err := blobs.writeAt(data, off)
		<-blobs.writers
		if done != nil {
			done()
		}
		if err != nil {
			b.werrMu.Lock()
			if b.werr == nil {
				b.werr = err
			}
			b.werrMu.Unlock()
		}
	}()
}

// waitWrites waits for the blob writes under way and returns the first
// error. Must hold b.mu (so no Put starts another meanwhile).
func (b *Batch) waitWrites() error {
	b.writes.Wait()
	b.werrMu.Lock()
	defer b.werrMu.Unlock()
	return b.werr
}

// PutVerified is Put after checking that data hashes to c (ErrCorrupt if
// not).
func (b *Batch) PutVerified(c cid.Cid, data []byte) error {
	if err := verifyBlock(c, data); err != nil {
		return err
	}
	return b.Put(c, data)
}

// Flush writes the buffered blocks in one transaction.
func (b *Batch) Flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.done {
		return ErrBatchDone
	}
	return b.flushLocked()
}

// Written returns the bytes of new blocks written so far.
func (b *Batch) Written() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.written
}

// needSpace is returned from a flush transaction that would exceed the quota.
type needSpace struct{ need, used, quota int64 }

func (e *needSpace) Error() string { return "need space" }

// flushLocked writes b.pending. If it does not fit under the quota it evicts
// cache and retries, then gives up with a *QuotaError. Must hold b.mu.
func (b *Batch) flushLocked() error {
	if len(b.pending) == 0 {
		return nil
	}
	if b.blobLen > 0 {
		if err := b.waitWrites(); err != nil {
			return err
		}
	}
	slices.SortFunc(b.pending, func(x, y pendingBlock) int { return bytes.Compare(blockKey(x.CID), blockKey(y.CID)) })
	if b.blobLen > 0 {
		// The bytes are durable before the index that names them.
		if err := b.db.blobs.sync(); err != nil {
			return fmt.Errorf("store: put: sync blob file: %w", err)
		}
	}
	var err error
	for try := 0; try < 3; try++ {
		var res *flushResult
		err = b.db.update(func(tx *bolt.Tx) error {
			var err error
			res, err = b.writePending(tx)
			return err
		})
		if err != nil && res != nil {
			b.undo(res) // the transaction failed to commit
		}
		if err == nil {
			b.db.dropWritten(res.large)
			b.db.blobs.dropWritten(res.blobs)
		}
		var ns *needSpace
		if !errors.As(err, &ns) {
			break
		}
		err = &QuotaError{Need: ns.need, Free: max(0, ns.quota-ns.used), Quota: ns.quota}
		if try == 2 {
			break
		}
		freed, eerr := b.db.evict(context.Background(), ns.used+ns.need-ns.quota, false)
		if eerr != nil {
			return fmt.Errorf("store: put: %w", eerr)
		}
		if freed < ns.used+ns.need-ns.quota {
			err = &QuotaError{Need: ns.need, Free: max(0, ns.quota-ns.used+freed), Quota: ns.quota}
			break
		}
	}
	if err != nil {
		var qe *QuotaError
		if errors.As(err, &qe) {
			return err
		}
		return fmt.Errorf("store: put: %w", err)
	}
	release(b.pending) // committed: bbolt holds its own copy of the small blocks
	clear(b.pending)
	b.pending = b.pending[:0]
	b.pendLen, b.blobLen = 0, 0
	return nil
}

// flushResult is what a flush changed in memory, to undo it if the
// transaction fails to commit.
type flushResult struct {
	staged, touched []string
	written         int64
	// large are the new blocks of releaseThreshold bytes or more, for
	// dropWritten.
	large []written
	// blobs are the ranges of the blob file the flush indexed.
	blobs []blobLoc
}

// writePending writes b.pending in tx: new blocks are stored and staged;
// blocks staged by other batches get one more reference; blocks already
// committed are only remembered as touched. It applies the in-memory side
// before returning, so GC sees the protection before tx commits, and returns
// what it applied. Must hold b.mu.
func (b *Batch) writePending(tx *bolt.Tx) (*flushResult, error) {
	blocks, staged := b.db.blocksIn(tx), tx.Bucket(bucketStaged)
	u, err := readUsage(tx)
	if err != nil {
		return nil, err
	}
	// First pass: how much is new? Nothing is changed before the quota check.
	var newBytes, newBlocks int64
	var prev []byte
	for _, p := range b.pending {
		k := blockKey(p.CID)
		if bytes.Equal(k, prev) {
			continue
		}
		prev = k
		if _, ok := b.touched[string(k)]; ok {
			continue
		}
		if !blocks.has(k) {
			newBytes += p.size()
			newBlocks++
		}
	}
	if q := b.db.quota.Load(); q > 0 && u.Bytes+newBytes > q && newBytes > 0 {
		return nil, &needSpace{need: newBytes, used: u.Bytes, quota: q}
	}

	var stagedNow, touchedNow []string
	var large []written
	var indexed, unused []blobLoc // blob ranges now named, and ranges of duplicates
	prev = nil
	for _, p := range b.pending {
		k := blockKey(p.CID)
		dup := bytes.Equal(k, prev)
		prev = k
		ks := string(k)
		if _, ok := b.touched[ks]; ok {
			dup = true
		}
		if p.inBlob && (dup || blocks.has(k)) {
			unused = append(unused, p.loc)
		}
		if dup {
			continue
		}
		touchedNow = append(touchedNow, ks)
		if blocks.has(k) {
			if v := staged.Get(k); v != nil && b.keep {
				if err := staged.Delete(k); err != nil { // claimed: see BatchOptions.Keep
					return nil, err
				}
			} else if v != nil {
				if err := staged.Put(k, encodeCount(decodeCount(v)+1)); err != nil {
					return nil, err
				}
				stagedNow = append(stagedNow, ks)
			}
			continue
		}
		if p.inBlob {
			if err := blocks.putBlob(k, p.loc); err != nil {
				return nil, err
			}
			indexed = append(indexed, p.loc)
		} else if err := blocks.put(k, p.Data); err != nil {
			return nil, err
		} else if len(p.Data) >= releaseThreshold {
			large = append(large, written{seq: bytes.Clone(blocks.idx.Get(k)[:8]), size: len(p.Data)})
		}
		if b.keep {
			continue
		}
		if err := staged.Put(k, encodeCount(1)); err != nil {
			return nil, err
		}
		stagedNow = append(stagedNow, ks)
	}
	u.Blocks += newBlocks
	u.Bytes += newBytes
	if err := writeUsage(tx, u); err != nil {
		return nil, err
	}
	// Protect the touched blocks from GC before this transaction commits.
	b.db.mu.Lock()
	for _, k := range touchedNow {
		b.db.inflight[k]++
	}
	b.db.mu.Unlock()
	for _, k := range touchedNow {
		b.touched[k] = struct{}{}
	}
	for _, k := range stagedNow {
		b.staged[k] = struct{}{}
	}
	b.written += newBytes
	if blobs := b.db.blobs; len(unused) > 0 {
		tx.OnCommit(func() { blobs.release(unused) })
	}
	return &flushResult{staged: stagedNow, touched: touchedNow, written: newBytes, large: large, blobs: indexed}, nil
}

// undo reverts the in-memory side of a flush whose transaction failed.
// Must hold b.mu.
func (b *Batch) undo(r *flushResult) {
	b.db.mu.Lock()
	for _, k := range r.touched {
		if b.db.inflight[k]--; b.db.inflight[k] <= 0 {
			delete(b.db.inflight, k)
		}
		delete(b.touched, k)
	}
	b.db.mu.Unlock()
	for _, k := range r.staged {
		delete(b.staged, k)
	}
	b.written -= r.written
}

// Hold reports whether block c is stored (committed, or claimed as by
// BatchOptions.Keep) and, if it is, keeps GC and eviction from deleting it
// until the batch ends. A fetch that resumes from blocks already held relies
// on them staying until it pins the DAG. A block staged by another open batch
// counts as absent (that batch's Abort would remove it); Put claims it.
func (b *Batch) Hold(c cid.Cid) (bool, error) {
	db := b.db
	k := blockKey(c)
	// Excludes sweeps, so no GC transaction is between its decision and its
	// commit while this one looks and protects.
	db.gcMu.RLock()
	defer db.gcMu.RUnlock()
	var ok bool
	if err := db.view(func(tx *bolt.Tx) error {
		ok = db.blocksIn(tx).has(k) && tx.Bucket(bucketStaged).Get(k) == nil
		return nil
	}); err != nil {
		return false, fmt.Errorf("store: hold %s: %w", c, err)
	}
	if !ok {
		return false, nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.done {
		return false, ErrBatchDone
	}
	if _, seen := b.touched[string(k)]; !seen {
		b.touched[string(k)] = struct{}{}
		db.mu.Lock()
		db.inflight[string(k)]++
		db.mu.Unlock()
	}
	return true, nil
}

// Commit flushes the batch, then in one transaction writes c.Blocks, the
// pin, and the package record, and clears the staged marks of the batch and
// of the pinned DAG. After Commit the batch is done.
func (b *Batch) Commit(c Commit) error {
	if !c.Pin.Reason.valid() {
		return fmt.Errorf("store: commit %s: %w: reason %q", c.Pin.Root, ErrBadName, c.Pin.Reason)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.done {
		return ErrBatchDone
	}
	if err := b.flushLocked(); err != nil {
		return err
	}
	db := b.db
	err := db.update(func(tx *bolt.Tx) error {
		if err := db.flushTouches(tx); err != nil {
			return err
		}
		blocks, staged := db.blocksIn(tx), tx.Bucket(bucketStaged)
		u, err := readUsage(tx)
		if err != nil {
			return err
		}
		var extra int64
		for _, blk := range c.Blocks {
			k := blockKey(blk.CID)
			if blocks.has(k) {
				continue
			}
			if err := blocks.put(k, blk.Data); err != nil {
				return err
			}
			u.Blocks++
			u.Bytes += int64(len(blk.Data))
			extra += int64(len(blk.Data))
		}
		if q := db.quota.Load(); q > 0 && extra > 0 && u.Bytes > q {
			return &QuotaError{Need: extra, Free: max(0, q-(u.Bytes-extra)), Quota: q}
		}
		if err := writeUsage(tx, u); err != nil {
			return err
		}
		for k := range b.staged {
			if err := staged.Delete([]byte(k)); err != nil {
				return err
			}
		}
		if err := db.addPinTx(tx, c.Pin); err != nil {
			return err
		}
		if c.Package != nil {
			if err := tx.Bucket(bucketPackages).Put(c.Package.CID.Bytes(), encodePackage(*c.Package)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		var qe *QuotaError
		if errors.As(err, &qe) {
			return err
		}
		return fmt.Errorf("store: commit %s: %w", c.Pin.Root, err)
	}
	for _, blk := range c.Blocks {
		b.written += int64(len(blk.Data)) // approximate: counts present blocks too
	}
	b.finishLocked()
	return nil
}

// Abort removes the blocks this batch staged that no other open batch
// holds and no commit claimed; a Keep batch writes its buffered blocks and
// removes nothing. It is idempotent and a no-op after Commit.
func (b *Batch) Abort() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.done {
		return nil
	}
	if b.keep { // its blocks stay: write the buffered ones too
		err := b.flushLocked()
		b.finishLocked()
		if err != nil {
			return fmt.Errorf("store: abort: %w", err)
		}
		return nil
	}
	db := b.db
	var removed int
	var freed int64
	err := db.update(func(tx *bolt.Tx) error {
		removed, freed = 0, 0
		blocks, staged := db.blocksIn(tx), tx.Bucket(bucketStaged)
		u, err := readUsage(tx)
		if err != nil {
			return err
		}
		for k := range b.staged {
			kb := []byte(k)
			v := staged.Get(kb)
			if v == nil {
				continue // a commit claimed it
			}
			if n := decodeCount(v); n > 1 {
				if err := staged.Put(kb, encodeCount(n-1)); err != nil {
					return err
				}
				continue
			}
			if err := staged.Delete(kb); err != nil {
				return err
			}
			n, ok, err := blocks.del(kb)
			if err != nil {
				return err
			}
			if ok {
				u.Blocks--
				u.Bytes -= int64(n)
				removed++
				freed += int64(n)
			}
		}
		return writeUsage(tx, u)
	})
	if err != nil {
		return fmt.Errorf("store: abort: %w", err)
	}
	db.log.Debug("batch aborted", "removedBlocks", removed, "freed", freed)
	b.finishLocked()
	return nil
}

// finishLocked marks the batch done and releases its GC protection. Must
// hold b.mu.
func (b *Batch) finishLocked() {
	b.done = true
	_ = b.waitWrites() // a range is released only once nothing writes it
	var unused []blobLoc
	for _, p := range b.pending {
		if p.inBlob {
			unused = append(unused, p.loc)
		}
	}
	b.db.blobs.release(unused)
	release(b.pending)
	clear(b.pending)
	b.pending = nil
	db := b.db
	db.mu.Lock()
	for k := range b.touched {
		if db.inflight[k]--; db.inflight[k] <= 0 {
			delete(db.inflight, k)
		}
	}
	delete(db.batches, b)
	db.mu.Unlock()
	b.staged = nil
	b.touched = nil
}
