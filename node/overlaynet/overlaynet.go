// Package overlaynet runs the IPv6 overlay of a node: the Router of package
// overlay (the pure core) wired to a libp2p host, with the TUN device, the
// node's /myco-addr/ record, relay reservations, the path of each peer's
// stream, hole punching retries, and the node's own pings.
//
// It may import the pure cores (overlay), node/apitype, node/config,
// node/names and libp2p; never package node nor another service package.
// What it needs of the rest of the node comes in through Options: the host,
// the DHT, a dialler (directly or through relays), the hole punching
// service and its log of successes.
//
// Transport: one long-lived stream per peer and direction, protocol
// Protocol, carrying frames of batched packets (overlay.Sender and
// FrameReader). The stream is opened on the first packet for a peer and
// opened again after a write fails; a watchdog pings peers with traffic and
// drops a path that stops answering, so that the next frame dials another
// (directly, or through any connected peer that relays). Inbound streams hand
// their packets to the Router with the key of the connection they came on;
// the Router drops any packet whose source address is not that key's.
//
// Resolver: overlay address → a connected peer whose key derives it, or else
// the /myco-addr/ DHT record → key → peer ID → connect (DHT FindPeer, then
// through relays).
//
// Relays: every node runs circuit relay v2 (the node starts the service)
// and keeps reservations at a few of its peers (reserveLoop), so that a peer
// that cannot reach it directly can through them.
package overlaynet

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	dht "github.com/libp2p/go-libp2p-kad-dht"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"golang.zx2c4.com/wireguard/tun"

	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/config"
	"github.com/myconet/myconet/node/internal/p2px"
	"github.com/myconet/myconet/node/internal/svc"
	"github.com/myconet/myconet/node/names"
	"github.com/myconet/myconet/overlay"
)

// Protocol is the libp2p protocol of overlay packet streams.
const Protocol = protocol.ID("/myconet/overlay/1.0.0")

// Overlay tuning.
const (
	overlayMaxFrame     = overlay.DefaultMaxFrame
	overlayQueueLen     = 2048                    // packets waiting per peer
	overlayOpenTimeout  = 15 * time.Second        // connecting and opening a stream
	overlayWriteTimeout = 10 * time.Second        // one frame
	overlayLinkIdle     = 5 * time.Minute         // a link without traffic closes
	overlayProbeEvery   = time.Second             // watchdog period
	overlayProbeTimeout = 1500 * time.Millisecond // one liveness ping
	overlayProbeFails   = 2                       // failed pings that drop a path
	overlayMaxRelays    = 4                       // reservations a node keeps
	addrPublishRetry    = 5 * time.Second
	// overlayNegativeTTL is how long a failed address lookup answers
	// "unreachable" without asking again. Short: the record of a node that
	// just joined appears within seconds, and its first packets should not
	// wait out the Router's 5 s default (issue 10 item 25).
	overlayNegativeTTL = time.Second
)

// HolePuncher asks a peer reachable through relays only for a direct
// connection (libp2p's *holepunch.Service).
type HolePuncher interface {
	DirectConnect(id peer.ID) error
}

// Options is what the overlay takes from the node.
type Options struct {
	Host   host.Host
	DHT    *dht.IpfsDHT   // address records
	Priv   crypto.PrivKey // the node's key: its overlay address and address record
	Config config.OverlayConfig
	// Connect makes sure there is a connection to a peer, directly or
	// through a relay.
	Connect func(ctx context.Context, id peer.ID) error
	// Punched reports whether c, a direct connection to id, came from hole
	// punching (nil: never).
	Punched func(id peer.ID, c network.Conn) bool
	// HolePunch retries hole punching to relayed-only peers (nil: none).
	HolePunch HolePuncher
	// DialAdvertised dials the public addresses a relayed-only peer
	// advertises, before hole punching is tried (nil: punching only).
	DialAdvertised func(ctx context.Context, id peer.ID) error
	Logger         *slog.Logger // without component; the service adds its own
}

// Service is the running overlay.
type Service struct {
	host           host.Host
	dht            *dht.IpfsDHT
	priv           crypto.PrivKey
	self           netip.Addr // this node's overlay address
	dial           func(ctx context.Context, id peer.ID) error
	punched        func(id peer.ID, c network.Conn) bool
	hps            HolePuncher
	dialAdvertised func(ctx context.Context, id peer.ID) error
	log            *slog.Logger
	router         *overlay.Router
	tun            string // interface name, "" without a TUN
	note           string // for status: why there is no TUN, or the TUN's name

	pingID  atomic.Uint32
	pingsMu sync.Mutex
	pings   map[uint32]chan pingEvent // (echo id << 16 | seq) → waiter

	mu       sync.Mutex
	links    map[peer.ID]*overlayLink    // guarded by mu
	inbound  map[network.Stream]struct{} // guarded by mu
	closed   bool                        // guarded by mu
	relays   map[peer.ID]time.Time       // reservations held: relay → expiry; guarded by mu
	keys     sync.Map                    // peer.ID → netip.Addr, the address of its key
	notifiee network.Notifiee            // watchDirect's

	runMu     sync.Mutex
	grp       *svc.Group // the service's goroutines, from Start; guarded by runMu
	stopped   bool       // Close began: Start does nothing; guarded by runMu
	closeOnce sync.Once
}

// New builds the Router (with a TUN when the config asks for one and the
// system allows it) and the transport; Start runs them.
func New(opts Options) (*Service, error) {
	pub, err := crypto.MarshalPublicKey(opts.Priv.GetPublic())
	if err != nil {
		return nil, fmt.Errorf("overlay: %w", err)
	}
	cfg := opts.Config
	o := &Service{
		host: opts.Host, dht: opts.DHT, priv: opts.Priv, self: overlay.AddressFromKey(pub),
		dial: opts.Connect, punched: opts.Punched, hps: opts.HolePunch, dialAdvertised: opts.DialAdvertised,
		log:   opts.Logger.With("component", "overlay"),
		pings: make(map[uint32]chan pingEvent), links: make(map[peer.ID]*overlayLink),
		inbound: make(map[network.Stream]struct{}), relays: make(map[peer.ID]time.Time),
	}
	rules, err := ParseRules(cfg.Firewall)
	if err != nil {
		return nil, apitype.Errorf(apitype.CodeInvalid, "config: overlay.firewall: %v", err)
	}
	var dev tun.Device
	switch {
	case !cfg.TUN:
		o.note = "TUN disabled (overlay.tun = false or --no-tun)"
	default:
		dev, err = createTUN(cfg.TUNName, cfg.MTU, o.self)
		if err != nil {
			// Said once; everything else (overlay pings included) runs.
			o.note = "no TUN: " + err.Error()
			o.log.Warn("overlay: no TUN interface; the node runs without it and still answers overlay pings",
				"tun", cfg.TUNName, "err", err)
		} else {
			o.tun = cfg.TUNName
			if name, err := dev.Name(); err == nil {
				o.tun = name
			}
			o.note = "tun " + o.tun
			o.log.Info("overlay: TUN up", "tun", o.tun, "address", o.self, "mtu", cfg.MTU)
		}
	}
	o.pingID.Store(uint32(time.Now().UnixNano()))
	o.router, err = overlay.New(overlay.Config{
		Key:         pub,
		TUN:         dev,
		Transport:   o,
		Resolver:    o,
		Firewall:    overlay.NewFirewall(overlay.FirewallConfig{Rules: rules}),
		MTU:         cfg.MTU,
		NegativeTTL: overlayNegativeTTL,
		Intercept:   o.intercept,
		Logger:      opts.Logger,
	})
	if err != nil {
		if dev != nil {
			dev.Close()
		}
		return nil, fmt.Errorf("overlay: %w", err)
	}
	return o, nil
}

// Start serves overlay streams and runs the Router and the overlay's loops
// until Close.
func (o *Service) Start(ctx context.Context) {
	o.runMu.Lock()
	if o.grp != nil || o.stopped { // started already, or closed
		o.runMu.Unlock()
		return
	}
	o.grp = svc.NewGroup(ctx)
	o.runMu.Unlock()
	o.host.SetStreamHandler(Protocol, o.handleStream)
	o.goOwned(func(ctx context.Context) {
		if err := o.router.Run(ctx); err != nil {
			o.log.Error("overlay: router stopped", "err", err)
		}
	})
	o.goOwned(o.publishLoop)
	o.goOwned(o.watchdog)
	o.goOwned(o.reserveLoop)
	o.goOwned(o.retryOnConnect)
	o.watchDirect() // path.go
	o.goOwned(o.punchLoop)
}

// Close stops the transport, the Router and every goroutine of the
// service, and waits for them.
func (o *Service) Close() error {
	o.closeOnce.Do(func() {
		o.runMu.Lock()
		grp := o.grp
		o.stopped = true
		o.runMu.Unlock()
		if grp != nil {
			grp.Cancel()
		}
		o.close() // unblocks the loops reading streams
		if grp != nil {
			grp.Wait()
		}
	})
	return nil
}

// goOwned runs f on a goroutine the service owns: Close waits for it, and
// nothing starts after Close began (nor before Start).
func (o *Service) goOwned(f func(ctx context.Context)) {
	o.runMu.Lock()
	grp := o.grp
	o.runMu.Unlock()
	if grp != nil {
		grp.Go(f)
	}
}

// TUN is the name of the TUN interface, "" without one.
func (o *Service) TUN() string { return o.tun }

// Router is the overlay's Router (statistics, firewall, routes).
func (o *Service) Router() *overlay.Router { return o.router }

// retryOnConnect clears a failed lookup of a peer's address the moment the
// peer connects: its address now resolves from the connection, so packets
// for it need not wait for the failure to expire.
func (o *Service) retryOnConnect(ctx context.Context) {
	sub, err := o.host.EventBus().Subscribe(new(event.EvtPeerConnectednessChanged))
	if err != nil {
		o.log.Warn("overlay: no connection events", "err", err)
		return
	}
	defer sub.Close()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-sub.Out():
			if !ok {
				return
			}
			if e := ev.(event.EvtPeerConnectednessChanged); e.Connectedness == network.Connected {
				if a := o.addrOf(e.Peer); a.IsValid() {
					o.router.Retry(a)
				}
			}
		}
	}
}

// close stops the transport and the Router; ns's context has ended.
func (o *Service) close() {
	o.host.RemoveStreamHandler(Protocol)
	if o.notifiee != nil {
		o.host.Network().StopNotify(o.notifiee)
	}
	o.mu.Lock()
	o.closed = true
	links := o.links
	o.links = map[peer.ID]*overlayLink{}
	for s := range o.inbound {
		s.Reset()
	}
	o.mu.Unlock()
	for _, l := range links {
		l.close()
	}
	o.router.Close()
}

// Send implements overlay.Transport.
func (o *Service) Send(p string, packets [][]byte) error {
	id, err := peer.Decode(p)
	if err != nil {
		return err
	}
	l := o.link(id)
	if l == nil {
		return overlay.ErrClosed
	}
	l.lastSend.Store(time.Now().UnixNano())
	if d := l.sender.Send(packets); d == len(packets) {
		return fmt.Errorf("overlay: queue to %s full", id)
	}
	return nil
}

// link returns the link to id, starting it if needed (nil once closed).
func (o *Service) link(id peer.ID) *overlayLink {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return nil
	}
	if l := o.links[id]; l != nil {
		return l
	}
	l := &overlayLink{o: o, id: id, done: make(chan struct{})}
	l.sender = overlay.NewSender(l, overlay.SenderConfig{MaxFrame: overlayMaxFrame, QueueLen: overlayQueueLen})
	o.links[id] = l
	// The connection manager must not trim a connection that carries overlay
	// traffic; idle links close after overlayLinkIdle and unprotect.
	o.host.ConnManager().Protect(id, "overlay")
	o.goOwned(l.run)
	return l
}

// overlayLink carries packets to one peer. It is the io.Writer under its
// Sender: the stream is opened on the first frame and again after a failure.
type overlayLink struct {
	o        *Service
	id       peer.ID
	sender   *overlay.Sender
	lastSend atomic.Int64 // unix ns of the last packet queued
	probing  atomic.Bool
	fails    atomic.Int32 // consecutive failed liveness pings
	followed atomic.Int64 // unix ns of the last followPeer reset
	done     chan struct{}
	once     sync.Once

	deadline time.Time  // the stream's write deadline; used under wmu
	wmu      sync.Mutex // held while a frame is written (toDirect swaps between frames)

	mu     sync.Mutex
	stream network.Stream // guarded by mu
	ctx    context.Context
}

func (l *overlayLink) run(ctx context.Context) {
	l.mu.Lock()
	l.ctx = ctx
	l.mu.Unlock()
	backoff := 100 * time.Millisecond
	for {
		err := l.sender.Run(ctx)
		l.resetStream()
		if err == nil || ctx.Err() != nil {
			return
		}
		l.o.log.Debug("overlay link", "peer", l.id, "err", err)
		select {
		case <-ctx.Done():
			return
		case <-l.done:
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}

// Write sends one frame, opening the stream first if there is none.
func (l *overlayLink) Write(b []byte) (int, error) {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	l.mu.Lock()
	s, ctx := l.stream, l.ctx
	l.mu.Unlock()
	if s == nil {
		var err error
		if s, err = l.o.openStream(ctx, l.id); err != nil {
			return 0, err
		}
		l.mu.Lock()
		l.stream = s
		l.mu.Unlock()
		l.fails.Store(0)
		l.deadline = time.Time{}
	}
	// A write blocked this long means a dead path. Moving the deadline costs
	// a timer reset in yamux, so only when half of it is used up.
	if now := time.Now(); l.deadline.Sub(now) < overlayWriteTimeout/2 {
		l.deadline = now.Add(overlayWriteTimeout)
		_ = s.SetWriteDeadline(l.deadline)
	}
	n, err := s.Write(b)
	if err != nil {
		l.resetStream()
	}
	return n, err
}

func (l *overlayLink) resetStream() {
	l.mu.Lock()
	s := l.stream
	l.stream = nil
	l.mu.Unlock()
	if s != nil {
		s.Reset()
	}
}

func (l *overlayLink) close() {
	l.once.Do(func() {
		close(l.done)
		l.o.host.ConnManager().Unprotect(l.id, "overlay")
	})
	l.sender.Close()
	l.resetStream()
}

// openStream connects to id (see connect) and opens an overlay stream,
// relayed connections allowed.
func (o *Service) openStream(ctx context.Context, id peer.ID) (network.Stream, error) {
	ctx, cancel := context.WithTimeout(ctx, overlayOpenTimeout)
	defer cancel()
	if err := o.connect(ctx, id); err != nil {
		return nil, err
	}
	s, err := o.host.NewStream(network.WithAllowLimitedConn(ctx, "overlay"), id, Protocol)
	if err != nil {
		return nil, fmt.Errorf("overlay stream to %s: %w", id, err)
	}
	return s, nil
}

// connect makes sure there is a connection to id, directly or through a
// relay (Options.Connect).
func (o *Service) connect(ctx context.Context, id peer.ID) error {
	if err := o.dial(ctx, id); err != nil {
		return fmt.Errorf("overlay: %w", err)
	}
	return nil
}

// handleStream serves one inbound overlay stream until it ends.
func (o *Service) handleStream(s network.Stream) {
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		s.Reset()
		return
	}
	o.inbound[s] = struct{}{}
	o.mu.Unlock()
	defer func() {
		o.mu.Lock()
		delete(o.inbound, s)
		o.mu.Unlock()
	}()
	id := s.Conn().RemotePeer()
	o.followPeer(id, s.Conn())
	key, err := crypto.MarshalPublicKey(s.Conn().RemotePublicKey())
	if err != nil {
		s.Reset()
		return
	}
	if err := o.router.ServeStream(id.String(), key, s, overlayMaxFrame); err != nil {
		o.log.Debug("overlay stream", "peer", id, "err", err)
		s.Reset()
		return
	}
	s.Close()
}

// followPeer moves our stream to id onto conn when id opened its stream on
// conn while ours runs over another, relayed connection: the peer found a
// new path, most likely because the old one died, which our watchdog would
// only notice seconds later. At most once per 5 s per link, so that two
// peers cannot chase each other between connections.
func (o *Service) followPeer(id peer.ID, conn network.Conn) {
	o.mu.Lock()
	l := o.links[id]
	o.mu.Unlock()
	if l == nil {
		return
	}
	l.mu.Lock()
	s := l.stream
	l.mu.Unlock()
	if s == nil || s.Conn() == conn || !p2px.IsRelayed(s.Conn().RemoteMultiaddr()) {
		return
	}
	now := time.Now().UnixNano()
	if last := l.followed.Load(); now-last < int64(5*time.Second) || !l.followed.CompareAndSwap(last, now) {
		return
	}
	o.log.Debug("overlay: peer moved to another connection; following", "peer", id, "conn", conn.RemoteMultiaddr())
	l.resetStream()
}

// Resolve implements overlay.Resolver.
func (o *Service) Resolve(ctx context.Context, addr netip.Addr) (string, []byte, error) {
	h := o.host
	for _, id := range h.Network().Peers() {
		if o.addrOf(id) == addr {
			key, err := crypto.MarshalPublicKey(h.Peerstore().PubKey(id))
			if err == nil {
				return id.String(), key, nil
			}
		}
	}
	pub, err := names.ResolveAddr(ctx, o.dht, addr)
	if err != nil {
		return "", nil, err
	}
	id, err := peer.IDFromPublicKey(pub)
	if err != nil {
		return "", nil, err
	}
	key, err := crypto.MarshalPublicKey(pub)
	if err != nil {
		return "", nil, err
	}
	if err := o.connect(ctx, id); err != nil {
		return "", nil, err
	}
	return id.String(), key, nil
}

// addrOf returns the overlay address of id's key (cached), or the zero Addr.
func (o *Service) addrOf(id peer.ID) netip.Addr {
	if a, ok := o.keys.Load(id); ok {
		return a.(netip.Addr)
	}
	pub := o.host.Peerstore().PubKey(id)
	if pub == nil {
		return netip.Addr{}
	}
	b, err := crypto.MarshalPublicKey(pub)
	if err != nil {
		return netip.Addr{}
	}
	a := overlay.AddressFromKey(b)
	o.keys.Store(id, a)
	return a
}
