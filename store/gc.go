package store

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/ipfs/go-cid"
	bolt "go.etcd.io/bbolt"
)

// GCResult reports what GC removed.
type GCResult struct {
	Removed int   // blocks deleted
	Freed   int64 // bytes of block data deleted
}

// rankPinned is the mark rank of blocks reachable from pins that are not
// eviction candidates.
const rankPinned = math.MaxInt32

// marks maps a block key to its rank: 0 (or absent) means unreachable,
// rankPinned means reachable from a kept pin, and i in 1..n means the most
// recently used cache-only pin that reaches it is the i-th least recently
// used one. Evicting the k least recently used cache pins frees the blocks of
// rank <= k.
type marks map[string]int32

// mark gives rank r to every block reachable from root whose rank is lower.
// Raw blocks are not read.
func (db *DB) mark(ctx context.Context, blocks blockTable, root cid.Cid, r int32, m marks) error {
	stack := []cid.Cid{root}
	for n := 0; len(stack) > 0; n++ {
		if n%1024 == 1023 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		c := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		key := string(blockKey(c))
		if m[key] >= r {
			continue
		}
		m[key] = r
		children, err := db.childLinks(blocks, c, []byte(key))
		if err != nil {
			return err
		}
		stack = append(stack, children...)
	}
	return nil
}

// victim is a cache-only pin chosen for eviction.
type victim struct {
	root     cid.Cid
	accessed time.Time
}

// plan is the outcome of a mark phase.
type plan struct {
	m          marks
	epoch      uint64
	victims    []victim // cache-only pins, least recently used first
	freedUpTo  []int64  // freedUpTo[k]: bytes freed by evicting victims[:k]
	candidates []candidate
}

type candidate struct {
	key  string
	rank int32
}

// makePlan marks from every pin. With evict, cache-only pins are ranked by
// last access instead of protected.
func (db *DB) makePlan(ctx context.Context, tx *bolt.Tx, evict bool) (*plan, error) {
	p := &plan{m: make(marks), epoch: db.pinEpoch.Load()}
	blocks := db.blocksIn(tx)
	var all []Pin
	if err := forEachPins(tx, func(pins []Pin) error {
		all = append(all, pins...)
		return nil
	}); err != nil {
		return nil, err
	}
	db.overlayTouches(all)
	// Pins of one root are adjacent (forEachPins yields them per root).
	for i := 0; i < len(all); {
		j := i + 1
		for j < len(all) && all[j].Root.Equals(all[i].Root) {
			j++
		}
		if evict && j == i+1 && all[i].Reason == ReasonCache {
			p.victims = append(p.victims, victim{root: all[i].Root, accessed: all[i].Accessed})
		} else if err := db.mark(ctx, blocks, all[i].Root, rankPinned, p.m); err != nil {
			return nil, err
		}
		i = j
	}
	slices.SortFunc(p.victims, func(a, b victim) int {
		if c := a.accessed.Compare(b.accessed); c != 0 {
			return c
		}
		return cmp.Compare(a.root.KeyString(), b.root.KeyString())
	})
	for i := len(p.victims) - 1; i >= 0; i-- {
		if err := db.mark(ctx, blocks, p.victims[i].root, int32(i+1), p.m); err != nil {
			return nil, err
		}
	}

	db.mu.Lock()
	inflight := make(map[string]struct{}, len(db.inflight))
	for k := range db.inflight {
		inflight[k] = struct{}{}
	}
	db.mu.Unlock()
	staged := tx.Bucket(bucketStaged)
	p.freedUpTo = make([]int64, len(p.victims)+1)
	blocks.forEach(func(k []byte, n int) {
		r := p.m[string(k)]
		if r == rankPinned {
			return
		}
		if _, ok := inflight[string(k)]; ok || staged.Get(k) != nil {
			return
		}
		p.freedUpTo[r] += int64(n)
		p.candidates = append(p.candidates, candidate{key: string(k), rank: r})
	})
	for k := 1; k < len(p.freedUpTo); k++ {
		p.freedUpTo[k] += p.freedUpTo[k-1]
	}
	return p, nil
}

// GC deletes every block that is not reachable from a pin and not held by an
// open batch. It marks in one read transaction, then deletes in transactions
// of a few thousand blocks; pins added meanwhile are honoured. A block whose
// links cannot be decoded stops GC with an error rather than risk deleting
// its children.
func (db *DB) GC(ctx context.Context) (GCResult, error) {
	var p *plan
	err := db.view(func(tx *bolt.Tx) error {
		var err error
		p, err = db.makePlan(ctx, tx, false)
		return err
	})
	if err != nil {
		return GCResult{}, fmt.Errorf("store: gc: %w", err)
	}
	res, err := db.sweep(ctx, p, 0)
	if err != nil {
		return res, fmt.Errorf("store: gc: %w", err)
	}
	if res.Removed > 0 {
		db.log.Info("garbage collected", "blocks", res.Removed, "bytes", res.Freed)
	}
	return res, nil
}

// EvictCache frees at least need bytes if it can: it deletes unreferenced
// blocks, then removes the least recently accessed pins of roots pinned only
// as cache, with the blocks no other pin references, until need bytes are
// freed. Local and replica pins are never evicted. It returns the bytes
// freed, which may be less than need.
func (db *DB) EvictCache(ctx context.Context, need int64) (int64, error) {
	freed, err := db.evict(ctx, need, false)
	if err != nil {
		return freed, fmt.Errorf("store: evict cache: %w", err)
	}
	return freed, nil
}

// evict frees need bytes as EvictCache does. With all, it changes nothing
// and returns a *QuotaError-ready shortfall (freed = what could be freed) if
// even evicting every cache pin would not free need bytes.
func (db *DB) evict(ctx context.Context, need int64, all bool) (int64, error) {
	if need <= 0 {
		return 0, nil
	}
	var p *plan
	err := db.view(func(tx *bolt.Tx) error {
		var err error
		p, err = db.makePlan(ctx, tx, true)
		return err
	})
	if err != nil {
		return 0, err
	}
	k := slices.IndexFunc(p.freedUpTo, func(n int64) bool { return n >= need })
	if k < 0 {
		if all {
			return p.freedUpTo[len(p.freedUpTo)-1], errShortfall
		}
		k = len(p.victims)
	}
	p.victims = p.victims[:k]
	res, err := db.sweep(ctx, p, int32(k))
	if k > 0 || res.Removed > 0 {
		db.log.Info("evicted cache", "pins", k, "blocks", res.Removed, "bytes", res.Freed, "need", need)
	}
	return res.Freed, err
}

// errShortfall tells makeRoom that eviction cannot free enough.
var errShortfall = fmt.Errorf("%w: not enough cache to evict", ErrQuota)

// makeRoom ensures expected more bytes fit under the quota, evicting cache
// if needed, or returns a *QuotaError without changing anything.
func (db *DB) makeRoom(expected int64) error {
	q := db.quota.Load()
	if q == 0 {
		return nil
	}
	var used int64
	if err := db.view(func(tx *bolt.Tx) error {
		u, err := readUsage(tx)
		used = u.Bytes
		return err
	}); err != nil {
		return err
	}
	over := used + expected - q
	if over <= 0 {
		return nil
	}
	freed, err := db.evict(context.Background(), over, true)
	if err == errShortfall {
		return &QuotaError{Need: expected, Free: max(0, q-used+freed), Quota: q}
	}
	return err
}

// sweep removes p.victims' pins and deletes the candidates of rank <= k, in
// chunks. Before each chunk it re-marks from the current pins if pins were
// added since the mark phase (and always before the first chunk when there
// are victims, in case one was re-pinned or touched).
func (db *DB) sweep(ctx context.Context, p *plan, k int32) (GCResult, error) {
	var res GCResult
	todo := p.candidates[:0:0]
	for _, c := range p.candidates {
		if c.rank <= k {
			todo = append(todo, c)
		}
	}
	if len(todo) == 0 && len(p.victims) == 0 {
		return res, nil
	}
	first := true
	for first || len(todo) > 0 {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		n := min(len(todo), sweepChunk)
		chunk := todo[:n]
		var removed int
		var freed int64
		db.gcMu.Lock()
		err := db.update(func(tx *bolt.Tx) error {
			removed, freed = 0, 0
			blocks, staged := db.blocksIn(tx), tx.Bucket(bucketStaged)
			remark := p.epoch != db.pinEpoch.Load()
			if first && len(p.victims) > 0 {
				if err := db.flushTouches(tx); err != nil {
					return err
				}
				if err := db.removeVictims(tx, p.victims); err != nil {
					return err
				}
				remark = true
			}
			if remark {
				p.epoch = db.pinEpoch.Load()
				if err := forEachPins(tx, func(pins []Pin) error {
					return db.mark(ctx, blocks, pins[0].Root, rankPinned, p.m)
				}); err != nil {
					return err
				}
			}
			u, err := readUsage(tx)
			if err != nil {
				return err
			}
			db.mu.Lock()
			defer db.mu.Unlock()
			for _, c := range chunk {
				kb := []byte(c.key)
				if p.m[c.key] > k || db.inflight[c.key] > 0 || staged.Get(kb) != nil {
					continue
				}
				size, ok, err := blocks.del(kb)
				if err != nil {
					return err
				}
				if !ok {
					continue
				}
				u.Blocks--
				u.Bytes -= int64(size)
				freed += int64(size)
				removed++
			}
			return writeUsage(tx, u)
		})
		db.gcMu.Unlock()
		if err != nil {
			return res, err
		}
		res.Removed += removed
		res.Freed += freed
		todo = todo[n:]
		first = false
	}
	return res, nil
}

// removeVictims removes the cache pins of the victims that are still pinned
// only as cache and were not accessed since the plan.
func (db *DB) removeVictims(tx *bolt.Tx, victims []victim) error {
	for _, v := range victims {
		pins, err := getPins(tx, v.root)
		if err != nil {
			return err
		}
		if len(pins) != 1 || pins[0].Reason != ReasonCache || pins[0].Accessed.After(v.accessed) {
			continue
		}
		if err := db.unindexRootTx(tx, v.root); err != nil {
			return err
		}
		if err := tx.Bucket(bucketPins).Delete(blockKey(v.root)); err != nil {
			return err
		}
	}
	return nil
}
