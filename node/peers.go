package node

import (
	"context"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/myconet/myconet/store"
)

// rememberInterval is how often connected peers are saved for the next start.
const rememberInterval = time.Minute

// knownPeers returns the peers remembered from earlier runs.
func (n *Node) knownPeers() ([]peer.AddrInfo, error) {
	recs, err := n.db.Peers()
	if err != nil {
		return nil, err
	}
	var out []peer.AddrInfo
	for _, r := range recs {
		id, err := peer.Decode(r.ID)
		if err != nil {
			continue
		}
		ai := peer.AddrInfo{ID: id}
		for _, s := range r.Addrs {
			if a, err := ma.NewMultiaddr(s); err == nil {
				ai.Addrs = append(ai.Addrs, a)
			}
		}
		if len(ai.Addrs) > 0 {
			out = append(out, ai)
		}
	}
	return out, nil
}

// savePeer remembers one connected peer.
func (n *Node) savePeer(ns *netState, id peer.ID) {
	if rec, ok := peerRecord(ns, id, n.now()); ok {
		if err := n.db.PutPeers([]store.PeerRecord{rec}); err != nil {
			n.log.Warn("cannot remember peer", "peer", id, "err", err)
		}
	}
}

func peerRecord(ns *netState, id peer.ID, now time.Time) (store.PeerRecord, bool) {
	addrs := ns.host.Peerstore().Addrs(id)
	if len(addrs) == 0 {
		return store.PeerRecord{}, false
	}
	rec := store.PeerRecord{ID: id.String(), Seen: now}
	for _, a := range addrs {
		rec.Addrs = append(rec.Addrs, a.String())
	}
	return rec, true
}

// rememberPeers saves the connected peers every rememberInterval and once
// more when the network stops.
func (n *Node) rememberPeers(ctx context.Context, ns *netState) {
	t := time.NewTicker(rememberInterval)
	defer t.Stop()
	save := func() {
		var recs []store.PeerRecord
		for _, id := range ns.host.Network().Peers() {
			if rec, ok := peerRecord(ns, id, n.now()); ok {
				recs = append(recs, rec)
			}
		}
		if len(recs) > 0 {
			if err := n.db.PutPeers(recs); err != nil {
				n.log.Warn("cannot remember peers", "err", err)
			}
		}
	}
	for {
		select {
		case <-ctx.Done():
			save()
			return
		case <-t.C:
			save()
		}
	}
}
