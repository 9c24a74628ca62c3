package search

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// model is the slow, obvious implementation of the index: a map of
// documents, scanned in full for every query. Each document is kept with
// its fields tokenized (fieldValues), to keep the test fast.
type model map[string]modelDoc

type modelDoc struct {
	Doc
	fv [NumFields][][]string
}

// fieldValues returns the values of each text field of d, each value as
// its list of terms.
func fieldValues(d Doc) [NumFields][][]string {
	var out [NumFields][][]string
	add := func(f Field, vs ...string) {
		for _, v := range vs {
			out[f] = append(out[f], Terms(v))
		}
	}
	add(FieldTitle, d.Title)
	add(FieldTags, d.Tags...)
	add(FieldAuthors, d.Authors...)
	add(FieldDescription, d.Description)
	add(FieldAnnotations, d.Annotations...)
	add(FieldKind, strings.ToLower(strings.TrimSpace(d.Kind)))
	return out
}

func modelHas(fv [NumFields][][]string, t string) bool {
	for _, vals := range fv {
		for _, v := range vals {
			if slices.Contains(v, t) {
				return true
			}
		}
	}
	return false
}

func modelHasPhrase(fv [NumFields][][]string, p []string) bool {
	for _, vals := range fv {
		for _, v := range vals {
			for i := 0; i+len(p) <= len(v); i++ {
				if slices.Equal(v[i:i+len(p)], p) {
					return true
				}
			}
		}
	}
	return false
}

func modelMatch(q Query, d Doc, fv [NumFields][][]string) bool {
	if len(q.Terms) == 0 && len(q.Phrases) == 0 {
		return false
	}
	for _, t := range q.Terms {
		if !modelHas(fv, t) {
			return false
		}
	}
	for _, t := range q.NotTerms {
		if modelHas(fv, t) {
			return false
		}
	}
	for _, p := range q.Phrases {
		if !modelHasPhrase(fv, p) {
			return false
		}
	}
	for _, p := range q.NotPhrases {
		if modelHasPhrase(fv, p) {
			return false
		}
	}
	lang := strings.ToLower(d.Language)
	if q.Kind != "" && strings.ToLower(d.Kind) != q.Kind ||
		q.Language != "" && lang != q.Language && !strings.HasPrefix(lang, q.Language+"-") ||
		q.License != "" && strings.ToLower(strings.Join(strings.Fields(d.License), " ")) != strings.ToLower(q.License) ||
		q.Publisher != "" && d.Publisher != q.Publisher {
		return false
	}
	for _, want := range q.Tags {
		found := false
		for _, tag := range d.Tags {
			found = found || strings.Join(Terms(tag), " ") == want
		}
		if !found {
			return false
		}
	}
	return true
}

func (m model) search(q Query) []Result {
	// Corpus statistics, the slow way.
	n := len(m)
	var total [NumFields]float64
	var nonEmpty [NumFields]float64
	df := map[string]int{}
	for _, d := range m {
		fv := d.fv
		seen := map[string]bool{}
		for f, vals := range fv {
			l := 0
			for _, v := range vals {
				l += len(v)
				for _, t := range v {
					seen[t] = true
				}
			}
			total[f] += float64(l)
			if l > 0 {
				nonEmpty[f]++
			}
		}
		for t := range seen {
			df[t]++
		}
	}
	var out []Result
	for id, d := range m {
		if !modelMatch(q, d.Doc, d.fv) {
			continue
		}
		fv := d.fv
		score := 0.0
		for _, t := range q.RequiredTerms() {
			tf := 0.0
			for f, vals := range fv {
				count, l := 0, 0
				for _, v := range vals {
					l += len(v)
					for _, x := range v {
						if x == t {
							count++
						}
					}
				}
				if count == 0 {
					continue
				}
				norm := 1.0
				if nonEmpty[f] > 0 {
					norm = 1 - 0.75 + 0.75*float64(l)/(total[f]/nonEmpty[f])
				}
				tf += fieldWeights[f] * float64(count) / norm
			}
			if tf > 0 {
				idf := math.Log(1 + (float64(n)-float64(df[t])+0.5)/(float64(df[t])+0.5))
				score += idf * tf * 2.2 / (tf + 1.2)
			}
		}
		out = append(out, Result{ID: id, Score: score})
	}
	slices.SortFunc(out, func(a, b Result) int {
		if a.Score != b.Score {
			if a.Score > b.Score {
				return -1
			}
			return 1
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}

var modelVocab = []string{
	"alpha", "beta", "gamma", "delta", "go", "rust", "search", "engine", "peer", "network",
	"Straße", "STRASSE", "ﬁle", "FILE", "分布式", "搜索", "検索する", "e-mail", "mail",
}

func randText(r *rand.Rand, maxWords int) string {
	n := r.IntN(maxWords + 1)
	w := make([]string, n)
	for i := range w {
		w[i] = modelVocab[r.IntN(len(modelVocab))]
	}
	return strings.Join(w, []string{" ", ", ", " - "}[r.IntN(3)])
}

func randList(r *rand.Rand, maxN, maxWords int) []string {
	var out []string
	for range r.IntN(maxN + 1) {
		out = append(out, randText(r, maxWords))
	}
	return out
}

func pick(r *rand.Rand, vs ...string) string { return vs[r.IntN(len(vs))] }

func randDoc(r *rand.Rand, id string) Doc {
	return Doc{
		ID:          id,
		Title:       randText(r, 4),
		Description: randText(r, 12),
		Tags:        randList(r, 3, 2),
		Authors:     randList(r, 2, 2),
		Annotations: randList(r, 2, 5),
		Kind:        pick(r, "", "video", "document", "audio"),
		Language:    pick(r, "", "en", "en-US", "de", "zh-Hans"),
		License:     pick(r, "", "MIT", "mit", "Apache-2.0", "MIT OR  Apache-2.0"),
		Publisher:   pick(r, "peerA", "peerB", "peerC"),
	}
}

func randQuery(r *rand.Rand) string {
	var parts []string
	for range 1 + r.IntN(3) {
		w := modelVocab[r.IntN(len(modelVocab))]
		switch r.IntN(6) {
		case 0:
			w = `"` + w + " " + modelVocab[r.IntN(len(modelVocab))] + `"`
		case 1:
			w = "-" + w
		case 2:
			w = `-"` + w + " " + modelVocab[r.IntN(len(modelVocab))] + `"`
		}
		parts = append(parts, w)
	}
	if r.IntN(4) == 0 {
		parts = append(parts, "kind:"+pick(r, "video", "document", "audio"))
	}
	if r.IntN(4) == 0 {
		parts = append(parts, "lang:"+pick(r, "en", "en-us", "de", "zh"))
	}
	if r.IntN(5) == 0 {
		parts = append(parts, "license:"+pick(r, "mit", "MIT", `"mit or apache-2.0"`))
	}
	if r.IntN(5) == 0 {
		parts = append(parts, "publisher:"+pick(r, "peerA", "peerB"))
	}
	if r.IntN(5) == 0 {
		parts = append(parts, "tag:"+pick(r, "go", "rust", `"search engine"`, "STRASSE"))
	}
	return strings.Join(parts, " ")
}

func TestIndexAgainstModel(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	ix := NewIndex()
	m := model{}
	queries, nonEmpty := 0, 0
	for step := range 3000 {
		id := fmt.Sprintf("doc%03d", r.IntN(150))
		switch op := r.IntN(10); {
		case op < 6:
			d := randDoc(r, id)
			ix.Add(d)
			m[id] = modelDoc{d, fieldValues(d)}
		case op < 7:
			if ix.Remove(id) != (m[id].ID != "") {
				t.Fatalf("step %d: Remove(%s) disagrees", step, id)
			}
			delete(m, id)
		default:
			qs := randQuery(r)
			q, err := ParseQuery(qs)
			if err != nil {
				continue // e.g. only exclusions
			}
			queries++
			got := ix.Search(q, 0)
			want := m.search(q)
			if len(want) > 0 {
				nonEmpty++
			}
			if !slices.Equal(ids(got), ids(want)) {
				t.Fatalf("step %d: Search(%q):\n got %v\nwant %v", step, qs, got, want)
			}
			for i := range got {
				if math.Abs(got[i].Score-want[i].Score) > 1e-9*math.Max(1, want[i].Score) {
					t.Fatalf("step %d: Search(%q): score of %s %v, want %v", step, qs, got[i].ID, got[i].Score, want[i].Score)
				}
			}
			all := make([]Doc, 0, len(m))
			for _, d := range m {
				all = append(all, d.Doc)
			}
			if ranked := Rank(q, all, len(m), ix.DF, 0); !slices.Equal(ids(ranked), ids(got)) {
				t.Fatalf("step %d: Rank(%q) = %v, Search = %v", step, qs, ranked, got)
			}
			if limit := 1 + r.IntN(5); len(want) > 0 {
				if got := ix.Search(q, limit); !slices.Equal(ids(got), ids(want[:min(limit, len(want))])) {
					t.Fatalf("step %d: Search(%q, %d) = %v", step, qs, limit, got)
				}
			}
			checked := 0
			for _, d := range m { // a random sample
				if checked++; checked > 20 {
					break
				}
				if Match(q, d.Doc) != modelMatch(q, d.Doc, d.fv) {
					t.Fatalf("step %d: Match(%q, %+v) = %v", step, qs, d.Doc, Match(q, d.Doc))
				}
			}
		}
	}
	if st := ix.Stats(); st.Docs != len(m) {
		t.Fatalf("Stats.Docs = %d, model has %d", st.Docs, len(m))
	}
	t.Logf("%d queries, %d with results", queries, nonEmpty)
	if nonEmpty < queries/4 {
		t.Fatalf("only %d of %d queries had results: the test is too weak", nonEmpty, queries)
	}
}
