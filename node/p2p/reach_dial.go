package p2p

// First contact with a node behind NAT (issue 15). In the NAT lab it took
// 5–6 s (5.1–10.9 s over 12 pairs); a timeline of the dials showed where:
//
//   - Storing the new node's /myco-addr/ record, and the dialler's lookup of
//     it, each waited ~5 s on DHT servers nobody could dial: nodes behind
//     NAT serve the DHT while AutoNAT has not decided (ModeAutoServer
//     treats "unknown" as public) and advertise the address their NAT
//     mapped for them, which a port restricted or symmetric NAT does not
//     let anyone in through; QUIC gives up after its 5 s handshake idle
//     timeout. These nodes stay in the public nodes' routing tables after
//     they leave, too. So a node that has no public address of its own
//     and starts from public peers (a laptop behind a home router) uses
//     ModeAuto: a DHT client until AutoNAT finds it publicly reachable
//     (a full cone NAT or a forwarded port), as Kubo's default does.
//     Nodes with a public interface address keep ModeAutoServer; nodes
//     on a LAN or loopback network only serve outright (privateOnly).
//   - A relayed dial made before the peer held its reservation failed at
//     once, and the swarm then refused every dial of those circuit
//     addresses for its 5 s dial backoff. A relay answers at once, so the
//     backoff is cleared before each relayed attempt (the callers bound
//     their own retries), and a new node looks for its reservations every
//     0.5 s (backing off to 10 s) until it holds one.
//   - A direct dial to an address a NAT mapped (advertised until AutoNAT v2
//     has a verdict, which in the lab never came within 25 s) waited its
//     3 s before any relay was tried. The relays are now tried alongside
//     once the direct dial has had a 500 ms head start (libp2p's own delay
//     for relay addresses), and the first connection wins.
//
// Advertising only addresses AutoNAT v2 confirmed was tried too: it made
// full cone nodes undialable (v2 gave no verdict on their mapping within
// 25 s in the lab), and full cone ↔ symmetric stayed relayed. libp2p
// already drops the addresses v2 finds unreachable.

import (
	"context"
	"errors"
	"time"

	dht "github.com/libp2p/go-libp2p-kad-dht"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/net/swarm"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"
)

// directHeadStart is how long a direct dial runs alone before relays are
// tried alongside it.
const directHeadStart = 500 * time.Millisecond

// dialRace connects to id: directly (when it has direct addresses in the
// peerstore), and through relays once the direct dial has had
// directHeadStart, or has failed. The direct dial goes on for its
// dialDirectTimeout while the relays are tried: a direct connection that
// opens later replaces the relayed one for the overlay.
func (hh *Host) dialRace(ctx context.Context, id peer.ID, direct bool) error {
	if !direct {
		return hh.connectRelayed(ctx, id)
	}
	done := make(chan error, 1)
	go func() { // ends within dialDirectTimeout
		dctx, cancel := context.WithTimeout(ctx, dialDirectTimeout)
		defer cancel()
		done <- hh.host.Connect(dctx, peer.AddrInfo{ID: id})
	}()
	head := time.NewTimer(directHeadStart)
	defer head.Stop()
	directDone := false
	select {
	case err := <-done:
		if err == nil {
			return nil
		}
		directDone = true
	case <-head.C:
	}
	rerr := hh.connectRelayed(ctx, id)
	if rerr == nil {
		return nil
	}
	if !directDone && <-done == nil {
		return nil
	}
	return rerr
}

// dhtStartMode is the DHT mode of a node that has not been told one:
// ModeAuto (client until AutoNAT finds it public) for a node without a
// public address of its own that starts from public peers, else
// ModeAutoServer (see the file comment).
func dhtStartMode(own []ma.Multiaddr, boot []peer.AddrInfo) dht.ModeOpt {
	for _, a := range own {
		if manet.IsPublicAddr(a) {
			return dht.ModeAutoServer
		}
	}
	if privateOnly(own, boot) {
		return dht.ModeServer
	}
	return dht.ModeAuto
}

// DialAdvertised dials id directly, even though a relayed connection to
// it exists, at the public addresses it advertises (the peerstore's, from
// identify). A node behind a full cone NAT is dialable there, but a node
// behind a symmetric NAT cannot hole punch, so this plain dial is how the
// two go direct (punchLoop retries it).
func (hh *Host) DialAdvertised(ctx context.Context, id peer.ID) error {
	var addrs []ma.Multiaddr
	for _, a := range hh.host.Peerstore().Addrs(id) {
		if !IsRelayed(a) && manet.IsPublicAddr(a) {
			addrs = append(addrs, a)
		}
	}
	if len(addrs) == 0 {
		return errors.New("no public address advertised")
	}
	dctx, cancel := context.WithTimeout(network.WithForceDirectDial(ctx, "myconet: relayed"), dialDirectTimeout)
	defer cancel()
	return hh.host.Connect(dctx, peer.AddrInfo{ID: id, Addrs: addrs})
}

// clearDialBackoff forgets the swarm's dial backoff for p.
func clearDialBackoff(h host.Host, p peer.ID) {
	if s, ok := h.Network().(*swarm.Swarm); ok {
		s.Backoff().Clear(p)
	}
}
