package node

import (
	"context"
	"fmt"
	"sync"

	"github.com/ipfs/go-cid"
	dht "github.com/libp2p/go-libp2p-kad-dht"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/bandwidth"
	"github.com/myconet/myconet/node/config"
	"github.com/myconet/myconet/node/moderate"
	"github.com/myconet/myconet/node/names"
	"github.com/myconet/myconet/node/namesvc"
	"github.com/myconet/myconet/node/overlaynet"
	"github.com/myconet/myconet/node/p2p"
	"github.com/myconet/myconet/node/retrieval"
	"github.com/myconet/myconet/node/searchsvc"
)

// netState is what exists while the node is on the network.
type netState struct {
	p2p       *p2p.Host          // the libp2p host, the DHT, dialing (node/p2p)
	host      host.Host          // p2p.Host()
	dht       *dht.IpfsDHT       // p2p.DHT()
	up, down  *bandwidth.Limiter // quota.upload and quota.download, live
	retrieval *retrieval.Service
	repl      *replicator         // replication (replicate.go); nil if it failed to start
	mod       *moderate.Service   // moderation, while on the network (node/moderate)
	overlay   *overlaynet.Service // the IPv6 overlay (overlay_api.go); nil if it failed to start
	names     *namesvc.Online     // names on the network, .myco DNS (names_local.go)
	ctx       context.Context     // ends when the network stops
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
	h, err := p2p.New(p2p.Config{
		Network: cfg.Network, Quota: cfg.Quota, Key: n.id.Priv, Home: n.home,
		UserAgent: "myconet/" + Version, DHTServer: n.dhtServer, TestHost: n.testHost,
		Registerer: n.metrics.Reg, Validator: names.Validators(n.now), BandwidthClock: n.bwClock,
		Now: n.now, Log: n.log, PeerLog: n.baseLog.With("component", "peers"), Peers: n.db, Holdings: p2p.Holdings{Pins: n.db.Pins, Retracted: n.retracted, Have: n.have},
		Bootstrap: func() []string { n.mu.Lock(); defer n.mu.Unlock(); return n.cfg.Network.Bootstrap },
	})
	if err != nil {
		return err
	}
	ns.p2p, ns.host, ns.dht, ns.up, ns.down = h, h.Host(), h.DHT(), h.Up(), h.Down()
	ns.retrieval, err = retrieval.New(retrieval.Config{
		// Bulk data moves through retrieval: its streams pay the bandwidth quotas.
		Host:   &bandwidth.Host{Host: h.Dialer(), Up: ns.up, Down: ns.down}, // directly or relayed
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

	h.Start(runCtx) // bootstrap, remembering peers, reproviding, mDNS
	ns.mod = n.startModeration(ns)
	ns.repl = n.startReplication(ns)
	if err := n.startOverlay(ns, cfg); err != nil {
		n.log.Error("overlay did not start", "err", err)
	}
	tunName := ""
	if ns.overlay != nil {
		tunName = ns.overlay.TUN()
		h.SetRelays(ns.overlay.Relays) // invitations carry relay addresses
	}
	ns.names = n.names.Start(ns.ctx, ns.dht, cfg.Overlay.DNS, tunName) // node/namesvc
	n.chans.Start(ns.dht)
	n.srch.Start(searchsvc.Net{Host: ns.p2p.Dialer(), DHT: ns.dht})
	n.log.Info("network started", "peer", ns.host.ID(), "addrs", ns.host.Addrs())
	return nil
}

// stopNetwork takes the node off the network and waits for its goroutines.
func (n *Node) stopNetwork() {
	n.mu.Lock()
	ns := n.net
	n.net = nil
	n.mu.Unlock()
	n.srch.Stop()     // search and channels first: following fetches through the library
	n.chans.Stop()    // (both are no-ops when not started)
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
		ns.mod.StopNetwork()
	}
	if ns.retrieval != nil {
		ns.retrieval.Close()
	}
	if ns.overlay != nil {
		ns.overlay.Close()
	}
	if ns.names != nil {
		ns.names.Close()
	}
	if ns.p2p != nil {
		ns.p2p.Close()
	}
}

// network returns the running network, or nil when offline.
func (n *Node) network() *netState {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.net
}

// Peers lists connected peers.
func (n *Node) Peers(ctx context.Context) ([]apitype.PeerInfo, error) {
	ns := n.network()
	if ns == nil {
		return nil, apitype.Errorf(apitype.CodeNoDaemon, "peers need the network: start `myconet daemon`")
	}
	var path func(peer.ID) string
	if ns.overlay != nil {
		path = ns.overlay.Path
	}
	return ns.p2p.Peers(path), nil
}

// Connect dials a peer by multiaddr (with /p2p/ID) and remembers it.
func (n *Node) Connect(ctx context.Context, addr string) (apitype.PeerInfo, error) {
	ns := n.network()
	if ns == nil {
		return apitype.PeerInfo{}, apitype.Errorf(apitype.CodeNoDaemon, "connect needs the network: start `myconet daemon`")
	}
	id, err := ns.p2p.Connect(ctx, addr)
	if err != nil {
		return apitype.PeerInfo{}, err
	}
	peers, _ := n.Peers(ctx)
	for _, p := range peers {
		if p.ID == id.String() {
			return p, nil
		}
	}
	return apitype.PeerInfo{ID: id.String()}, nil
}

// Invite implements API.
func (n *Node) Invite(ctx context.Context, req apitype.InviteRequest) (apitype.InviteResult, error) {
	ns := n.network()
	if ns == nil {
		return apitype.InviteResult{}, apitype.Errorf(apitype.CodeNoDaemon, "invitations carry the daemon's addresses: start `myconet daemon`")
	}
	return ns.p2p.Invite(req)
}

// Join implements API.
func (n *Node) Join(ctx context.Context, text string) (apitype.JoinResult, error) {
	inv, err := p2p.ParseInvite(text, n.id.PeerID, n.now())
	if err != nil {
		return apitype.JoinResult{}, err
	}
	ns := n.network()
	if ns == nil {
		return apitype.JoinResult{}, apitype.Errorf(apitype.CodeNoDaemon, "join needs the network: start `myconet daemon`")
	}
	return ns.p2p.Join(ctx, text, inv)
}

// unprovideGone withdraws the provider records of roots no longer held
// (nothing to do offline).
func (n *Node) unprovideGone(ctx context.Context) {
	if ns := n.network(); ns != nil {
		ns.p2p.UnprovideGone(ctx)
	}
}
