package library

import (
	"context"
	"errors"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/myconet/myconet/node/retrieval"
)

// busyFor is how long a fetch asks again providers that replied busy. A
// provider serves a peer's sessions up to a limit
// (retrieval.Config.MaxServesPerPeer), and a session this node just left (a
// browser's cancelled Range request, an interrupted get) holds its slot
// until the provider notices, which a capped upload can delay by seconds.
// Busy is a wait, not an answer: failing on it made a <video> that seeks
// stop with a network error, and a get fail while the provider was only
// finishing earlier sessions.
const busyFor = 15 * time.Second

// whileBusy runs try, and again while it fails with retrieval.ErrBusy
// (after 50 ms, doubling up to 1 s), for busyFor at most. It returns try's
// last error, or ctx's if ctx ends while it waits.
func whileBusy(ctx context.Context, try func() error) error {
	deadline := time.Now().Add(busyFor)
	for wait := 50 * time.Millisecond; ; wait = min(2*wait, time.Second) {
		err := try()
		if !errors.Is(err, retrieval.ErrBusy) || time.Now().Add(wait).After(deadline) {
			return err
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
	}
}

// triedProviders returns providers and the providers a fetch's stats name
// (those that served, and those it dropped), each once: whom to ask again.
func triedProviders(providers []peer.ID, st retrieval.Stats) []peer.ID {
	seen := make(map[peer.ID]bool, len(providers))
	var out []peer.ID
	add := func(p peer.ID) {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	for _, p := range providers {
		add(p)
	}
	for p := range st.Served {
		add(p)
	}
	for _, err := range st.Dropped {
		var pe *retrieval.ProviderError
		if errors.As(err, &pe) {
			add(pe.Peer)
		}
	}
	return out
}
