package p2p

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/store"
)

// rememberInterval is how often connected peers are saved for the next start.
const rememberInterval = time.Minute

// knownPeers returns the peers remembered from earlier runs.
func (h *Host) knownPeers() ([]peer.AddrInfo, error) {
	if h.cfg.Peers == nil {
		return nil, nil
	}
	recs, err := h.cfg.Peers.Peers()
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

// SavePeer remembers one connected peer.
func (h *Host) SavePeer(id peer.ID) {
	if rec, ok := h.peerRecord(id); ok && h.cfg.Peers != nil {
		if err := h.cfg.Peers.PutPeers([]store.PeerRecord{rec}); err != nil {
			h.log.Warn("cannot remember peer", "peer", id, "err", err)
		}
	}
}

func (h *Host) peerRecord(id peer.ID) (store.PeerRecord, bool) {
	addrs := h.host.Peerstore().Addrs(id)
	if len(addrs) == 0 {
		return store.PeerRecord{}, false
	}
	rec := store.PeerRecord{ID: id.String(), Seen: h.cfg.Now()}
	for _, a := range addrs {
		rec.Addrs = append(rec.Addrs, a.String())
	}
	return rec, true
}

// rememberPeers saves the connected peers every rememberInterval and once
// more when the network stops.
func (h *Host) rememberPeers(ctx context.Context) {
	if h.cfg.Peers == nil {
		return
	}
	t := time.NewTicker(rememberInterval)
	defer t.Stop()
	save := func() {
		var recs []store.PeerRecord
		for _, id := range h.host.Network().Peers() {
			if rec, ok := h.peerRecord(id); ok {
				recs = append(recs, rec)
			}
		}
		if len(recs) > 0 {
			if err := h.cfg.Peers.PutPeers(recs); err != nil {
				h.log.Warn("cannot remember peers", "err", err)
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

// Peers lists connected peers, by ID. path, when not nil, describes the
// path to a peer (the overlay's: "direct", "relayed via …"), which then also
// says whether it is relayed.
func (h *Host) Peers(path func(peer.ID) string) []apitype.PeerInfo {
	byID := map[peer.ID]*apitype.PeerInfo{}
	for _, c := range h.host.Network().Conns() {
		id := c.RemotePeer()
		pi, ok := byID[id]
		if !ok {
			pi = &apitype.PeerInfo{ID: id.String(), Direction: dirString(c.Stat().Direction)}
			if l := h.host.Peerstore().LatencyEWMA(id); l > 0 {
				pi.Latency = l.Round(time.Microsecond).Seconds()
			}
			byID[id] = pi
		}
		addr := c.RemoteMultiaddr()
		if IsRelayed(addr) && !HasDirectConn(h.host.Network().ConnsToPeer(id)) {
			pi.Relayed = true
		}
		pi.Addrs = append(pi.Addrs, addr.String())
	}
	out := make([]apitype.PeerInfo, 0, len(byID))
	for id, pi := range byID {
		if path != nil {
			pi.Path = path(id)
			pi.Relayed = strings.HasPrefix(pi.Path, "relayed")
		}
		out = append(out, *pi)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func dirString(d network.Direction) string {
	if d == network.DirInbound {
		return "inbound"
	}
	return "outbound"
}

// Connect dials a peer by multiaddr (with /p2p/ID) and remembers it.
func (h *Host) Connect(ctx context.Context, addr string) (peer.ID, error) {
	ai, err := peer.AddrInfoFromString(addr)
	if err != nil {
		return "", apitype.Errorf(apitype.CodeInvalid, "%q is not a peer multiaddr (want …/p2p/<peer-id>): %v", addr, err)
	}
	if ai.ID == h.self {
		return "", apitype.Errorf(apitype.CodeInvalid, "that is this node's own address")
	}
	cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := h.host.Connect(cctx, *ai); err != nil {
		return "", fmt.Errorf("connect %s: %w", ai.ID, err)
	}
	h.SavePeer(ai.ID)
	return ai.ID, nil
}

// logPeerEvents logs every connection opened and closed at debug level to
// Config.PeerLog, until the host stops.
func (h *Host) logPeerEvents() {
	log := h.cfg.PeerLog
	if log == nil {
		return
	}
	nb := &network.NotifyBundle{
		ConnectedF: func(_ network.Network, c network.Conn) {
			log.Debug("peer connected", "peer", c.RemotePeer(), "addr", c.RemoteMultiaddr(), "relayed", IsRelayed(c.RemoteMultiaddr()))
		},
		DisconnectedF: func(_ network.Network, c network.Conn) {
			log.Debug("peer disconnected", "peer", c.RemotePeer(), "addr", c.RemoteMultiaddr())
		},
	}
	h.host.Network().Notify(nb)
	h.grp.Go(func(ctx context.Context) {
		<-ctx.Done()
		h.host.Network().StopNotify(nb)
	})
}
