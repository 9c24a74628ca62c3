package searchsvc

import (
	"github.com/ipfs/go-cid"

	"github.com/myconet/myconet/search"
)

// The moderation filter of search: a package that the node's policy
// withholds (Config.Withheld) is never returned from its own index, never sent
// to a searcher, and dropped from the results other nodes send. The
// helpers take the decision as a function so that tests can inject one.

// skipWithheld returns the skip function of search.Index.SearchFunc for
// withheld: true for a document whose package withheld reports. A nil
// withheld skips nothing.
func skipWithheld(withheld func(cid.Cid) bool) func(id string) bool {
	if withheld == nil {
		return nil
	}
	return func(id string) bool {
		c, err := cid.Decode(id)
		return err != nil || withheld(c)
	}
}

// dropWithheld returns rs without the results whose package withheld
// reports, reusing the array of rs.
func dropWithheld(rs []search.WireResult, withheld func(cid.Cid) bool) []search.WireResult {
	if withheld == nil {
		return rs
	}
	out := rs[:0]
	for _, r := range rs {
		if !withheld(r.PackageCID) {
			out = append(out, r)
		}
	}
	return out
}
