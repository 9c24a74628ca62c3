package search

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/myconet/myconet/metadata"
)

func mustQuery(t testing.TB, s string) Query {
	t.Helper()
	q, err := ParseQuery(s)
	if err != nil {
		t.Fatalf("ParseQuery(%q): %v", s, err)
	}
	return q
}

func ids(rs []Result) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.ID)
	}
	return out
}

// filler adds n documents that share the word "filler", so that the
// corpus statistics are not degenerate.
func filler(ix *Index, n int) {
	for i := range n {
		ix.Add(Doc{ID: fmt.Sprintf("f%03d", i), Title: fmt.Sprintf("filler document %d", i),
			Description: "some words about nothing in particular"})
	}
}

func TestRankingTitleBeatsDescription(t *testing.T) {
	ix := NewIndex()
	filler(ix, 20)
	ix.Add(Doc{ID: "desc", Title: "a guide", Description: "all about rust and memory"})
	ix.Add(Doc{ID: "title", Title: "rust guide", Description: "all about memory"})
	ix.Add(Doc{ID: "annot", Title: "a guide", Description: "all about memory", Annotations: []string{"rust"}})
	got := ids(ix.Search(mustQuery(t, "rust"), 10))
	if want := []string{"title", "desc", "annot"}; !slices.Equal(got, want) {
		t.Fatalf("order %q, want %q", got, want)
	}
}

func TestRankingFieldOrder(t *testing.T) {
	ix := NewIndex()
	filler(ix, 20)
	// Every field of the same length in every document, so that only
	// the field weights differ.
	doc := func(id string, f Field) Doc {
		d := Doc{ID: id, Title: "one two three", Tags: []string{"tag"}, Authors: []string{"author"},
			Description: "some words about nothing in particular", Annotations: []string{"note"}}
		switch f {
		case FieldTitle:
			d.Title = "one zeta three"
		case FieldTags:
			d.Tags = []string{"zeta"}
		case FieldAuthors:
			d.Authors = []string{"zeta"}
		case FieldDescription:
			d.Description = "some words about zeta in particular"
		case FieldAnnotations:
			d.Annotations = []string{"zeta"}
		}
		return d
	}
	for f := range Field(FieldKind) {
		ix.Add(doc(fmt.Sprintf("%d%s", f, f), f))
	}
	got := ids(ix.Search(mustQuery(t, "zeta"), 0))
	if want := []string{"0title", "1tags", "2authors", "3description", "4annotations"}; !slices.Equal(got, want) {
		t.Fatalf("order %q, want %q", got, want)
	}
}

func TestRankingRareTermBeatsCommon(t *testing.T) {
	ix := NewIndex()
	for i := range 30 {
		ix.Add(Doc{ID: fmt.Sprintf("c%02d", i), Title: "common words", Description: "common"})
	}
	// Both match "common rare"; the one with the rare term in the title
	// wins.
	ix.Add(Doc{ID: "rare-in-title", Title: "rare thing", Description: "common thing"})
	ix.Add(Doc{ID: "common-in-title", Title: "common thing", Description: "rare thing"})
	got := ids(ix.Search(mustQuery(t, "common rare"), 10))
	if want := []string{"rare-in-title", "common-in-title"}; !slices.Equal(got, want) {
		t.Fatalf("order %q, want %q", got, want)
	}
}

func TestRankingShortFieldWins(t *testing.T) {
	ix := NewIndex()
	filler(ix, 5)
	ix.Add(Doc{ID: "long", Title: "golang concurrency patterns for large distributed systems in practice"})
	ix.Add(Doc{ID: "short", Title: "golang concurrency"})
	got := ids(ix.Search(mustQuery(t, "concurrency"), 10))
	if want := []string{"short", "long"}; !slices.Equal(got, want) {
		t.Fatalf("order %q, want %q", got, want)
	}
}

func TestSearchSemantics(t *testing.T) {
	ix := NewIndex()
	docs := []Doc{
		{ID: "a", Title: "Distributed Search Engines", Tags: []string{"P2P", "Machine-Learning"}, Kind: "document",
			Language: "en-US", License: "MIT", Publisher: "peerA"},
		{ID: "b", Title: "Search distributed", Description: "engines", Kind: "video", Language: "en", License: "mit",
			Publisher: "peerB"},
		{ID: "c", Title: "分布式搜索引擎", Description: "検索する", Kind: "document", Language: "zh", Publisher: "peerA"},
		{ID: "d", Title: "ﬁle sharing", Authors: []string{"Jane Doe", "John Smith"}, Tags: []string{"p2p"}, Kind: "software",
			Language: "de", License: "Apache-2.0 OR MIT", Publisher: "peerC"},
	}
	for _, d := range docs {
		ix.Add(d)
	}
	tests := []struct {
		q    string
		want []string
	}{
		{"search", []string{"a", "b"}},
		{"distributed search", []string{"a", "b"}},
		{`"distributed search"`, []string{"a"}},
		{`"search engines"`, []string{"a"}},
		{`search -"search engines"`, []string{"b"}},
		{"search -video", []string{"a"}}, // the kind is a word
		{"search kind:video", []string{"b"}},
		{"search lang:en", []string{"a", "b"}},
		{"search lang:en-us", []string{"a"}},
		{"search lang:e", nil},
		{"search license:MIT", []string{"a", "b"}},
		{"search publisher:peerA", []string{"a"}},
		{"search publisher:peera", nil},
		{"search tag:machine-learning", []string{"a"}},
		{`search tag:"machine learning"`, []string{"a"}},
		{"search tag:machine", nil},
		{"搜索", []string{"c"}},
		{"分布式", []string{"c"}},
		{"搜索引擎", []string{"c"}},
		{"引擎搜索", nil}, // the bigrams are there, the phrase is not
		{"検索", []string{"c"}},
		{"FILE", []string{"d"}},
		{`"doe john"`, nil}, // no phrase across two authors
		{`"jane doe"`, []string{"d"}},
		{"p2p", []string{"d", "a"}},
		{"p2p license:mit", []string{"a"}},
		{`p2p license:"apache-2.0 or mit"`, []string{"d"}},
		{"nothing", nil},
	}
	for _, tt := range tests {
		t.Run(tt.q, func(t *testing.T) {
			q := mustQuery(t, tt.q)
			got := ids(ix.Search(q, 0))
			slices.Sort(got)
			want := slices.Clone(tt.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("Search(%q) = %q, want %q", tt.q, got, want)
			}
			for _, d := range docs {
				if m := ix.Match(q, d); m != slices.Contains(want, d.ID) {
					t.Errorf("Match(%q, %s) = %v", tt.q, d.ID, m)
				}
			}
		})
	}
}

func TestIndexAddRemove(t *testing.T) {
	ix := NewIndex()
	ix.Add(Doc{ID: "x", Title: "alpha beta"})
	ix.Add(Doc{ID: "y", Title: "beta gamma"})
	if st := ix.Stats(); st.Docs != 2 || st.Terms != 3 || st.Postings != 4 || st.AvgLen[FieldTitle] != 2 {
		t.Fatalf("Stats = %+v", st)
	}
	if ix.DF("beta") != 2 || ix.DF("alpha") != 1 {
		t.Fatalf("DF beta %d alpha %d", ix.DF("beta"), ix.DF("alpha"))
	}
	// Replacing a document drops its old terms.
	ix.Add(Doc{ID: "x", Title: "delta"})
	if ix.DF("alpha") != 0 || ix.DF("delta") != 1 || ix.Stats().Docs != 2 {
		t.Fatalf("after replace: alpha %d delta %d stats %+v", ix.DF("alpha"), ix.DF("delta"), ix.Stats())
	}
	if got := ids(ix.Search(mustQuery(t, "alpha"), 0)); got != nil {
		t.Fatalf("stale result %q", got)
	}
	if !ix.Remove("x") || ix.Remove("x") || ix.Has("x") {
		t.Fatal("Remove")
	}
	ix.Remove("y")
	if st := ix.Stats(); st != (Stats{}) {
		t.Fatalf("empty index Stats = %+v", st)
	}
}

func TestSearchLimitAndTies(t *testing.T) {
	ix := NewIndex()
	for _, id := range []string{"d", "b", "e", "a", "c"} {
		ix.Add(Doc{ID: id, Title: "same title"})
	}
	got := ix.Search(mustQuery(t, "same"), 3)
	if want := []string{"a", "b", "c"}; !slices.Equal(ids(got), want) {
		t.Fatalf("ties: %q, want %q", ids(got), want)
	}
	if got[0].Score <= 0 || got[0].Score != got[2].Score {
		t.Fatalf("scores %v", got)
	}
}

func TestDocFromMeta(t *testing.T) {
	m := metadata.Meta{Title: "T", Description: "D", Tags: []string{"x"}, Language: "en", License: "MIT",
		Authors: []string{"A"}, Kind: metadata.KindAudio}
	d := DocFromMeta("bafyid", m, "peer", []string{"note"})
	want := Doc{ID: "bafyid", Title: "T", Description: "D", Tags: []string{"x"}, Authors: []string{"A"}, Kind: "audio",
		Language: "en", License: "MIT", Publisher: "peer", Annotations: []string{"note"}}
	if fmt.Sprint(d) != fmt.Sprint(want) {
		t.Fatalf("DocFromMeta = %+v", d)
	}
	if got, want := d.Terms(), []string{"a", "audio", "d", "note", "t", "x"}; !slices.Equal(got, want) {
		t.Fatalf("Terms = %q, want %q", got, want)
	}
}

// TestSearchFuncSkip: skipped documents are left out and the next best fill
// the limit; skip is asked only about documents that would be kept.
func TestSearchFuncSkip(t *testing.T) {
	ix := NewIndex()
	filler(ix, 20)
	for i := range 10 {
		// d0 ranks first: the shortest title.
		ix.Add(Doc{ID: fmt.Sprintf("d%d", i), Title: "needle" + strings.Repeat(" hay", i)})
	}
	q := mustQuery(t, "needle")
	var asked []string
	got := ix.SearchFunc(q, 3, func(id string) bool {
		asked = append(asked, id)
		return id == "d0" || id == "d2"
	})
	if want := []string{"d1", "d3", "d4"}; !slices.Equal(ids(got), want) {
		t.Fatalf("got %q, want %q", ids(got), want)
	}
	if len(asked) > 5 {
		t.Errorf("skip asked about %q: more than the 5 documents that entered the top 3", asked)
	}
	if !slices.Equal(ids(ix.SearchFunc(q, 2, nil)), []string{"d0", "d1"}) {
		t.Errorf("nil skip: %q", ids(ix.SearchFunc(q, 2, nil)))
	}
	if got := ix.SearchFunc(q, 0, func(string) bool { return true }); len(got) != 0 {
		t.Errorf("all skipped: %q", ids(got))
	}
}
