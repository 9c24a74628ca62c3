package node

// The node's side of node/p2p: what the host needs of the node (holdings),
// and the names the services still in package node reach the host by.

import (
	"context"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/myconet/myconet/node/config"
)

func (n *Node) fileConfig() config.FileConfig { n.mu.Lock(); defer n.mu.Unlock(); return n.cfg }
func (ns *netState) setConnLimit(limit int)   { ns.p2p.SetConnLimit(limit) }

// dialHost is ns's host whose NewStream dials directly or relayed.
type dialHost struct {
	host.Host
	ns *netState
}

func (h dialHost) NewStream(ctx context.Context, p peer.ID, protos ...protocol.ID) (network.Stream, error) {
	return h.ns.p2p.NewStream(ctx, p, protos...)
}

func (n *Node) provideContent(ctx context.Context, ns *netState, c cid.Cid) {
	ns.p2p.ProvideContent(ctx, c)
}

func (n *Node) unprovideGone(ctx context.Context) {
	if ns := n.network(); ns != nil {
		ns.p2p.UnprovideGone(ctx)
	}
}
