package p2p

// Reaching a peer: directly where the network allows, or else relayed by a
// connected peer (circuit relay v2, which every node runs: startRelay).
// Every protocol that opens a stream to a peer found in the DHT (retrieval,
// replication, search, moderation, the overlay) dials through here, so a
// node behind NAT or on another link than its providers still gets content
// from them through a common peer. The other side of this is the overlay's
// reserveLoop: a node keeps relay reservations at a few connected peers, so
// that they accept circuits to it.

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/proto"
	"github.com/libp2p/go-libp2p/p2p/protocol/ping"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/myconet/myconet/node/internal/p2px"
)

// Dial tuning.
const (
	dialDirectTimeout = 3 * time.Second // the direct attempt before relays
	dialRelayTimeout  = 5 * time.Second // one attempt through one relay
	relayPingTimeout  = time.Second     // a relay that answers slower is skipped
)

// NewStream opens a stream to p for protos, connecting first (see ConnectPeer).
// Relayed connections are allowed: this node's relays put no data or time
// limit on circuits, and a stream over a limited one from another relay
// is still better than none.
func (h *Host) NewStream(ctx context.Context, p peer.ID, protos ...protocol.ID) (network.Stream, error) {
	if err := h.ConnectPeer(ctx, p); err != nil {
		return nil, err
	}
	return h.host.NewStream(network.WithAllowLimitedConn(ctx, "myconet"), p, protos...)
}

// Dialer is the libp2p host with NewStream as h.NewStream (directly or
// relayed), for the services (retrieval, replication, moderation) that take
// a host.Host and open streams on it.
func (h *Host) Dialer() host.Host { return dialHost{h.host, h} }

type dialHost struct {
	host.Host
	h *Host
}

func (d dialHost) NewStream(ctx context.Context, p peer.ID, protos ...protocol.ID) (network.Stream, error) {
	return d.h.NewStream(ctx, p, protos...)
}

// ConnectPeer makes sure there is a connection to id: an existing one, a
// direct dial to the addresses the peerstore or the DHT knows, or a relayed
// one (tried alongside once the direct dial had a head start: dialRace)
// through the connected peers that offer relay service and answer a ping
// now, fastest first. (libp2p's relay client dials one relay at a time
// per destination, so a relay whose connection died silently must not be
// tried: it would hold up the others until the deadline.)
func (hh *Host) ConnectPeer(ctx context.Context, id peer.ID) error {
	h := hh.host
	if h.Network().Connectedness(id) == network.Connected {
		return nil
	}
	ps := h.Peerstore()
	var direct []ma.Multiaddr
	for _, a := range ps.Addrs(id) {
		if !IsRelayed(a) {
			direct = append(direct, a)
		}
	}
	if len(direct) == 0 {
		if ai, err := hh.dht.FindPeer(ctx, id); err == nil {
			for _, a := range ai.Addrs {
				if !IsRelayed(a) {
					direct = append(direct, a)
				}
			}
		}
	}
	// Forget relayed addresses from earlier paths; the live ones come back below.
	ps.ClearAddrs(id)
	ps.AddAddrs(id, direct, peerstore.TempAddrTTL)
	return hh.dialRace(ctx, id, len(direct) > 0) // reach_dial.go: direct, and relayed after a head start
}

// connectRelayed connects to id through the first live relay that carries it.
func (hh *Host) connectRelayed(ctx context.Context, id peer.ID) error {
	h := hh.host
	relays := hh.liveRelays(ctx, id)
	var lastErr error = errors.New("no relay to reach it through")
	clearDialBackoff(h, id) // reach_dial.go
	for _, r := range relays {
		circ, err := ma.NewMultiaddr("/p2p/" + r.id.String() + "/p2p-circuit")
		if err != nil {
			continue
		}
		rctx, cancel := context.WithTimeout(ctx, dialRelayTimeout)
		lastErr = h.Connect(rctx, peer.AddrInfo{ID: id, Addrs: []ma.Multiaddr{r.addr.Encapsulate(circ)}})
		cancel()
		if lastErr == nil {
			return nil
		}
	}
	return fmt.Errorf("connect %s (directly and through %d relays): %w", id, len(relays), lastErr)
}

type liveRelay struct {
	id   peer.ID
	addr ma.Multiaddr // of the direct connection to it
	rtt  time.Duration
}

// liveRelays pings, in parallel, every directly connected peer (but dst)
// that offers relay service and returns those that answered within
// relayPingTimeout, fastest first. One that does not answer is disconnected.
func (hh *Host) liveRelays(ctx context.Context, dst peer.ID) []liveRelay {
	h := hh.host
	var cands []liveRelay
	for _, c := range h.Network().Conns() {
		r := c.RemotePeer()
		if r == dst || IsRelayed(c.RemoteMultiaddr()) || slices.ContainsFunc(cands, func(l liveRelay) bool { return l.id == r }) {
			continue
		}
		if ok, _ := h.Peerstore().SupportsProtocols(r, proto.ProtoIDv2Hop); len(ok) == 0 {
			continue
		}
		cands = append(cands, liveRelay{id: r, addr: c.RemoteMultiaddr()})
	}
	var wg sync.WaitGroup
	for i := range cands {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pctx, cancel := context.WithTimeout(ctx, relayPingTimeout)
			defer cancel()
			res, ok := <-ping.Ping(pctx, h, cands[i].id)
			if !ok || res.Error != nil {
				cands[i].rtt = -1
				if ctx.Err() == nil {
					_ = h.Network().ClosePeer(cands[i].id)
				}
				return
			}
			cands[i].rtt = res.RTT
		}()
	}
	wg.Wait()
	live := slices.DeleteFunc(cands, func(l liveRelay) bool { return l.rtt < 0 })
	slices.SortFunc(live, func(a, b liveRelay) int { return cmp.Compare(a.rtt, b.rtt) })
	return live
}

// IsRelayed reports whether a is a circuit address (through a relay).
func IsRelayed(a ma.Multiaddr) bool { return p2px.IsRelayed(a) }
