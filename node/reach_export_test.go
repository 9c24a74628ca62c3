package node

import (
	"context"
	"net/netip"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"time"

	"github.com/myconet/myconet/node/names"
)

// AddrRecordFound reports whether n finds addr's /myco-addr/ record in the
// DHT now.
func AddrRecordFound(n *Node, addr netip.Addr) bool {
	ns := n.network()
	if ns == nil {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err := names.ResolveAddr(ctx, ns.dht, addr)
	return err == nil
}

// OverlayHostNet is n's libp2p network.
func OverlayHostNet(n *Node) network.Network { return n.network().host.Network() }

// DHTOf is n's DHT as a value store.
func DHTOf(n *Node) names.Routing { return n.network().dht }

// AllowDirect undoes RelayOnly.
func AllowDirect(n *Node, p peer.ID) { n.network().p2p.AllowDirect(p) }

// OverlayStreamPath is the path of n's overlay stream to p ("" without one).
func OverlayStreamPath(n *Node, p peer.ID) string {
	return n.network().overlay.StreamPath(p)
}
