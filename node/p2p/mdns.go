package p2p

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
// the host's own goroutines. The returned stop function is idempotent.
func (h *Host) startMDNS() (stop func(), err error) {
	svc := mdns.NewMdnsService(h.host, mdnsService, mdnsNotifee{h})
	if err := svc.Start(); err != nil {
		return func() {}, err
	}
	return func() { svc.Close() }, nil
}

type mdnsNotifee struct{ h *Host }

// HandlePeerFound connects to a peer found on the LAN.
func (m mdnsNotifee) HandlePeerFound(ai peer.AddrInfo) {
	if ai.ID == m.h.self {
		return
	}
	m.h.grp.Go(func(ctx context.Context) {
		cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		if err := m.h.host.Connect(cctx, ai); err == nil {
			m.h.SavePeer(ai.ID)
			m.h.log.Info("found a peer on the LAN", "peer", ai.ID)
		}
	})
}
