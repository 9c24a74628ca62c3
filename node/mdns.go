package node

import (
	"context"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/discovery/mdns"
)

// mdnsService is the DNS-SD service name Myconet nodes announce on the LAN.
const mdnsService = "_myconet._udp"

// startMDNS starts LAN discovery when network.mdns is on (off by default: it
// sends multicast onto the local network). Found peers are connected to in
// the network's own goroutines. The returned stop function is idempotent.
func (n *Node) startMDNS(ns *netState) (stop func(), err error) {
	svc := mdns.NewMdnsService(ns.host, mdnsService, mdnsNotifee{n: n, ns: ns})
	if err := svc.Start(); err != nil {
		return func() {}, err
	}
	return func() { svc.Close() }, nil
}

type mdnsNotifee struct {
	n  *Node
	ns *netState
}

// HandlePeerFound connects to a peer found on the LAN.
func (m mdnsNotifee) HandlePeerFound(ai peer.AddrInfo) {
	if ai.ID == m.n.id.PeerID {
		return
	}
	m.ns.goOwned(func(ctx context.Context) {
		cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		if err := m.ns.host.Connect(cctx, ai); err == nil {
			m.n.savePeer(m.ns, ai.ID)
			m.n.log.Info("found a peer on the LAN", "peer", ai.ID)
		}
	})
}
