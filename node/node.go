// Package node composes a Myconet node: identity, store, content import and
// retrieval, the HTTP API and the gateway (and, as they arrive, the libp2p host,
// DHT, search, moderation and overlay). It is the only package that imports all
// the others; nothing but cmd imports node.
//
// # Lifecycle
//
//	New ──► (Run ──►) Close
//
// New opens the home (creating identity and config on first use) and the store;
// the node can then serve API calls in-process (the CLI does this when no daemon
// runs). Run starts the daemon's servers and blocks until its context ends. Close
// is idempotent and releases everything New took.
package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/host"

	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/node/bandwidth"
	"github.com/myconet/myconet/node/channels"
	"github.com/myconet/myconet/node/config"
	"github.com/myconet/myconet/node/library"
	"github.com/myconet/myconet/node/metrics"
	"github.com/myconet/myconet/node/moderate"
	"github.com/myconet/myconet/node/namesvc"
	"github.com/myconet/myconet/node/searchsvc"
	"github.com/myconet/myconet/store"
)

// File names inside the home directory.
const (
	IdentityFile = "identity.key"
	StoreFile    = "store.db"
)

// Config is what New needs. The zero value of every field but Home is a
// sensible default.
type Config struct {
	// Home is the node's directory; created if missing.
	Home string
	// Override adjusts the config loaded from <Home>/config.toml for this run
	// only (daemon flags such as --listen and --no-tun). It is applied again
	// after every ConfigSet and never written to the file.
	Override func(*config.FileConfig)
	// Logger receives the node's logs; nil discards them.
	Logger *slog.Logger
	// LogLevel, if set, is the level Logger's handler reads: POST
	// /api/v1/log changes it at run time. Nil fixes the level.
	LogLevel *slog.LevelVar
	// AccessLog turns the access log of the API and gateway on from the
	// start (POST /api/v1/log turns it on and off).
	AccessLog bool
	// StoreNoSync skips fsync in the store (tests and benchmarks only).
	StoreNoSync bool
	// Now is a clock for tests; nil means time.Now.
	Now func() time.Time
	// TestHost, if set, is the libp2p host StartNetwork uses instead of
	// building one (mocknet in multi-node tests). The node does not close it.
	TestHost host.Host
	// DHTServer forces DHT server mode (tests, where AutoNAT cannot tell).
	DHTServer bool
	// BandwidthClock is the clock of the bandwidth limiters (tests use fake
	// time); nil means the real clock.
	BandwidthClock bandwidth.Clock
	// ReplicateInterval is how often the replication loop checks each held
	// package that has its replicas (jittered ±25%); 0 means 30 minutes.
	// Tests shorten it.
	ReplicateInterval time.Duration
}

// Node is a Myconet node. Its methods are safe for concurrent use.
type Node struct {
	home    string
	log     *slog.Logger
	baseLog *slog.Logger // without component, for packages that add their own
	now     func() time.Time
	id      *Identity
	db      *store.DB
	online  bool // Run is serving (a daemon)

	testHost  host.Host
	dhtServer bool
	bwClock   bandwidth.Clock
	replInt   time.Duration // Config.ReplicateInterval

	mu       sync.Mutex
	cfg      config.FileConfig // effective config: the file plus override; guarded by mu
	override func(*config.FileConfig)
	memQuota bool      // quota.memory drives the runtime's memory limit (daemon)
	net      *netState // the network while started; guarded by mu

	lib     *library.Service // packages, pins, fetches (node/library)
	started time.Time
	apiAddr string // where the API listens while Run serves
	gwAddr  string // where the gateway listens while Run serves

	chans *channels.Service // channels, bookmarks, following (channels.go)

	srch *searchsvc.Service // the search index and protocol (search.go)

	metrics *metrics.Metrics // Prometheus registry and instruments (node/metrics)

	logLevel *slog.LevelVar    // Config.LogLevel (logctl.go)
	accessOn atomic.Bool       // the access log is on (logctl.go)
	mod      *moderate.Service // moderation (node/moderate)

	names *namesvc.Service // petnames, published names, .myco DNS (node/namesvc)

	closeOnce sync.Once
	closeErr  error
}

var _ apitype.API = (*Node)(nil)

// Init creates the home, identity and a commented config file if they are
// missing, and returns the home's absolute path. It never overwrites anything.
func Init(home string) (string, error) {
	home, err := filepath.Abs(home)
	if err != nil {
		return "", fmt.Errorf("home: %w", err)
	}
	if err := os.MkdirAll(home, 0o700); err != nil {
		return "", fmt.Errorf("home: %w", err)
	}
	if _, err := loadOrCreateIdentity(filepath.Join(home, IdentityFile)); err != nil {
		return "", err
	}
	cfgPath := filepath.Join(home, config.ConfigFile)
	if _, err := os.Stat(cfgPath); errors.Is(err, os.ErrNotExist) {
		if err := config.WriteConfig(cfgPath, config.DefaultConfig()); err != nil {
			return "", err
		}
	}
	return home, nil
}

// New opens a node in cfg.Home. The caller must Close it.
func New(cfg Config) (n *Node, reterr error) {
	if cfg.Home == "" {
		return nil, apitype.Errorf(apitype.CodeInvalid, "node: no home directory given")
	}
	home, err := Init(cfg.Home)
	if err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	n = &Node{home: home, log: log.With("component", "node"), baseLog: log, now: cfg.Now, testHost: cfg.TestHost, dhtServer: cfg.DHTServer, bwClock: cfg.BandwidthClock, replInt: cfg.ReplicateInterval}
	if n.now == nil {
		n.now = time.Now
	}
	n.metrics = n.newNodeMetrics()
	n.logLevel = cfg.LogLevel
	n.accessOn.Store(cfg.AccessLog)
	n.override = cfg.Override
	file, err := config.LoadConfig(filepath.Join(home, config.ConfigFile))
	if err != nil {
		return nil, apitype.Wrap(apitype.CodeInvalid, err)
	}
	if n.cfg, err = n.effective(file); err != nil {
		return nil, err
	}
	if n.id, err = loadOrCreateIdentity(filepath.Join(home, IdentityFile)); err != nil {
		return nil, err
	}
	if err := n.newNames(); err != nil {
		return nil, err
	}
	quota, err := apitype.ParseSize(n.cfg.Quota.Disk)
	if err != nil {
		return nil, fmt.Errorf("config: quota.disk: %w", err)
	}
	n.db, err = store.Open(store.Config{
		Path:      filepath.Join(home, StoreFile),
		DiskQuota: quota,
		Links:     blockLinks,
		Logger:    log, // store adds component=store itself
		NoSync:    cfg.StoreNoSync,
		Program:   "myconet " + Build().Version,
		Now:       cfg.Now,
	})
	if err != nil {
		return nil, storeErr(err)
	}
	n.lib = n.newLibrary()
	n.srch = n.newSearch()
	n.chans = n.newChannels()
	if n.mod, err = n.newModeration(); err != nil {
		n.db.Close()
		return nil, err
	}
	return n, nil
}

// effective applies the run's override to a file config and validates it.
func (n *Node) effective(file config.FileConfig) (config.FileConfig, error) {
	if n.override != nil {
		n.override(&file)
	}
	if err := file.Validate(); err != nil {
		return file, apitype.Errorf(apitype.CodeInvalid, "config: %v", err)
	}
	return file, nil
}

// Home returns the node's home directory.
func (n *Node) Home() string { return n.home }

// Identity returns the node's identity.
func (n *Node) Identity() *Identity { return n.id }

// Store returns the node's store (for tests and tools).
func (n *Node) Store() *store.DB { return n.db }

// Close releases the store. It is idempotent.
func (n *Node) Close() error {
	n.closeOnce.Do(func() {
		n.stopNetwork()
		if n.db != nil {
			n.closeErr = n.db.Close()
		}
	})
	return n.closeErr
}

// ID implements API.
func (n *Node) ID(ctx context.Context) (apitype.IDInfo, error) {
	info := n.id.Info()
	if ns := n.network(); ns != nil {
		info.Listen = ns.p2p.ListenAddrs()
	}
	return info, nil
}

// Status implements API.
func (n *Node) Status(ctx context.Context) (apitype.Status, error) {
	n.mu.Lock()
	online, started, api, gw := n.online, n.started, n.apiAddr, n.gwAddr
	n.mu.Unlock()
	if !online {
		return apitype.Status{}, apitype.Errorf(apitype.CodeNoDaemon, "start one with `myconet daemon`")
	}
	q, err := n.Quota(ctx)
	if err != nil {
		return apitype.Status{}, err
	}
	id, _ := n.ID(ctx)
	peers, alone := 0, ""
	dhtMode := "offline"
	overlayNote := "off"
	if ns := n.network(); ns != nil {
		peers = len(ns.host.Network().Peers())
		alone = ns.p2p.Alone(peers)
		dhtMode = ns.p2p.DHTMode()
		overlayNote = ns.overlayStatus()
	}
	return apitype.Status{
		Peers:      peers,
		Alone:      alone,
		DHT:        dhtMode,
		ID:         id,
		Version:    Version,
		Started:    started,
		Uptime:     int64(n.now().Sub(started).Round(time.Second) / time.Second),
		API:        api,
		Gateway:    gw,
		Store:      q,
		Overlay:    overlayNote,
		Packages:   q.Packages,
		Moderation: n.ModerationStats(),
	}, nil
}

var _ = io.Discard
