package searchsvc

import (
	"slices"
	"testing"

	"github.com/ipfs/go-cid"

	"github.com/myconet/myconet/search"
)

// withholdSet returns a withheld function that reports the packages given.
func withholdSet(pkgs ...string) func(cid.Cid) bool {
	return func(c cid.Cid) bool { return slices.Contains(pkgs, c.String()) }
}

func TestDropWithheld(t *testing.T) {
	a, _ := cid.Decode("bafyreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy")
	b, _ := cid.Decode("bafyreidykglsfhoixmivffc5uwhcgshx4j465xwqntbmu43nb2dzqwfvae")
	rs := []search.WireResult{{PackageCID: a}, {PackageCID: b}, {PackageCID: a}}
	got := dropWithheld(slices.Clone(rs), withholdSet(a.String()))
	if len(got) != 1 || got[0].PackageCID != b {
		t.Fatalf("got %v", got)
	}
	if got := dropWithheld(slices.Clone(rs), nil); len(got) != 3 {
		t.Fatalf("nil withheld: %v", got)
	}
	skip := skipWithheld(withholdSet(b.String()))
	if skip(a.String()) || !skip(b.String()) || !skip("not a cid") {
		t.Fatal("skipWithheld")
	}
	if skipWithheld(nil) != nil {
		t.Fatal("skipWithheld(nil) is not nil")
	}
}
