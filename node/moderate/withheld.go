package moderate

import (
	"context"
	"strings"

	"github.com/ipfs/go-cid"
)

// Withheld reports whether this node's moderation policy withholds the
// package rooted at c (or the content root of such a package, or a block
// of its DAG): such a package is not served, replicated, returned by
// search (local or merged) or shown by the gateway. It is the one seam
// between moderation and the rest of the node. It never waits for the
// network: a package the node has not decided about yet (or whose
// decision is stale) is served while its tallies are gathered in the
// background. User-facing reads go through WithheldErr, which waits for a
// fresh decision first (at most modWait).
func (m *Service) Withheld(c cid.Cid) bool {
	w, _ := m.withheldWhy(context.Background(), c, lookBackground)
	return w
}

// WithheldCached is Withheld without the network and without starting
// anything: the local rules, then the decision the node already holds (kept
// fresh in the background for the packages it holds), and "not withheld"
// for a package it has not decided about. Search asks it: one query touches
// hundreds of packages, and a first look at each would start a tally lookup.
func (m *Service) WithheldCached(c cid.Cid) bool {
	w, _ := m.withheldWhy(context.Background(), c, lookCached)
	return w
}

// ConfigChanged applies a changed config key: after a change to the
// [moderation] section, cached decisions are made again under the new
// policy. It takes only the service's own lock.
func (m *Service) ConfigChanged(key string) {
	if strings.HasPrefix(key, "moderation.") {
		m.forgetAllDecisions()
	}
}
