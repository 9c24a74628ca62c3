package main

import (
	"context"
	"sync"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/routing"
)

// queryTrace counts a DHT query's messages and hops from kad-dht's query
// events (routing.RegisterForQueryEvents on the context of the call).
//
// Hops is the longest chain of round trips: a peer taken from the routing
// table is at hop 1, a peer first learned from the answer of a peer at hop h
// is at h+1, and the query's hops are the largest hop among the peers it
// sent a request to. Queries run 10 requests in parallel (alpha), so hops,
// not messages, is what sets a lookup's latency.
type queryTrace struct {
	Messages int // requests sent (SendingQuery events)
	Errors   int // requests that failed (QueryError events)
	Hops     int
}

// traceQuery returns a context that records the DHT queries run under it,
// and a function that ends the recording (cancelling the context) and
// returns the counts.
func traceQuery(ctx context.Context) (context.Context, func() queryTrace) {
	ctx, cancel := context.WithCancel(ctx)
	ctx, events := routing.RegisterForQueryEvents(ctx)
	var tr queryTrace
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		hop := map[peer.ID]int{}
		for ev := range events { // closed when ctx ends
			switch ev.Type {
			case routing.SendingQuery:
				tr.Messages++
				h, ok := hop[ev.ID]
				if !ok {
					h = 1
					hop[ev.ID] = h
				}
				tr.Hops = max(tr.Hops, h)
			case routing.PeerResponse:
				h := hop[ev.ID]
				for _, ai := range ev.Responses {
					if _, ok := hop[ai.ID]; !ok {
						hop[ai.ID] = h + 1
					}
				}
			case routing.QueryError:
				tr.Errors++
			}
		}
	}()
	return ctx, func() queryTrace {
		cancel()
		wg.Wait()
		return tr
	}
}
