package searchsvc

import (
	"context"
	"slices"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/myconet/myconet/metadata"
	"github.com/myconet/myconet/mri"
	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/internal/svc"
	"github.com/myconet/myconet/search"
)

// searchTimeout bounds a whole network search.
const searchTimeout = 10 * time.Second

// localSearch runs q on the node's index, leaving out the packages
// withheld reports.
func (s *Service) localSearch(q search.Query, limit int, withheld func(cid.Cid) bool) ([]search.Result, search.SearchResponse, error) {
	if err := s.ensureLoaded(); err != nil {
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
	err := s.View(run)
	if isCorrupt(err) { // rebuild, then answer from the rebuilt index
		s.syncMu.Lock()
		err = s.dropIndex(err)
		s.syncMu.Unlock()
		if err == nil {
			err = s.sync()
		}
		if err == nil {
			err = s.View(run)
		}
	}
	if err != nil {
		return nil, search.SearchResponse{}, err
	}
	return res, resp, nil
}

// localDF is the document frequency of term in the node's index.
func (s *Service) localDF(term string) int {
	var df int
	err := s.View(func(ix search.Stored) error {
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
func (s *Service) heldTerms() []string {
	var out []string
	err := s.View(func(ix search.Stored) error {
		return ix.Terms(func(t string) bool {
			out = append(out, t)
			return true
		})
	})
	if err != nil {
		s.log.Warn("search: cannot list the held terms", "err", err)
	}
	return out
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

// Search searches the node's own index, then (online, unless opts.Local)
// the nodes that announce the query's rarest terms, leaving out what the
// moderation policy withholds. Results stream through onResult (if
// non-nil) as they are verified; the returned list is ranked by this node
// over all of them. Errors of the store come back as the store gives them.
func (s *Service) Search(ctx context.Context, query string, opts apitype.SearchOptions, onResult func(apitype.SearchResult)) (apitype.SearchResults, error) {
	return s.SearchExcept(ctx, query, opts, onResult, s.withheld)
}

// SearchExcept is Search without the packages withheld reports in place of
// the moderation policy, whether this node or a responder holds them.
func (s *Service) SearchExcept(ctx context.Context, query string, opts apitype.SearchOptions, onResult func(apitype.SearchResult), withheld func(cid.Cid) bool) (apitype.SearchResults, error) {
	q, limit, err := parseQuery(query, opts)
	if err != nil {
		return apitype.SearchResults{}, err
	}
	// This node's best, as many as a responder sends: the merged ranking
	// below re-scores them with the statistics of all responders.
	local, stats, err := s.localSearch(q, min(search.MaxResults, limit*searchResponderLimit), withheld)
	if err != nil {
		return apitype.SearchResults{}, err
	}
	self := s.self.String()
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
		pkg, _, err := svc.PackageRoot(s.db, c)
		if err != nil {
			continue
		}
		h := &hit{doc: s.doc(c, pkg), pkg: pkg, score: r.Score, holders: map[string]bool{self: true}, local: true}
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
	if net := s.online(); net != nil && !opts.Local {
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
		s.remoteSearch(sctx, net, q, limit, func(from string, resp search.SearchResponse) {
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
					s.log.Debug("search: dropped forged result", "from", from, "err", err)
					continue
				}
				if h, ok := hits[wr.PackageCID]; ok {
					h.holders[from] = true
					continue
				}
				doc := s.doc(wr.PackageCID, pkg)
				if !search.Match(q, doc) {
					out.Dropped++
					s.log.Debug("search: dropped result that does not match", "from", from, "package", wr.PackageCID)
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

// parseQuery reads a query text with the options' filters and limit the
// way every node does (search.ParseOptions); a bad query is one
// CodeInvalid error.
func parseQuery(text string, opts apitype.SearchOptions) (search.Query, int, error) {
	q, limit, err := search.ParseOptions(text, search.Options{
		Kind: opts.Kind, Language: opts.Language, License: opts.License, Publisher: opts.Publisher,
		Tags: opts.Tags, Limit: opts.Limit,
	})
	return q, limit, apitype.Wrap(apitype.CodeInvalid, err)
}
