package node

import "github.com/libp2p/go-libp2p/core/peer"

// RelayOnly makes n refuse direct connections with p, to and from, and
// closes those it has: the two reach each other through relays only.
func RelayOnly(n *Node, p peer.ID) {
	ns := n.network()
	ns.gater.noDirect.Store(p, struct{}{})
	for _, c := range ns.host.Network().ConnsToPeer(p) {
		if !isRelayed(c.RemoteMultiaddr()) {
			_ = c.Close()
		}
	}
}
