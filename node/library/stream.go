package library

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/content"
	"github.com/myconet/myconet/node/internal/svc"
	"github.com/myconet/myconet/node/retrieval"
	"github.com/myconet/myconet/store"
)

// remoteBlocks is a content.Blocks that reads the store and fetches a block
// it lacks from the providers of root, on demand: reading one file (or a
// range of it) out of a package not held yet starts before the package has
// arrived. Each CID it is asked for comes from a block the reader verified
// (a link of the package root, a directory, a file's inner node), and each
// block fetched is verified against its CID, so nothing unverified is read.
// Fetched blocks go to the store unpinned (a Keep batch), for the whole
// fetch that runs meanwhile to find.
type remoteBlocks struct {
	s    *Service
	ns   *online
	ctx  context.Context
	root cid.Cid

	mu        sync.Mutex
	providers []peer.ID // guarded by mu
	provErr   error     // guarded by mu
	all       bool      // every listed provider was looked up; guarded by mu

	// follows is set for a reader that reads the DAG in the order the
	// whole fetch brings it (a file from its start), and trailing while a
	// reader finds its blocks among the arrivals. Either way it waits for
	// a block the fetch is about to bring rather than fetching it twice,
	// and a follower reading behind the fetch holds it back. A reader
	// ahead of the fetch (a seek) fetches at once.
	follows, trailing atomic.Bool
}

// follow says that the reader reads the DAG in the order the whole fetch
// brings it (a file from its start). Safe on nil.
func (rb *remoteBlocks) follow() {
	if rb != nil {
		rb.follows.Store(true)
	}
}

// following reports whether the reader follows the whole fetch.
func (rb *remoteBlocks) following() bool { return rb.follows.Load() || rb.trailing.Load() }

var _ content.Blocks = (*remoteBlocks)(nil)

// streamFrom returns the Blocks to read root through while it is not held:
// the store, fetching on demand what is missing, with the whole package
// fetched (and pinned cache) in the background as before. Offline, or
// unless stream, it returns nil.
func (s *Service) streamFrom(ctx context.Context, root cid.Cid, stream bool) *remoteBlocks {
	ns := s.network()
	if ns == nil || !stream {
		return nil
	}
	s.fetchMu.Lock()
	_, busy := s.fetching[root]
	s.fetchMu.Unlock()
	if !busy {
		ns.goOwned(func(ctx context.Context) { s.fetchWhileRead(ctx, root) })
	}
	return &remoteBlocks{s: s, ns: ns, ctx: ctx, root: root}
}

// readerGone is how long (in ns) the whole fetch a streamed read started
// goes on once no reader of the root looks any more (a `get` interrupted, a
// player closed): then it stops, keeping what it verified for the next one.
// Atomic: tests shorten it while fetches of earlier tests wind down.
var readerGone atomic.Int64

func init() { readerGone.Store(int64(5 * time.Second)) }

// fetchWhileRead fetches root whole in the background for streamed reads,
// and gives up (it, not a fetch of root someone else runs) when no reader
// has looked for readerGone.
func (s *Service) fetchWhileRead(ctx context.Context, root cid.Cid) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	gone := time.Duration(readerGone.Load())
	go func() {
		t := time.NewTicker(gone / 5)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if s.arrivalsOf(root).unreadFor() > gone {
					s.log.Debug("no reader left: the streamed fetch stops", "root", root)
					cancel()
					return
				}
			}
		}
	}()
	_ = s.EnsureLocal(ctx, root, store.ReasonCache, nil)
}

// maxStreamFetches bounds the on-demand block fetches of a node at once,
// under a provider's sessions per peer (8) with room for whole fetches.
const maxStreamFetches = 4

// Get implements content.Blocks. A block taken from arrivals is the
// caller's to keep: its buffer, if pooled, is never reused.
func (rb *remoteBlocks) Get(c cid.Cid) ([]byte, error) {
	data, _, err := rb.lend(c)
	return data, err
}

// GetThen implements content.LendingBlocks: Get, with a release func
// (nil if there is nothing to release) to call once data is read no more,
// which lets a pooled buffer be reused.
func (rb *remoteBlocks) GetThen(c cid.Cid) ([]byte, func(), error) {
	data, sh, err := rb.lend(c)
	if sh == nil {
		return data, nil, err
	}
	return data, sh.release, err
}

// lend returns block c, from arrivals, the store or the providers, with
// the reader's share of its buffer if pooled.
func (rb *remoteBlocks) lend(c cid.Cid) ([]byte, *shared, error) {
	arr := rb.s.arrivalsOf(rb.root)
	if data, sh, ok := arr.take(c); ok {
		rb.trailing.Store(true)
		return data, sh, nil
	}
	data, err := rb.s.db.Get(c)
	if !errors.Is(err, store.ErrNotFound) {
		rb.behind(arr, err)
		return data, nil, err
	}
	return rb.missing(arr, c)
}

// View implements content.Blocks.
func (rb *remoteBlocks) View(c cid.Cid, fn func(data []byte) error) error {
	arr := rb.s.arrivalsOf(rb.root)
	if data, sh, ok := arr.take(c); ok {
		rb.trailing.Store(true)
		defer sh.release()
		return fn(data)
	}
	err := rb.s.db.View(c, fn)
	if !errors.Is(err, store.ErrNotFound) {
		rb.behind(arr, err)
		return err
	}
	data, sh, err := rb.missing(arr, c)
	if err != nil {
		return err
	}
	defer sh.release()
	return fn(data)
}

// behind notes a block read from the store (err nil) by a reader following
// the fetch: it is catching up, and the fetch waits for it.
func (rb *remoteBlocks) behind(arr *arrivals, err error) {
	if err == nil && rb.following() {
		arr.advance()
	}
}

// missing brings block c, in neither the store nor arr: a reader trailing
// the whole fetch waits a moment for it to arrive there; otherwise, or if
// it does not come, the reader fetches it on its own.
func (rb *remoteBlocks) missing(arr *arrivals, c cid.Cid) ([]byte, *shared, error) {
	if arr != nil && rb.following() {
		if data, sh, ok := arr.await(rb.ctx, c, arrivalWait, arrivalMaxWait); ok {
			return data, sh, nil
		}
		rb.trailing.Store(false)
	}
	data, err := rb.fetch(c)
	return data, nil, err
}

// fetch brings block c (below root) from the providers and keeps it. It
// starts with the first provider found (latency counts here); if that
// fails, it asks every provider the DHT lists, once, and tries them all.
func (rb *remoteBlocks) fetch(c cid.Cid) ([]byte, error) {
	select {
	case rb.ns.streamSem <- struct{}{}:
		defer func() { <-rb.ns.streamSem }()
	case <-rb.ctx.Done():
		return nil, rb.ctx.Err()
	}
	providers, err := rb.providersFor(false)
	if err == nil {
		var data []byte
		if data, err = rb.fetchFrom(c, providers); err == nil {
			return data, nil
		}
	}
	if ctxErr := rb.ctx.Err(); ctxErr != nil {
		return nil, ctxErr
	}
	if more, perr := rb.providersFor(true); perr == nil && len(more) > len(providers) {
		return rb.fetchFrom(c, more)
	}
	return nil, err
}

// providersFor returns the providers of root: the first found, or with
// all, every one the DHT lists (looked up once).
func (rb *remoteBlocks) providersFor(all bool) ([]peer.ID, error) {
	rb.mu.Lock()
	defer rb.mu.Unlock()
	switch {
	case all && !rb.all:
		rb.all = true
		if ps, err := rb.s.findProviders(rb.ctx, rb.ns, rb.root, providerLinger); err == nil {
			rb.providers, rb.provErr = ps, nil
		}
	case rb.providers == nil && rb.provErr == nil:
		rb.providers, rb.provErr = rb.s.findProviders(rb.ctx, rb.ns, rb.root, 0)
	}
	return rb.providers, rb.provErr
}

// fetchFrom fetches block c from providers, asking again while they reply
// busy (whileBusy).
func (rb *remoteBlocks) fetchFrom(c cid.Cid, providers []peer.ID) (data []byte, err error) {
	err = whileBusy(rb.ctx, func() error {
		data, err = rb.fetchOnce(c, providers)
		return err
	})
	return data, err
}

// fetchOnce fetches block c from providers (and keeps it).
func (rb *remoteBlocks) fetchOnce(c cid.Cid, providers []peer.ID) ([]byte, error) {
	batch, err := rb.s.db.NewBatch(store.BatchOptions{Keep: true})
	if err != nil {
		return nil, svc.StoreErr(err)
	}
	var got []byte
	_, err = rb.ns.Retrieval.Fetch(rb.ctx, rb.root, sinkFunc(func(bc cid.Cid, data []byte) error {
		if bc.Equals(c) {
			got = data
		}
		return batch.Put(bc, data)
	}), retrieval.FetchOptions{Providers: providers, Shallow: true, Wants: []cid.Cid{c}})
	if aerr := batch.Abort(); err == nil && aerr != nil { // Keep: Abort writes the block
		rb.s.log.Debug("keep streamed block", "cid", c, "err", aerr)
	}
	if err != nil {
		if ctxErr := rb.ctx.Err(); ctxErr != nil {
			return nil, ctxErr
		}
		return nil, apitype.Errorf(apitype.CodeNotFound, "fetch %s of %s: %w", c, rb.root, err)
	}
	if got == nil {
		return nil, apitype.Errorf(apitype.CodeNotFound, "fetch %s of %s: not delivered", c, rb.root)
	}
	return got, nil
}

// sinkFunc is a retrieval.Sink from a function.
type sinkFunc func(c cid.Cid, data []byte) error

func (f sinkFunc) Put(c cid.Cid, data []byte) error { return f(c, data) }

// hasBlock reports whether block c is in the store (store errors: no).
func (s *Service) hasBlock(c cid.Cid) bool {
	ok, _ := s.db.Has(c)
	return ok
}

var _ content.LendingBlocks = (*remoteBlocks)(nil)
