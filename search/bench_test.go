package search

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// benchDocs generates n documents whose words follow a Zipf distribution
// over a vocabulary of 20,000 words, with a Chinese title for one in ten.
func benchDocs(n int) []Doc {
	r := rand.New(rand.NewPCG(3, 4))
	zipf := rand.NewZipf(r, 1.1, 1, 19999)
	word := func() string { return fmt.Sprintf("w%d", zipf.Uint64()) }
	text := func(n int) string {
		w := make([]string, n)
		for i := range w {
			w[i] = word()
		}
		return strings.Join(w, " ")
	}
	han := []rune("分布式搜索引擎网络节点内容数据视频音乐文档软件")
	docs := make([]Doc, n)
	for i := range docs {
		d := Doc{
			ID:          fmt.Sprintf("bafy%08d", i),
			Title:       text(3 + r.IntN(6)),
			Description: text(20 + r.IntN(100)),
			Tags:        []string{word(), word(), word()},
			Authors:     []string{"Author " + word()},
			Kind:        []string{"video", "document", "audio", "software"}[r.IntN(4)],
			Language:    []string{"en", "de", "zh"}[r.IntN(3)],
			License:     "MIT",
			Publisher:   fmt.Sprintf("peer%d", r.IntN(50)),
		}
		if i%10 == 0 {
			rs := make([]rune, 4+r.IntN(6))
			for j := range rs {
				rs[j] = han[r.IntN(len(han))]
			}
			d.Title = string(rs) + " " + d.Title
		}
		docs[i] = d
	}
	return docs
}

func BenchmarkIndexAdd(b *testing.B) {
	docs := benchDocs(10000)
	b.ReportAllocs()
	b.ResetTimer()
	var ix *Index
	for i := range b.N {
		if i%len(docs) == 0 {
			ix = NewIndex()
		}
		ix.Add(docs[i%len(docs)])
	}
}

func BenchmarkSearch(b *testing.B) {
	docs := benchDocs(10000)
	ix := NewIndex()
	for _, d := range docs {
		ix.Add(d)
	}
	for _, qs := range []string{
		"w1",                    // the most common word
		"w1 w2",                 // two common words
		"w50 w3",                // a mid and a common word
		"w1000",                 // a rare word
		`"w1 w1" -w2`,           // phrase and exclusion
		"w1 kind:video lang:en", // filters
		"搜索",                    // a bigram
	} {
		q := mustQuery(b, qs)
		b.Run(qs, func(b *testing.B) {
			b.ReportAllocs()
			n := 0
			for range b.N {
				n = len(ix.Search(q, 10))
			}
			b.ReportMetric(float64(ix.DF(q.RarestTerms(ix.DF, 1)[0])), "candidates")
			_ = n
		})
	}
}
