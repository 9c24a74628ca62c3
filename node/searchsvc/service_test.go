package searchsvc

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"path/filepath"
	"testing"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multihash"

	"github.com/myconet/myconet/metadata"
	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/internal/p2px"
	"github.com/myconet/myconet/store"
)

// testStore opens a store of its own for t.
func testStore(t *testing.T) *store.DB {
	t.Helper()
	db, err := store.Open(store.Config{Path: filepath.Join(t.TempDir(), "store.db"), NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// pinPackage stores and pins a package root signed by priv with meta (its
// content is not stored: search reads only the root).
func pinPackage(t *testing.T, db *store.DB, priv ed25519.PrivateKey, meta metadata.Meta) cid.Cid {
	t.Helper()
	h, _ := multihash.Sum([]byte(meta.Title), multihash.SHA2_256, -1)
	pkg, err := metadata.New(cid.NewCidV1(cid.Raw, h), meta, priv)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := pkg.Encode()
	if err != nil {
		t.Fatal(err)
	}
	c, err := pkg.CID()
	if err != nil {
		t.Fatal(err)
	}
	b, err := db.NewBatch(store.BatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Commit(store.Commit{Blocks: []store.Block{{CID: c, Data: enc}}, Pin: store.Pin{Root: c, Reason: store.ReasonLocal}}); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestServiceOffline: the service on a bare store, without a node or a
// network, indexes what is pinned, ranks and describes it, leaves out what
// the Withheld hook reports, indexes the Tags hook's tags (again after
// Reindex), and drops an unpinned package on Changed.
func TestServiceOffline(t *testing.T) {
	db := testStore(t)
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	a := pinPackage(t, db, priv, metadata.Meta{Title: "needle in a haystack", Kind: "document", Size: 7})
	b := pinPackage(t, db, priv, metadata.Meta{Title: "another needle"})
	withheld := map[cid.Cid]bool{}
	tags := map[cid.Cid][]string{}
	s := New(Config{DB: db, Self: "self",
		Withheld: func(c cid.Cid) bool { return withheld[c] },
		Tags:     func(c cid.Cid) []string { return tags[c] },
	})
	t.Cleanup(s.Stop)
	ctx := context.Background()
	find := func(q string) []string {
		t.Helper()
		res, err := s.Search(ctx, q, apitype.SearchOptions{}, nil)
		if err != nil {
			t.Fatalf("%q: %v", q, err)
		}
		var out []string
		for _, r := range res.Results {
			out = append(out, r.Package)
		}
		return out
	}
	if got := find("needle"); len(got) != 2 {
		t.Fatalf("needle: %v", got)
	}
	res, err := s.Search(ctx, "haystack", apitype.SearchOptions{Kind: "document"}, nil)
	want := p2px.PeerIDFromEd25519(pub).String()
	if err != nil || len(res.Results) != 1 || res.Results[0].Package != a.String() || !res.Results[0].Local ||
		res.Results[0].Holders != 1 || res.Results[0].Publisher != want || res.Results[0].Size != 7 || res.Asked != 0 {
		t.Fatalf("haystack: %+v %v", res, err)
	}
	if id, err := peer.Decode(want); err != nil || id == "" {
		t.Fatalf("publisher %q: %v", want, err)
	}
	withheld[a] = true
	if got := find("needle"); len(got) != 1 || got[0] != b.String() {
		t.Fatalf("with a withheld: %v", got)
	}
	tags[b] = []string{"community"}
	if got := find("community"); len(got) != 0 {
		t.Fatalf("a tag before Reindex: %v", got)
	}
	s.Reindex(b)
	if got := find("community"); len(got) != 1 {
		t.Fatalf("a tag after Reindex: %v", got)
	}
	if err := db.RemovePin(b, store.ReasonLocal); err != nil {
		t.Fatal(err)
	}
	s.Changed(b)
	if got := find("needle"); len(got) != 0 {
		t.Fatalf("after unpin: %v", got)
	}
	if _, err := s.Search(ctx, "  ", apitype.SearchOptions{}, nil); apitype.CodeOf(err) != apitype.CodeInvalid {
		t.Fatalf("empty query: %v", err)
	}
}
