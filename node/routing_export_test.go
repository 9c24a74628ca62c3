package node

// RoutingTableSize is the number of peers in the node's DHT routing table,
// 0 offline (test helper: a peer joins it a moment after the connection).
func (n *Node) RoutingTableSize() int {
	if ns := n.network(); ns != nil {
		return ns.dht.RoutingTable().Size()
	}
	return 0
}
