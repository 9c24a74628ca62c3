package p2p

// Hole punching and the dial ranking it needs, and the relay service.

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/net/swarm"
	"github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/relay"
	"github.com/libp2p/go-libp2p/p2p/protocol/holepunch"
	"github.com/libp2p/go-libp2p/p2p/protocol/identify"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"

	"github.com/myconet/myconet/node/bandwidth"
	"github.com/myconet/myconet/node/internal/p2px"
)

// punchLog remembers when hole punching to a peer last succeeded. It is
// the hole punching service's tracer.
type punchLog struct {
	at  sync.Map // peer.ID → time.Time
	log func(msg string, args ...any)
}

// Trace implements holepunch.EventTracer.
func (p *punchLog) Trace(evt *holepunch.Event) {
	if p.log != nil {
		p.log("hole punching", "peer", evt.Remote, "event", evt.Type, "detail", fmt.Sprintf("%+v", evt.Evt))
	}
	if e, ok := evt.Evt.(*holepunch.EndHolePunchEvt); ok && e.Success {
		p.at.Store(evt.Remote, time.Unix(0, evt.Timestamp))
	}
}

// punched reports whether c, a direct connection to p, came from a hole
// punch: one succeeded around the time c opened.
func (p *punchLog) punched(id peer.ID, c network.Conn) bool {
	if p == nil {
		return false
	}
	v, ok := p.at.Load(id)
	if !ok {
		return false
	}
	t := v.(time.Time)
	opened := c.Stat().Opened
	return !t.Before(opened.Add(-time.Second)) && t.Sub(opened) < time.Minute
}

// Dialling for hole punching. The node dials TCP first (tcpFirstRanker:
// TCP+TLS+yamux carries 2–2.5× more per CPU second than quic-go), but a
// node behind NAT punches holes with QUIC: Linux conntrack defeats TCP
// simultaneous open after a failed direct dial, and UDP mappings are kept
// per 4-tuple. A UDP address is only learnt from peers that saw the node
// over QUIC (libp2p trusts an observed address once quicObservers peers
// report it), so while the node has fewer than quicObservers QUIC
// connections to public addresses, a dial to a public address that offers
// QUIC uses libp2p's own ranking (QUIC first). Private and loopback networks
// have no NAT between their peers and keep TCP first throughout.
const quicObservers = 4

// punchRanker is the node's dial ranker.
type punchRanker struct {
	conns atomic.Pointer[func() []network.Conn] // the host's connections, once it exists
}

func (r *punchRanker) rank(addrs []ma.Multiaddr) []network.AddrDelay {
	if r.wantQUIC(addrs) {
		return swarm.DefaultDialRanker(addrs)
	}
	return tcpFirstRanker(addrs)
}

func (r *punchRanker) wantQUIC(addrs []ma.Multiaddr) bool {
	if !slices.ContainsFunc(addrs, func(a ma.Multiaddr) bool {
		return isProto(a, ma.P_QUIC_V1) && !IsRelayed(a) && manet.IsPublicAddr(a)
	}) {
		return false
	}
	f := r.conns.Load()
	if f == nil {
		return true
	}
	n := 0
	for _, c := range (*f)() {
		a := c.RemoteMultiaddr()
		if isProto(a, ma.P_QUIC_V1) && !IsRelayed(a) && manet.IsPublicAddr(a) {
			n++
		}
	}
	return n < quicObservers
}

// punchHost is what the hole punching service needs of libp2p's host.
type punchHost interface {
	IDService() identify.IDService
	AllAddrs() []ma.Multiaddr
}

// startHolePunching runs libp2p's hole punching service on h.
func startHolePunching(h host.Host, punches *punchLog) (*holepunch.Service, error) {
	ph, ok := h.(punchHost)
	if !ok {
		return nil, fmt.Errorf("network: the libp2p host (%T) cannot run hole punching", h)
	}
	// Every public direct address, reachable or not (AutoNAT v2 removes
	// unreachable ones from Addrs: they are exactly those to punch).
	addrs := func() []ma.Multiaddr {
		return slices.DeleteFunc(ph.AllAddrs(), func(a ma.Multiaddr) bool { return !manet.IsPublicAddr(a) || IsRelayed(a) })
	}
	return holepunch.NewService(h, ph.IDService(), addrs, holepunch.WithTracer(punches))
}

// startRelay runs circuit relay v2 for the node's peers. Relayed bytes pay
// the owner's bandwidth quotas (the relay's streams go through the
// bandwidth limiters), and within them a relayed connection has no data or
// duration cap: libp2p's defaults (128 KiB, 2 min) are meant for hole
// punching and would cut overlay traffic off. Larger buffers keep a relayed
// stream near the speed of a direct one.
func (h *Host) startRelay() error {
	res := relay.DefaultResources()
	res.Limit = nil
	res.BufferSize = 64 << 10 // 128 KiB a circuit: 8 circuits fit libp2p's 1 MiB per-peer relay memory
	r, err := relay.New(&bandwidth.Host{Host: h.host, Up: h.up, Down: h.down}, relay.WithResources(res))
	if err != nil {
		return err
	}
	h.relay = r
	return nil
}

// tcpFirstRanker is libp2p's dial ranker with TCP ahead of QUIC: direct
// addresses over TCP are dialled at once and QUIC ones 300 ms later, as a
// fallback (libp2p's default is the reverse). Bulk streams, the overlay's
// above all, cost less than half the CPU per byte over TCP+TLS+yamux than
// over quic-go, whose per-datagram work (one ~1,400-byte packet at a time)
// dominates (bench/overlay: 2.6–3.4 against 4.9–6.6 s of daemon CPU per GB).
func tcpFirstRanker(addrs []ma.Multiaddr) []network.AddrDelay {
	res := swarm.DefaultDialRanker(addrs)
	for i := range res {
		a := res[i].Addr
		switch {
		case IsRelayed(a):
		case isProto(a, ma.P_QUIC_V1) || isProto(a, ma.P_WEBTRANSPORT):
			res[i].Delay += 300 * time.Millisecond
		case isProto(a, ma.P_TCP):
			res[i].Delay = 0
		}
	}
	return res
}

func isProto(a ma.Multiaddr, code int) bool {
	_, err := a.ValueForProtocol(code)
	return err == nil
}

// HasDirectConn reports whether one of conns is not relayed.
func HasDirectConn(conns []network.Conn) bool { return p2px.HasDirectConn(conns) }

// Punched reports whether c, a direct connection to id, came from a hole
// punch.
func (h *Host) Punched(id peer.ID, c network.Conn) bool { return h.punches.punched(id, c) }

// HolePunch is the hole punching service (nil with a TestHost), for
// retrying it.
func (h *Host) HolePunch() *holepunch.Service { return h.hps }
