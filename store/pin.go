package store

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/ipfs/go-cid"
	bolt "go.etcd.io/bbolt"
)

// Reason says why a root is pinned. A root may be pinned for several reasons
// at once; each is kept and removed independently.
type Reason string

// Pin reasons. Only cache pins are ever evicted.
const (
	ReasonLocal   Reason = "local"   // added or published by the user
	ReasonReplica Reason = "replica" // kept on behalf of the network
	ReasonCache   Reason = "cache"   // fetched and kept opportunistically
)

func (r Reason) valid() bool {
	return r == ReasonLocal || r == ReasonReplica || r == ReasonCache
}

// Pin keeps a DAG from garbage collection.
type Pin struct {
	Root     cid.Cid
	Reason   Reason
	Name     string    // optional label
	Created  time.Time // when the pin was made
	Accessed time.Time // last Touch; orders cache eviction
	Size     int64     // bytes of the DAG when pinned; informational
}

// AddPin pins p.Root for p.Reason, replacing an existing pin with the same
// root and reason. The root block must be present (ErrNotFound otherwise).
// Zero Created and Accessed default to now. If batches are open, AddPin also
// clears the staged marks of the root's DAG so that a crash cannot remove
// blocks it references.
func (db *DB) AddPin(p Pin) error {
	if !p.Reason.valid() {
		return fmt.Errorf("store: add pin %s: %w: reason %q", p.Root, ErrBadName, p.Reason)
	}
	err := db.update(func(tx *bolt.Tx) error {
		if err := db.flushTouches(tx); err != nil {
			return err
		}
		return db.addPinTx(tx, p)
	})
	if err != nil {
		return fmt.Errorf("store: add pin %s: %w", p.Root, err)
	}
	return nil
}

// addPinTx writes p in tx and unstages its DAG.
func (db *DB) addPinTx(tx *bolt.Tx, p Pin) error {
	key := blockKey(p.Root)
	if !db.blocksIn(tx).has(key) {
		return ErrNotFound
	}
	now := db.now()
	if p.Created.IsZero() {
		p.Created = now
	}
	if p.Accessed.IsZero() {
		p.Accessed = p.Created
	}
	pins, err := getPins(tx, p.Root)
	if err != nil {
		return err
	}
	first := len(pins) == 0
	pins = slices.DeleteFunc(pins, func(q Pin) bool { return q.Reason == p.Reason })
	pins = append(pins, p)
	sortPins(pins)
	db.pinEpoch.Add(1)
	if err := tx.Bucket(bucketPins).Put(key, encodePins(pins)); err != nil {
		return err
	}
	if first {
		if err := db.indexRootTx(tx, p.Root); err != nil {
			return err
		}
	}
	return db.unstageDAG(tx, p.Root)
}

// unstageDAG clears the staged marks of every block reachable from root, so
// the pinned DAG survives a crash. It does nothing when no block is staged.
func (db *DB) unstageDAG(tx *bolt.Tx, root cid.Cid) error {
	staged := tx.Bucket(bucketStaged)
	if k, _ := staged.Cursor().First(); k == nil {
		return nil
	}
	return db.walkDAG(tx, root, func(kb []byte) error {
		if staged.Get(kb) != nil {
			return staged.Delete(kb)
		}
		return nil
	})
}

// childLinks returns the links of the stored block c (key kb), or nil if it
// is raw, missing, or Config.Links is nil.
func (db *DB) childLinks(blocks blockTable, c cid.Cid, kb []byte) ([]cid.Cid, error) {
	if db.links == nil || c.Type() == cid.Raw {
		return nil, nil
	}
	data, err := blocks.get(kb)
	if err != nil {
		return nil, err
	}
	if data == nil {
		return nil, nil
	}
	links, err := db.links(c, data)
	if err != nil {
		return nil, fmt.Errorf("links of %s: %w", c, err)
	}
	return links, nil
}

func sortPins(pins []Pin) {
	order := map[Reason]int{ReasonLocal: 0, ReasonReplica: 1, ReasonCache: 2}
	slices.SortFunc(pins, func(a, b Pin) int { return cmp.Compare(order[a.Reason], order[b.Reason]) })
}

// getPins returns the pins of root in tx, or nil.
func getPins(tx *bolt.Tx, root cid.Cid) ([]Pin, error) {
	v := tx.Bucket(bucketPins).Get(blockKey(root))
	if v == nil {
		return nil, nil
	}
	return decodePins(root, v)
}

// forEachPins calls fn with the pins of every pinned root.
func forEachPins(tx *bolt.Tx, fn func(pins []Pin) error) error {
	return tx.Bucket(bucketPins).ForEach(func(k, v []byte) error {
		root, err := cid.Cast(k)
		if err != nil {
			return fmt.Errorf("%w: pin key %x: %v", ErrCorrupt, k, err)
		}
		pins, err := decodePins(root, v)
		if err != nil {
			return fmt.Errorf("pins of %s: %w", root, err)
		}
		return fn(pins)
	})
}

// Pins returns every pin, ordered by root then reason.
func (db *DB) Pins() ([]Pin, error) {
	var all []Pin
	err := db.view(func(tx *bolt.Tx) error {
		return forEachPins(tx, func(pins []Pin) error {
			all = append(all, pins...)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("store: pins: %w", err)
	}
	db.overlayTouches(all)
	return all, nil
}

// PinsOf returns the pins of root; none is not an error.
func (db *DB) PinsOf(root cid.Cid) ([]Pin, error) {
	var pins []Pin
	err := db.view(func(tx *bolt.Tx) error {
		var err error
		pins, err = getPins(tx, root)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: pins of %s: %w", root, err)
	}
	db.overlayTouches(pins)
	return pins, nil
}

// RemovePin removes the pin of root for reason (ErrNotPinned if there is
// none). The blocks stay until GC or eviction.
func (db *DB) RemovePin(root cid.Cid, reason Reason) error {
	err := db.update(func(tx *bolt.Tx) error {
		if err := db.flushTouches(tx); err != nil {
			return err
		}
		return db.removePinTx(tx, root, reason)
	})
	if err != nil {
		return fmt.Errorf("store: remove pin %s %s: %w", root, reason, err)
	}
	return nil
}

func (db *DB) removePinTx(tx *bolt.Tx, root cid.Cid, reason Reason) error {
	pins, err := getPins(tx, root)
	if err != nil {
		return err
	}
	n := len(pins)
	pins = slices.DeleteFunc(pins, func(p Pin) bool { return p.Reason == reason })
	if len(pins) == n {
		return ErrNotPinned
	}
	b := tx.Bucket(bucketPins)
	if len(pins) == 0 {
		if err := db.unindexRootTx(tx, root); err != nil {
			return err
		}
		return b.Delete(blockKey(root))
	}
	return b.Put(blockKey(root), encodePins(pins))
}

// Touch records that root was accessed now, for the LRU order of cache
// eviction. It is cheap: the time is kept in memory and written by the next
// write of pins (or Close); Pins and PinsOf already show it.
func (db *DB) Touch(root cid.Cid) error {
	if db.closed.Load() {
		return ErrClosed
	}
	t := db.now().UTC() // as Pins decodes the stored times (no zone, no monotonic reading)
	db.mu.Lock()
	db.touches[string(blockKey(root))] = t
	db.mu.Unlock()
	return nil
}

// overlayTouches applies deferred touches to pins read from disk.
func (db *DB) overlayTouches(pins []Pin) {
	db.mu.Lock()
	defer db.mu.Unlock()
	if len(db.touches) == 0 {
		return
	}
	for i := range pins {
		if t, ok := db.touches[string(blockKey(pins[i].Root))]; ok && t.After(pins[i].Accessed) {
			pins[i].Accessed = t
		}
	}
}

// flushTouches writes the deferred touches in tx. If tx fails to commit the
// touches are lost, which only makes the LRU order slightly less exact.
func (db *DB) flushTouches(tx *bolt.Tx) error {
	db.mu.Lock()
	touches := db.touches
	db.touches = make(map[string]time.Time)
	db.mu.Unlock()
	b := tx.Bucket(bucketPins)
	for key, t := range touches {
		kb := []byte(key)
		v := b.Get(kb)
		if v == nil {
			continue
		}
		root, err := cid.Cast(kb)
		if err != nil {
			continue
		}
		pins, err := decodePins(root, v)
		if err != nil {
			continue // Check reports it
		}
		changed := false
		for i := range pins {
			if t.After(pins[i].Accessed) {
				pins[i].Accessed = t
				changed = true
			}
		}
		if changed {
			if err := b.Put(kb, encodePins(pins)); err != nil {
				return err
			}
		}
	}
	return nil
}
