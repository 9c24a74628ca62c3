package node

import (
	"net/netip"

	"github.com/myconet/myconet/overlay"
	"github.com/myconet/myconet/overlay/overlaytest"
)

// OverlayAllowsTCP reports whether the running overlay's firewall lets a
// TCP SYN from src reach port on n.
func OverlayAllowsTCP(n *Node, src string, port uint16) bool {
	ns := n.network()
	if ns == nil || ns.overlay == nil {
		return false
	}
	me := n.Identity().Address
	pkt := overlaytest.TCP(netip.AddrPortFrom(netip.MustParseAddr(src), 40000), netip.AddrPortFrom(me, port), overlay.TCPSyn, 0, nil)
	p, err := overlay.ParsePacket(pkt)
	if err != nil {
		return false
	}
	return ns.overlay.Router().Firewall().Allow(pkt, &p)
}
