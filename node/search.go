package node

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/myconet/myconet/metadata"
	"github.com/myconet/myconet/mri"
	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/search"
)

// Search limits.
const (
	// DefaultSearchLimit is the number of results when SearchOptions.Limit is 0.
	DefaultSearchLimit = 20
	// searchTimeout bounds a whole network search.
	searchTimeout = 10 * time.Second
)

// searchState is the node's view of its persisted search index
// (search_index.go), kept current by syncSearch.
type searchState struct {
	syncMu sync.Mutex // serializes syncSearch and reindexSearch

	mu sync.RWMutex // guards the fields below
	// indexed is the set of packages in the persisted index: nil until the
	// first sync of this process reads it.
	indexed map[cid.Cid]bool
	kick    chan struct{} // wakes the announcer after a change; cap 1
	gen     uint64        // bumped by every change of the indexed set
	annGen  uint64        // the gen whose terms the announcer last finished
	read    int           // package roots read to index them (a test probe)
}

// kickChan returns the announcer's wake-up channel.
func (s *searchState) kickChan() chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.kick == nil {
		s.kick = make(chan struct{}, 1)
	}
	return s.kick
}

// changed bumps the generation and wakes the announcer.
func (s *searchState) changed() {
	s.mu.Lock()
	s.gen++
	if s.kick == nil {
		s.kick = make(chan struct{}, 1)
	}
	kick := s.kick
	s.mu.Unlock()
	select {
	case kick <- struct{}{}:
	default:
	}
}

// syncSearch brings the persisted index in line with the store: every
// pinned package root is indexed, nothing else. Only the packages that
// differ are read or removed. The first sync of a process, GC and the
// announcer's hourly round compare all pins; a corrupt index is dropped
// and built again.
func (n *Node) syncSearch() error { return n.syncSearchRoots(nil) }

// syncSearchRoots is syncSearch for the given package roots only (all of
// them when roots is nil, or before the first sync).
func (n *Node) syncSearchRoots(roots []cid.Cid) error {
	s := &n.srch
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	err := n.syncSearchLocked(roots)
	if isCorrupt(err) {
		if err = n.dropSearchIndex(err); err == nil {
			err = n.syncSearchLocked(nil)
		}
	}
	if err != nil {
		return storeErr(err)
	}
	return nil
}

func (n *Node) syncSearchLocked(roots []cid.Cid) error {
	s := &n.srch
	s.mu.RLock()
	first := s.indexed == nil
	s.mu.RUnlock()
	var remove []string
	if first {
		set, bad, err := n.indexedPackages()
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
		pins, err := n.db.Pins()
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
		pins, err := n.db.PinsOf(c)
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
		d, err := n.docOf(c)
		if err != nil {
			n.log.Warn("search: cannot index package", "package", c, "err", err)
			continue
		}
		docs = append(docs, d)
	}
	s.mu.Lock()
	s.read += len(add)
	s.mu.Unlock()
	err := n.applySearch(docs, remove)
	s.changed()
	return err
}

// searchChanged is called after the pins of roots change (nil: of
// packages not known, as after GC); errors are logged, not returned: the
// index catches up on the next full sync.
func (n *Node) searchChanged(roots ...cid.Cid) {
	if err := n.syncSearchRoots(roots); err != nil {
		n.log.Warn("search: index update failed", "err", err)
	}
}

// docOf reads a package root from the store as a search document.
func (n *Node) docOf(c cid.Cid) (search.Doc, error) {
	pkg, _, err := n.rootOf(c)
	if err != nil {
		return search.Doc{}, err
	}
	return search.DocFromMeta(c.String(), pkg.Meta, PeerIDFromEd25519(pkg.Publisher), n.annotationTags(c)), nil
}

// rootOf reads and decodes a stored package root block.
func (n *Node) rootOf(c cid.Cid) (*metadata.Package, []byte, error) {
	data, err := n.db.Get(c)
	if err != nil {
		return nil, nil, err
	}
	pkg, err := metadata.Decode(data)
	if err != nil {
		return nil, nil, err
	}
	return pkg, data, nil
}

// localSearch runs q on the node's index, leaving out the packages
// withheld reports (the node's moderation policy: n.withheld).
func (n *Node) localSearch(q search.Query, limit int, withheld func(cid.Cid) bool) ([]search.Result, search.SearchResponse, error) {
	if err := n.ensureSearchLoaded(); err != nil {
		return nil, search.SearchResponse{}, err
	}
	var (
		res  []search.Result
		resp search.SearchResponse
	)
	run := func(ix search.Stored) error {
		var err error
		if res, err = ix.SearchFunc(q, limit, skipWithheld(withheld)); err != nil {
			return err
		}
		st, err := ix.Stats()
		if err != nil {
			return err
		}
		resp = search.SearchResponse{Docs: st.Docs}
		for _, t := range q.RequiredTerms() {
			df, err := ix.DF(t)
			if err != nil {
				return err
			}
			resp.DF = append(resp.DF, df)
		}
		return nil
	}
	err := n.viewSearch(run)
	if isCorrupt(err) { // rebuild, then answer from the rebuilt index
		n.srch.syncMu.Lock()
		err = n.dropSearchIndex(err)
		n.srch.syncMu.Unlock()
		if err == nil {
			err = n.syncSearch()
		}
		if err == nil {
			err = n.viewSearch(run)
		}
	}
	if err != nil {
		return nil, search.SearchResponse{}, storeErr(err)
	}
	return res, resp, nil
}

// ensureSearchLoaded runs the first sync of this process.
func (n *Node) ensureSearchLoaded() error {
	n.srch.mu.RLock()
	loaded := n.srch.indexed != nil
	n.srch.mu.RUnlock()
	if loaded {
		return nil
	}
	return n.syncSearch()
}

// localDF is the document frequency of term in the node's index.
func (n *Node) localDF(term string) int {
	var df int
	err := n.viewSearch(func(ix search.Stored) error {
		var err error
		df, err = ix.DF(term)
		return err
	})
	if err != nil {
		return 0
	}
	return df
}

// heldTerms returns the distinct terms of every indexed package, sorted.
func (n *Node) heldTerms() []string {
	var out []string
	err := n.viewSearch(func(ix search.Stored) error {
		return ix.Terms(func(t string) bool {
			out = append(out, t)
			return true
		})
	})
	if err != nil {
		n.log.Warn("search: cannot list the held terms", "err", err)
	}
	return out
}

// parseSearch parses the query text and applies the options' filters.
func parseSearch(text string, opts apitype.SearchOptions) (search.Query, int, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return search.Query{}, 0, apitype.Errorf(apitype.CodeInvalid, "empty query: give at least one word")
	}
	q, err := search.ParseQuery(text)
	if err != nil {
		return search.Query{}, 0, apitype.Errorf(apitype.CodeInvalid, "%s", strings.TrimPrefix(err.Error(), "search: "))
	}
	set := func(key, v string) error {
		if v == "" {
			return nil
		}
		if err := q.SetFilter(key, v); err != nil {
			return apitype.Errorf(apitype.CodeInvalid, "--%s: %s", key, strings.TrimPrefix(err.Error(), "search: "))
		}
		return nil
	}
	for _, f := range []struct{ k, v string }{{"kind", opts.Kind}, {"language", opts.Language}, {"license", opts.License}, {"publisher", opts.Publisher}} {
		if err := set(f.k, f.v); err != nil {
			return q, 0, err
		}
	}
	for _, t := range opts.Tags {
		if err := set("tag", t); err != nil {
			return q, 0, err
		}
	}
	if len(q.String()) > search.MaxQueryLen {
		return q, 0, apitype.Errorf(apitype.CodeInvalid, "query too long (at most %d bytes)", search.MaxQueryLen)
	}
	limit := opts.Limit
	switch {
	case limit < 0:
		return q, 0, apitype.Errorf(apitype.CodeInvalid, "limit must be positive")
	case limit == 0:
		limit = DefaultSearchLimit
	case limit > search.MaxResults:
		limit = search.MaxResults
	}
	return q, limit, nil
}

// hit is a verified package a search found.
type hit struct {
	doc     search.Doc
	pkg     *metadata.Package
	score   float64
	holders map[string]bool
	local   bool
}

func (h *hit) result(c cid.Cid) apitype.SearchResult {
	m, _ := mri.New(c, "")
	meta := h.pkg.Meta
	return apitype.SearchResult{
		MRI: m.String(), Package: c.String(), Title: meta.Title, Description: meta.Description,
		Kind: meta.Kind, Language: meta.Language, License: meta.License, Tags: meta.Tags,
		Authors: meta.Authors, Size: int64(meta.Size), Files: int64(meta.Files), Created: meta.Created,
		Publisher: h.doc.Publisher, Score: h.score, Holders: len(h.holders), Local: h.local,
	}
}

// Search implements API: the node's own index, then (online, unless
// opts.Local) the nodes that announce the query's rarest terms. Results
// stream through onResult (if non-nil) as they are verified; the returned
// list is ranked by this node over all of them.
func (n *Node) Search(ctx context.Context, query string, opts apitype.SearchOptions, onResult func(apitype.SearchResult)) ([]apitype.SearchResult, error) {
	res, err := n.search(ctx, query, opts, onResult)
	if err != nil {
		return nil, err
	}
	return res.Results, nil
}

func (n *Node) search(ctx context.Context, query string, opts apitype.SearchOptions, onResult func(apitype.SearchResult)) (apitype.SearchResults, error) {
	defer n.metrics.observeSearch(opts.Local || n.network() == nil, time.Now())
	return n.searchExcept(ctx, query, opts, onResult, n.withheldCached)
}

// searchExcept is search without the packages withheld reports, whether
// this node or a responder holds them.
func (n *Node) searchExcept(ctx context.Context, query string, opts apitype.SearchOptions, onResult func(apitype.SearchResult), withheld func(cid.Cid) bool) (apitype.SearchResults, error) {
	q, limit, err := parseSearch(query, opts)
	if err != nil {
		return apitype.SearchResults{}, err
	}
	// This node's best, as many as a responder sends: the merged ranking
	// below re-scores them with the statistics of all responders.
	local, stats, err := n.localSearch(q, min(search.MaxResults, limit*searchResponderLimit), withheld)
	if err != nil {
		return apitype.SearchResults{}, err
	}
	self := n.id.PeerID.String()
	hits := map[cid.Cid]*hit{}
	var order []cid.Cid
	emit := func(c cid.Cid, h *hit) {
		if onResult != nil {
			onResult(h.result(c))
		}
	}
	// Statistics for ranking the merged results: sums over the responders
	// (this node included); replicas count several times, in proportion.
	totalDocs := stats.Docs
	df := map[string]int{}
	required := q.RequiredTerms()
	for i, t := range required {
		df[t] += stats.DF[i]
	}
	for _, r := range local {
		c, err := cid.Decode(r.ID)
		if err != nil {
			continue
		}
		pkg, _, err := n.rootOf(c)
		if err != nil {
			continue
		}
		h := &hit{doc: search.DocFromMeta(r.ID, pkg.Meta, PeerIDFromEd25519(pkg.Publisher), n.annotationTags(c)), pkg: pkg, score: r.Score, holders: map[string]bool{self: true}, local: true}
		hits[c] = h
		order = append(order, c)
		emit(c, h)
	}
	var out apitype.SearchResults
	rank := func() []search.Result {
		docs := make([]search.Doc, 0, len(order))
		for _, c := range order {
			docs = append(docs, hits[c].doc)
		}
		return search.Rank(q, docs, max(totalDocs, len(docs)), func(t string) int {
			return max(df[t], 1)
		}, limit)
	}
	if ns := n.network(); ns != nil && !opts.Local {
		sctx, cancel := context.WithTimeout(ctx, searchTimeout)
		defer cancel()
		var top []search.Result
		// Another wave is worth asking while the last one changed the top
		// results (or filled fewer than limit).
		more := func() bool {
			next := rank()
			changed := len(next) < limit || !slices.EqualFunc(next, top, func(a, b search.Result) bool { return a.ID == b.ID })
			top = next
			return changed
		}
		n.remoteSearch(sctx, ns, q, limit, func(from string, resp search.SearchResponse) {
			out.Answered++
			totalDocs += resp.Docs
			if len(resp.DF) == len(required) {
				for i, t := range required {
					df[t] += resp.DF[i]
				}
			}
			for _, wr := range dropWithheld(resp.Results, withheld) {
				pkg, err := search.VerifyResult(wr)
				if err != nil {
					out.Dropped++
					n.log.Debug("search: dropped forged result", "from", from, "err", err)
					continue
				}
				if h, ok := hits[wr.PackageCID]; ok {
					h.holders[from] = true
					continue
				}
				doc := search.DocFromMeta(wr.PackageCID.String(), pkg.Meta, PeerIDFromEd25519(pkg.Publisher), n.annotationTags(wr.PackageCID))
				if !search.Match(q, doc) {
					out.Dropped++
					n.log.Debug("search: dropped result that does not match", "from", from, "package", wr.PackageCID)
					continue
				}
				h := &hit{doc: doc, pkg: pkg, score: wr.Score, holders: map[string]bool{from: true}}
				hits[wr.PackageCID] = h
				order = append(order, wr.PackageCID)
				emit(wr.PackageCID, h)
			}
		}, more, &out.Asked)
	}
	ranked := rank()
	out.Results = make([]apitype.SearchResult, 0, len(ranked))
	for _, r := range ranked {
		c, _ := cid.Decode(r.ID)
		h := hits[c]
		h.score = r.Score
		out.Results = append(out.Results, h.result(c))
	}
	if err := ctx.Err(); err != nil && len(out.Results) == 0 {
		return out, err
	}
	return out, nil
}

// reindexSearch indexes the package rooted at c anew, after something that
// docOf reads besides the root changed (its community annotations). A
// package not indexed stays unindexed.
func (n *Node) reindexSearch(c cid.Cid) {
	s := &n.srch
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	s.mu.RLock()
	held := s.indexed[c]
	s.mu.RUnlock()
	if !held {
		return
	}
	d, err := n.docOf(c)
	if err != nil {
		n.log.Warn("search: cannot reindex package", "package", c, "err", err)
		return
	}
	if err := n.updateSearch(func(ix search.Stored) error { return ix.Add(d) }); err != nil {
		n.log.Warn("search: cannot reindex package", "package", c, "err", err)
		return
	}
	s.changed()
}
