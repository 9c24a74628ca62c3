package node

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

const searchIndexName = "search"

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

// viewSearch runs fn on the persisted index in a read transaction.
func (n *Node) viewSearch(fn func(search.Stored) error) error {
	return n.db.ViewIndex(searchIndexName, func(tx *store.IndexTx) error {
		return fn(search.NewStored(searchKV{tx}))
	})
}

// updateSearch runs fn on the persisted index in a write transaction.
func (n *Node) updateSearch(fn func(search.Stored) error) error {
	return n.db.UpdateIndex(searchIndexName, func(tx *store.IndexTx) error {
		return fn(search.NewStored(searchKV{tx}))
	})
}

// indexedPackages reads the IDs in the persisted index. IDs that are not
// CIDs (nothing writes them) are returned apart, to be removed.
func (n *Node) indexedPackages() (map[cid.Cid]bool, []string, error) {
	set := map[cid.Cid]bool{}
	var bad []string
	err := n.viewSearch(func(ix search.Stored) error {
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

// applySearch adds docs to and removes ids from the persisted index, a
// chunk per transaction, and records each committed chunk in s.indexed.
// The caller holds s.syncMu.
func (n *Node) applySearch(docs []search.Doc, remove []string) error {
	s := &n.srch
	for len(docs) > 0 || len(remove) > 0 {
		d := docs[:min(len(docs), syncChunk)]
		r := remove[:min(len(remove), syncChunk-len(d))]
		err := n.updateSearch(func(ix search.Stored) error {
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

// dropSearchIndex deletes a corrupt persisted index; the next sync builds
// it again from the package roots.
func (n *Node) dropSearchIndex(cause error) error {
	n.log.Warn("search: the index is corrupt; building it again", "err", cause)
	s := &n.srch
	s.mu.Lock()
	s.indexed = nil
	s.mu.Unlock()
	return n.db.DropIndex(searchIndexName)
}

// isCorrupt reports whether err means the persisted index must be rebuilt.
func isCorrupt(err error) bool { return errors.Is(err, search.ErrCorrupt) }
