package node

// Saying so when the node is alone. A wrong or unreachable bootstrap peer is
// logged (at warn, with the address tried and why it failed), and a node
// with no peers says so in the log, once when it finds itself alone and once
// when it has peers again, and in `status` (Status.Alone), instead of
// running silently by itself. Peers remembered from earlier runs often are
// gone; their failures are logged at debug only.

import (
	"context"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/myconet/myconet/node/config"
)

// peerWatchEvery is how often watchPeers looks at the peer count.
const peerWatchEvery = 2 * time.Second

// connectAll dials peers in parallel with a deadline each. configured are
// the network.bootstrap multiaddrs: a failure to reach one of them is a
// warning.
func (n *Node) connectAll(ctx context.Context, ns *netState, peers []peer.AddrInfo, configured []string) {
	fromConfig := map[peer.ID]bool{}
	for _, s := range configured {
		if ai, err := peer.AddrInfoFromString(s); err == nil {
			fromConfig[ai.ID] = true
		}
	}
	var wg sync.WaitGroup
	for _, ai := range peers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
			defer cancel()
			err := ns.host.Connect(cctx, ai)
			switch {
			case err == nil || ctx.Err() != nil:
			case fromConfig[ai.ID]:
				n.log.Warn("bootstrap peer unreachable (network.bootstrap)", "peer", ai.ID, "addrs", ai.Addrs, "err", err)
			default:
				n.log.Debug("remembered peer unreachable", "peer", ai.ID, "err", err)
			}
		}()
	}
	wg.Wait()
}

// watchPeers keeps ns.alone and the log up to date with whether the node
// has peers, until ctx ends, and while it has none dials the bootstrap and
// remembered peers again every aloneRetry (as Kubo re-bootstraps a node
// short of peers). boot is what it started from.
func (n *Node) watchPeers(ctx context.Context, ns *netState, boot []peer.AddrInfo) {
	t := time.NewTicker(peerWatchEvery)
	defer t.Stop()
	first, had := true, false
	var lastTry time.Time
	for {
		count := len(ns.host.Network().Peers())
		switch {
		case count > 0:
			if !had && !first {
				n.log.Info("connected to peers again", "peers", count)
			}
			ns.alone.Store(nil)
		case first && len(boot) == 0:
			n.setAlone(ns, "no peers: no bootstrap peers are configured and none are remembered; join a network with `myconet join INVITE` or `myconet connect MULTIADDR`")
		case first:
			n.setAlone(ns, "no peers: none of the bootstrap or remembered peers could be reached (see the log); join a network with `myconet join INVITE` or `myconet connect MULTIADDR`")
			lastTry = time.Now()
		case had:
			n.setAlone(ns, "no peers: lost every peer at "+time.Now().Format("15:04:05")+"; trying the known ones again every "+aloneRetry.String())
		}
		if count == 0 && time.Since(lastTry) >= aloneRetry {
			lastTry = time.Now()
			if known, err := n.bootstrapPeers(n.fileConfig()); err == nil && len(known) > 0 {
				n.connectAll(ctx, ns, known, nil)
			}
		}
		first, had = false, count > 0
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// aloneRetry is how often a node without peers dials the known ones again.
const aloneRetry = 30 * time.Second

func (n *Node) setAlone(ns *netState, why string) {
	ns.alone.Store(&why)
	n.log.Warn("this node is alone on the network", "why", why)
}

// aloneNote is Status.Alone: empty while the node has peers.
func (ns *netState) aloneNote(peers int) string {
	if peers > 0 {
		return ""
	}
	if p := ns.alone.Load(); p != nil {
		return *p
	}
	return "no peers yet: still dialing the bootstrap and remembered peers"
}

// fileConfig returns the node's current effective configuration.
func (n *Node) fileConfig() config.FileConfig {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.cfg
}
