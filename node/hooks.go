package node

import (
	"context"

	"github.com/ipfs/go-cid"
)

// withheld reports whether this node's moderation policy withholds the
// package rooted at c (or the content root of such a package): such a
// package is not served, replicated, returned by search (local or merged)
// or shown by the gateway. It is the one seam between moderation and the
// rest of the node; moderation.go explains how the decision is made and
// cached. It never waits for the network: a package the node has not
// decided about yet (or whose decision is stale) is served while its
// tallies are gathered in the background. User-facing reads go through
// withheldErr, which waits for a fresh decision first (at most modWait).
func (n *Node) withheld(c cid.Cid) bool {
	w, _ := n.withheldWhy(context.Background(), c, false)
	return w
}
