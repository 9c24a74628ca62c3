package p2p

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
)

// peerWatchEvery is how often watchPeers looks at the peer count.
const peerWatchEvery = 2 * time.Second

// connectAll dials peers in parallel with a deadline each. configured are
// the network.bootstrap multiaddrs: a failure to reach one of them is a
// warning.
func (h *Host) connectAll(ctx context.Context, peers []peer.AddrInfo, configured []string) {
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
			err := h.host.Connect(cctx, ai)
			switch {
			case err == nil || ctx.Err() != nil:
			case fromConfig[ai.ID]:
				h.log.Warn("bootstrap peer unreachable (network.bootstrap)", "peer", ai.ID, "addrs", ai.Addrs, "err", err)
			default:
				h.log.Debug("remembered peer unreachable", "peer", ai.ID, "err", err)
			}
		}()
	}
	wg.Wait()
}

// watchPeers keeps h.alone and the log up to date with whether the node
// has peers, until ctx ends, and while it has none dials the bootstrap and
// remembered peers again every aloneRetry (as Kubo re-bootstraps a node
// short of peers). h.boot is what it started from.
func (h *Host) watchPeers(ctx context.Context) {
	boot := h.boot
	t := time.NewTicker(peerWatchEvery)
	defer t.Stop()
	first, had := true, false
	var lastTry time.Time
	for {
		count := len(h.host.Network().Peers())
		switch {
		case count > 0:
			if !had && !first {
				h.log.Info("connected to peers again", "peers", count)
			}
			h.alone.Store(nil)
		case first && len(boot) == 0:
			h.setAlone("no peers: no bootstrap peers are configured and none are remembered; join a network with `myconet join INVITE` or `myconet connect MULTIADDR`")
		case first:
			h.setAlone("no peers: none of the bootstrap or remembered peers could be reached (see the log); join a network with `myconet join INVITE` or `myconet connect MULTIADDR`")
			lastTry = time.Now()
		case had:
			h.setAlone("no peers: lost every peer at " + time.Now().Format("15:04:05") + "; trying the known ones again every " + aloneRetry.String())
		}
		if count == 0 && time.Since(lastTry) >= aloneRetry {
			lastTry = time.Now()
			if known, err := h.bootstrapPeers(h.currentBootstrap()); err == nil && len(known) > 0 {
				h.connectAll(ctx, known, nil)
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

func (h *Host) setAlone(why string) {
	h.alone.Store(&why)
	h.log.Warn("this node is alone on the network", "why", why)
}

// Alone is Status.Alone: empty while the node has peers.
func (h *Host) Alone(peers int) string {
	if peers > 0 {
		return ""
	}
	if p := h.alone.Load(); p != nil {
		return *p
	}
	return "no peers yet: still dialing the bootstrap and remembered peers"
}

// currentBootstrap is network.bootstrap as configured now.
func (h *Host) currentBootstrap() []string {
	if h.cfg.Bootstrap != nil {
		return h.cfg.Bootstrap()
	}
	return h.cfg.Network.Bootstrap
}
