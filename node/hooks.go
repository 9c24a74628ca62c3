package node

import (
	"github.com/ipfs/go-cid"
)

// withheld reports whether this node's moderation policy withholds the
// package rooted at c (or any name of its bytes); it never waits for the
// network. See moderate.Service.Withheld.
func (n *Node) withheld(c cid.Cid) bool { return n.mod.Withheld(c) }

// withheldCached is withheld without the network and without starting
// anything (search). See moderate.Service.WithheldCached.
func (n *Node) withheldCached(c cid.Cid) bool { return n.mod.WithheldCached(c) }
