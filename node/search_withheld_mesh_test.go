package node_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/myconet/myconet/internal/leakcheck"
	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/nodetest"
)

// TestSearchMeshWithheld: a package the searcher's policy withholds is
// dropped from the results other nodes send, and from its own.
func TestSearchMeshWithheld(t *testing.T) {
	leakcheck.Check(t)
	net := nodetest.New(t, 3, nodetest.Options{Override: noReplicas})
	net.ConnectChain()
	a, _ := meshAdd(t, net.Nodes[0], apitype.AddRequest{Title: "needle at a"})
	b, _ := meshAdd(t, net.Nodes[1], apitype.AddRequest{Title: "needle at b"})
	own, _ := meshAdd(t, net.Nodes[2], apitype.AddRequest{Title: "needle at the searcher"})
	net.Eventually(time.Minute, "term announcements", func() bool {
		for _, n := range net.Nodes {
			if !n.SearchAnnounced() {
				return false
			}
		}
		return true
	})
	found := func(withheld ...cid.Cid) []string {
		res, err := net.Nodes[2].SearchExcept(context.Background(), "needle", apitype.SearchOptions{}, func(c cid.Cid) bool {
			return slices.Contains(withheld, c)
		})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range res.Results {
			got = append(got, r.Package)
		}
		slices.Sort(got)
		return got
	}
	all := []string{a.String(), b.String(), own.String()}
	slices.Sort(all)
	if got := found(); !slices.Equal(got, all) {
		t.Fatalf("nothing withheld: %q, want %q", got, all)
	}
	if got := found(b, own); !slices.Equal(got, []string{a.String()}) {
		t.Fatalf("b and own withheld: %q, want only a %s", got, a)
	}
}
