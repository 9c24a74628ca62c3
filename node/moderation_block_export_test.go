package node

import (
	"context"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/myconet/myconet/node/moderate"
	"github.com/myconet/myconet/node/retrieval"
)

type discardSink struct{}

func (discardSink) Put(cid.Cid, []byte) error { return nil }

// FetchFromForTest fetches root's DAG from provider p alone, over the
// retrieval protocol, into nothing (tests: what a provider serves).
func (n *Node) FetchFromForTest(ctx context.Context, p peer.ID, root cid.Cid) error {
	_, err := n.network().retrieval.Fetch(ctx, root, discardSink{}, retrieval.FetchOptions{Providers: []peer.ID{p}})
	return err
}

// SendRetractionForTest sends a raw retraction bundle about c to p.
func (n *Node) SendRetractionForTest(ctx context.Context, p peer.ID, c cid.Cid, bundle []byte) (string, error) {
	return n.mod.SendForTest(ctx, p, c, "retraction", bundle)
}

// RetractBundleForTest is the bundle a retraction travels in.
func RetractBundleForTest(rec, root []byte) []byte { return moderate.RetractBundleForTest(rec, root) }
