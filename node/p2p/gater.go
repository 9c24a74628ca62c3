package p2p

import (
	"sync"
	"sync/atomic"

	"github.com/libp2p/go-libp2p/core/control"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// connGater enforces quota.connections live: a new connection to a peer we
// are not yet connected to is refused once the node holds the quota's number
// of connections. (libp2p's resource and connection managers take their
// limits once, at start; this gater reads the current quota every time.)
type connGater struct {
	limit atomic.Int64       // 0 = no limit
	count func() int         // current connections
	has   func(peer.ID) bool // already connected to p
	// noDirect holds peers (peer.ID → struct{}) with which only relayed
	// connections are allowed: tests model peers that cannot reach each
	// other on the same loopback (dial_test.go).
	noDirect sync.Map
}

var _ interface {
	InterceptPeerDial(peer.ID) bool
	InterceptAddrDial(peer.ID, ma.Multiaddr) bool
	InterceptAccept(network.ConnMultiaddrs) bool
	InterceptSecured(network.Direction, peer.ID, network.ConnMultiaddrs) bool
	InterceptUpgraded(network.Conn) (bool, control.DisconnectReason)
} = (*connGater)(nil)

func (g *connGater) full(p peer.ID) bool {
	limit := g.limit.Load()
	if limit <= 0 || g.count == nil {
		return false
	}
	if p != "" && g.has != nil && g.has(p) {
		return false // another connection to a known peer costs no new slot
	}
	return int64(g.count()) >= limit
}

// InterceptPeerDial refuses to dial new peers when full.
func (g *connGater) InterceptPeerDial(p peer.ID) bool { return !g.full(p) }

// InterceptAddrDial allows every address but direct ones of noDirect peers.
func (g *connGater) InterceptAddrDial(p peer.ID, a ma.Multiaddr) bool {
	return IsRelayed(a) || !g.relayOnly(p)
}

func (g *connGater) relayOnly(p peer.ID) bool {
	_, no := g.noDirect.Load(p)
	return no
}

// InterceptAccept refuses inbound connections when full (peer unknown yet).
func (g *connGater) InterceptAccept(network.ConnMultiaddrs) bool { return !g.full("") }

// InterceptSecured refuses when full, now that the peer is known.
func (g *connGater) InterceptSecured(_ network.Direction, p peer.ID, c network.ConnMultiaddrs) bool {
	if !IsRelayed(c.RemoteMultiaddr()) && g.relayOnly(p) {
		return false
	}
	return !g.full(p)
}

// InterceptUpgraded allows every upgraded connection.
func (g *connGater) InterceptUpgraded(network.Conn) (bool, control.DisconnectReason) { return true, 0 }

// RelayOnly makes the host refuse direct connections with p, to and from,
// and closes those it has: the two reach each other through relays only.
// (Tests model peers that cannot reach each other with it.)
func (h *Host) RelayOnly(p peer.ID) {
	h.gater.noDirect.Store(p, struct{}{})
	for _, c := range h.host.Network().ConnsToPeer(p) {
		if !IsRelayed(c.RemoteMultiaddr()) {
			_ = c.Close()
		}
	}
}

// AllowDirect undoes RelayOnly.
func (h *Host) AllowDirect(p peer.ID) { h.gater.noDirect.Delete(p) }
