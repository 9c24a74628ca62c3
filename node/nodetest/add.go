package nodetest

// Add starts one more node, index len(net.Nodes), on a fresh home (a new
// identity): on mocknet it is linked to every live node, not yet
// connected. For churn: Kill some nodes, Add others.
func (net *Net) Add() int {
	net.t.Helper()
	i := len(net.Nodes)
	net.homes = append(net.homes, net.t.TempDir())
	net.Nodes = append(net.Nodes, net.start(i))
	net.Dead = append(net.Dead, false)
	if net.Mock != nil {
		id := net.Nodes[i].Identity().PeerID
		for _, j := range net.Live() {
			if j == i {
				continue
			}
			if _, err := net.Mock.LinkPeers(id, net.Nodes[j].Identity().PeerID); err != nil {
				net.t.Fatal(err)
			}
		}
	}
	return i
}
