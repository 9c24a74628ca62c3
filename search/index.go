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
	postings map[string]map[string]struct{} // term → IDs of the documents that hold it
	totalLen [NumFields]uint64              // sum of field lengths over docs
	pairs    int                            // number of (term, document) pairs
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
		postings: make(map[string]map[string]struct{}),
	}
}

// Add indexes d, replacing any document with the same ID.
func (ix *Index) Add(d Doc) {
	ix.Remove(d.ID)
	a := analyze(d)
	ix.docs[d.ID] = a
	for t := range a.terms {
		set := ix.postings[t]
		if set == nil {
			set = make(map[string]struct{})
			ix.postings[t] = set
		}
		set[d.ID] = struct{}{}
	}
	ix.pairs += len(a.terms)
	for f, n := range a.lens {
		ix.totalLen[f] += uint64(n)
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
		set := ix.postings[t]
		delete(set, id)
		if len(set) == 0 {
			delete(ix.postings, t)
		}
	}
	ix.pairs -= len(a.terms)
	for f, n := range a.lens {
		ix.totalLen[f] -= uint64(n)
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
	if n := len(ix.docs); n > 0 {
		for f, t := range ix.totalLen {
			avg[f] = float64(t) / float64(n)
		}
	}
	return avg
}

// Search returns the documents that match q, best first: by score
// descending, then by ID. limit <= 0 means no limit.
func (ix *Index) Search(q Query, limit int) []Result {
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
	st := scorer{n: len(ix.docs), df: ix.DF, avg: ix.avgLen(), terms: req}
	var out []Result
	for id := range cand {
		a := ix.docs[id]
		if matches(q, a) {
			out = append(out, Result{ID: id, Score: st.score(a)})
		}
	}
	sortResults(out)
	if limit > 0 && len(out) > limit {
		out = out[:limit:limit]
	}
	return out
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
	for _, t := range q.Terms {
		if !a.has(t) {
			return false
		}
	}
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
	n     int                // documents in the corpus
	df    func(string) int   // document frequency
	avg   [NumFields]float64 // mean field lengths
	terms []string           // the scored terms, sorted
}

// score returns the BM25F score of a: for each term, the field-weighted,
// length-normalized term frequency tf is saturated as tf·(k1+1)/(tf+k1)
// and multiplied by idf = ln(1 + (N−df+0.5)/(df+0.5)).
func (s *scorer) score(a *analyzed) float64 {
	var sum float64
	for _, t := range s.terms {
		var tf float64
		for _, h := range a.terms[t] {
			norm := 1.0
			if avg := s.avg[h.field]; avg > 0 {
				norm = 1 - bm25B + bm25B*float64(a.lens[h.field])/avg
			}
			tf += fieldWeights[h.field] * float64(len(h.pos)) / norm
		}
		if tf == 0 {
			continue
		}
		df := float64(s.df(t))
		idf := math.Log(1 + (float64(s.n)-df+0.5)/(df+0.5))
		sum += idf * tf * (bm25K1 + 1) / (tf + bm25K1)
	}
	return sum
}

// sortResults orders results by score descending, then ID ascending.
func sortResults(rs []Result) {
	slices.SortFunc(rs, func(a, b Result) int {
		return cmp.Or(cmp.Compare(b.Score, a.Score), strings.Compare(a.ID, b.ID))
	})
}
