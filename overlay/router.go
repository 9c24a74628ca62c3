package overlay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"golang.zx2c4.com/wireguard/tun"
)

// Transport sends packets to peers. The node implements it with one
// long-lived, framed stream per peer (see Sender and FrameReader).
type Transport interface {
	// Send queues packets for peer, an opaque peer identifier (the node uses
	// the libp2p peer ID string). It must not block for long (queue, and drop
	// when the queue is full), must not retain packets or their bytes after
	// it returns (the Router reuses them), and must be safe for concurrent
	// use. An error means the packets were dropped.
	Send(peer string, packets [][]byte) error
}

// Resolver maps an overlay address to the peer that holds it. The node
// implements it with the /myco-addr/ DHT record.
type Resolver interface {
	// Resolve returns the peer for addr and its public key, marshalled as
	// libp2p does. The Router checks the key against addr, so Resolve need
	// not. It is called from its own goroutine with a deadline and must be
	// safe for concurrent use.
	Resolve(ctx context.Context, addr netip.Addr) (peer string, pubkey []byte, err error)
}

// RouterAddr is the source of ICMPv6 errors the Router writes to its own TUN
// (the overlay's subnet-router anycast address, fd6d:7963::).
var RouterAddr = Prefix.Addr()

// Config configures a Router. Key, Transport and Resolver are required; the
// zero value of every other field means the default.
type Config struct {
	// Key is this node's public key, marshalled as libp2p does; the node's
	// overlay address is AddressFromKey(Key).
	Key []byte
	// TUN is the device the Router reads outgoing packets from and writes
	// incoming ones to. The Router owns it from New on and closes it in
	// Close. Nil means no TUN: the Router still answers echo requests and
	// hands other inbound packets to Local.
	TUN tun.Device
	// TUNOffset is the headroom kept in front of each packet in TUN reads
	// and writes (default 16; Linux needs at least 10 when offloads are on).
	TUNOffset int
	// Transport and Resolver are the seams to the mesh.
	Transport Transport
	Resolver  Resolver
	// Firewall filters inbound packets (NewFirewall(FirewallConfig{}) if nil).
	Firewall *Firewall
	// MTU is the largest packet forwarded either way; larger ones are answered
	// with ICMPv6 Packet Too Big. Zero means the TUN's MTU (following its
	// changes), or 1280 without a TUN. Values below 1280 are raised to 1280.
	MTU int
	// RouteTTL is how long a resolved route is used before it is resolved
	// again in the background (default 10 min); NegativeTTL how long a failed
	// resolution is remembered (default 5 s); ResolveTimeout the deadline of
	// one Resolve call (default 15 s).
	RouteTTL, NegativeTTL, ResolveTimeout time.Duration
	// MaxPending is how many packets wait for one address to resolve
	// (default 32); MaxResolves how many resolutions run at once (default 16);
	// MaxRoutes bounds the route cache (default 16384).
	MaxPending, MaxResolves, MaxRoutes int
	// Local receives, when TUN is nil, inbound packets for this node that
	// passed the firewall (echo requests excepted: the Router answers them).
	// It is called from Deliver and must not retain the packets. Nil drops them.
	Local func(packets [][]byte)
	// Intercept, if set, sees every packet about to be written to the TUN
	// (or handed to Local): inbound packets that passed the firewall and the
	// ICMPv6 errors the Router itself generates. Returning true consumes the
	// packet (the node uses it to catch replies to its own pings). It must
	// be fast, must not retain pkt, and is called from many goroutines.
	Intercept func(pkt []byte) bool
	// Logger gets the Router's logs (discarded if nil).
	Logger *slog.Logger
	// Now is the clock for route expiry (time.Now if nil); a test seam.
	Now func() time.Time
}

// Stats are the Router's counters since New.
type Stats struct {
	TxPackets, TxBytes uint64 // sent to peers
	RxPackets, RxBytes uint64 // delivered to the TUN or Local
	EchoReplies        uint64 // echo requests answered by the Router
	DropInvalid        uint64 // unparseable, wrong source (outbound) or wrong destination
	DropSpoofed        uint64 // inbound source not the address of the sending peer's key
	DropFirewall       uint64 // refused by the firewall
	DropNoRoute        uint64 // destination did not resolve, or too many waiting
	DropTooBig         uint64 // larger than the MTU (answered with Packet Too Big)
	DropTransport      uint64 // Transport.Send or the TUN write failed
	Routes, Flows      int
}

// Route is a snapshot of one entry of the route cache.
type Route struct {
	Addr      netip.Addr
	Peer      string // empty while resolving or after a failure
	Expires   time.Time
	Resolving bool
	Err       error // the last resolution's error, if it failed
}

type stats struct {
	txPackets, txBytes, rxPackets, rxBytes, echo         atomic.Uint64
	invalid, spoofed, firewall, noRoute, tooBig, transit atomic.Uint64
}

type route struct {
	peer      string
	expires   time.Time
	resolving bool
	err       error
	pending   [][]byte
}

// Router forwards IPv6 packets between the TUN and the mesh: outgoing
// packets from the node's own address to other overlay addresses are
// resolved to peers and sent over the Transport; incoming packets from a
// peer are checked against the peer's key, filtered by the firewall and
// written to the TUN.
//
// Lifecycle: New → Run (once; reads the TUN until its context ends or Close)
// → Close. Deliver and Send may be called from any goroutine, before or
// during Run; after Close they drop everything. Close is idempotent, closes
// the TUN and waits for every goroutine the Router started.
type Router struct {
	cfg    Config
	addr   netip.Addr
	log    *slog.Logger
	fw     *Firewall
	mtu    atomic.Int32
	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
	sem    chan struct{} // bounds concurrent resolutions
	pool   sync.Pool     // *[]byte of TUNOffset+MaxPacketSize bytes
	stats  stats

	mu      sync.Mutex
	routes  map[netip.Addr]*route // guarded by mu
	closed  bool                  // guarded by mu
	running bool                  // guarded by mu
	wg      sync.WaitGroup        // Run, its event watcher, resolutions; Add under mu while !closed

	closeOnce sync.Once
	closeErr  error
}

// New returns a Router. It starts no goroutines; Run does.
func New(cfg Config) (*Router, error) {
	if len(cfg.Key) == 0 || cfg.Transport == nil || cfg.Resolver == nil {
		return nil, errors.New("overlay: Config needs Key, Transport and Resolver")
	}
	if cfg.TUNOffset <= 0 {
		cfg.TUNOffset = 16
	}
	if cfg.Firewall == nil {
		cfg.Firewall = NewFirewall(FirewallConfig{})
	}
	if cfg.RouteTTL <= 0 {
		cfg.RouteTTL = 10 * time.Minute
	}
	if cfg.NegativeTTL <= 0 {
		cfg.NegativeTTL = 5 * time.Second
	}
	if cfg.ResolveTimeout <= 0 {
		cfg.ResolveTimeout = 15 * time.Second
	}
	if cfg.MaxPending <= 0 {
		cfg.MaxPending = 32
	}
	if cfg.MaxResolves <= 0 {
		cfg.MaxResolves = 16
	}
	if cfg.MaxRoutes <= 0 {
		cfg.MaxRoutes = 16384
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Router{
		cfg:    cfg,
		addr:   AddressFromKey(cfg.Key),
		log:    log.With("component", "overlay"),
		fw:     cfg.Firewall,
		sem:    make(chan struct{}, cfg.MaxResolves),
		routes: make(map[netip.Addr]*route),
	}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	r.pool.New = func() any {
		b := make([]byte, cfg.TUNOffset+MaxPacketSize)
		return &b
	}
	r.updateMTU()
	return r, nil
}

// Addr returns the node's overlay address.
func (r *Router) Addr() netip.Addr { return r.addr }

// Firewall returns the Router's firewall, for changing its rules.
func (r *Router) Firewall() *Firewall { return r.fw }

// MTU returns the largest packet the Router forwards.
func (r *Router) MTU() int { return int(r.mtu.Load()) }

func (r *Router) updateMTU() {
	mtu := r.cfg.MTU
	if mtu <= 0 && r.cfg.TUN != nil {
		if m, err := r.cfg.TUN.MTU(); err == nil {
			mtu = m
		}
	}
	r.mtu.Store(int32(min(max(mtu, MinMTU), MaxPacketSize)))
}

// Run reads packets from the TUN and forwards them until ctx ends or Close
// is called, then closes the Router and returns nil; it returns the error
// when reading the TUN fails. Without a TUN it only waits. Run may be called
// once.
func (r *Router) Run(ctx context.Context) error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return ErrClosed
	}
	if r.running {
		r.mu.Unlock()
		return errors.New("overlay: Router.Run called twice")
	}
	r.running = true
	r.wg.Add(1)
	dev := r.cfg.TUN
	if dev != nil {
		r.wg.Add(1)
		go r.watchEvents(dev)
	}
	r.mu.Unlock()
	defer r.wg.Done()
	stop := context.AfterFunc(ctx, func() { r.Close() })
	defer stop()
	if dev == nil {
		<-r.ctx.Done()
		return nil
	}

	batch := min(max(dev.BatchSize(), 1), 128)
	bufs := make([][]byte, batch)
	sizes := make([]int, batch)
	for i := range bufs {
		bufs[i] = make([]byte, r.cfg.TUNOffset+MaxPacketSize)
	}
	pkts := make([][]byte, 0, batch)
	var b batcher
	off := r.cfg.TUNOffset
	for {
		n, err := dev.Read(bufs, sizes, off)
		if r.ctx.Err() != nil {
			return nil
		}
		if err != nil && !errors.Is(err, tun.ErrTooManySegments) {
			return fmt.Errorf("overlay: read tun: %w", err)
		}
		if err != nil {
			r.log.Debug("tun read", "err", err)
		}
		pkts = pkts[:0]
		for i := range n {
			pkts = append(pkts, bufs[i][off:off+sizes[i]])
		}
		r.outbound(pkts, &b)
	}
}

func (r *Router) watchEvents(dev tun.Device) {
	defer r.wg.Done()
	events := dev.Events()
	for {
		select {
		case <-r.ctx.Done():
			return
		case ev, ok := <-events:
			if !ok {
				return
			}
			if ev&tun.EventMTUUpdate != 0 {
				r.updateMTU()
				r.log.Debug("tun mtu", "mtu", r.MTU())
			}
		}
	}
}

// Close stops the Router, closes the TUN and waits for its goroutines.
// It is idempotent and may be called before Run.
func (r *Router) Close() error {
	r.closeOnce.Do(func() {
		r.mu.Lock()
		r.closed = true
		for _, rt := range r.routes {
			rt.pending = nil
		}
		r.mu.Unlock()
		r.cancel()
		if r.cfg.TUN != nil {
			r.closeErr = r.cfg.TUN.Close()
		}
	})
	r.wg.Wait()
	return r.closeErr
}

// Send forwards packets that originate on this node without passing through
// the TUN (for example a ping by the node itself), exactly as if read from
// it. It does not retain packets.
func (r *Router) Send(packets [][]byte) error {
	if r.ctx.Err() != nil {
		return ErrClosed
	}
	var b batcher
	r.outbound(packets, &b)
	return nil
}

// batcher groups outgoing packets by peer, reusing its slices between batches.
type batcher struct {
	peers []string
	pkts  [][][]byte
}

func (b *batcher) add(peer string, pkt []byte) {
	for i, p := range b.peers {
		if p == peer {
			b.pkts[i] = append(b.pkts[i], pkt)
			return
		}
	}
	b.peers = append(b.peers, peer)
	if len(b.pkts) < len(b.peers) {
		b.pkts = append(b.pkts, nil)
	}
	i := len(b.peers) - 1
	b.pkts[i] = append(b.pkts[i][:0], pkt)
}

func (b *batcher) reset() {
	for i := range b.peers {
		clear(b.pkts[i])
		b.pkts[i] = b.pkts[i][:0]
	}
	b.peers = b.peers[:0]
}

// outbound forwards packets from this node; the slices are not retained.
func (r *Router) outbound(pkts [][]byte, b *batcher) {
	mtu := r.MTU()
	var local [][]byte
	for _, pkt := range pkts {
		p, err := ParsePacket(pkt)
		if err != nil || p.Src != r.addr || !Prefix.Contains(p.Dst) || p.Dst == r.addr {
			r.stats.invalid.Add(1)
			continue
		}
		if len(pkt) > mtu {
			r.stats.tooBig.Add(1)
			if ShouldSendError(&p) {
				if m, err := PacketTooBig(RouterAddr, uint32(mtu), pkt); err == nil {
					local = append(local, m)
				}
			}
			continue
		}
		r.fw.Outbound(&p)
		peer, ok, unreach := r.lookup(p.Dst, pkt)
		if unreach && ShouldSendError(&p) {
			if m, err := DestinationUnreachable(RouterAddr, UnreachAddress, pkt); err == nil {
				local = append(local, m)
			}
		}
		if ok {
			b.add(peer, pkt)
		}
	}
	for i, peer := range b.peers {
		r.send(peer, b.pkts[i])
	}
	b.reset()
	if len(local) > 0 {
		r.writeLocal(local)
	}
}

func (r *Router) send(peer string, pkts [][]byte) {
	if len(pkts) == 0 {
		return
	}
	if err := r.cfg.Transport.Send(peer, pkts); err != nil {
		r.stats.transit.Add(uint64(len(pkts)))
		r.log.Debug("send", "peer", peer, "packets", len(pkts), "err", err)
		return
	}
	var n uint64
	for _, p := range pkts {
		n += uint64(len(p))
	}
	r.stats.txPackets.Add(uint64(len(pkts)))
	r.stats.txBytes.Add(n)
}

// Deliver hands the Router packets that arrived from peer, whose public key
// (marshalled as libp2p does) is peerKey. A packet is dropped unless its
// source is AddressFromKey(peerKey) and its destination is this node; one
// larger than the MTU is answered with Packet Too Big; echo requests are
// answered directly; the firewall filters the rest, which go to the TUN (or
// Local). Deliver does not retain packets and is safe for concurrent use.
func (r *Router) Deliver(peer string, peerKey []byte, packets [][]byte) {
	if r.ctx.Err() != nil || len(packets) == 0 {
		return
	}
	src := AddressFromKey(peerKey)
	mtu := r.MTU()
	var (
		in, back [][]byte
		learned  bool
	)
	for _, pkt := range packets {
		p, err := ParsePacket(pkt)
		if err != nil || p.Dst != r.addr {
			r.stats.invalid.Add(1)
			continue
		}
		if p.Src != src {
			r.stats.spoofed.Add(1)
			continue
		}
		learned = true
		if len(pkt) > mtu {
			r.stats.tooBig.Add(1)
			if ShouldSendError(&p) {
				if m, err := PacketTooBig(r.addr, uint32(mtu), pkt); err == nil {
					back = append(back, m)
				}
			}
			continue
		}
		if !r.fw.Allow(pkt, &p) {
			r.stats.firewall.Add(1)
			continue
		}
		if p.Proto == ProtoICMPv6 && p.ICMPType == icmpTypeEcho && !p.Fragment {
			if m, err := EchoReply(pkt); err == nil {
				r.stats.echo.Add(1)
				back = append(back, m)
			}
			continue
		}
		in = append(in, pkt)
	}
	if learned {
		r.learn(src, peer)
	}
	if len(back) > 0 {
		r.send(peer, back)
	}
	if len(in) > 0 {
		r.writeLocal(in)
	}
}

// writeLocal writes packets to the TUN (copying them behind the headroom the
// TUN needs) or hands them to Local.
func (r *Router) writeLocal(pkts [][]byte) {
	if f := r.cfg.Intercept; f != nil {
		pkts = intercept(f, pkts)
		if len(pkts) == 0 {
			return
		}
	}
	dev := r.cfg.TUN
	if dev == nil {
		if r.cfg.Local == nil {
			return
		}
		r.cfg.Local(pkts)
		r.countRx(pkts)
		return
	}
	off := r.cfg.TUNOffset
	bufs := make([][]byte, len(pkts))
	held := make([]*[]byte, len(pkts))
	for i, p := range pkts {
		bp := r.pool.Get().(*[]byte)
		held[i] = bp
		bufs[i] = (*bp)[:off+copy((*bp)[off:], p)]
	}
	if n, err := dev.Write(bufs, off); err != nil {
		if r.ctx.Err() == nil {
			r.log.Debug("tun write", "packets", len(pkts), "written", n, "err", err)
		}
		r.stats.transit.Add(uint64(len(pkts) - n))
		r.countRx(pkts[:n])
	} else {
		r.countRx(pkts)
	}
	for _, bp := range held {
		r.pool.Put(bp)
	}
}

// intercept drops the packets f consumes, copying the slice only when it
// consumes one.
func intercept(f func([]byte) bool, pkts [][]byte) [][]byte {
	for i, p := range pkts {
		if !f(p) {
			continue
		}
		kept := append(make([][]byte, 0, len(pkts)-1), pkts[:i]...)
		for _, q := range pkts[i+1:] {
			if !f(q) {
				kept = append(kept, q)
			}
		}
		return kept
	}
	return pkts
}

func (r *Router) countRx(pkts [][]byte) {
	var n uint64
	for _, p := range pkts {
		n += uint64(len(p))
	}
	r.stats.rxPackets.Add(uint64(len(pkts)))
	r.stats.rxBytes.Add(n)
}

// Stats returns a snapshot of the Router's counters.
func (r *Router) Stats() Stats {
	r.mu.Lock()
	routes := len(r.routes)
	r.mu.Unlock()
	s := &r.stats
	return Stats{
		TxPackets: s.txPackets.Load(), TxBytes: s.txBytes.Load(),
		RxPackets: s.rxPackets.Load(), RxBytes: s.rxBytes.Load(),
		EchoReplies: s.echo.Load(),
		DropInvalid: s.invalid.Load(), DropSpoofed: s.spoofed.Load(),
		DropFirewall: s.firewall.Load(), DropNoRoute: s.noRoute.Load(),
		DropTooBig: s.tooBig.Load(), DropTransport: s.transit.Load(),
		Routes: routes, Flows: r.fw.Flows(),
	}
}

// Routes returns a snapshot of the route cache.
func (r *Router) Routes() []Route {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Route, 0, len(r.routes))
	for a, rt := range r.routes {
		out = append(out, Route{Addr: a, Peer: rt.peer, Expires: rt.expires, Resolving: rt.resolving, Err: rt.err})
	}
	return out
}
