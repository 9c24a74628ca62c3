package node

import (
	"context"
	"slices"
	"testing"

	"github.com/ipfs/go-cid"

	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/search"
)

// withholdSet returns a withheld function that reports the packages given.
func withholdSet(pkgs ...string) func(cid.Cid) bool {
	return func(c cid.Cid) bool { return slices.Contains(pkgs, c.String()) }
}

// SearchExcept is search with the moderation decision withheld instead of
// the node's own (test helper).
func (n *Node) SearchExcept(ctx context.Context, query string, opts apitype.SearchOptions, withheld func(cid.Cid) bool) (apitype.SearchResults, error) {
	res, err := n.srch.SearchExcept(ctx, query, opts, nil, withheld)
	return res, storeErr(err)
}

// TestSearchWithheldLocal: a withheld package is neither found in the
// node's own index nor sent to a searcher, and the limit is filled by the
// next best.
func TestSearchWithheldLocal(t *testing.T) {
	n := testNode(t)
	ctx := context.Background()
	bad := addMeta(t, n, apitype.AddRequest{Title: "needle"})
	good := addMeta(t, n, apitype.AddRequest{Title: "needle and thread"})
	withheld := withholdSet(bad.Package)

	res, err := n.SearchExcept(ctx, "needle", apitype.SearchOptions{Limit: 1}, withheld)
	if err != nil || len(res.Results) != 1 || res.Results[0].Package != good.Package {
		t.Fatalf("local search: %+v %v", res.Results, err)
	}
	if res, _ := n.SearchExcept(ctx, "needle", apitype.SearchOptions{Limit: 1}, nil); len(res.Results) != 1 || res.Results[0].Package != bad.Package {
		t.Fatalf("not withheld: %+v", res.Results)
	}
	q, _ := search.ParseQuery("needle")
	resp, err := n.srch.Answer(search.SearchRequest{Query: q.String(), Limit: 1}, withheld)
	if err != nil || len(resp.Results) != 1 || resp.Results[0].PackageCID.String() != good.Package {
		t.Fatalf("served: %+v %v", resp.Results, err)
	}
}
