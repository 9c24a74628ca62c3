package library

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/myconet/myconet/metadata"
	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/internal/svc"
	"github.com/myconet/myconet/node/retrieval"
	"github.com/myconet/myconet/store"
)

// Fetch tuning.
const (
	// providerWait bounds the search for providers of a root.
	providerWait = 30 * time.Second
	// providerLinger is how long, after the first provider turns up, the
	// search goes on collecting more for a parallel fetch.
	providerLinger = 500 * time.Millisecond
	// maxProviders is how many providers one fetch considers.
	maxProviders = 16
)

// Have reports whether root's whole DAG is held: a pinned root always is
// (pins are only ever made over complete DAGs).
func (s *Service) Have(root cid.Cid) (bool, error) {
	pins, err := s.db.PinsOf(root)
	if err != nil {
		return false, svc.StoreErr(err)
	}
	return len(pins) > 0, nil
}

// EnsureLocal makes sure root's whole DAG is in the local store and pinned
// with reason, fetching what is missing from the network. A root already
// pinned only gains the reason. Offline, a missing root is ErrNotFound.
func (s *Service) EnsureLocal(ctx context.Context, root cid.Cid, reason store.Reason, progress func(apitype.Progress)) error {
	if kept, err := s.keepRetracted(root, reason); kept || err != nil {
		return err // a retracted package the owner pins local, or an error saying why not
	}
	if err := s.withheld(ctx, root); err != nil {
		return err
	}
	// One fetch per root at a time: a second caller (a replica request, a
	// site get, the gateway) waits for the first, then finds the pin.
	for {
		s.fetchMu.Lock()
		other, busy := s.fetching[root]
		if !busy {
			f := &inflight{done: make(chan struct{}), arr: newArrivals()}
			s.fetching[root] = f
			s.fetchMu.Unlock()
			err := s.ensureLocalOnce(ctx, root, reason, progress, f.arr)
			if rerr := s.retracted(root); err != nil && rerr != nil {
				err = rerr // learnt while fetching: the providers refused it
			}
			s.fetchMu.Lock()
			delete(s.fetching, root)
			s.fetchMu.Unlock()
			f.arr.end()
			close(f.done)
			return err
		}
		s.fetchMu.Unlock()
		select {
		case <-other.done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// keepRetracted is Options.KeepRetracted.
func (s *Service) keepRetracted(root cid.Cid, reason store.Reason) (bool, error) {
	if s.opt.KeepRetracted == nil {
		return false, nil
	}
	return s.opt.KeepRetracted(root, reason)
}

// retracted is Options.Retracted.
func (s *Service) retracted(root cid.Cid) error {
	if s.opt.Retracted == nil {
		return nil
	}
	return s.opt.Retracted(root)
}

// inflight is a whole fetch of a root under way.
type inflight struct {
	done chan struct{} // closed when it ended
	arr  *arrivals     // its blocks, for readers streaming out of the root
}

// arrivalsOf returns the blocks arriving for root, or nil when no fetch of
// root is under way.
func (s *Service) arrivalsOf(root cid.Cid) *arrivals {
	s.fetchMu.Lock()
	defer s.fetchMu.Unlock()
	if f := s.fetching[root]; f != nil {
		return f.arr
	}
	return nil
}

func (s *Service) ensureLocalOnce(ctx context.Context, root cid.Cid, reason store.Reason, progress func(apitype.Progress), arr *arrivals) (reterr error) {
	pins, err := s.db.PinsOf(root)
	if err != nil {
		return svc.StoreErr(err)
	}
	if len(pins) > 0 {
		for _, p := range pins {
			// A read (cache) needs the DAG, not one more pin on it.
			if p.Reason == reason || reason == store.ReasonCache {
				return nil
			}
		}
		now := s.now()
		return svc.StoreErr(s.db.AddPin(store.Pin{Root: root, Reason: reason, Name: pins[0].Name, Created: now, Accessed: now, Size: pins[0].Size}))
	}
	// Verified blocks outlive a failed or interrupted fetch (Keep): the next
	// one resumes from them, and GC reclaims them if none does. Blocks found
	// held are kept from GC (Hold) until the pin covers them.
	batch, err := s.db.NewBatch(store.BatchOptions{Keep: true})
	if err != nil {
		return svc.StoreErr(err)
	}
	defer batch.Abort()
	// Unpinned but whole (a DAG inside a pinned one, one not yet collected,
	// or the end of an interrupted fetch): no network needed. A read uses it
	// as it is; other reasons pin it.
	if size, ok, err := s.localDAG(ctx, batch, root); err != nil {
		return err
	} else if ok && reason == store.ReasonCache {
		return nil
	} else if ok {
		return s.commitFetched(batch, root, reason, size)
	}
	ns := s.network()
	if ns == nil {
		if ok, _ := s.db.Has(root); ok {
			return apitype.Errorf(apitype.CodeNotFound, "%s is only partly in the local store, and this node is offline (start `myconet daemon` to fetch the rest)", root)
		}
		return apitype.Errorf(apitype.CodeNotFound, "%s is not in the local store, and this node is offline (start `myconet daemon` to fetch from the network)", root)
	}
	if s.opt.CountFetch != nil {
		defer s.opt.CountFetch(&reterr)
	}
	// The fetch starts with the first provider found; those found within
	// providerLinger after it join as they come.
	providers, more, err := s.providerStream(ctx, ns, root, providerLinger)
	if err != nil {
		return err
	}
	var stats retrieval.Stats // of every try
	var onProgress func(retrieval.Progress)
	if progress != nil {
		onProgress = func(p retrieval.Progress) {
			progress(apitype.Progress{Bytes: stats.Bytes + p.Bytes, Blocks: stats.Blocks + p.Blocks, Providers: p.Providers})
		}
	}
	sink := newAsyncSink(batch, arr)
	opts := retrieval.FetchOptions{
		Providers:     providers,
		MoreProviders: more,
		Have:          batch.Hold,
		Local:         s.db.Get,
		Progress:      onProgress,
	}
	// Providers that replied busy are asked again; a new try resumes from
	// what the last one fetched (Have).
	err = whileBusy(ctx, func() error {
		st, err := ns.Retrieval.Fetch(ctx, root, sink, opts)
		opts.Providers, opts.MoreProviders = triedProviders(opts.Providers, st), nil
		stats.Bytes, stats.Blocks, stats.Held = stats.Bytes+st.Bytes, stats.Blocks+st.Blocks, stats.Held+st.Held
		if stats.Served == nil {
			stats.Served = map[peer.ID]int64{}
		}
		for p, n := range st.Served {
			stats.Served[p] += n
		}
		return err
	})
	if serr := sink.close(); err == nil {
		err = serr
	}
	if err == nil {
		err = batch.Flush() // make the root readable for the record
	} else if ferr := batch.Flush(); ferr == nil && stats.Blocks > 0 {
		s.log.Info("fetch stopped; its verified blocks are kept for the next one", "root", root, "bytes", stats.Bytes, "blocks", stats.Blocks)
	}
	if err != nil {
		if errors.Is(err, store.ErrQuota) {
			return svc.StoreErr(err)
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ctxErr // the caller gave up: not the content's fault
		}
		s.log.Warn("fetch failed", "root", root, "providers", len(providers)+len(more), "err", err)
		return apitype.Errorf(apitype.CodeNotFound, "fetch %s: %v", root, err)
	}
	if err := s.commitFetched(batch, root, reason, stats.Bytes); err != nil {
		return err
	}
	s.log.Info("fetched", "root", root, "bytes", stats.Bytes, "blocks", stats.Blocks, "held", stats.Held, "providers", len(stats.Served))
	s.provide(ns, root)
	return nil
}

// commitFetched pins root's DAG, complete in the store, with its package
// record.
func (s *Service) commitFetched(batch *store.Batch, root cid.Cid, reason store.Reason, size int64) error {
	commit := store.Commit{Pin: store.Pin{Root: root, Reason: reason, Created: s.now(), Accessed: s.now(), Size: size}}
	if root.Type() == cid.DagCBOR {
		rec, err := s.packageRecord(root)
		if err != nil {
			return err
		}
		commit.Package = rec
		commit.Pin.Size = rec.Size
	}
	if err := batch.Commit(commit); err != nil {
		return svc.StoreErr(err)
	}
	s.changed(root)
	return nil
}

// localDAG reports whether root's whole DAG is in the store, holding each
// block it finds against GC for batch, and sums the blocks' bytes (raw
// leaves are looked up, not read).
func (s *Service) localDAG(ctx context.Context, batch *store.Batch, root cid.Cid) (size int64, whole bool, err error) {
	seen := make(map[cid.Cid]struct{})
	stack := []cid.Cid{root}
	for len(stack) > 0 {
		if err := ctx.Err(); err != nil {
			return 0, false, err
		}
		c := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if _, ok := seen[c]; ok {
			continue
		}
		seen[c] = struct{}{}
		ok, err := batch.Hold(c)
		if err != nil {
			return 0, false, svc.StoreErr(err)
		}
		if !ok {
			return 0, false, nil
		}
		if c.Type() == cid.Raw {
			if bs, err := s.db.BlockSize(c); err == nil {
				size += int64(bs)
			}
			continue
		}
		data, err := s.db.Get(c)
		if errors.Is(err, store.ErrNotFound) {
			return 0, false, nil
		}
		if err != nil {
			return 0, false, svc.StoreErr(err)
		}
		size += int64(len(data))
		kids, err := BlockLinks(c, data)
		if err != nil {
			return 0, false, apitype.Errorf(apitype.CodeCorrupt, "block %s: %v", c, err)
		}
		stack = append(stack, kids...)
	}
	return size, true, nil
}

// packageRecord decodes and verifies a package root held in the store (or a
// batch that can be read through it).
func (s *Service) packageRecord(root cid.Cid) (*store.PackageRecord, error) {
	data, err := s.db.Get(root)
	if err != nil {
		return nil, svc.StoreErr(err)
	}
	p, err := metadata.Decode(data)
	if err != nil {
		return nil, apitype.Errorf(apitype.CodeInvalid, "%s is not a valid package: %v", root, err)
	}
	if err := p.Verify(); err != nil {
		return nil, apitype.Errorf(apitype.CodeInvalid, "package %s: %v", root, err)
	}
	return &store.PackageRecord{
		CID: root, Content: p.Content, Title: p.Meta.Title, Kind: p.Meta.Kind, Size: int64(p.Meta.Size),
		Files: int64(p.Meta.Files), Publisher: p.Publisher, Added: s.now(),
	}, nil
}

// findProviders asks the DHT who holds root: it waits up to providerWait for
// the first, then linger for more (0: the first will do).
func (s *Service) findProviders(ctx context.Context, ns *online, root cid.Cid, linger time.Duration) ([]peer.ID, error) {
	out, more, err := s.providerStream(ctx, ns, root, linger)
	for p := range more {
		out = append(out, p)
	}
	return out, err
}

// providerStream asks the DHT who holds root. It waits up to providerWait
// for the first and returns it at once; those found within linger after it
// come on more, which is closed then (at once with linger 0). With none
// found it falls back on the connected peers (providersOrErr), more closed.
func (s *Service) providerStream(ctx context.Context, ns *online, root cid.Cid, linger time.Duration) (first []peer.ID, more <-chan peer.ID, err error) {
	ctx, cancel := context.WithTimeout(ctx, providerWait)
	ch := ns.Routing.FindProvidersAsync(ctx, root, maxProviders)
	accept := func(ai peer.AddrInfo) bool {
		if ai.ID == s.opt.Self {
			return false
		}
		if len(ai.Addrs) > 0 {
			ns.Host.Peerstore().AddAddrs(ai.ID, ai.Addrs, 10*time.Minute)
		}
		return true
	}
	none := make(chan peer.ID)
	close(none)
	for {
		select {
		case ai, ok := <-ch:
			if !ok {
				cancel()
				out, err := s.providersOrErr(nil, root)
				return out, none, err
			}
			if !accept(ai) {
				continue
			}
			// At most maxProviders come: the buffer never blocks a send.
			rest := make(chan peer.ID, maxProviders)
			go func() {
				defer cancel()
				defer close(rest)
				if linger <= 0 {
					return
				}
				t := time.NewTimer(linger)
				defer t.Stop()
				for {
					select {
					case ai, ok := <-ch:
						if !ok {
							return
						}
						if accept(ai) {
							rest <- ai.ID
						}
					case <-t.C:
						return
					case <-ctx.Done():
						return
					}
				}
			}()
			return []peer.ID{ai.ID}, rest, nil
		case <-ctx.Done():
			ctxErr := ctx.Err()
			cancel()
			if errors.Is(ctxErr, context.Canceled) {
				return nil, none, ctxErr
			}
			out, err := s.providersOrErr(nil, root)
			return out, none, err
		}
	}
}

func (s *Service) providersOrErr(out []peer.ID, root cid.Cid) ([]peer.ID, error) {
	if len(out) == 0 {
		// No provider record: ask the peers we are connected to, as bitswap
		// does; a peer without the root answers "not found" and is dropped.
		if ns := s.network(); ns != nil {
			for _, p := range ns.Host.Network().Peers() {
				out = append(out, p)
				if len(out) == maxProviders {
					break
				}
			}
		}
	}
	if len(out) == 0 {
		return nil, apitype.Errorf(apitype.CodeNotFound, "no node in the network provides %s", root)
	}
	return out, nil
}

// asyncSink hands verified blocks to a store batch on its own goroutine, so
// that receiving and verifying the next blocks overlaps the batch's commits
// (each one a bbolt transaction with fsync), and offers them to readers
// streaming out of the root meanwhile. Data slices are the fetch's fresh
// copies, which it never touches again, so queuing and sharing them is
// safe; one the fetch gives with PutSumThen (a pooled buffer) goes back to
// the pool only once the batch has written it and arrivals and the reader
// that took it let go (see shared).
type asyncSink struct {
	batch *store.Batch
	arr   *arrivals
	ch    chan asyncBlock
	done  chan struct{}
	mu    sync.Mutex
	err   error // first error of the writer; guarded by mu
}

type asyncBlock struct {
	c      cid.Cid
	data   []byte
	sum    uint32 // the CRC-32C of data, if hasSum
	hasSum bool
	sh     *shared // the batch's share of a pooled buffer, or nil
}

// asyncQueue bounds the blocks waiting for the writer (1 MiB chunks: ~32 MiB).
const asyncQueue = 32

func newAsyncSink(b *store.Batch, arr *arrivals) *asyncSink {
	s := &asyncSink{batch: b, arr: arr, ch: make(chan asyncBlock, asyncQueue), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		for blk := range s.ch {
			if s.failed() != nil {
				blk.sh.release()
				continue // drain
			}
			var err error
			switch {
			case blk.sh != nil:
				err = b.PutSumThen(blk.c, blk.data, blk.sum, blk.sh.release)
			case blk.hasSum:
				err = b.PutSum(blk.c, blk.data, blk.sum)
			default:
				err = b.Put(blk.c, blk.data)
			}
			if err != nil {
				s.mu.Lock()
				s.err = err
				s.mu.Unlock()
			}
		}
	}()
	return s
}

func (s *asyncSink) failed() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Put queues a block; it reports the writer's first error, if any.
func (s *asyncSink) Put(c cid.Cid, data []byte) error {
	return s.put(asyncBlock{c: c, data: data}, nil)
}

// PutSum is Put with the block's CRC-32C, which the fetch computed while
// the bytes were in cache (retrieval.SumSink).
func (s *asyncSink) PutSum(c cid.Cid, data []byte, sum uint32) error {
	return s.put(asyncBlock{c: c, data: data, sum: sum, hasSum: true}, nil)
}

// PutSumThen is PutSum for a pooled buffer, given back with done once the
// batch, arrivals and any reader are done with it (retrieval.ThenSink).
func (s *asyncSink) PutSumThen(c cid.Cid, data []byte, sum uint32, done func()) error {
	sh := newShared(2, done)
	return s.put(asyncBlock{c: c, data: data, sum: sum, hasSum: true, sh: sh}, sh)
}

// put offers blk to arrivals, with arr (a share of its buffer, or nil), and
// queues it for the batch.
func (s *asyncSink) put(blk asyncBlock, arr *shared) error {
	if err := s.failed(); err != nil {
		arr.release()
		blk.sh.release()
		return err
	}
	s.arr.offer(blk.c, blk.data, arr)
	s.ch <- blk
	return nil
}

var _ retrieval.ThenSink = (*asyncSink)(nil)

// close waits until every queued block reached the batch.
func (s *asyncSink) close() error {
	close(s.ch)
	<-s.done
	return s.failed()
}
