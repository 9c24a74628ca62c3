package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p"
	dht "github.com/libp2p/go-libp2p-kad-dht"
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

	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/bandwidth"
	"github.com/myconet/myconet/node/config"
	"github.com/myconet/myconet/node/dnsserver"
	"github.com/myconet/myconet/node/invite"
	"github.com/myconet/myconet/node/names"
	"github.com/myconet/myconet/node/retrieval"
)

// DHTPrefix is the protocol prefix of Myconet's own Kademlia DHT, so that it
// never mixes with IPFS's Amino DHT.
const DHTPrefix = "/myconet"

// netState is what exists while the node is on the network.
type netState struct {
	host      host.Host
	ownsHost  bool
	dht       *dht.IpfsDHT
	provRecs  *providerRecords // the DHT's provider records (providers.go)
	retrieval *retrieval.Service
	repl      *replicator            // replication (replicate.go); nil if it failed to start
	mod       *modService            // the moderation protocol (moderation.go)
	up, down  *bandwidth.Limiter     // quota.upload and quota.download, live
	gater     *connGater             // quota.connections, live
	overlay   *overlayNet            // the IPv6 overlay (overlay.go); nil if it failed to start
	alone     atomic.Pointer[string] // why the node has no peers, when it has none (bootstrap.go)
	dns       *dnsserver.Server      // the .myco DNS server (names_local.go); nil when off
	punches   *punchLog              // successful hole punches (overlay_path.go)
	hps       *holepunch.Service     // hole punching, run by the node to retry it (overlay_path.go)
	dnsSetup  atomic.Pointer[string] // how the host's resolver reaches it
	relay     io.Closer              // the circuit relay service
	ctx       context.Context        // ends when the network stops
	cancel    context.CancelFunc
	wg        sync.WaitGroup

	mu      sync.Mutex
	stopped bool // guarded by mu; no goroutine starts once set
}

// goOwned runs f on a goroutine the network owns: close waits for it, and
// nothing starts after close began.
func (ns *netState) goOwned(f func(ctx context.Context)) {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	if ns.stopped {
		return
	}
	ns.wg.Add(1)
	go func() {
		defer ns.wg.Done()
		f(ns.ctx)
	}()
}

// LoopbackOnly is a Config.Override for tests: libp2p listens on loopback
// ports chosen by the kernel, with no bootstrap peers.
func LoopbackOnly(fc *config.FileConfig) {
	fc.Network.Listen = []string{"/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/udp/0/quic-v1"}
	fc.Network.Bootstrap = nil
	fc.Network.MDNS = false
	fc.Overlay.TUN = false
}

// StartNetwork puts the node on the network: a libp2p host (or
// Config.TestHost), the DHT, the retrieval protocol, and bootstrap. Run calls
// it; tests may call it directly. It is an error to start twice.
func (n *Node) StartNetwork(ctx context.Context) (reterr error) {
	n.mu.Lock()
	if n.net != nil {
		n.mu.Unlock()
		return apitype.Errorf(apitype.CodeInvalid, "network already started")
	}
	cfg := n.cfg
	n.mu.Unlock()

	ns := &netState{}
	defer func() {
		if reterr != nil {
			ns.close()
		}
	}()
	ns.gater = &connGater{}
	ns.gater.limit.Store(int64(cfg.Quota.Connections))
	if n.testHost != nil {
		ns.host = n.testHost
	} else {
		ns.punches = &punchLog{log: n.log.Debug}
		h, err := n.newHost(cfg, ns.gater)
		if err != nil {
			return err
		}
		ns.host, ns.ownsHost = h, true
		if ns.hps, err = startHolePunching(h, ns.punches); err != nil {
			return err
		}
		ns.gater.count = func() int { return len(h.Network().Conns()) }
		ns.gater.has = func(p peer.ID) bool { return h.Network().Connectedness(p) == network.Connected }
	}
	bootstrap, err := n.bootstrapPeers(cfg)
	if err != nil {
		return err
	}
	// auto is ModeAutoServer: serve unless AutoNAT finds the node behind NAT.
	// (Plain ModeAuto would wait for proof of public reachability, which a
	// LAN or loopback network never gives: nobody would serve.)
	// AutoNAT does not dial back private addresses, so on a LAN or one
	// machine it reports "private" and ModeAutoServer drops to client:
	// a node that only has private addresses and starts only from private
	// peers serves outright.
	mode := dht.ModeAutoServer
	switch {
	case n.dhtServer || cfg.Network.DHT == "server":
		mode = dht.ModeServer
	case cfg.Network.DHT == "client":
		mode = dht.ModeClient
	case privateOnly(ns.host.Addrs(), bootstrap):
		mode = dht.ModeServer
	}
	if ns.provRecs, err = newProviderRecords(ns.host.ID()); err != nil {
		return fmt.Errorf("network: dht: %w", err)
	}
	ns.dht, err = dht.New(ns.host, append(ns.provRecs.dhtOptions(),
		dht.ProtocolPrefix(DHTPrefix),
		dht.Validator(names.Validators(n.now)),
		dht.Mode(mode),
		dht.BootstrapPeers(bootstrap...),
	)...)
	if err != nil {
		return fmt.Errorf("network: dht: %w", err)
	}
	upRate, _ := apitype.ParseRate(cfg.Quota.Upload)
	downRate, _ := apitype.ParseRate(cfg.Quota.Download)
	ns.up = bandwidth.New(upRate, n.bwClock)
	ns.down = bandwidth.New(downRate, n.bwClock)
	ns.retrieval, err = retrieval.New(retrieval.Config{
		// Bulk data moves through retrieval: its streams pay the bandwidth quotas.
		Host:   &bandwidth.Host{Host: dialHost{ns.host, ns}, Up: ns.up, Down: ns.down}, // dial.go: directly or relayed
		Blocks: n.db,
		Links:  blockLinks,
		Allow:  func(root cid.Cid) bool { return !n.withheld(root) },
		Logger: n.baseLog, // the package adds component=retrieval
	})
	if err != nil {
		return fmt.Errorf("network: retrieval: %w", err)
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	ns.ctx, ns.cancel = runCtx, cancel
	n.mu.Lock()
	n.net = ns
	n.mu.Unlock()
	n.startLibraryNetwork(ns)

	// Connect to bootstrap and remembered peers in the background; the DHT's
	// own bootstrap then fills the routing table.
	ns.goOwned(func(ctx context.Context) {
		n.connectAll(ctx, ns, bootstrap, cfg.Network.Bootstrap)
		if err := ns.dht.Bootstrap(ctx); err != nil && ctx.Err() == nil {
			n.log.Warn("dht bootstrap", "err", err)
		}
		n.watchPeers(ctx, ns, bootstrap) // bootstrap.go: a node alone says so
	})
	ns.goOwned(func(ctx context.Context) { n.rememberPeers(ctx, ns) })
	n.logPeerEvents(ns)
	ns.goOwned(func(ctx context.Context) { n.reprovide(ctx, ns) })
	if cfg.Network.MDNS && n.testHost == nil {
		stop, err := n.startMDNS(ns)
		if err != nil {
			n.log.Warn("LAN discovery (mDNS) did not start", "err", err)
		}
		ns.goOwned(func(ctx context.Context) { <-ctx.Done(); stop() })
	}
	ns.mod = n.startModeration(ns)
	ns.repl = n.startReplication(ns)
	if err := n.startRelay(ns); err != nil {
		n.log.Warn("relay service did not start", "err", err)
	}
	ns.host.SetStreamHandler(invite.Protocol, n.handleJoin(ns)) // join.go
	if err := n.startOverlay(ns, cfg); err != nil {
		n.log.Error("overlay did not start", "err", err)
	}
	tunName := ""
	if ns.overlay != nil {
		tunName = ns.overlay.tun
	}
	n.startDNS(ns, cfg, tunName) // names_local.go
	ns.goOwned(func(ctx context.Context) { n.republishHosts(ctx, ns) })
	ns.goOwned(func(ctx context.Context) { n.republish(ctx, ns) })
	ns.goOwned(n.follow)
	ns.goOwned(func(ctx context.Context) { n.runSearch(ctx, ns) })
	n.log.Info("network started", "peer", ns.host.ID(), "addrs", ns.host.Addrs())
	return nil
}

// stopNetwork takes the node off the network and waits for its goroutines.
func (n *Node) stopNetwork() {
	n.mu.Lock()
	ns := n.net
	n.net = nil
	n.mu.Unlock()
	n.stopLibrary(ns) // replication and fetches use the network
	if ns != nil {
		ns.close()
	}
}

func (ns *netState) close() {
	ns.mu.Lock()
	ns.stopped = true
	ns.mu.Unlock()
	if ns.cancel != nil {
		ns.cancel()
	}
	ns.wg.Wait()
	if ns.mod != nil {
		ns.mod.close()
	}
	if ns.retrieval != nil {
		ns.retrieval.Close()
	}
	if ns.relay != nil {
		ns.relay.Close()
	}
	if ns.dht != nil {
		ns.dht.Close()
	}
	if ns.hps != nil {
		ns.hps.Close()
	}
	if ns.host != nil && ns.ownsHost {
		ns.host.Close()
	} else if ns.host != nil {
		ns.host.RemoveStreamHandler(invite.Protocol)
	}
}

// network returns the running network, or nil when offline.
func (n *Node) network() *netState {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.net
}

// newHost builds the libp2p host from the config: TCP and QUIC, Noise and
// TLS, yamux (libp2p's defaults), AutoNAT (v1 service, v2 per address), hole punching, circuit
// relay v2 as client (the service starts in startRelay), and the resource and
// connection managers from the node's quotas. mDNS and UPnP stay off: both
// send multicast onto the local network.
func (n *Node) newHost(cfg config.FileConfig, gater *connGater) (host.Host, error) {
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
		libp2p.Identity(n.id.Priv),
		libp2p.ListenAddrStrings(cfg.Network.Listen...),
		libp2p.ResourceManager(rm),
		libp2p.PrometheusRegisterer(n.metrics.reg), // served on /metrics
		libp2p.ConnectionManager(cm),
		libp2p.ConnectionGater(gater),
		libp2p.EnableNATService(),
		// AutoNAT v2 tests each public address on its own, and the host
		// stops advertising those found unreachable (a NAT mapping nobody
		// can dial), so that dialers no longer wait ~5 s on them first.
		libp2p.EnableAutoNATv2(),
		libp2p.EnableRelay(),
		libp2p.UserAgent("myconet/" + Version),
		libp2p.SwarmOpts(swarm.WithDialRanker(ranker.rank)), // overlay_path.go
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
func (n *Node) bootstrapPeers(cfg config.FileConfig) ([]peer.AddrInfo, error) {
	var out []peer.AddrInfo
	for _, s := range cfg.Network.Bootstrap {
		ai, err := peer.AddrInfoFromString(s)
		if err != nil {
			return nil, apitype.Errorf(apitype.CodeInvalid, "config: network.bootstrap: %q: %v", s, err)
		}
		out = append(out, *ai)
	}
	known, err := n.knownPeers()
	if err != nil {
		n.log.Warn("cannot read remembered peers", "err", err)
	}
	out = append(out, known...)
	return mergeAddrInfos(out, n.id.PeerID), nil
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

// Peers lists connected peers.
func (n *Node) Peers(ctx context.Context) ([]apitype.PeerInfo, error) {
	ns := n.network()
	if ns == nil {
		return nil, apitype.Errorf(apitype.CodeNoDaemon, "peers need the network: start `myconet daemon`")
	}
	byID := map[peer.ID]*apitype.PeerInfo{}
	for _, c := range ns.host.Network().Conns() {
		id := c.RemotePeer()
		pi, ok := byID[id]
		if !ok {
			pi = &apitype.PeerInfo{ID: id.String(), Direction: dirString(c.Stat().Direction)}
			if l := ns.host.Peerstore().LatencyEWMA(id); l > 0 {
				pi.Latency = l.Round(time.Microsecond).Seconds()
			}
			byID[id] = pi
		}
		addr := c.RemoteMultiaddr()
		if isRelayed(addr) && !hasDirectConn(ns.host.Network().ConnsToPeer(id)) {
			pi.Relayed = true
		}
		pi.Addrs = append(pi.Addrs, addr.String())
	}
	out := make([]apitype.PeerInfo, 0, len(byID))
	for id, pi := range byID {
		if ns.overlay != nil {
			pi.Path = ns.overlay.path(id)
			pi.Relayed = strings.HasPrefix(pi.Path, "relayed")
		}
		out = append(out, *pi)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

func dirString(d network.Direction) string {
	if d == network.DirInbound {
		return "inbound"
	}
	return "outbound"
}

// Connect dials a peer by multiaddr (with /p2p/ID) and remembers it.
func (n *Node) Connect(ctx context.Context, addr string) (apitype.PeerInfo, error) {
	ns := n.network()
	if ns == nil {
		return apitype.PeerInfo{}, apitype.Errorf(apitype.CodeNoDaemon, "connect needs the network: start `myconet daemon`")
	}
	ai, err := peer.AddrInfoFromString(addr)
	if err != nil {
		return apitype.PeerInfo{}, apitype.Errorf(apitype.CodeInvalid, "%q is not a peer multiaddr (want …/p2p/<peer-id>): %v", addr, err)
	}
	if ai.ID == n.id.PeerID {
		return apitype.PeerInfo{}, apitype.Errorf(apitype.CodeInvalid, "that is this node's own address")
	}
	cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := ns.host.Connect(cctx, *ai); err != nil {
		return apitype.PeerInfo{}, fmt.Errorf("connect %s: %w", ai.ID, err)
	}
	n.savePeer(ns, ai.ID)
	peers, _ := n.Peers(ctx)
	for _, p := range peers {
		if p.ID == ai.ID.String() {
			return p, nil
		}
	}
	return apitype.PeerInfo{ID: ai.ID.String()}, nil
}

// setConnLimit applies a new quota.connections to the running node: new
// connections beyond it are refused, and surplus ones are closed (the
// oldest-opened last, so established transfers are least disturbed).
func (ns *netState) setConnLimit(limit int) {
	ns.gater.limit.Store(int64(limit))
	if limit <= 0 {
		return
	}
	peers := ns.host.Network().Peers()
	for i := limit; i < len(peers); i++ {
		ns.host.Network().ClosePeer(peers[i])
	}
}

// listenAddrs returns the host's addresses with /p2p/ID, for `id`.
func (ns *netState) listenAddrs() []string {
	var out []string
	for _, a := range ns.host.Addrs() {
		out = append(out, a.String()+"/p2p/"+ns.host.ID().String())
	}
	return out
}

// provide announces this node as a provider of c, in the background of ctx.
func (n *Node) provide(ctx context.Context, ns *netState, c cid.Cid) {
	pctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := ns.dht.Provide(pctx, c, true); err != nil && !errors.Is(err, context.Canceled) {
		n.log.Debug("provide", "cid", c, "err", err)
	}
}

// reprovide announces every pinned root now and then every reprovideInterval,
// so that provider records outlive their expiry while the node holds them.
func (n *Node) reprovide(ctx context.Context, ns *netState) {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n.unprovideGone(ctx) // evicted cache, for one
		// Wait until the routing table has someone to tell.
		if ns.dht.RoutingTable().Size() > 0 {
			pins, err := n.db.Pins()
			if err == nil {
				seen := map[cid.Cid]bool{}
				for _, p := range pins {
					if !seen[p.Root] && !n.retracted(p.Root) {
						seen[p.Root] = true
						n.provideContent(ctx, ns, p.Root)
					}
				}
			}
			t.Reset(reprovideInterval)
		} else {
			t.Reset(2 * time.Second)
		}
	}
}

// reprovideInterval is how often held roots are announced again.
const reprovideInterval = 12 * time.Hour

// dhtMode reports whether the DHT serves others now. kad-dht's Mode() is
// the configured option (ModeAutoServer in auto), not the live mode, which
// it keeps to itself; a DHT in server mode is the one that handles the
// Kademlia protocol, so the host's stream handlers tell.
func (ns *netState) dhtMode() string {
	kad := protocol.ID(DHTPrefix + "/kad/1.0.0")
	if slices.Contains(ns.host.Mux().Protocols(), kad) {
		return "server"
	}
	return "client"
}
