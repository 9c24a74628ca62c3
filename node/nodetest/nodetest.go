// Package nodetest starts many full Myconet nodes in one process for tests:
// each with its own home and bbolt store in t.TempDir(), its own identity and
// a libp2p host, either on libp2p's mocknet (in-memory links, for scale) or on
// real loopback sockets (for end-to-end paths). Nodes run the DHT in server
// mode under the private /myconet prefix, with no bootstrap peers and no
// multicast.
package nodetest

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	mocknet "github.com/libp2p/go-libp2p/p2p/net/mock"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/myconet/myconet/node"
	"github.com/myconet/myconet/node/bandwidth"
	"github.com/myconet/myconet/node/config"
)

// TB is the part of testing.TB that a Net uses. A *testing.T satisfies it;
// a program outside tests (bench/mesh) can supply its own.
type TB interface {
	Helper()
	Log(args ...any)
	Errorf(format string, args ...any)
	Fatal(args ...any)
	Fatalf(format string, args ...any)
	Cleanup(func())
	TempDir() string
}

var _ TB = testing.TB(nil)

// Options configure a Net.
type Options struct {
	// Loopback uses real libp2p hosts on 127.0.0.1 instead of mocknet.
	Loopback bool
	// Override adjusts each node's config (after the loopback defaults).
	Override func(i int, fc *config.FileConfig)
	// Logs sends node logs at Debug to t.Log (noisy); off by default.
	Logs bool
	// Clock, if set, gives node i's bandwidth limiters a clock.
	Clock func(i int) bandwidth.Clock
	// ReplicateInterval is each node's node.Config.ReplicateInterval.
	ReplicateInterval time.Duration
	// WrapHost, if set, wraps node i's mocknet host before the node gets
	// it (for example to count traffic). Ignored with Loopback.
	WrapHost func(i int, h host.Host) host.Host
}

// Net is a set of running nodes.
type Net struct {
	t     TB
	Nodes []*node.Node
	Mock  mocknet.Mocknet // nil with Loopback
	// Dead marks the nodes stopped by Kill.
	Dead []bool

	opts  Options
	homes []string // node i's home, kept for Restart
}

// New starts n nodes, not yet connected to each other. Everything is closed
// when the test ends.
func New(t TB, n int, opts Options) *Net {
	t.Helper()
	net := &Net{t: t, opts: opts}
	if !opts.Loopback {
		net.Mock = mocknet.New()
		t.Cleanup(func() { net.Mock.Close() })
	}
	for i := range n {
		net.homes = append(net.homes, t.TempDir())
		net.Nodes = append(net.Nodes, net.start(i))
		net.Dead = append(net.Dead, false)
	}
	if net.Mock != nil {
		// Links are the underlay: every node can reach every other, as on
		// the internet. Who is connected to whom is up to the test.
		if err := net.Mock.LinkAll(); err != nil {
			t.Fatal(err)
		}
	}
	return net
}

// start starts node i on its home.
func (net *Net) start(i int) *node.Node {
	t, opts, home := net.t, net.opts, net.homes[i]
	cfg := node.Config{
		Home:              home,
		StoreNoSync:       true,
		DHTServer:         true,
		ReplicateInterval: opts.ReplicateInterval,
		Override: func(fc *config.FileConfig) {
			node.LoopbackOnly(fc)
			if opts.Override != nil {
				opts.Override(i, fc)
			}
		},
	}
	if opts.Clock != nil {
		cfg.BandwidthClock = opts.Clock(i)
	}
	if opts.Logs {
		cfg.Logger = slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug})).With("node", i)
	}
	if net.Mock != nil {
		id, err := node.LoadIdentity(home)
		if err != nil {
			t.Fatal(err)
		}
		addr, _ := ma.NewMultiaddr(fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", 10000+i))
		h, err := net.Mock.AddPeer(id.Priv, addr)
		if err != nil {
			t.Fatal(err)
		}
		if opts.WrapHost != nil {
			cfg.TestHost = opts.WrapHost(i, h)
		} else {
			cfg.TestHost = h
		}
	}
	nd, err := node.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nd.Close() })
	if err := nd.StartNetwork(context.Background()); err != nil {
		t.Fatal(err)
	}
	return nd
}

// Restart stops node i (unless Kill stopped it) and starts it again on the
// same home: same identity, store and config, an empty DHT, new listen
// ports and no connections. Loopback nets only.
func (net *Net) Restart(i int) {
	net.t.Helper()
	if net.Mock != nil {
		net.t.Fatal("nodetest: Restart needs Options.Loopback")
	}
	if !net.Dead[i] {
		if err := net.Nodes[i].Close(); err != nil {
			net.t.Errorf("restart %d: close: %v", i, err)
		}
	}
	net.Nodes[i] = net.start(i)
	net.Dead[i] = false
}

// Home returns node i's home directory.
func (net *Net) Home(i int) string { return net.homes[i] }

// Kill stops node i for good, as if its machine vanished: the node closes
// and, on mocknet, its host closes and loses its links, so that dials to it
// fail at once.
func (net *Net) Kill(i int) {
	net.t.Helper()
	nd := net.Nodes[i]
	id := nd.Identity().PeerID
	if err := nd.Close(); err != nil {
		net.t.Errorf("kill %d: %v", i, err)
	}
	if net.Mock != nil {
		for _, p := range net.Mock.Peers() {
			if p != id {
				net.Mock.UnlinkPeers(id, p) // an error only means there was no link
			}
		}
		if h := net.Mock.Host(id); h != nil {
			h.Close()
		}
	}
	net.Dead[i] = true
}

// Live returns the indexes of the nodes not killed.
func (net *Net) Live() []int {
	var out []int
	for i, d := range net.Dead {
		if !d {
			out = append(out, i)
		}
	}
	return out
}

// AddrInfo returns node i's peer address.
func (net *Net) AddrInfo(i int) peer.AddrInfo {
	info, err := net.Nodes[i].ID(context.Background())
	if err != nil {
		net.t.Fatal(err)
	}
	ai, err := peer.AddrInfoFromString(info.Listen[0])
	if err != nil {
		net.t.Fatal(err)
	}
	return *ai
}

// Connect connects node i to node j.
func (net *Net) Connect(i, j int) {
	net.t.Helper()
	a := net.Nodes[i]
	ai := net.AddrInfo(j)
	addr := ai.Addrs[0].String() + "/p2p/" + ai.ID.String()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := a.Connect(ctx, addr); err != nil {
		net.t.Fatalf("connect %d → %d: %v", i, j, err)
	}
}

// ConnectChain connects 0–1–2–…–n-1.
func (net *Net) ConnectChain() {
	for i := 0; i+1 < len(net.Nodes); i++ {
		net.Connect(i, i+1)
	}
}

// ConnectRandom connects each node to k others chosen by a fixed pattern
// (i+1, i+2, i+4, …), so that the graph is connected and has short paths.
func (net *Net) ConnectRandom(k int) {
	n := len(net.Nodes)
	for i := range n {
		step := 1
		for c := 0; c < k && step < n; c++ {
			net.Connect(i, (i+step)%n)
			step *= 2
		}
	}
}

// Eventually polls cond every 20 ms until it holds or d passes.
func (net *Net) Eventually(d time.Duration, what string, cond func() bool) {
	net.t.Helper()
	Eventually(net.t, d, what, cond)
}

// Eventually polls cond every 20 ms until it holds or d passes.
func Eventually(t TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond) // polling a condition, not synchronizing
	}
}

type tWriter struct{ t TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
