package overlaynet

import (
	"context"
	"net/netip"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/client"
	"github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/proto"
	"github.com/libp2p/go-libp2p/p2p/protocol/ping"

	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/internal/p2px"
	"github.com/myconet/myconet/node/names"
	"github.com/myconet/myconet/overlay"
)

// publishLoop stores the node's /myco-addr/ record in the DHT once the
// routing table has peers, retrying until it succeeds, then again after 1
// and 10 minutes (the first store may have reached only the few peers the
// node knew then) and every names.RepublishInterval after that.
func (o *Service) publishLoop(ctx context.Context) {
	t := time.NewTimer(0)
	defer t.Stop()
	next := []time.Duration{time.Minute, 10 * time.Minute}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if o.dht.RoutingTable().Size() == 0 {
			t.Reset(250 * time.Millisecond) // a new node is unreachable until this record is out
			continue
		}
		pctx, cancel := context.WithTimeout(ctx, time.Minute)
		err := names.PublishAddr(pctx, o.dht, o.priv)
		cancel()
		if err != nil {
			if ctx.Err() == nil {
				o.log.Debug("overlay: publish address record", "err", err)
			}
			t.Reset(addrPublishRetry)
			continue
		}
		o.log.Debug("overlay: address record published", "address", o.self)
		if len(next) > 0 {
			t.Reset(next[0])
			next = next[1:]
		} else {
			t.Reset(names.RepublishInterval)
		}
	}
}

// watchdog checks, every second, the links that carry traffic: it pings
// their peer, and after overlayProbeFails failures in a row closes the
// connections to it so that the next frame finds another path. Idle links
// close.
func (o *Service) watchdog(ctx context.Context) {
	t := time.NewTicker(overlayProbeEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := time.Now().UnixNano()
		o.mu.Lock()
		var active []*overlayLink
		for id, l := range o.links {
			idle := time.Duration(now - l.lastSend.Load())
			switch {
			case idle > overlayLinkIdle:
				delete(o.links, id)
				l.close()
			case idle < 3*overlayProbeEvery:
				l.mu.Lock()
				has := l.stream != nil
				l.mu.Unlock()
				if has && !l.probing.Load() {
					active = append(active, l)
				}
			}
		}
		o.mu.Unlock()
		for _, l := range active {
			l.probing.Store(true)
			o.goOwned(func(ctx context.Context) { o.probe(ctx, l) })
		}
	}
}

func (o *Service) probe(ctx context.Context, l *overlayLink) {
	defer l.probing.Store(false)
	pctx, cancel := context.WithTimeout(ctx, overlayProbeTimeout)
	defer cancel()
	res, ok := <-ping.Ping(pctx, o.host, l.id)
	if ctx.Err() != nil {
		return
	}
	if !ok { // the deadline passed before any answer: the channel closed empty
		res.Error = pctx.Err()
	}
	if res.Error == nil {
		l.fails.Store(0)
		return
	}
	if l.fails.Add(1) < overlayProbeFails {
		return
	}
	l.fails.Store(0)
	o.log.Info("overlay: path to peer stopped answering; finding another", "peer", l.id, "err", res.Error)
	l.resetStream()
	_ = o.host.Network().ClosePeer(l.id)
}

// reserveLoop keeps circuit relay reservations at up to overlayMaxRelays
// connected peers that offer relay service, so that peers which cannot dial
// this node reach it through them.
func (o *Service) reserveLoop(ctx context.Context) {
	wait := 250 * time.Millisecond
	t := time.NewTimer(2 * wait)
	defer t.Stop()
	h := o.host
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for _, r := range h.Network().Peers() {
			o.mu.Lock()
			exp, held := o.relays[r]
			n := len(o.relays)
			o.mu.Unlock()
			if held && time.Until(exp) > 10*time.Minute {
				continue
			}
			if !held && n >= overlayMaxRelays {
				continue
			}
			if ok, _ := h.Peerstore().SupportsProtocols(r, proto.ProtoIDv2Hop); len(ok) == 0 {
				continue
			}
			if !p2px.HasDirectConn(h.Network().ConnsToPeer(r)) {
				continue
			}
			rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			res, err := client.Reserve(rctx, h, peer.AddrInfo{ID: r})
			cancel()
			o.mu.Lock()
			if err != nil {
				delete(o.relays, r)
				o.log.Debug("overlay: relay reservation", "relay", r, "err", err)
			} else {
				if !held {
					o.log.Debug("overlay: relay reservation held", "relay", r)
				}
				o.relays[r] = res.Expiration
			}
			o.mu.Unlock()
		}
		o.mu.Lock()
		for r := range o.relays {
			if h.Network().Connectedness(r) != network.Connected {
				delete(o.relays, r)
			}
		}
		held := len(o.relays)
		o.mu.Unlock()
		// Until it holds one, a node behind NAT cannot be reached at all:
		// look again soon, backing off to the usual 10 s.
		wait = min(2*wait, 10*time.Second)
		if held > 0 {
			wait = 10 * time.Second
		}
		t.Reset(wait)
	}
}

// The node's own pings: echo requests sent through the Router and the
// replies (or ICMPv6 errors) caught by intercept before the TUN.

type pingEvent struct {
	at      time.Time
	size    int
	errType uint8 // ICMPv6 error type, 0 for a reply
	errCode uint8
}

// intercept is the Router's Intercept: it consumes echo replies and errors
// quoting echo requests that a waiting ping sent.
func (o *Service) intercept(pkt []byte) bool {
	// Cheap pre-check: ICMPv6 right after the fixed header.
	if len(pkt) < 48 || pkt[6] != overlay.ProtoICMPv6 {
		return false
	}
	typ := pkt[40]
	if typ != overlay.ICMPv6EchoReply && typ != overlay.ICMPv6DestUnreachable && typ != overlay.ICMPv6PacketTooBig {
		return false
	}
	p, err := overlay.ParsePacket(pkt)
	if err != nil {
		return false
	}
	ev := pingEvent{at: time.Now(), size: len(pkt) - p.Offset}
	id, seq := p.EchoID, p.EchoSeq
	if typ != overlay.ICMPv6EchoReply {
		if len(pkt) < p.Offset+8 {
			return false
		}
		q, err := overlay.ParseEmbedded(pkt[p.Offset+8:])
		if err != nil || q.Proto != overlay.ProtoICMPv6 || q.ICMPType != overlay.ICMPv6EchoRequest {
			return false
		}
		id, seq, ev.errType, ev.errCode = q.EchoID, q.EchoSeq, p.ICMPType, p.ICMPCode
	}
	o.pingsMu.Lock()
	ch := o.pings[uint32(id)<<16|uint32(seq)]
	o.pingsMu.Unlock()
	if ch == nil {
		return false
	}
	select {
	case ch <- ev:
	default:
	}
	return true
}

// pingOnce sends one echo request of size bytes of data to dst and waits
// for the answer.
func (o *Service) pingOnce(ctx context.Context, dst netip.Addr, id, seq uint16, size int, timeout time.Duration) apitype.PingReply {
	key := uint32(id)<<16 | uint32(seq)
	ch := make(chan pingEvent, 1)
	o.pingsMu.Lock()
	o.pings[key] = ch
	o.pingsMu.Unlock()
	defer func() {
		o.pingsMu.Lock()
		delete(o.pings, key)
		o.pingsMu.Unlock()
	}()
	body := make([]byte, 4+size)
	body[0], body[1], body[2], body[3] = byte(id>>8), byte(id), byte(seq>>8), byte(seq)
	for i := 4; i < len(body); i++ {
		body[i] = byte(i)
	}
	pkt := overlay.BuildICMPv6(o.self, dst, overlay.ICMPv6EchoRequest, 0, body)
	reply := apitype.PingReply{Seq: int(seq)}
	start := time.Now()
	if err := o.router.Send([][]byte{pkt}); err != nil {
		reply.Error = err.Error()
		return reply
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-ctx.Done():
		reply.Error = "cancelled"
	case <-t.C:
		reply.Error = "timeout"
	case ev := <-ch:
		switch {
		case ev.errType == overlay.ICMPv6DestUnreachable:
			reply.Error = "destination unreachable (no route: the address did not resolve or its node cannot be reached)"
		case ev.errType == overlay.ICMPv6PacketTooBig:
			reply.Error = "packet too big"
		default:
			reply.Bytes = ev.size
			reply.RTT = float64(ev.at.Sub(start).Microseconds()) / 1000
		}
	}
	return reply
}
