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
	w, _ := n.withheldWhy(context.Background(), c, lookBackground)
	return w
}

// withheldCached is withheld without the network and without starting
// anything: the local rules, then the decision the node already holds (kept
// fresh in the background for the packages it holds), and "not withheld"
// for a package it has not decided about. Search asks it: one query touches
// hundreds of packages, and a first look at each would start a tally lookup.
func (n *Node) withheldCached(c cid.Cid) bool {
	w, _ := n.withheldWhy(context.Background(), c, lookCached)
	return w
}
