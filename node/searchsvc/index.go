package searchsvc

import (
	"errors"

	"github.com/ipfs/go-cid"

	"github.com/myconet/myconet/search"
	"github.com/myconet/myconet/store"
)

// The node's search index is a search.Stored in the store's derived index
// "search" (docs/ARCHITECTURE.md, Store layout). It is updated after the
// pins change, in its own transactions; the first sync of each process
// reconciles it with the pins (a diff of two key sets, no package root
// read unless a package is missing), which repairs what a crash between a
// pin change and its index update left behind.

// IndexName is the name of the search index in the store.
const IndexName = "search"

// syncChunk is how many documents one index transaction adds or removes.
const syncChunk = 256

// searchKV adapts a store index transaction to search.KV.
type searchKV struct{ tx *store.IndexTx }

func (k searchKV) Get(t search.Table, key []byte) []byte { return k.tx.Get(byte(t), key) }
func (k searchKV) Put(t search.Table, key, value []byte) error {
	return k.tx.Put(byte(t), key, value)
}
func (k searchKV) Delete(t search.Table, key []byte) error { return k.tx.Delete(byte(t), key) }
func (k searchKV) Scan(t search.Table, prefix []byte, fn func(k, v []byte) bool) error {
	return k.tx.Scan(byte(t), prefix, fn)
}

// View runs fn on the persisted index in a read transaction.
func (s *Service) View(fn func(search.Stored) error) error {
	return s.db.ViewIndex(IndexName, func(tx *store.IndexTx) error {
		return fn(search.NewStored(searchKV{tx}))
	})
}

// Update runs fn on the persisted index in a write transaction. The
// service does not see what fn changes until its next full sync (a test
// uses it to leave what a crash leaves).
func (s *Service) Update(fn func(search.Stored) error) error {
	return s.db.UpdateIndex(IndexName, func(tx *store.IndexTx) error {
		return fn(search.NewStored(searchKV{tx}))
	})
}

// Changed is called after the pins of roots change (none: of packages not
// known, as after GC); errors are logged, not returned: the index catches
// up on the next full sync.
func (s *Service) Changed(roots ...cid.Cid) {
	if err := s.syncRoots(roots); err != nil {
		s.log.Warn("search: index update failed", "err", err)
	}
}

// Reindex indexes the package rooted at c anew, after something that the
// document reads besides the root changed (its community tags). A package
// not indexed stays unindexed.
func (s *Service) Reindex(c cid.Cid) {
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	s.mu.RLock()
	held := s.indexed[c]
	s.mu.RUnlock()
	if !held {
		return
	}
	d, err := s.docOf(c)
	if err != nil {
		s.log.Warn("search: cannot reindex package", "package", c, "err", err)
		return
	}
	if err := s.Update(func(ix search.Stored) error { return ix.Add(d) }); err != nil {
		s.log.Warn("search: cannot reindex package", "package", c, "err", err)
		return
	}
	s.changed()
}

// sync brings the persisted index in line with the store: every pinned
// package root is indexed, nothing else. Only the packages that differ are
// read or removed. The first sync of a process, GC and the announcer's
// hourly round compare all pins; a corrupt index is dropped and built
// again.
func (s *Service) sync() error { return s.syncRoots(nil) }

// syncRoots is sync for the given package roots only (all of them when
// roots is nil, or before the first sync).
func (s *Service) syncRoots(roots []cid.Cid) error {
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	err := s.syncLocked(roots)
	if isCorrupt(err) {
		if err = s.dropIndex(err); err == nil {
			err = s.syncLocked(nil)
		}
	}
	return err
}

func (s *Service) syncLocked(roots []cid.Cid) error {
	s.mu.RLock()
	first := s.indexed == nil
	s.mu.RUnlock()
	var remove []string
	if first {
		set, bad, err := s.indexedPackages()
		if err != nil {
			return err
		}
		remove = bad
		s.mu.Lock()
		s.indexed = set
		s.mu.Unlock()
		roots = nil
	}
	want := map[cid.Cid]bool{}
	if roots == nil {
		pins, err := s.db.Pins()
		if err != nil {
			return err
		}
		for _, p := range pins {
			if p.Root.Type() == cid.DagCBOR {
				want[p.Root] = true
			}
		}
	}
	for _, c := range roots {
		pins, err := s.db.PinsOf(c)
		if err != nil {
			return err
		}
		want[c] = len(pins) > 0 && c.Type() == cid.DagCBOR
	}
	var add []cid.Cid
	s.mu.RLock()
	for c, pinned := range want {
		if pinned && !s.indexed[c] {
			add = append(add, c)
		}
	}
	for _, c := range roots {
		if !want[c] && s.indexed[c] {
			remove = append(remove, c.String())
		}
	}
	if roots == nil {
		for c := range s.indexed {
			if !want[c] {
				remove = append(remove, c.String())
			}
		}
	}
	s.mu.RUnlock()
	if len(add) == 0 && len(remove) == 0 {
		if first {
			s.changed() // the announcer's first round
		}
		return nil
	}
	docs := make([]search.Doc, 0, len(add))
	for _, c := range add {
		d, err := s.docOf(c)
		if err != nil {
			s.log.Warn("search: cannot index package", "package", c, "err", err)
			continue
		}
		docs = append(docs, d)
	}
	s.mu.Lock()
	s.read += len(add)
	s.mu.Unlock()
	err := s.apply(docs, remove)
	s.changed()
	return err
}

// ensureLoaded runs the first sync of this process.
func (s *Service) ensureLoaded() error {
	s.mu.RLock()
	loaded := s.indexed != nil
	s.mu.RUnlock()
	if loaded {
		return nil
	}
	return s.sync()
}

// indexedPackages reads the IDs in the persisted index. IDs that are not
// CIDs (nothing writes them) are returned apart, to be removed.
func (s *Service) indexedPackages() (map[cid.Cid]bool, []string, error) {
	set := map[cid.Cid]bool{}
	var bad []string
	err := s.View(func(ix search.Stored) error {
		return ix.IDs(func(id string) bool {
			if c, err := cid.Decode(id); err == nil && c.String() == id {
				set[c] = true
			} else {
				bad = append(bad, id)
			}
			return true
		})
	})
	return set, bad, err
}

// apply adds docs to and removes ids from the persisted index, a chunk per
// transaction, and records each committed chunk in s.indexed. The caller
// holds s.syncMu.
func (s *Service) apply(docs []search.Doc, remove []string) error {
	for len(docs) > 0 || len(remove) > 0 {
		d := docs[:min(len(docs), syncChunk)]
		r := remove[:min(len(remove), syncChunk-len(d))]
		err := s.Update(func(ix search.Stored) error {
			for _, doc := range d {
				if err := ix.Add(doc); err != nil {
					return err
				}
			}
			for _, id := range r {
				if _, err := ix.Remove(id); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		s.mu.Lock()
		for _, doc := range d {
			c, _ := cid.Decode(doc.ID)
			s.indexed[c] = true
		}
		for _, id := range r {
			c, _ := cid.Decode(id)
			delete(s.indexed, c)
		}
		s.mu.Unlock()
		docs, remove = docs[len(d):], remove[len(r):]
	}
	return nil
}

// dropIndex deletes a corrupt persisted index; the next sync builds it
// again from the package roots.
func (s *Service) dropIndex(cause error) error {
	s.log.Warn("search: the index is corrupt; building it again", "err", cause)
	s.mu.Lock()
	s.indexed = nil
	s.mu.Unlock()
	return s.db.DropIndex(IndexName)
}

// isCorrupt reports whether err means the persisted index must be rebuilt.
func isCorrupt(err error) bool { return errors.Is(err, search.ErrCorrupt) }
