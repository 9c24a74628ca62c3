package node

import "github.com/libp2p/go-libp2p/core/peer"

// RelayOnly makes n refuse direct connections with p, to and from, and
// closes those it has: the two reach each other through relays only.
func RelayOnly(n *Node, p peer.ID) { n.network().p2p.RelayOnly(p) }
