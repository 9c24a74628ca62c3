package node

import "github.com/myconet/myconet/overlay"

// Test hooks into the running overlay (nil/zero without one).

func OverlayStats(n *Node) overlay.Stats {
	if ns := n.network(); ns != nil && ns.overlay != nil {
		return ns.overlay.Router().Stats()
	}
	return overlay.Stats{}
}

func OverlayRules(n *Node) []overlay.Rule {
	if ns := n.network(); ns != nil && ns.overlay != nil {
		return ns.overlay.Router().Firewall().Rules()
	}
	return nil
}

func OverlayHost(n *Node) interface{} { return n.network().host }
