package node

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/myconet/myconet/node/apitype"
)

// MetaGen generates package metadata for search tests: words from a
// vocabulary of pseudo-words with a skewed (Zipf-like) frequency, so that
// queries meet both rare and common terms. Exported for the external tests.
type MetaGen struct {
	r     *rand.Rand
	zipf  *rand.Zipf
	vocab []string
}

var (
	genKinds     = []string{"document", "video", "audio", "software", "site", "image", "dataset"}
	genLanguages = []string{"en", "de", "fr", "ja", "en-US"}
	genLicenses  = []string{"MIT", "Apache-2.0", "CC-BY-4.0", "GPL-3.0-only"}
	genSyllables = []string{"ka", "lo", "mi", "ren", "sa", "tu", "vor", "el", "qui", "dan", "po", "rix", "na", "fe", "gol", "sha", "ti", "bu", "zen", "mar"}
)

// NewMetaGen returns a generator seeded with seed.
func NewMetaGen(seed uint64) *MetaGen { return newMetaGen(seed) }

func newMetaGen(seed uint64) *MetaGen {
	r := rand.New(rand.NewPCG(seed, 7))
	g := &MetaGen{r: r}
	seen := map[string]bool{}
	for len(g.vocab) < 600 {
		n := 2 + r.IntN(2)
		var b strings.Builder
		for range n {
			b.WriteString(genSyllables[r.IntN(len(genSyllables))])
		}
		if w := b.String(); !seen[w] {
			seen[w] = true
			g.vocab = append(g.vocab, w)
		}
	}
	g.zipf = rand.NewZipf(r, 1.1, 4, uint64(len(g.vocab)-1))
	return g
}

// Word returns a vocabulary word, skewed towards the common ones.
func (g *MetaGen) Word() string { return g.vocab[g.zipf.Uint64()] }

// Vocab returns the vocabulary, most common first.
func (g *MetaGen) Vocab() []string { return g.vocab }

func (g *MetaGen) words(n int) string {
	w := make([]string, n)
	for i := range w {
		w[i] = g.Word()
	}
	return strings.Join(w, " ")
}

// Request returns the metadata of package i (Path left empty).
func (g *MetaGen) Request(i int) apitype.AddRequest { return g.request(i) }

func (g *MetaGen) request(i int) apitype.AddRequest {
	r := g.r
	req := apitype.AddRequest{
		Title:       fmt.Sprintf("%s %s", g.words(2+r.IntN(3)), g.vocab[100+i%500]),
		Description: g.words(6 + r.IntN(10)),
		Kind:        genKinds[r.IntN(len(genKinds))],
		Language:    genLanguages[r.IntN(len(genLanguages))],
		License:     genLicenses[r.IntN(len(genLicenses))],
		Authors:     []string{fmt.Sprintf("%s %s", g.vocab[r.IntN(40)], g.vocab[300+r.IntN(300)])},
	}
	for range 1 + r.IntN(3) {
		if t := g.vocab[r.IntN(30)]; !slices.Contains(req.Tags, t) {
			req.Tags = append(req.Tags, t)
		}
	}
	return req
}

// SearchAnnounced reports whether the announcer has provided the terms of
// every package indexed so far (test helper).
func (n *Node) SearchAnnounced() bool {
	return n.srch.Announced()
}

// SearchWithStats is Search with the counts of the ranked answer (test
// helper).
func (n *Node) SearchWithStats(ctx context.Context, query string, opts apitype.SearchOptions) (apitype.SearchResults, error) {
	return n.SearchResults(ctx, query, opts, nil)
}
