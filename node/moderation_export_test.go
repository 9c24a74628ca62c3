package node

import (
	"context"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/myconet/myconet/moderation"
)

// Test seams of moderation for the node_test package.

// WithheldForTest is n.withheld.
func (n *Node) WithheldForTest(c cid.Cid) bool { return n.withheld(c) }

// SetTallyHookForTest makes n a lying aggregator (moderate.Service.SetTallyHookForTest).
func (n *Node) SetTallyHookForTest(f func(*moderation.Tally)) { n.mod.SetTallyHookForTest(f) }

// AggregatorsForTest returns the aggregators n finds for c.
func (n *Node) AggregatorsForTest(ctx context.Context, c cid.Cid) ([]peer.ID, error) {
	return n.mod.AggregatorsForTest(ctx, c)
}

// SendRecordForTest sends a raw vote (or annotation) encoding to p as a
// delivery for c, and returns p's answer.
func (n *Node) SendRecordForTest(ctx context.Context, p peer.ID, c cid.Cid, annotation bool, rec []byte) (string, error) {
	kind := "vote"
	if annotation {
		kind = "annotation"
	}
	return n.mod.SendForTest(ctx, p, c, kind, rec)
}

// ReplicaAllowedForTest asks n's replication policy hook about c.
func (n *Node) ReplicaAllowedForTest(c cid.Cid) bool { return n.network().repl.Allowed(c) }
