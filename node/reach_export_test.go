package node

import (
	"context"
	"net/netip"

	"github.com/libp2p/go-libp2p/core/network"
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
