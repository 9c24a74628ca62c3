package node

import (
	"context"
	"crypto/ed25519"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/myconet/myconet/moderation"
)

// Test seams of moderation for the node_test package.

// WithheldForTest is n.withheld.
func (n *Node) WithheldForTest(c cid.Cid) bool { return n.withheld(c) }

// SetTallyHookForTest makes n a lying aggregator: f changes the counts (or
// digest) of each tally n hands out, and n signs the lie with its own key,
// so the tally verifies.
func (n *Node) SetTallyHookForTest(f func(*moderation.Tally)) {
	h := func(t *moderation.Tally) {
		f(t)
		t.Sig = make([]byte, ed25519.SignatureSize)
		enc, err := t.Encode()
		if err != nil {
			return
		}
		msg := append([]byte("myconet-tally/v1\n"), enc[:len(enc)-ed25519.SignatureSize]...)
		t.Sig = ed25519.Sign(n.id.Ed25519(), msg)
	}
	n.mod.tallyHook.Store(&h)
}

// AggregatorsForTest returns the aggregators n finds for c.
func (n *Node) AggregatorsForTest(ctx context.Context, c cid.Cid) ([]peer.ID, error) {
	return n.aggregators(ctx, n.network(), c, n.modSettings().aggregators)
}

// SendRecordForTest sends a raw vote (or annotation) encoding to p as a
// delivery for c, and returns p's answer.
func (n *Node) SendRecordForTest(ctx context.Context, p peer.ID, c cid.Cid, annotation bool, rec []byte) (string, error) {
	op := modOpVote
	if annotation {
		op = modOpAnnotate
	}
	out, err := n.network().mod.ask(ctx, p, modRequest{Op: op, Target: c, Record: rec})
	return string(out), err
}

// ReplicaAllowedForTest asks n's replication policy hook about c.
func (n *Node) ReplicaAllowedForTest(c cid.Cid) bool { return n.network().repl.Allowed(c) }
