package retrieval

import (
	"context"
	"errors"
	"testing"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/myconet/myconet/internal/leakcheck"
)

// Wants fetch chosen blocks below a root (a range of a file) without the
// rest; a want that does not lie below the root is refused by the provider.
func TestFetchWants(t *testing.T) {
	leakcheck.Check(t)
	_, hs := meshNet(t, 2)
	prov := newMem()
	root, _ := importFile(t, prov, 3, 5<<20)
	other, _ := importFile(t, prov, 4, 1<<20) // held by the provider, not below root
	newService(t, hs[0], prov, nil)
	req := newService(t, hs[1], nil, nil)
	rootData, err := prov.Get(root)
	if err != nil {
		t.Fatal(err)
	}
	kids, err := req.cfg.Links(root, rootData)
	if err != nil || len(kids) < 3 {
		t.Fatalf("links of the root: %v %v", kids, err)
	}
	sink := newMem()
	opts := FetchOptions{Providers: []peer.ID{hs[0].ID()}, Shallow: true, Wants: kids[2:3]}
	st, err := req.Fetch(context.Background(), root, sink, opts)
	if err != nil {
		t.Fatal(err)
	}
	if st.Blocks != 1 || sink.Len() != 1 {
		t.Fatalf("fetched %d blocks, want the one wanted", sink.Len())
	}
	if _, err := sink.Get(kids[2]); err != nil {
		t.Fatal(err)
	}
	opts.Wants = []cid.Cid{other}
	if _, err := req.Fetch(context.Background(), root, newMem(), opts); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a want outside the root: %v", err)
	}
}
