package retrieval

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"
)

// FetchOptions tune one Fetch.
type FetchOptions struct {
	// Providers are the candidates, in order of preference. Up to Parallel
	// of them are used at once; a dropped one is replaced by the next.
	Providers []peer.ID
	// Have reports blocks already held locally; they are not fetched. Nil:
	// nothing is held.
	Have func(c cid.Cid) (bool, error)
	// Local reads a held block so that the walk continues below it (raw
	// blocks are never read). Required when Have is set.
	Local func(c cid.Cid) ([]byte, error)
	// Progress, if set, is called after each block written to the sink,
	// from one goroutine at a time.
	Progress func(Progress)
	// MoreProviders, if set, brings candidates found after the fetch
	// started (the DHT still answering): each joins the fetch, in a session
	// of its own if fewer than Parallel run. Read until it is closed or the
	// fetch ends.
	MoreProviders <-chan peer.ID
	// Parallel is how many providers are used at once. Default 4.
	Parallel int
	// Shallow fetches the root block only, not the DAG below it (for
	// resolving a path one step at a time).
	Shallow bool
	// Wants, if set, are fetched instead of the root (with Shallow, these
	// blocks alone; else the DAGs below them). The root still names the DAG
	// to the providers, whose policy decides on it and who send only blocks
	// below it. Each want must come from a block the caller verified (a link
	// of it), as the CIDs of the DAG below it then do.
	Wants []cid.Cid
}

// Progress is a snapshot of a running fetch.
type Progress struct {
	Bytes, Blocks int64 // written to the sink so far
	Providers     int   // providers that delivered at least one block
}

// Stats describe a finished (or failed) fetch.
type Stats struct {
	Bytes, Blocks int64 // written to the sink
	Held          int64 // blocks found locally (Have), not fetched
	Duplicates    int64 // blocks received more than once (discarded)
	Requests      int64 // requests sent
	// Served counts the blocks each provider delivered.
	Served map[peer.ID]int64
	// Dropped says why providers were dropped.
	Dropped []error
}

const (
	// maxSessionRetries is how many more sessions a provider gets after
	// one broke once it had delivered blocks.
	maxSessionRetries = 2
	defaultParallel   = 4
	minBudget         = 4 << 20
	maxBudget         = 64 << 20
)

// Fetch retrieves the DAG below root (or, with Shallow, the root block) from
// opts.Providers and writes every block that is not already held to sink,
// verified. On error, the blocks already written stay in the sink (a later
// Fetch with Have resumes from them). Errors wrap ErrNoProviders, ErrNotFound,
// ErrBadDAG, the sink's error, or ctx's.
func (s *Service) Fetch(ctx context.Context, root cid.Cid, sink Sink, opts FetchOptions) (Stats, error) {
	if !s.begin() {
		return Stats{}, ErrClosed
	}
	defer s.wg.Done()
	if !root.Defined() {
		return Stats{}, errors.New("retrieval: fetch: undefined root CID")
	}
	if opts.Have != nil && opts.Local == nil {
		return Stats{}, errors.New("retrieval: fetch: FetchOptions.Have needs Local")
	}
	if opts.Parallel <= 0 {
		opts.Parallel = defaultParallel
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stop := context.AfterFunc(s.ctx, func() { cancel(ErrClosed) })
	defer stop()

	f := &fetch{
		s:       s,
		ctx:     ctx,
		cancel:  cancel,
		root:    root,
		sink:    sink,
		opts:    opts,
		items:   make(map[cid.Cid]*item),
		retried: make(map[peer.ID]int),
		changed: make(chan struct{}),
		stats:   Stats{Served: make(map[peer.ID]int64)},
	}
	f.candidates = slices.Clone(opts.Providers)
	err := f.run()
	f.mu.Lock()
	st := f.stats
	st.Served = maps(f.stats.Served)
	st.Dropped = slices.Clone(f.stats.Dropped)
	f.mu.Unlock()
	if err != nil {
		return st, fmt.Errorf("retrieval: fetch %s: %w", root, err)
	}
	return st, nil
}

func maps(m map[peer.ID]int64) map[peer.ID]int64 {
	out := make(map[peer.ID]int64, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// item is a CID the fetch knows it needs (or has).
type item struct {
	done    bool      // in the sink or held locally
	owner   *exchange // the request it is assigned to; nil: in the frontier
	lacking []peer.ID // providers that reported it missing
	// pos is where the block first turned up in the DAG: its parent's pos
	// and its place among the parent's new links. The frontier is handed
	// out in pos order, the order of a depth-first walk, so that a file
	// arrives from its start whatever requests were cut short; a reader
	// streaming it meanwhile finds its next blocks arriving next.
	pos []uint32
}

// childPos is the pos of the i-th new link of a block at parent.
func childPos(parent []uint32, i int) []uint32 {
	return append(slices.Clip(parent), uint32(i))
}

func (it *item) lackedBy(p peer.ID) bool { return slices.Contains(it.lacking, p) }

// fetch is the state of one Fetch.
type fetch struct {
	s      *Service
	ctx    context.Context
	cancel context.CancelCauseFunc
	root   cid.Cid
	sink   Sink
	opts   FetchOptions

	mu         sync.Mutex
	items      map[cid.Cid]*item // guarded by mu
	frontier   []cid.Cid         // needed, unassigned; may hold stale (done or owned) entries
	inflight   int               // requests under way
	workers    int               // sessions still running
	candidates []peer.ID         // providers not yet tried
	retried    map[peer.ID]int   // sessions given again to a provider whose session broke
	changed    chan struct{}     // closed and replaced on every change
	stats      Stats
	fatal      error // ends the fetch

	sinkMu sync.Mutex // serializes Put and Progress
}

// signalLocked wakes every waiting session. Must hold mu.
func (f *fetch) signalLocked() {
	close(f.changed)
	f.changed = make(chan struct{})
}

// failLocked ends the fetch with err (the first one wins). Must hold mu.
func (f *fetch) failLocked(err error) {
	if f.fatal == nil {
		f.fatal = err
		f.cancel(err) // resets every session's stream
	}
	f.signalLocked()
}

func (f *fetch) run() error {
	// Seed: the root, or what is missing below a held root.
	seeds := []cid.Cid{f.root}
	if len(f.opts.Wants) > 0 {
		seeds = f.opts.Wants
	}
	held, missing, err := f.expand(seeds, !f.opts.Shallow)
	if err != nil {
		return err
	}
	f.mu.Lock()
	for _, c := range held {
		f.items[c] = &item{done: true}
	}
	f.stats.Held = int64(len(held))
	for i, c := range missing {
		f.items[c] = &item{pos: childPos(nil, i)}
		f.frontier = append(f.frontier, c)
	}
	f.mu.Unlock()
	if len(missing) == 0 {
		return nil
	}
	if len(f.opts.Providers) == 0 {
		return ErrNoProviders
	}
	n := min(f.opts.Parallel, len(f.candidates))
	var wg sync.WaitGroup
	f.mu.Lock()
	f.workers = n
	f.mu.Unlock()
	for range n {
		wg.Go(f.worker)
	}
	if f.opts.MoreProviders != nil {
		stop, done := make(chan struct{}), make(chan struct{})
		go func() {
			defer close(done)
			f.addProviders(&wg, stop)
		}()
		wg.Wait()
		close(stop)
		<-done
	} else {
		wg.Wait()
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fatal != nil {
		return f.fatal
	}
	if err := context.Cause(f.ctx); err != nil {
		return err
	}
	// Whatever is left: lacking everywhere, or no provider left standing.
	var lacked []cid.Cid
	left := 0
	for _, c := range f.frontier {
		it := f.items[c]
		if it.done || it.owner != nil {
			continue
		}
		left++
		if len(it.lacking) > 0 && len(lacked) < 3 {
			lacked = append(lacked, c)
		}
	}
	if left == 0 {
		return nil
	}
	var dropped error
	if len(f.stats.Dropped) > 0 {
		dropped = joined(f.stats.Dropped)
	}
	if len(lacked) > 0 {
		err := fmt.Errorf("%w: block %s (blocks still missing: %d)", ErrNotFound, lacked[0], left)
		if dropped != nil {
			err = fmt.Errorf("%w; dropped: %w", err, dropped)
		}
		return err
	}
	if dropped != nil {
		return fmt.Errorf("%w (blocks still missing: %d): %w", ErrNoProviders, left, dropped)
	}
	return fmt.Errorf("%w (blocks still missing: %d)", ErrNoProviders, left)
}

// addProviders adds the providers MoreProviders brings to the candidates,
// starting a worker for each while fewer than Parallel run, until the
// channel closes, stop (the workers all ended) or the fetch ends.
func (f *fetch) addProviders(wg *sync.WaitGroup, stop <-chan struct{}) {
	seen := make(map[peer.ID]bool, len(f.opts.Providers))
	for _, p := range f.opts.Providers {
		seen[p] = true
	}
	for {
		var p peer.ID
		select {
		case q, ok := <-f.opts.MoreProviders:
			if !ok {
				return
			}
			p = q
		case <-stop:
			return
		case <-f.ctx.Done():
			return
		}
		if seen[p] {
			continue
		}
		seen[p] = true
		f.mu.Lock()
		// A worker still counted has not returned, so wg's count is above
		// zero while we add to it; with none left the fetch is over.
		if f.workers == 0 || f.fatal != nil {
			f.mu.Unlock()
			return
		}
		f.candidates = append(f.candidates, p)
		start := f.workers < f.opts.Parallel
		if start {
			f.workers++
			wg.Add(1)
		}
		f.signalLocked()
		f.mu.Unlock()
		if start {
			go func() {
				defer wg.Done()
				f.worker()
			}()
		}
	}
}

// joined is errors.Join on one line.
type joined []error

func (j joined) Error() string {
	var b strings.Builder
	for i, err := range j {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(err.Error())
	}
	return b.String()
}

func (j joined) Unwrap() []error { return j }

// expand classifies cs (and, through held blocks, their descendants) into
// held and missing, reading held non-raw blocks through Local when walk is
// set. It takes no lock; items already known are skipped by the caller.
func (f *fetch) expand(cs []cid.Cid, walk bool) (held, missing []cid.Cid, err error) {
	if f.opts.Have == nil {
		return nil, cs, nil
	}
	seen := make(map[cid.Cid]struct{})
	var visit func(c cid.Cid) error
	visit = func(c cid.Cid) error {
		if _, ok := seen[c]; ok {
			return nil
		}
		seen[c] = struct{}{}
		ok, err := f.opts.Have(c)
		if err != nil {
			return fmt.Errorf("local block %s: %w", c, err)
		}
		if !ok {
			missing = append(missing, c)
			return nil
		}
		held = append(held, c)
		if !walk || c.Type() == cid.Raw {
			return nil
		}
		data, err := f.opts.Local(c)
		if err != nil {
			return fmt.Errorf("local block %s: %w", c, err)
		}
		kids, err := f.s.cfg.Links(c, data)
		if err != nil {
			return fmt.Errorf("%w: local block %s: %v", ErrBadDAG, c, err)
		}
		for _, k := range kids {
			if err := visit(k); err != nil {
				return err
			}
		}
		return nil
	}
	for _, c := range cs {
		if err := visit(c); err != nil {
			return nil, nil, err
		}
	}
	return held, missing, nil
}

// worker runs provider sessions, one after another, until the fetch ends or
// no candidate is left.
func (f *fetch) worker() {
	defer func() {
		f.mu.Lock()
		f.workers--
		f.signalLocked()
		f.mu.Unlock()
	}()
	for {
		f.mu.Lock()
		if len(f.candidates) == 0 || f.fatal != nil || f.ctx.Err() != nil {
			f.mu.Unlock()
			return
		}
		p := f.candidates[0]
		f.candidates = f.candidates[1:]
		served := f.stats.Served[p]
		f.mu.Unlock()

		finished, err := f.session(p)
		if err != nil && f.ctx.Err() == nil {
			f.mu.Lock()
			// A provider that delivered blocks in this session is alive:
			// its connection broke (closed by a connection manager, a
			// network change). Unless it lied, it gets another session.
			again := f.stats.Served[p] > served && !errors.Is(err, ErrProtocol) && f.retried[p] < maxSessionRetries
			if again {
				f.retried[p]++
				f.candidates = append(f.candidates, p)
			} else {
				f.stats.Dropped = append(f.stats.Dropped, &ProviderError{Peer: p, Err: err})
			}
			f.mu.Unlock()
			f.s.log.Debug("provider session failed", "peer", p, "root", f.root, "again", again, "err", err)
		}
		if finished {
			return
		}
	}
}

// take waits for work for provider p and assigns it to a new exchange.
// It returns nil with finished set when the fetch is complete or over, and
// nil with finished unset when p can do nothing more (it lacks what is left
// and nothing is in flight that could add more).
func (f *fetch) take(p peer.ID, budget int64) (ex *exchange, finished bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for {
		if f.fatal != nil || f.ctx.Err() != nil {
			return nil, true
		}
		// Compact the frontier and pick p's share.
		avail := 0
		live := f.frontier[:0]
		for _, c := range f.frontier {
			it := f.items[c]
			if it.done || it.owner != nil {
				continue
			}
			live = append(live, c)
			if !it.lackedBy(p) {
				avail++
			}
		}
		clear(f.frontier[len(live):])
		f.frontier = live
		slices.SortFunc(live, func(a, b cid.Cid) int { return slices.Compare(f.items[a].pos, f.items[b].pos) })
		if len(live) == 0 && f.inflight == 0 {
			return nil, true
		}
		if avail > 0 {
			share := min(maxWants, max(1, (avail+f.workers-1)/f.workers))
			ex := &exchange{f: f, p: p, allowed: make(map[cid.Cid]bool), budget: budget}
			rest := f.frontier[:0]
			for _, c := range f.frontier {
				it := f.items[c]
				if len(ex.wants) < share && !it.lackedBy(p) {
					it.owner = ex
					ex.wants = append(ex.wants, c)
					ex.allowed[c] = true
					continue
				}
				rest = append(rest, c)
			}
			clear(f.frontier[len(rest):])
			f.frontier = rest
			ex.owned = slices.Clone(ex.wants)
			f.inflight++
			f.stats.Requests++
			return ex, false
		}
		if f.inflight == 0 {
			return nil, false // p lacks everything left
		}
		ch := f.changed
		f.mu.Unlock()
		select {
		case <-ch:
		case <-f.ctx.Done():
		}
		f.mu.Lock()
	}
}

// finish returns what ex owed and did not deliver to the frontier.
func (f *fetch) finish(ex *exchange) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range ex.owned {
		it := f.items[c]
		if it.owner != ex {
			continue
		}
		it.owner = nil
		if !it.done {
			if ex.missing[c] {
				it.lacking = append(it.lacking, ex.p)
			}
			f.frontier = append(f.frontier, c)
		}
	}
	f.inflight--
	f.signalLocked()
}

// session serves exchanges with provider p until p has nothing more to do.
// finished reports that the whole fetch is over.
func (f *fetch) session(p peer.ID) (finished bool, err error) {
	var (
		sc       *sessionConn
		budget   int64 = minBudget
		lastUsed time.Time
	)
	defer func() {
		if sc != nil {
			sc.close(err == nil)
		}
	}()
	for {
		ex, fin := f.take(p, budget)
		if ex == nil {
			return fin, nil
		}
		// The provider may end a session that idled while we waited for
		// work; start a fresh one well before its deadline.
		if sc != nil && time.Since(lastUsed) > f.s.cfg.IdleTimeout/2 {
			sc.close(true)
			sc = nil
		}
		for attempt := 0; ; attempt++ {
			reused := sc != nil
			if sc == nil {
				if sc, err = f.dial(p); err != nil {
					f.finish(ex)
					return false, err
				}
			}
			var started bool
			started, err = sc.exchange(ex)
			if err != nil && reused && !started && attempt == 0 && f.ctx.Err() == nil && !errors.Is(err, ErrProtocol) {
				// The provider closed the idle session before reading
				// this request: try once more on a new stream.
				sc.close(false)
				sc = nil
				continue
			}
			break
		}
		lastUsed = time.Now()
		f.finish(ex)
		if err != nil {
			return false, err
		}
		budget = min(2*budget, maxBudget)
	}
}
