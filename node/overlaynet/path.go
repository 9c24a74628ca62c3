package overlaynet

// The overlay's path to a peer, truthfully: the connection under the stream
// that carries the packets, not "some connection to the peer". A link that
// runs over a relayed connection moves to a direct one as soon as one
// appears (a hole punch succeeded, or either side dialled the other): a new
// stream is opened on the direct connection, swapped in between two
// frames, and the relayed stream is closed for writing so that the peer
// reads what is still in flight (its own link follows: followPeer). The
// packets of a TCP connection across the switch may reorder but are not
// lost. Whether a direct connection came from hole punching the node reads
// from libp2p's hole punching tracer (Options.Punched).

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/protocol/holepunch"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/myconet/myconet/node/internal/p2px"
)

// connPath describes one connection: "direct", "hole-punched" or
// "relayed via <relay>".
func (o *Service) connPath(id peer.ID, c network.Conn) string {
	a := c.RemoteMultiaddr()
	if !p2px.IsRelayed(a) {
		if o.punched != nil && o.punched(id, c) {
			return "hole-punched"
		}
		return "direct"
	}
	if v, err := a.ValueForProtocol(ma.P_P2P); err == nil {
		return "relayed via " + v
	}
	return "relayed"
}

// StreamPath is the path of the overlay stream to id ("" without one).
func (o *Service) StreamPath(id peer.ID) string {
	o.mu.Lock()
	l := o.links[id]
	o.mu.Unlock()
	if l == nil {
		return ""
	}
	l.mu.Lock()
	s := l.stream
	l.mu.Unlock()
	if s == nil {
		return ""
	}
	return o.connPath(id, s.Conn())
}

// Path describes how this node reaches id now: the connection of the
// overlay stream when one is open, else the best connection libp2p would
// use ("not connected" without any).
func (o *Service) Path(id peer.ID) string {
	if p := o.StreamPath(id); p != "" {
		return p
	}
	var best network.Conn
	for _, c := range o.host.Network().ConnsToPeer(id) {
		if best == nil || p2px.IsRelayed(best.RemoteMultiaddr()) && !p2px.IsRelayed(c.RemoteMultiaddr()) {
			best = c
		}
	}
	if best == nil {
		return "not connected"
	}
	return o.connPath(id, best)
}

// watchDirect moves links onto direct connections as they open.
func (o *Service) watchDirect() {
	o.notifiee = &network.NotifyBundle{ConnectedF: func(_ network.Network, c network.Conn) {
		if p2px.IsRelayed(c.RemoteMultiaddr()) {
			return
		}
		o.mu.Lock()
		l := o.links[c.RemotePeer()]
		o.mu.Unlock()
		if l != nil {
			o.goOwned(l.toDirect)
		}
	}}
	o.host.Network().Notify(o.notifiee)
}

// toDirect swaps the link's relayed stream for one on a direct connection,
// if there is one.
func (l *overlayLink) toDirect(ctx context.Context) {
	l.mu.Lock()
	old := l.stream
	l.mu.Unlock()
	if old == nil || !p2px.IsRelayed(old.Conn().RemoteMultiaddr()) || !p2px.HasDirectConn(l.o.host.Network().ConnsToPeer(l.id)) {
		return
	}
	sctx, cancel := context.WithTimeout(ctx, overlayOpenTimeout)
	defer cancel()
	s, err := l.o.host.NewStream(network.WithNoDial(sctx, "overlay: move to direct"), l.id, Protocol)
	if err != nil {
		l.o.log.Debug("overlay: stream on the direct connection", "peer", l.id, "err", err)
		return
	}
	if p2px.IsRelayed(s.Conn().RemoteMultiaddr()) {
		s.Reset()
		return
	}
	l.wmu.Lock() // between two frames
	l.mu.Lock()
	swapped := l.stream == old
	if swapped {
		l.stream = s
		l.deadline = time.Time{}
	}
	l.mu.Unlock()
	l.wmu.Unlock()
	if !swapped {
		s.Reset()
		return
	}
	l.o.log.Info("overlay: moved to a direct connection", "peer", l.id, "path", l.o.connPath(l.id, s.Conn()))
	_ = old.CloseWrite()
	// The peer closes its side at EOF; do not wait on it for long.
	time.AfterFunc(10*time.Second, func() { _ = old.Reset() })
}

// Retrying hole punching. libp2p punches once, when a relayed connection
// comes in, three attempts in a row; if those fail (the node learnt its
// public UDP address only later, or the NAT's state was not ready) nothing
// tries again, and relayed connections here carry no limits, so they never
// expire into a new round. The node therefore runs the hole punching
// service itself and, while a peer it exchanges overlay traffic with is
// reachable through relays only, asks it for a direct connection again,
// after 5 s, then at doubling intervals up to punchRetryMax.
const (
	punchRetryFirst = 5 * time.Second
	punchRetryMax   = 5 * time.Minute
)

// punchLoop retries hole punching to the overlay's relayed-only peers.
func (o *Service) punchLoop(ctx context.Context) {
	hps := o.hps
	if hps == nil {
		return
	}
	type state struct {
		next time.Time
		wait time.Duration
		busy atomic.Bool
	}
	peers := map[peer.ID]*state{}
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		o.mu.Lock()
		ids := make([]peer.ID, 0, len(o.links))
		for id := range o.links {
			ids = append(ids, id)
		}
		o.mu.Unlock()
		// DirectConnect waits, without a deadline, until the service has a
		// public address; it serves its protocol from then on.
		punching := slices.Contains(o.host.Mux().Protocols(), holepunch.Protocol)
		now := time.Now()
		live := map[peer.ID]bool{}
		for _, id := range ids {
			conns := o.host.Network().ConnsToPeer(id)
			if len(conns) == 0 || p2px.HasDirectConn(conns) {
				continue
			}
			live[id] = true
			st := peers[id]
			if st == nil {
				st = &state{next: now.Add(punchRetryFirst), wait: punchRetryFirst}
				peers[id] = st
			}
			if now.Before(st.next) || st.busy.Load() {
				continue
			}
			st.wait = min(2*st.wait, punchRetryMax)
			st.next = now.Add(st.wait)
			st.busy.Store(true)
			o.goOwned(func(ctx context.Context) {
				defer st.busy.Store(false)
				// A public address the peer advertises may take a plain dial
				// (a full cone NAT, a forwarded port): p2p/reach_dial.go.
				err := errors.New("no advertised address dialed")
				if o.dialAdvertised != nil {
					err = o.dialAdvertised(ctx, id)
				}
				if err != nil && punching {
					err = hps.DirectConnect(id)
				}
				o.log.Debug("overlay: direct connection retried", "peer", id, "err", err)
			})
		}
		for id := range peers {
			if !live[id] {
				delete(peers, id)
			}
		}
	}
}
