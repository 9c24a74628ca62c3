package moderate

// Aggregator sync: votes that survive churn.
//
// The aggregators of a package are the k nodes closest to its poll key at
// the moment, and that set changes as nodes come and go. So every node
// that holds votes on a package (an aggregator, or one that was) reconciles
// them, once per moderation.refresh, with the package's current
// aggregators, by digest:
//
//  1. it asks each for a tally (op tally: counts and the digest of the
//     counted votes, signed, 183 bytes);
//  2. when a digest differs from its own, it fetches that aggregator's
//     votes (op votes), verifies each (work and signature; a signed vote
//     stays valid however old) and counts the ones it lacks, then sends
//     that aggregator (op vote) each of its own counted votes the other did
//     not show.
//
// Equal digests mean equal vote sets, so a settled poll costs k small
// requests per interval. A new aggregator starts empty and is filled by
// the others' pushes within one interval; an aggregator that leaves hands
// on what it has as long as it runs. A vote once delivered thus keeps
// counting as long as any node holding it lives. Counting stays one vote
// per voter and package (the later one by signed time), so a vote handed
// on never counts twice and an old vote cannot displace a newer one.

import (
	"context"
	"sync"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/myconet/myconet/moderation"
	"github.com/myconet/myconet/store"
)

const (
	// modSyncBatch bounds the polls reconciled per pass.
	modSyncBatch = 64
	// maxSyncPush bounds the votes pushed to one aggregator per poll and pass.
	maxSyncPush = 4096
)

// modSyncLoop reconciles the polls this node holds, a batch per refresh
// interval, round robin.
func (m *Service) modSyncLoop(ctx context.Context, ns *netSession) {
	var after []byte // the last poll reconciled: the next pass starts behind it
	for {
		s := m.modSettings()
		t := time.NewTimer(jitter(max(s.refresh, 10*time.Millisecond)))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		if ns = m.network(); ns == nil || ns.mod == nil { // under netMu: ns.mod is set after this loop starts
			return
		}
		targets, err := m.db.ModTargets(store.ModVote, after, modSyncBatch)
		if err != nil {
			m.log.Warn("moderation: sync: cannot list polls", "err", err)
			continue
		}
		if len(targets) < modSyncBatch {
			after = nil // wrap around
		} else {
			after = targets[len(targets)-1]
		}
		for _, tb := range targets {
			if ctx.Err() != nil {
				return
			}
			c, err := cid.Cast(tb)
			if err != nil || !isPackageCID(c) {
				continue
			}
			m.syncPoll(ctx, ns, c, s)
		}
	}
}

// syncPoll reconciles this node's votes on c with c's aggregators.
func (m *Service) syncPoll(ctx context.Context, ns *netSession, c cid.Cid, s modSettings) {
	aggs, err := m.aggregators(ctx, ns, c, s.aggregators)
	if err != nil && len(aggs) == 0 {
		return
	}
	m.aggMu.Lock()
	poll, err := m.loadPoll(c)
	var digest [32]byte
	var mine []moderation.Vote
	if err == nil {
		digest, mine = poll.Digest(), poll.Votes()
	}
	m.aggMu.Unlock()
	if err != nil {
		return
	}
	var wg sync.WaitGroup
	for _, p := range aggs {
		if p == m.self {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			m.syncWith(ctx, ns, p, c, digest, mine, s)
		}()
	}
	wg.Wait()
}

// syncWith reconciles this node's votes on c (digest, mine) with p's.
func (m *Service) syncWith(ctx context.Context, ns *netSession, p peer.ID, c cid.Cid, digest [32]byte, mine []moderation.Vote, s modSettings) {
	payload, err := ns.mod.ask(ctx, p, modRequest{Op: modOpTally, Target: c})
	if err != nil {
		return
	}
	t, err := moderation.DecodeTally(payload)
	if err == nil {
		err = m.checkTally(t, p, c)
	}
	if err != nil {
		m.rejected("tally", p, err)
		return
	}
	if t.Digest == digest {
		return
	}
	if payload, err = ns.mod.ask(ctx, p, modRequest{Op: modOpVotes, Target: c}); err != nil {
		return
	}
	_, votes, err := decodeVotesPayload(payload)
	if err != nil {
		m.rejected("vote", p, err)
		return
	}
	theirs := make(map[string]bool, len(votes))
	for _, v := range votes {
		rec, err := v.Encode()
		if err != nil {
			continue
		}
		theirs[string(rec)] = true
		if err := moderation.CheckTarget(v, c); err != nil {
			m.rejected("vote", p, err)
			continue
		}
		if err := moderation.Verify(v, s.powBits, m.now(), 0, moderation.DefaultMaxSkew); err != nil {
			m.rejected("vote", p, err)
			continue
		}
		if res, err := m.countVote(c, v, rec); err == nil && res != moderation.Duplicate && res != moderation.Superseded {
			m.votesPulled.Add(1)
		}
	}
	pushed := 0
	for _, v := range mine {
		rec, err := v.Encode()
		if err != nil || theirs[string(rec)] {
			continue
		}
		if pushed >= maxSyncPush || ctx.Err() != nil {
			break
		}
		if _, err := ns.mod.ask(ctx, p, modRequest{Op: modOpVote, Target: c, Record: rec}); err == nil {
			pushed++
		}
	}
	m.votesPushed.Add(int64(pushed))
}
