package node

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ipfs/go-cid"

	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/gateway"
	"github.com/myconet/myconet/node/searchsvc"
	"github.com/myconet/myconet/search"
	"github.com/myconet/myconet/store"
)

// addMeta adds a small file as a package with the given metadata.
func addMeta(t testing.TB, n *Node, req apitype.AddRequest) apitype.AddResult {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, "f.txt")
	if err := os.WriteFile(p, []byte(req.Title+req.Description), 0o644); err != nil {
		t.Fatal(err)
	}
	req.Path = p
	res, err := n.Add(context.Background(), req, nil)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func titles(res []apitype.SearchResult) []string {
	out := make([]string, len(res))
	for i, r := range res {
		out[i] = r.Title
	}
	return out
}

func TestSearchLocal(t *testing.T) {
	n := testNode(t)
	ctx := context.Background()
	addMeta(t, n, apitype.AddRequest{Title: "Distributed search engines", Description: "How peer to peer search works", Tags: []string{"p2p", "search"}, Kind: "document", Language: "en", License: "MIT"})
	addMeta(t, n, apitype.AddRequest{Title: "Search party", Description: "A film about a lost dog", Kind: "video", Language: "en-US", Tags: []string{"film"}})
	rust := addMeta(t, n, apitype.AddRequest{Title: "Rust async runtime", Description: "An engine for distributed systems", Kind: "software", License: "Apache-2.0", Authors: []string{"Ada Lovelace"}})
	addMeta(t, n, apitype.AddRequest{Title: "分布式搜索", Description: "中文文档", Kind: "document", Language: "zh"})

	cases := []struct {
		query string
		opts  apitype.SearchOptions
		want  []string // titles, in order when len > 1 is ranked
	}{
		{"search", apitype.SearchOptions{}, []string{"Search party", "Distributed search engines"}},
		{"distributed search", apitype.SearchOptions{}, []string{"Distributed search engines"}},
		{"search -dog", apitype.SearchOptions{}, []string{"Distributed search engines"}},
		{`"search party"`, apitype.SearchOptions{}, []string{"Search party"}},
		{`"party search"`, apitype.SearchOptions{}, nil},
		{"search", apitype.SearchOptions{Kind: "video"}, []string{"Search party"}},
		{"search kind:document", apitype.SearchOptions{}, []string{"Distributed search engines"}},
		{"search", apitype.SearchOptions{Language: "en"}, []string{"Search party", "Distributed search engines"}},
		{"search", apitype.SearchOptions{Tags: []string{"P2P"}}, []string{"Distributed search engines"}},
		{"engine*", apitype.SearchOptions{}, []string{"Rust async runtime"}}, // no stemming: engines is another word
		{"distributed", apitype.SearchOptions{License: "apache-2.0"}, []string{"Rust async runtime"}},
		{"lovelace", apitype.SearchOptions{}, []string{"Rust async runtime"}},
		{"RUST", apitype.SearchOptions{Publisher: n.id.PeerID.String()}, []string{"Rust async runtime"}},
		{"rust", apitype.SearchOptions{Publisher: "12D3KooWJWoaqZhDaoEFshF7Rh1bpY9ohihFhzcW6d69Lr2NASuq"}, nil},
		{"搜索", apitype.SearchOptions{}, []string{"分布式搜索"}},
		{"software", apitype.SearchOptions{}, []string{"Rust async runtime"}},
	}
	for _, tc := range cases {
		t.Run(tc.query, func(t *testing.T) {
			res, err := n.Search(ctx, tc.query, tc.opts, nil)
			if err != nil {
				t.Fatal(err)
			}
			got := titles(res)
			if len(tc.want) == 1 || len(tc.want) == 0 {
				if !slices.Equal(got, tc.want) {
					t.Fatalf("got %q, want %q", got, tc.want)
				}
				return
			}
			slices.Sort(got)
			want := slices.Clone(tc.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("got %q, want %q", got, want)
			}
		})
	}

	// Streamed results are the same set; the result carries its metadata.
	var streamed []apitype.SearchResult
	res, err := n.Search(ctx, "rust", apitype.SearchOptions{}, func(r apitype.SearchResult) { streamed = append(streamed, r) })
	if err != nil || len(res) != 1 || len(streamed) != 1 {
		t.Fatalf("%v %v %v", res, streamed, err)
	}
	r := res[0]
	if r.MRI != rust.MRI || r.Kind != "software" || r.Holders != 1 || !r.Local || r.Score <= 0 || r.Publisher != n.id.PeerID.String() || r.Size == 0 {
		t.Fatalf("result %+v", r)
	}

	// Bad queries: one clear error with CodeInvalid.
	for _, q := range []string{"", "   ", "-only -exclusions", string(make([]byte, 2000)) + "x", "a kind:nonsense"} {
		_, err := n.Search(ctx, q, apitype.SearchOptions{}, nil)
		if !errors.Is(err, apitype.ErrInvalid) {
			t.Errorf("query %.20q: err %v, want invalid", q, err)
		}
	}
	if _, err := n.Search(ctx, "rust", apitype.SearchOptions{Kind: "video", Limit: 1}, nil); err != nil {
		t.Errorf("filter flag: %v", err)
	}
	if _, err := n.Search(ctx, "rust kind:software", apitype.SearchOptions{Kind: "video"}, nil); !errors.Is(err, apitype.ErrInvalid) {
		t.Errorf("conflicting kind: %v", err)
	}

	// Limit.
	if res, _ := n.Search(ctx, "search", apitype.SearchOptions{Limit: 1}, nil); len(res) != 1 || res[0].Title != "Search party" && res[0].Title != "Distributed search engines" {
		t.Errorf("limit 1: %v", titles(res))
	}

	// Unpin takes a package out of the index; GC keeps it out.
	if err := n.Unpin(ctx, rust.MRI, ""); err != nil {
		t.Fatal(err)
	}
	if res, _ := n.Search(ctx, "rust", apitype.SearchOptions{}, nil); len(res) != 0 {
		t.Fatalf("after unpin: %v", titles(res))
	}
	if _, err := n.GC(ctx); err != nil {
		t.Fatal(err)
	}
	if res, _ := n.Search(ctx, "distributed", apitype.SearchOptions{}, nil); !slices.Equal(titles(res), []string{"Distributed search engines"}) {
		t.Fatalf("after gc: %v", titles(res))
	}
}

// TestSearchIndexRebuilt checks that a reopened node finds its packages
// (the index is rebuilt from the store) and that import indexes too.
func TestSearchIndexRebuilt(t *testing.T) {
	home := t.TempDir()
	n, err := New(Config{Home: home, StoreNoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	res := addMeta(t, n, apitype.AddRequest{Title: "Persistent title"})
	var car []byte
	{
		f := filepath.Join(t.TempDir(), "x.car")
		w, _ := os.Create(f)
		if err := n.Export(context.Background(), res.MRI, w); err != nil {
			t.Fatal(err)
		}
		w.Close()
		car, _ = os.ReadFile(f)
	}
	n.Close()
	n, err = New(Config{Home: home, StoreNoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	got, err := n.Search(context.Background(), "persistent", apitype.SearchOptions{}, nil)
	if err != nil || len(got) != 1 || got[0].MRI != res.MRI {
		t.Fatalf("after reopen: %v %v", got, err)
	}

	m := testNode(t)
	if _, err := m.Import(context.Background(), bytes.NewReader(car)); err != nil {
		t.Fatal(err)
	}
	got, err = m.Search(context.Background(), "persistent title", apitype.SearchOptions{}, nil)
	if err != nil || len(got) != 1 {
		t.Fatalf("after import: %v %v", got, err)
	}
}

// TestSearchIndexPersisted: a reopened node answers from the index in its
// store without reading any package root; the first sync repairs what a
// crash between a pin change and its index update leaves (a package
// pinned but not indexed, one indexed but no longer pinned); a corrupt
// index is built again and the search still answers.
func TestSearchIndexPersisted(t *testing.T) {
	home := t.TempDir()
	open := func() *Node {
		n, err := New(Config{Home: home, StoreNoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	n := open()
	gen := newMetaGen(1)
	for i := range 40 {
		addMeta(t, n, gen.request(i))
	}
	kept := addMeta(t, n, apitype.AddRequest{Title: "kept lorem"})
	unindexed := addMeta(t, n, apitype.AddRequest{Title: "unindexed lorem"})
	unpinned := addMeta(t, n, apitype.AddRequest{Title: "unpinned lorem"})
	// A crash after the pin changes, before the index follows: simulated
	// by changing one without the other.
	if err := n.srch.Update(func(ix search.Stored) error {
		_, err := ix.Remove(unindexed.Package)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	c, _ := cid.Decode(unpinned.Package)
	if err := n.db.RemovePin(c, "local"); err != nil {
		t.Fatal(err)
	}
	n.Close()

	n = open()
	got, err := n.Search(context.Background(), "lorem", apitype.SearchOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(got, func(a, b apitype.SearchResult) int { return strings.Compare(a.Title, b.Title) })
	if !slices.Equal(titles(got), []string{"kept lorem", "unindexed lorem"}) || got[0].MRI != kept.MRI {
		t.Fatalf("after reopen: %q", titles(got))
	}
	if read := n.srch.RootsRead(); read != 1 {
		t.Fatalf("the first sync read %d package roots, want 1 (the unindexed one)", read)
	}
	var st search.Stats
	if err := n.srch.View(func(ix search.Stored) (err error) { st, err = ix.Stats(); return err }); err != nil || st.Docs != 42 {
		t.Fatalf("index stats %+v %v, want 42 docs", st, err)
	}
	n.Close()

	// A record that does not decode: the index is dropped and built again.
	n = open()
	defer n.Close()
	if err := n.db.UpdateIndex(searchsvc.IndexName, func(tx *store.IndexTx) error {
		num := bytes.Clone(tx.Get(byte(search.TableIDs), []byte(kept.Package)))
		return tx.Put(byte(search.TableDocs), num, []byte{9})
	}); err != nil {
		t.Fatal(err)
	}
	got, err = n.Search(context.Background(), "lorem", apitype.SearchOptions{}, nil)
	if err != nil || len(got) != 2 {
		t.Fatalf("with a corrupt index: %q %v", titles(got), err)
	}
	if read := n.srch.RootsRead(); read != 42 {
		t.Fatalf("rebuild read %d package roots, want 42", read)
	}
}

// TestGatewaySearchPage: results link to their package origins; titles and
// the query are escaped; a bad query is an error on the page.
func TestGatewaySearchPage(t *testing.T) {
	n := testNode(t)
	res := addMeta(t, n, apitype.AddRequest{Title: `Evil <script>alert(1)</script> needle`, Description: `"quoted" & <b>bold</b>`})
	srv := httptest.NewServer(n.GatewayHandler())
	defer srv.Close()
	get := func(q string) (int, string) {
		resp, err := http.Get(srv.URL + "/search?" + q)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	_, port, _ := strings.Cut(strings.TrimPrefix(srv.URL, "http://"), ":")
	status, body := get("q=" + url.QueryEscape(`needle "><img src=x>`))
	if status != 200 || !strings.Contains(body, "No results") || strings.Contains(body, "<img src=x>") {
		t.Fatalf("%d %s", status, body)
	}
	status, body = get("q=needle")
	c, _ := cid.Decode(res.Package)
	if status != 200 || !strings.Contains(body, `href="`+gateway.PackageURL(c, port, "")+`"`) || strings.Contains(body, "<script>alert") || !strings.Contains(body, "&lt;script&gt;") {
		t.Fatalf("%d %s", status, body)
	}
	if status, body = get("q=needle&kind=video"); status != 200 || strings.Contains(body, res.Package) {
		t.Fatalf("kind filter: %d %s", status, body)
	}
	if status, body = get("q=" + url.QueryEscape("-only")); status != 400 || !strings.Contains(body, "empty query") {
		t.Fatalf("bad query: %d %s", status, body)
	}
	if status, _ = get(""); status != 200 {
		t.Fatalf("empty page: %d", status)
	}
}
