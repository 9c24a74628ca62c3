package node

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/myconet/myconet/metadata"
	"github.com/myconet/myconet/mri"
	"github.com/myconet/myconet/node/apitype"
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

// have reports whether root's whole DAG is held: a pinned root always is
// (pins are only ever made over complete DAGs).
func (n *Node) have(root cid.Cid) (bool, error) {
	pins, err := n.db.PinsOf(root)
	if err != nil {
		return false, storeErr(err)
	}
	return len(pins) > 0, nil
}

// ensureLocal makes sure root's whole DAG is in the local store and pinned
// with reason, fetching what is missing from the network. A root already
// pinned only gains the reason. Offline, a missing root is ErrNotFound.
func (n *Node) ensureLocal(ctx context.Context, root cid.Cid, reason store.Reason, progress func(apitype.Progress)) error {
	if kept, err := n.keepRetracted(root, reason); kept || err != nil {
		return err // a retracted package the owner pins local, or an error saying why not
	}
	if err := n.withheldErr(ctx, root); err != nil {
		return err
	}
	// One fetch per root at a time: a second caller (a replica request, a
	// site get, the gateway) waits for the first, then finds the pin.
	for {
		n.fetchMu.Lock()
		wait, busy := n.fetching[root]
		if !busy {
			done := make(chan struct{})
			n.fetching[root] = done
			n.fetchMu.Unlock()
			err := n.ensureLocalOnce(ctx, root, reason, progress)
			if rerr := n.retractedErr(root); err != nil && rerr != nil {
				err = rerr // learnt while fetching: the providers refused it
			}
			n.fetchMu.Lock()
			delete(n.fetching, root)
			n.fetchMu.Unlock()
			close(done)
			return err
		}
		n.fetchMu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (n *Node) ensureLocalOnce(ctx context.Context, root cid.Cid, reason store.Reason, progress func(apitype.Progress)) (reterr error) {
	pins, err := n.db.PinsOf(root)
	if err != nil {
		return storeErr(err)
	}
	if len(pins) > 0 {
		for _, p := range pins {
			// A read (cache) needs the DAG, not one more pin on it.
			if p.Reason == reason || reason == store.ReasonCache {
				return nil
			}
		}
		now := n.now()
		return storeErr(n.db.AddPin(store.Pin{Root: root, Reason: reason, Name: pins[0].Name, Created: now, Accessed: now, Size: pins[0].Size}))
	}
	// Verified blocks outlive a failed or interrupted fetch (Keep): the next
	// one resumes from them, and GC reclaims them if none does. Blocks found
	// held are kept from GC (Hold) until the pin covers them.
	batch, err := n.db.NewBatch(store.BatchOptions{Keep: true})
	if err != nil {
		return storeErr(err)
	}
	defer batch.Abort()
	// Unpinned but whole (a DAG inside a pinned one, one not yet collected,
	// or the end of an interrupted fetch): no network needed. A read uses it
	// as it is; other reasons pin it.
	if size, ok, err := n.localDAG(ctx, batch, root); err != nil {
		return err
	} else if ok && reason == store.ReasonCache {
		return nil
	} else if ok {
		return n.commitFetched(batch, root, reason, size)
	}
	ns := n.network()
	if ns == nil {
		if ok, _ := n.db.Has(root); ok {
			return apitype.Errorf(apitype.CodeNotFound, "%s is only partly in the local store, and this node is offline (start `myconet daemon` to fetch the rest)", root)
		}
		return apitype.Errorf(apitype.CodeNotFound, "%s is not in the local store, and this node is offline (start `myconet daemon` to fetch from the network)", root)
	}
	defer n.metrics.CountFetch(&reterr)
	providers, err := n.findProviders(ctx, ns, root, providerLinger)
	if err != nil {
		return err
	}
	var onProgress func(retrieval.Progress)
	if progress != nil {
		onProgress = func(p retrieval.Progress) {
			progress(apitype.Progress{Bytes: p.Bytes, Blocks: p.Blocks, Providers: p.Providers})
		}
	}
	sink := newAsyncSink(batch)
	stats, err := ns.retrieval.Fetch(ctx, root, sink, retrieval.FetchOptions{
		Providers: providers,
		Have:      batch.Hold,
		Local:     n.db.Get,
		Progress:  onProgress,
	})
	if serr := sink.close(); err == nil {
		err = serr
	}
	if err == nil {
		err = batch.Flush() // make the root readable for the record
	} else if ferr := batch.Flush(); ferr == nil && stats.Blocks > 0 {
		n.log.Info("fetch stopped; its verified blocks are kept for the next one", "root", root, "bytes", stats.Bytes, "blocks", stats.Blocks)
	}
	if err != nil {
		if errors.Is(err, store.ErrQuota) {
			return storeErr(err)
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ctxErr // the caller gave up: not the content's fault
		}
		n.log.Warn("fetch failed", "root", root, "providers", len(providers), "err", err)
		return apitype.Errorf(apitype.CodeNotFound, "fetch %s: %v", root, err)
	}
	if err := n.commitFetched(batch, root, reason, stats.Bytes); err != nil {
		return err
	}
	n.log.Info("fetched", "root", root, "bytes", stats.Bytes, "blocks", stats.Blocks, "held", stats.Held, "providers", len(providers))
	ns.goOwned(func(ctx context.Context) { n.provideContent(ctx, ns, root) })
	return nil
}

// commitFetched pins root's DAG, complete in the store, with its package
// record.
func (n *Node) commitFetched(batch *store.Batch, root cid.Cid, reason store.Reason, size int64) error {
	commit := store.Commit{Pin: store.Pin{Root: root, Reason: reason, Created: n.now(), Accessed: n.now(), Size: size}}
	if root.Type() == cid.DagCBOR {
		rec, err := n.packageRecord(root)
		if err != nil {
			return err
		}
		commit.Package = rec
		commit.Pin.Size = rec.Size
	}
	if err := batch.Commit(commit); err != nil {
		return storeErr(err)
	}
	n.searchChanged(root)
	return nil
}

// localDAG reports whether root's whole DAG is in the store, holding each
// block it finds against GC for batch, and sums the blocks' bytes (raw
// leaves are looked up, not read).
func (n *Node) localDAG(ctx context.Context, batch *store.Batch, root cid.Cid) (size int64, whole bool, err error) {
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
			return 0, false, storeErr(err)
		}
		if !ok {
			return 0, false, nil
		}
		if c.Type() == cid.Raw {
			if bs, err := n.db.BlockSize(c); err == nil {
				size += int64(bs)
			}
			continue
		}
		data, err := n.db.Get(c)
		if errors.Is(err, store.ErrNotFound) {
			return 0, false, nil
		}
		if err != nil {
			return 0, false, storeErr(err)
		}
		size += int64(len(data))
		kids, err := blockLinks(c, data)
		if err != nil {
			return 0, false, apitype.Errorf(apitype.CodeCorrupt, "block %s: %v", c, err)
		}
		stack = append(stack, kids...)
	}
	return size, true, nil
}

// packageRecord decodes and verifies a package root held in the store (or a
// batch that can be read through it).
func (n *Node) packageRecord(root cid.Cid) (*store.PackageRecord, error) {
	data, err := n.db.Get(root)
	if err != nil {
		return nil, storeErr(err)
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
		Files: int64(p.Meta.Files), Publisher: p.Publisher, Added: n.now(),
	}, nil
}

// findProviders asks the DHT who holds root: it waits up to providerWait for
// the first, then linger for more (0: the first will do).
func (n *Node) findProviders(ctx context.Context, ns *netState, root cid.Cid, linger time.Duration) ([]peer.ID, error) {
	ctx, cancel := context.WithTimeout(ctx, providerWait)
	defer cancel()
	ch := ns.dht.FindProvidersAsync(ctx, root, maxProviders)
	var out []peer.ID
	var lingered <-chan time.Time
	for {
		select {
		case ai, ok := <-ch:
			if !ok {
				return n.providersOrErr(out, root)
			}
			if ai.ID == n.id.PeerID {
				continue
			}
			if len(ai.Addrs) > 0 {
				ns.host.Peerstore().AddAddrs(ai.ID, ai.Addrs, 10*time.Minute)
			}
			out = append(out, ai.ID)
			if linger <= 0 {
				return out, nil
			}
			if lingered == nil {
				lingered = time.After(linger)
			}
		case <-lingered:
			return out, nil
		case <-ctx.Done():
			if ctxErr := ctx.Err(); len(out) == 0 && errors.Is(ctxErr, context.Canceled) {
				return nil, ctxErr
			}
			return n.providersOrErr(out, root)
		}
	}
}

func (n *Node) providersOrErr(out []peer.ID, root cid.Cid) ([]peer.ID, error) {
	if len(out) == 0 {
		// No provider record: ask the peers we are connected to, as bitswap
		// does; a peer without the root answers "not found" and is dropped.
		if ns := n.network(); ns != nil {
			for _, p := range ns.host.Network().Peers() {
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

// Providers lists the nodes that announce the package a ref names.
func (n *Node) Providers(ctx context.Context, ref string) ([]apitype.ProviderInfo, error) {
	m, err := n.resolveRef(ctx, ref)
	if err != nil {
		return nil, err
	}
	ns := n.network()
	if ns == nil {
		return nil, apitype.Errorf(apitype.CodeNoDaemon, "providers need the network: start `myconet daemon`")
	}
	ctx, cancel := context.WithTimeout(ctx, providerWait)
	defer cancel()
	held, err := n.have(m.Root)
	if err != nil {
		return nil, err
	}
	var out []apitype.ProviderInfo
	var ids []peer.ID
	for ai := range ns.dht.FindProvidersAsync(ctx, m.Root, 0) {
		if ai.ID == n.id.PeerID && !held {
			continue // a record from before this node let go of it
		}
		pi := apitype.ProviderInfo{ID: ai.ID.String(), Self: ai.ID == n.id.PeerID}
		for _, a := range ai.Addrs {
			pi.Addrs = append(pi.Addrs, a.String())
		}
		out = append(out, pi)
		ids = append(ids, ai.ID)
	}
	// Provider records cannot be withdrawn from other nodes and live 48 h:
	// ask each listed node, and drop those that answer they lack it.
	lacking := make([]bool, len(out))
	var wg sync.WaitGroup
	for i, id := range ids {
		if id != n.id.PeerID {
			wg.Go(func() { lacking[i] = n.lacks(ctx, ns, id, m.Root) })
		}
	}
	wg.Wait()
	kept := out[:0]
	for i, pi := range out {
		if !lacking[i] {
			kept = append(kept, pi)
		}
	}
	out = kept
	if len(out) == 0 && held {
		out = append(out, apitype.ProviderInfo{ID: n.id.PeerID.String(), Self: true})
	}
	return out, nil
}

// SiteGet downloads the whole package a ref names and pins it local, so that
// it can be read (and browsed through the gateway) with the network gone.
func (n *Node) SiteGet(ctx context.Context, ref string, progress func(apitype.Progress)) (apitype.PackageInfo, error) {
	m, err := n.resolveRef(ctx, ref)
	if err != nil {
		return apitype.PackageInfo{}, err
	}
	if err := n.ensureLocal(ctx, m.Root, store.ReasonLocal, progress); err != nil {
		return apitype.PackageInfo{}, err
	}
	root, _ := mri.New(m.Root, "")
	return n.Info(ctx, root.String())
}

// asyncSink hands verified blocks to a store batch on its own goroutine, so
// that receiving and verifying the next blocks overlaps the batch's commits
// (each one a bbolt transaction with fsync). Data slices are the fetch's
// fresh copies, never reused, so queuing them is safe.
type asyncSink struct {
	batch *store.Batch
	ch    chan asyncBlock
	done  chan struct{}
	mu    sync.Mutex
	err   error // first error of the writer; guarded by mu
}

type asyncBlock struct {
	c    cid.Cid
	data []byte
}

// asyncQueue bounds the blocks waiting for the writer (1 MiB chunks: ~32 MiB).
const asyncQueue = 32

func newAsyncSink(b *store.Batch) *asyncSink {
	s := &asyncSink{batch: b, ch: make(chan asyncBlock, asyncQueue), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		for blk := range s.ch {
			if s.failed() != nil {
				continue // drain
			}
			if err := b.Put(blk.c, blk.data); err != nil {
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
	if err := s.failed(); err != nil {
		return err
	}
	s.ch <- asyncBlock{c, data}
	return nil
}

// close waits until every queued block reached the batch.
func (s *asyncSink) close() error {
	close(s.ch)
	<-s.done
	return s.failed()
}
