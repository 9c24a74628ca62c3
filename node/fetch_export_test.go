package node

import "github.com/ipfs/go-cid"

// HasBlockForTest reports whether the store holds block c (pinned or not).
func (n *Node) HasBlockForTest(c cid.Cid) bool {
	ok, _ := n.db.Has(c)
	return ok
}

// PinnedForTest reports whether c is pinned.
func (n *Node) PinnedForTest(c cid.Cid) bool {
	ok, _ := n.have(c)
	return ok
}
