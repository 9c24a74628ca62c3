package node

import "github.com/ipfs/go-cid"

// withheld reports whether this node's moderation policy withholds the
// package rooted at c: such a package is not served, replicated, returned by
// search (local or merged) or shown by the gateway. It is the one seam
// between moderation and the rest of the node; until moderation is wired in,
// nothing is withheld.
func (n *Node) withheld(c cid.Cid) bool { return false }
