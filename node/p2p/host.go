// Package p2p owns the node's place on the libp2p network: the host (its
// transports, resource and connection managers, connection gater, AutoNAT,
// circuit relay service, hole punching and dial ranking), the Kademlia DHT
// and this node's provider records in it, dialing a peer directly or
// through a relay, the bandwidth limiters, bootstrap and remembered peers,
// LAN discovery, and invitations.
//
// It may import node/apitype, node/config, node/bandwidth, node/invite,
// store (for the peer records it keeps) and libraries; never node or
// another service package. What it needs of the rest of the node it
// declares itself (PeerBook, Holdings).
package p2p

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p"
	dht "github.com/libp2p/go-libp2p-kad-dht"
	record "github.com/libp2p/go-libp2p-record"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	rcmgr "github.com/libp2p/go-libp2p/p2p/host/resource-manager"
	"github.com/libp2p/go-libp2p/p2p/net/connmgr"
	"github.com/libp2p/go-libp2p/p2p/net/swarm"
	"github.com/libp2p/go-libp2p/p2p/protocol/holepunch"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/bandwidth"
	"github.com/myconet/myconet/node/config"
	"github.com/myconet/myconet/node/invite"
	"github.com/myconet/myconet/store"
)

// DHTPrefix is the protocol prefix of Myconet's own Kademlia DHT, so that it
// never mixes with IPFS's Amino DHT.
const DHTPrefix = "/myconet"

// PeerBook keeps the peers met, for the next start (*store.DB).
type PeerBook interface {
	Peers() ([]store.PeerRecord, error)
	PutPeers([]store.PeerRecord) error
}

// Holdings is what the node holds, for its provider records. A nil
// function leaves that part of provider records alone.
type Holdings struct {
	Pins      func() ([]store.Pin, error)      // the node's pins (store.DB.Pins)
	Retracted func(root cid.Cid) bool          // retracted roots are not announced
	Have      func(root cid.Cid) (bool, error) // whether the node still holds root
}

// Config is what the host is built from.
type Config struct {
	Network config.NetworkConfig
	Quota   config.QuotaConfig
	Key     crypto.PrivKey
	// Home is the node's home directory: invitations are counted in
	// Home/invites.json.
	Home      string
	UserAgent string
	DHTServer bool // the DHT serves whatever network.dht says
	// TestHost, when set, is used instead of building a host (and is not
	// closed with the Host).
	TestHost       host.Host
	Registerer     prometheus.Registerer // libp2p's metrics go here
	Validator      record.Validator      // the DHT's record validator
	BandwidthClock bandwidth.Clock
	Now            func() time.Time
	Log            *slog.Logger
	PeerLog        *slog.Logger // connections opened and closed, at debug level (nil: not logged)
	Peers          PeerBook
	Holdings       Holdings
	// Bootstrap returns the current network.bootstrap, for a node alone to
	// try again (nil: Network.Bootstrap).
	Bootstrap func() []string
}

// Host is the node on the network: the libp2p host, the DHT and the
// services that run on them. Its goroutines run from Start until Close.
type Host struct {
	cfg      Config
	log      *slog.Logger
	self     peer.ID
	host     host.Host
	ownsHost bool
	dht      *dht.IpfsDHT
	provRecs *providerRecords   // the DHT's provider records (providers.go)
	up, down *bandwidth.Limiter // quota.upload and quota.download, live
	gater    *connGater         // quota.connections, live
	punches  *punchLog          // successful hole punches (holepunch.go)
	hps      *holepunch.Service // hole punching, run by the node to retry it
	relay    io.Closer          // the circuit relay service
	boot     []peer.AddrInfo    // the bootstrap and remembered peers at start
	alone    atomic.Pointer[string]
	relays   atomic.Pointer[func() []peer.ID] // peers holding a relay reservation for this node

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	closed bool // guarded by mu; no goroutine starts once set
}

// New builds the host (or takes Config.TestHost), the DHT and the relay
// service. Nothing runs in the background until Start.
func New(cfg Config) (_ *Host, reterr error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	h := &Host{cfg: cfg, log: cfg.Log}
	h.ctx, h.cancel = context.WithCancel(context.Background())
	defer func() {
		if reterr != nil {
			h.Close()
		}
	}()
	h.gater = &connGater{}
	h.gater.limit.Store(int64(cfg.Quota.Connections))
	upRate, _ := apitype.ParseRate(cfg.Quota.Upload)
	downRate, _ := apitype.ParseRate(cfg.Quota.Download)
	h.up = bandwidth.New(upRate, cfg.BandwidthClock)
	h.down = bandwidth.New(downRate, cfg.BandwidthClock)
	if cfg.TestHost != nil {
		h.host = cfg.TestHost
	} else {
		h.punches = &punchLog{log: h.log.Debug}
		lh, err := newHost(cfg, h.gater)
		if err != nil {
			return nil, err
		}
		h.host, h.ownsHost = lh, true
		if h.hps, err = startHolePunching(lh, h.punches); err != nil {
			return nil, err
		}
		h.gater.count = func() int { return len(lh.Network().Conns()) }
		h.gater.has = func(p peer.ID) bool { return lh.Network().Connectedness(p) == network.Connected }
	}
	h.self = h.host.ID()
	if cfg.Key != nil { // a TestHost may have another key than the node
		if id, err := peer.IDFromPrivateKey(cfg.Key); err == nil {
			h.self = id
		}
	}
	var err error
	if h.boot, err = h.bootstrapPeers(cfg.Network.Bootstrap); err != nil {
		return nil, err
	}
	// auto is ModeAutoServer: serve unless AutoNAT finds the node behind NAT.
	// (Plain ModeAuto would wait for proof of public reachability, which a
	// LAN or loopback network never gives: nobody would serve.)
	// AutoNAT does not dial back private addresses, so on a LAN or one
	// machine it reports "private" and ModeAutoServer drops to client:
	// a node that only has private addresses and starts only from private
	// peers serves outright.
	mode := dhtStartMode(h.host.Addrs(), h.boot) // reach_dial.go: ModeAuto behind NAT
	switch {
	case cfg.DHTServer || cfg.Network.DHT == "server":
		mode = dht.ModeServer
	case cfg.Network.DHT == "client":
		mode = dht.ModeClient
	case privateOnly(h.host.Addrs(), h.boot):
		mode = dht.ModeServer
	}
	if h.provRecs, err = newProviderRecords(h.self); err != nil {
		return nil, fmt.Errorf("network: dht: %w", err)
	}
	h.dht, err = dht.New(h.host, append(h.provRecs.dhtOptions(),
		dht.ProtocolPrefix(DHTPrefix),
		dht.Validator(cfg.Validator),
		dht.Mode(mode),
		dht.BootstrapPeers(h.boot...),
	)...)
	if err != nil {
		return nil, fmt.Errorf("network: dht: %w", err)
	}
	if err := h.startRelay(); err != nil {
		h.log.Warn("relay service did not start", "err", err)
	}
	h.host.SetStreamHandler(invite.Protocol, h.handleJoin()) // join.go
	return h, nil
}

// Start runs the host's own work until ctx ends or Close: connecting to the
// bootstrap and remembered peers, the DHT's bootstrap, remembering peers,
// reproviding, logging connections, and LAN discovery when network.mdns is
// on.
func (h *Host) Start(ctx context.Context) {
	h.logPeerEvents()
	stop := context.AfterFunc(ctx, h.cancel)
	h.goOwned(func(ctx context.Context) { <-ctx.Done(); stop() })
	// Connect to bootstrap and remembered peers in the background; the DHT's
	// own bootstrap then fills the routing table.
	h.goOwned(func(ctx context.Context) {
		h.connectAll(ctx, h.boot, h.cfg.Network.Bootstrap)
		if err := h.dht.Bootstrap(ctx); err != nil && ctx.Err() == nil {
			h.log.Warn("dht bootstrap", "err", err)
		}
		h.watchPeers(ctx) // bootstrap.go: a node alone says so
	})
	h.goOwned(h.rememberPeers)
	h.goOwned(h.reprovide)
	if h.cfg.Network.MDNS && h.cfg.TestHost == nil {
		stop, err := h.startMDNS()
		if err != nil {
			h.log.Warn("LAN discovery (mDNS) did not start", "err", err)
		}
		h.goOwned(func(ctx context.Context) { <-ctx.Done(); stop() })
	}
}

// goOwned runs f on a goroutine the host owns: Close waits for it, and nothing
// starts after Close began.
func (h *Host) goOwned(f func(ctx context.Context)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		f(h.ctx)
	}()
}

// Close stops the host's goroutines, waits for them, and closes the relay
// service, the DHT, hole punching and the host (a TestHost stays open).
// Closing again does nothing.
func (h *Host) Close() error {
	h.mu.Lock()
	was := h.closed
	h.closed = true
	h.mu.Unlock()
	if was {
		return nil
	}
	h.cancel()
	h.wg.Wait()
	if h.relay != nil {
		h.relay.Close()
	}
	if h.dht != nil {
		h.dht.Close()
	}
	if h.hps != nil {
		h.hps.Close()
	}
	if h.host != nil && h.ownsHost {
		return h.host.Close()
	} else if h.host != nil {
		h.host.RemoveStreamHandler(invite.Protocol)
	}
	return nil
}

// Host is the libp2p host.
func (h *Host) Host() host.Host { return h.host }

// DHT is the node's Kademlia DHT.
func (h *Host) DHT() *dht.IpfsDHT { return h.dht }

// Up and Down are the bandwidth limiters of quota.upload and quota.download.
func (h *Host) Up() *bandwidth.Limiter   { return h.up }
func (h *Host) Down() *bandwidth.Limiter { return h.down }

// newHost builds the libp2p host from the config: TCP and QUIC, Noise and
// TLS, yamux (libp2p's defaults), AutoNAT (v1 service, v2 per address), hole punching, circuit
// relay v2 as client (the service starts in startRelay), and the resource and
// connection managers from the node's quotas. mDNS and UPnP stay off: both
// send multicast onto the local network.
func newHost(cfg Config, gater *connGater) (host.Host, error) {
	if err := checkListenFree(cfg.Network.Listen); err != nil {
		return nil, err // listen.go: SO_REUSEPORT would share the port
	}
	mem, _ := apitype.ParseSize(cfg.Quota.Memory)
	limiter, err := resourceLimits(mem, cfg.Quota.Connections)
	if err != nil {
		return nil, err
	}
	// The resource manager reports into the registry libp2p.New registers
	// its collectors into (libp2p_rcmgr_* families on /metrics).
	str, err := rcmgr.NewStatsTraceReporter()
	if err != nil {
		return nil, fmt.Errorf("network: resource manager: %w", err)
	}
	rm, err := rcmgr.NewResourceManager(limiter, rcmgr.WithTraceReporter(str))
	if err != nil {
		return nil, fmt.Errorf("network: resource manager: %w", err)
	}
	low, high := 100, 400
	if c := cfg.Quota.Connections; c > 0 {
		high = c
		low = max(1, c*3/4)
	}
	cm, err := connmgr.NewConnManager(low, high, connmgr.WithGracePeriod(time.Minute))
	if err != nil {
		return nil, fmt.Errorf("network: connection manager: %w", err)
	}
	ranker := &punchRanker{}
	opts := []libp2p.Option{
		libp2p.Identity(cfg.Key),
		libp2p.ListenAddrStrings(cfg.Network.Listen...),
		libp2p.ResourceManager(rm),
		libp2p.ConnectionManager(cm),
		libp2p.ConnectionGater(gater),
		libp2p.EnableNATService(),
		// AutoNAT v2 tests each public address on its own, and the host
		// stops advertising those found unreachable (a NAT mapping nobody
		// can dial), so that dialers no longer wait ~5 s on them first.
		libp2p.EnableAutoNATv2(),
		libp2p.EnableRelay(),
		libp2p.UserAgent(cfg.UserAgent),
		libp2p.SwarmOpts(swarm.WithDialRanker(ranker.rank)), // holepunch.go
	}
	if cfg.Registerer != nil {
		opts = append(opts, libp2p.PrometheusRegisterer(cfg.Registerer)) // served on /metrics
	}
	if cfg.Network.PortMap {
		opts = append(opts, libp2p.NATPortMap()) // UPnP / NAT-PMP: multicast, so opt-in
	}
	h, err := libp2p.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("network: %w", err)
	}
	conns := h.Network().Conns
	ranker.conns.Store(&conns)
	return h, nil
}

// resourceLimits scales libp2p's default limits to the memory quota and caps
// connections at the connection quota (0 = automatic).
func resourceLimits(mem int64, conns int) (rcmgr.Limiter, error) {
	scaling := rcmgr.DefaultLimits
	libp2p.SetDefaultServiceLimits(&scaling)
	var concrete rcmgr.ConcreteLimitConfig
	if mem > 0 {
		concrete = scaling.Scale(mem, 4096)
	} else {
		concrete = scaling.AutoScale()
	}
	if conns > 0 {
		partial := rcmgr.PartialLimitConfig{System: rcmgr.ResourceLimits{
			Conns:         rcmgr.LimitVal(conns),
			ConnsInbound:  rcmgr.LimitVal(max(1, conns/2)),
			ConnsOutbound: rcmgr.LimitVal(conns),
		}}
		concrete = partial.Build(concrete)
	}
	return rcmgr.NewFixedLimiter(concrete), nil
}

// bootstrapPeers parses the configured bootstrap multiaddrs and adds the
// peers this node remembers from earlier runs.
func (h *Host) bootstrapPeers(bootstrap []string) ([]peer.AddrInfo, error) {
	var out []peer.AddrInfo
	for _, s := range bootstrap {
		ai, err := peer.AddrInfoFromString(s)
		if err != nil {
			return nil, apitype.Errorf(apitype.CodeInvalid, "config: network.bootstrap: %q: %v", s, err)
		}
		out = append(out, *ai)
	}
	known, err := h.knownPeers()
	if err != nil {
		h.log.Warn("cannot read remembered peers", "err", err)
	}
	out = append(out, known...)
	return mergeAddrInfos(out, h.self), nil
}

// privateOnly reports whether none of the node's own addresses and none of
// its bootstrap peers' addresses is public: a LAN (or loopback) network.
func privateOnly(own []ma.Multiaddr, boot []peer.AddrInfo) bool {
	addrs := slices.Clone(own)
	for _, ai := range boot {
		addrs = append(addrs, ai.Addrs...)
	}
	for _, a := range addrs {
		if manet.IsPublicAddr(a) {
			return false
		}
	}
	return true
}

func mergeAddrInfos(in []peer.AddrInfo, self peer.ID) []peer.AddrInfo {
	byID := map[peer.ID]*peer.AddrInfo{}
	var order []peer.ID
	for _, ai := range in {
		if ai.ID == self {
			continue
		}
		if cur, ok := byID[ai.ID]; ok {
			cur.Addrs = append(cur.Addrs, ai.Addrs...)
			continue
		}
		cp := ai
		byID[ai.ID] = &cp
		order = append(order, ai.ID)
	}
	out := make([]peer.AddrInfo, len(order))
	for i, id := range order {
		out[i] = *byID[id]
	}
	return out
}

// SetConnLimit applies a new quota.connections to the running node: new
// connections beyond it are refused, and surplus ones are closed (the
// oldest-opened last, so established transfers are least disturbed).
func (h *Host) SetConnLimit(limit int) {
	h.gater.limit.Store(int64(limit))
	if limit <= 0 {
		return
	}
	peers := h.host.Network().Peers()
	for i := limit; i < len(peers); i++ {
		h.host.Network().ClosePeer(peers[i])
	}
}

// ListenAddrs returns the host's addresses with /p2p/ID, for `id`.
func (h *Host) ListenAddrs() []string {
	var out []string
	for _, a := range h.host.Addrs() {
		out = append(out, a.String()+"/p2p/"+h.host.ID().String())
	}
	return out
}

// DHTMode reports whether the DHT serves others now. kad-dht's Mode() is
// the configured option (ModeAutoServer in auto), not the live mode, which
// it keeps to itself; a DHT in server mode is the one that handles the
// Kademlia protocol, so the host's stream handlers tell.
func (h *Host) DHTMode() string { return dhtMode(h.host) }

func dhtMode(h host.Host) string {
	kad := protocol.ID(DHTPrefix + "/kad/1.0.0")
	if slices.Contains(h.Mux().Protocols(), kad) {
		return "server"
	}
	return "client"
}
