package search

import (
	"cmp"
	"math"
	"slices"
	"strings"
)

// BM25 parameters.
const (
	bm25K1 = 1.2
	bm25B  = 0.75
)

// Index is an in-memory inverted index of documents with BM25F ranking.
// The zero value is not usable; call NewIndex. An Index is not safe for
// concurrent use: the caller serializes calls (Search and Match only read,
// so a RWMutex suits).
//
// Each document is kept as a forward index (term → fields → positions) and
// each term maps to the set of documents holding it. Persisting the index
// is the caller's choice: the documents are small and Add is fast, so a
// node can rebuild the index from the packages it stores.
type Index struct {
	docs     map[string]*analyzed
	postings map[string][]*analyzed // term → the documents that hold it, in no order
	totalLen [NumFields]uint64      // sum of field lengths over docs
	nonEmpty [NumFields]int         // documents where the field is not empty
	pairs    int                    // number of (term, document) pairs
}

// Result is a document that matches a query, with its score.
type Result struct {
	ID    string
	Score float64
}

// Stats describes the contents of an index.
type Stats struct {
	Docs     int                // documents
	Terms    int                // distinct terms
	Postings int                // (term, document) pairs
	AvgLen   [NumFields]float64 // mean length of each field, in terms
}

// NewIndex returns an empty index.
func NewIndex() *Index {
	return &Index{
		docs:     make(map[string]*analyzed),
		postings: make(map[string][]*analyzed),
	}
}

// Add indexes d, replacing any document with the same ID.
func (ix *Index) Add(d Doc) {
	ix.Remove(d.ID)
	a := analyze(d)
	ix.docs[d.ID] = a
	for t := range a.terms {
		ix.postings[t] = append(ix.postings[t], a)
	}
	ix.pairs += len(a.terms)
	for f, n := range a.lens {
		ix.totalLen[f] += uint64(n)
		if n > 0 {
			ix.nonEmpty[f]++
		}
	}
}

// Remove removes the document id and reports whether it was indexed.
func (ix *Index) Remove(id string) bool {
	a := ix.docs[id]
	if a == nil {
		return false
	}
	delete(ix.docs, id)
	for t := range a.terms {
		// Swap-delete: a linear scan, but Add, the common operation,
		// only appends.
		list := ix.postings[t]
		i := slices.Index(list, a)
		last := len(list) - 1
		list[i], list[last] = list[last], nil
		if last == 0 {
			delete(ix.postings, t)
		} else {
			ix.postings[t] = list[:last]
		}
	}
	ix.pairs -= len(a.terms)
	for f, n := range a.lens {
		ix.totalLen[f] -= uint64(n)
		if n > 0 {
			ix.nonEmpty[f]--
		}
	}
	return true
}

// Has reports whether the document id is indexed.
func (ix *Index) Has(id string) bool { return ix.docs[id] != nil }

// DF returns the document frequency of term: how many documents hold it
// in any field. A term that DF reports as 0 after a Remove is one the node
// no longer provides.
func (ix *Index) DF(term string) int { return len(ix.postings[term]) }

// Stats returns counts and mean field lengths.
func (ix *Index) Stats() Stats {
	return Stats{
		Docs:     len(ix.docs),
		Terms:    len(ix.postings),
		Postings: ix.pairs,
		AvgLen:   ix.avgLen(),
	}
}

func (ix *Index) avgLen() [NumFields]float64 {
	var avg [NumFields]float64
	for f, t := range ix.totalLen {
		if n := ix.nonEmpty[f]; n > 0 {
			avg[f] = float64(t) / float64(n)
		}
	}
	return avg
}

// Search returns the documents that match q, best first: by score
// descending, then by ID. limit <= 0 means no limit.
func (ix *Index) Search(q Query, limit int) []Result { return ix.SearchFunc(q, limit, nil) }

// SearchFunc is Search without the documents for which skip (when non-nil)
// returns true. skip is asked only about documents that would enter the
// results, so an expensive check (a moderation decision) costs little.
func (ix *Index) SearchFunc(q Query, limit int, skip func(id string) bool) []Result {
	req := q.RequiredTerms()
	if len(req) == 0 {
		return nil
	}
	// Candidates: the documents of the rarest required term.
	rarest := slices.MinFunc(req, func(a, b string) int { return cmp.Compare(ix.DF(a), ix.DF(b)) })
	cand := ix.postings[rarest]
	if len(cand) == 0 {
		return nil
	}
	st := newScorer(req, len(ix.docs), ix.DF, ix.avgLen())
	top := topK{limit: limit}
	for _, a := range cand {
		// Filters first (no lookups); score looks up every required term
		// once and fails when one is missing; matchesText checks the rest.
		if !filtersMatch(q, a) {
			continue
		}
		if score, ok := st.score(a); ok && matchesText(q, a) {
			r := Result{ID: a.id, Score: score}
			if top.admits(r) && (skip == nil || !skip(a.id)) {
				top.push(r)
			}
		}
	}
	return top.sorted()
}

// Match reports whether d matches q, with the same semantics as Search. A
// searcher uses it to drop results that a remote responder claims match
// but do not.
func (ix *Index) Match(q Query, d Doc) bool { return Match(q, d) }

// Match reports whether d matches q, with the same semantics as
// Index.Search.
func Match(q Query, d Doc) bool {
	if len(q.Terms) == 0 && len(q.Phrases) == 0 {
		return false
	}
	return matches(q, analyze(d))
}

func matches(q Query, a *analyzed) bool {
	for _, t := range q.Terms {
		if !a.has(t) {
			return false
		}
	}
	return filtersMatch(q, a) && matchesText(q, a)
}

func filtersMatch(q Query, a *analyzed) bool {
	switch {
	case q.Kind != "" && a.kind != q.Kind,
		q.Language != "" && a.lang != q.Language && !strings.HasPrefix(a.lang, q.Language+"-"),
		q.License != "" && !strings.EqualFold(a.license, q.License),
		q.Publisher != "" && a.publisher != q.Publisher:
		return false
	}
	for _, t := range q.Tags {
		if !slices.Contains(a.tags, t) {
			return false
		}
	}
	return true
}

// matchesText checks the exclusions and phrases of q (not q.Terms).
func matchesText(q Query, a *analyzed) bool {
	for _, t := range q.NotTerms {
		if a.has(t) {
			return false
		}
	}
	for _, p := range q.Phrases {
		if !a.hasPhrase(p) {
			return false
		}
	}
	for _, p := range q.NotPhrases {
		if a.hasPhrase(p) {
			return false
		}
	}
	return true
}

// scorer computes BM25F scores against corpus statistics.
type scorer struct {
	terms []string           // the scored terms, sorted
	idf   []float64          // of each term
	avg   [NumFields]float64 // mean field lengths
}

// newScorer returns a scorer of terms in a corpus of n documents.
func newScorer(terms []string, n int, df func(string) int, avg [NumFields]float64) *scorer {
	s := &scorer{terms: terms, idf: make([]float64, len(terms)), avg: avg}
	for i, t := range terms {
		f := float64(df(t))
		s.idf[i] = math.Log(1 + (float64(n)-f+0.5)/(f+0.5))
	}
	return s
}

// score returns the BM25F score of a: for each term, the field-weighted,
// length-normalized term frequency tf is saturated as tf·(k1+1)/(tf+k1)
// and multiplied by idf = ln(1 + (N−df+0.5)/(df+0.5)). ok is false when a
// lacks one of the terms.
func (s *scorer) score(a *analyzed) (score float64, ok bool) {
	var sum float64
	for i, t := range s.terms {
		hits := a.terms[t]
		if len(hits) == 0 {
			return 0, false
		}
		var tf float64
		for _, h := range hits {
			norm := 1.0
			if avg := s.avg[h.field]; avg > 0 {
				norm = 1 - bm25B + bm25B*float64(a.lens[h.field])/avg
			}
			tf += fieldWeights[h.field] * float64(len(h.pos)) / norm
		}
		sum += s.idf[i] * tf * (bm25K1 + 1) / (tf + bm25K1)
	}
	return sum, true
}

// better orders results by score descending, then ID ascending.
func better(a, b Result) int {
	return cmp.Or(cmp.Compare(b.Score, a.Score), strings.Compare(a.ID, b.ID))
}

// topK keeps the best limit results pushed (all when limit <= 0), in a
// heap whose root is the worst kept.
type topK struct {
	limit int
	rs    []Result
}

func (t *topK) push(r Result) {
	switch {
	case t.limit <= 0 || len(t.rs) < t.limit:
		t.rs = append(t.rs, r)
		if t.limit > 0 {
			t.up(len(t.rs) - 1)
		}
	case better(r, t.rs[0]) < 0:
		t.rs[0] = r
		t.down(0)
	}
}

// admits reports whether push(r) would keep r.
func (t *topK) admits(r Result) bool {
	return t.limit <= 0 || len(t.rs) < t.limit || better(r, t.rs[0]) < 0
}

// worse reports whether rs[i] ranks below rs[j].
func (t *topK) worse(i, j int) bool { return better(t.rs[i], t.rs[j]) > 0 }

func (t *topK) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !t.worse(i, p) {
			return
		}
		t.rs[i], t.rs[p] = t.rs[p], t.rs[i]
		i = p
	}
}

func (t *topK) down(i int) {
	for {
		w := i
		for _, c := range []int{2*i + 1, 2*i + 2} {
			if c < len(t.rs) && t.worse(c, w) {
				w = c
			}
		}
		if w == i {
			return
		}
		t.rs[i], t.rs[w] = t.rs[w], t.rs[i]
		i = w
	}
}

// sorted returns the kept results, best first.
func (t *topK) sorted() []Result {
	slices.SortFunc(t.rs, better)
	return t.rs
}

// Rank returns the documents of docs that match q, scored with BM25F
// against the corpus statistics given — n documents, document frequencies
// df — and the mean field lengths of docs themselves; best first, at most
// limit (limit <= 0: all). Of documents with the same ID only the first
// counts. A searcher ranks the verified results of several responders with
// it, so that no responder's claimed score decides the order; with n and
// df from an index over docs, it ranks as Index.Search does.
func Rank(q Query, docs []Doc, n int, df func(term string) int, limit int) []Result {
	req := q.RequiredTerms()
	if len(req) == 0 {
		return nil
	}
	seen := make(map[string]bool, len(docs))
	var as []*analyzed
	var total [NumFields]uint64
	var nonEmpty [NumFields]int
	for _, d := range docs {
		if seen[d.ID] {
			continue
		}
		seen[d.ID] = true
		a := analyze(d)
		as = append(as, a)
		for f, l := range a.lens {
			total[f] += uint64(l)
			if l > 0 {
				nonEmpty[f]++
			}
		}
	}
	var avg [NumFields]float64
	for f := range avg {
		if nonEmpty[f] > 0 {
			avg[f] = float64(total[f]) / float64(nonEmpty[f])
		}
	}
	st := newScorer(req, n, df, avg)
	top := topK{limit: limit}
	for _, a := range as {
		if !matches(q, a) {
			continue
		}
		if score, ok := st.score(a); ok {
			top.push(Result{ID: a.id, Score: score})
		}
	}
	return top.sorted()
}
