package node

import (
	"context"

	"github.com/ipfs/go-cid"
)

// HasBlockForTest reports whether the store holds block c (pinned or not).
func (n *Node) HasBlockForTest(c cid.Cid) bool {
	ok, _ := n.db.Has(c)
	return ok
}

// PinnedForTest reports whether c is pinned.
func (n *Node) PinnedForTest(c cid.Cid) bool {
	ok, _ := n.have(c)
	return ok
}

// SelfProviderRecordForTest reports whether the node's DHT store holds its
// own provider record of c (what it answers GET_PROVIDERS with).
func (n *Node) SelfProviderRecordForTest(c cid.Cid) bool {
	ns := n.network()
	if ns == nil {
		return false
	}
	ps, _ := ns.dht.ProviderStore().GetProviders(context.Background(), c.Hash())
	for _, p := range ps {
		if p.ID == n.id.PeerID {
			return true
		}
	}
	return false
}
