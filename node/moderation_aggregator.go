package node

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/myconet/myconet/moderation"
	"github.com/myconet/myconet/store"
)

// ---- the aggregator ----

// startModeration registers the protocol; StartNetwork calls it.
func (n *Node) startModeration(ns *netState) *modService {
	svc := newModService(dialHost{ns.host, ns}, n.handleModeration, n.log.With("component", "moderation"))
	ns.goOwned(func(ctx context.Context) { n.modRefreshLoop(ctx) })
	ns.goOwned(func(ctx context.Context) { n.modSyncLoop(ctx, ns) })
	return svc
}

// handleModeration answers one request of the protocol.
func (n *Node) handleModeration(ctx context.Context, from peer.ID, req modRequest) (byte, []byte) {
	switch req.Op {
	case modOpVote:
		out, err := n.acceptVote(from, req.Target, req.Record)
		if err != nil {
			return modRejected, []byte(rejectReason(err) + ": " + err.Error())
		}
		return modOK, []byte(out)
	case modOpAnnotate:
		out, err := n.acceptAnnotation(from, req.Target, req.Record)
		if err != nil {
			return modRejected, []byte(rejectReason(err) + ": " + err.Error())
		}
		return modOK, []byte(out)
	case modOpTally:
		t, err := n.signTally(req.Target)
		if err == nil {
			var b []byte
			if b, err = t.Encode(); err == nil {
				return modOK, b
			}
		}
		return modRejected, []byte(err.Error())
	case modOpVotes:
		b, err := n.votesPayload(req.Target)
		if err != nil {
			return modRejected, []byte(err.Error())
		}
		return modOK, b
	case modOpRetract:
		out, err := n.acceptRetraction(from, req.Target, req.Record)
		if err != nil {
			return modRejected, []byte(rejectReason(err) + ": " + err.Error())
		}
		return modOK, []byte(out)
	case modOpRetraction:
		return modOK, n.answerRetraction(req.Target)
	case modOpAnnotations:
		recs, err := n.db.ModRecords(store.ModAnnotation, req.Target.Bytes())
		if err != nil {
			return modBusy, nil
		}
		return modOK, appendRecords(nil, recs[:min(len(recs), maxModAnns)])
	}
	return modRejected, []byte("unknown op")
}

// holdsVotes reports whether this node, as an aggregator, stored votes on c.
func (n *Node) holdsVotes(c cid.Cid) bool {
	recs, err := n.db.ModRecords(store.ModVote, c.Bytes())
	return err == nil && len(recs) > 0
}

// loadPoll returns c's poll, from memory or the store. Stored votes were
// verified when they arrived and are not verified again. Must hold aggMu.
func (n *Node) loadPoll(c cid.Cid) (*moderation.Poll, error) {
	if p := n.mod.polls[c]; p != nil {
		return p, nil
	}
	recs, err := n.db.ModRecords(store.ModVote, c.Bytes())
	if err != nil {
		return nil, err
	}
	poll := moderation.NewPoll(c, maxModVotes)
	for _, r := range recs {
		v, err := moderation.DecodeVote(r)
		if err != nil {
			n.log.Warn("moderation: stored vote does not decode", "package", c, "err", err)
			continue
		}
		_, _ = poll.Add(v)
	}
	if n.mod.polls == nil || len(n.mod.polls) >= maxModPolls {
		n.mod.polls = map[cid.Cid]*moderation.Poll{} // start over: a cache, not the truth
	}
	n.mod.polls[c] = poll
	return poll, nil
}

// acceptVote verifies and counts a vote handed to this aggregator.
func (n *Node) acceptVote(from peer.ID, target cid.Cid, rec []byte) (string, error) {
	err := func() error {
		if !isPackageCID(target) {
			return fmt.Errorf("%w: %s is not a package CID", moderation.ErrInvalid, target)
		}
		return nil
	}()
	var v moderation.Vote
	if err == nil {
		v, err = moderation.DecodeVote(rec)
	}
	if err == nil {
		err = moderation.CheckTarget(v, target)
	}
	if err == nil {
		// No age limit: a signed vote stays valid however old (aggregators
		// hand votes on to each other); one counted vote per voter and
		// package is what limits a replay.
		err = moderation.Verify(v, n.modSettings().powBits, n.now(), 0, moderation.DefaultMaxSkew)
	}
	if err != nil {
		n.rejected("vote", from, err)
		return "", err
	}
	res, err := n.countVote(target, v, rec)
	if err != nil {
		n.rejected("vote", from, err)
		return "", err
	}
	n.mod.votesAccepted.Add(1)
	n.log.Info("moderation: vote counted", "package", target, "choice", v.Choice, "voter", PeerIDFromEd25519(v.Voter), "result", res)
	return res.String(), nil
}

// countVote counts a verified vote in target's poll and keeps it.
func (n *Node) countVote(target cid.Cid, v moderation.Vote, rec []byte) (moderation.AddResult, error) {
	n.mod.aggMu.Lock()
	defer n.mod.aggMu.Unlock()
	poll, err := n.loadPoll(target)
	if err != nil {
		return 0, err
	}
	res, err := poll.Add(v)
	switch {
	case err != nil:
	case res == moderation.Duplicate:
		err = errDuplicate
	case res == moderation.Superseded:
		err = errSuperseded
	default:
		err = n.db.PutModRecord(store.ModVote, target.Bytes(), v.Voter, rec, store.ModLimits{PerTarget: maxModVotes, PerAuthor: maxModPerAuthor})
		if err != nil {
			delete(n.mod.polls, target) // the poll in memory counted it: read it again
		}
	}
	if err == nil {
		n.forgetDecision(target)
	}
	return res, err
}

// acceptAnnotation verifies and keeps an annotation handed to this node.
func (n *Node) acceptAnnotation(from peer.ID, target cid.Cid, rec []byte) (string, error) {
	a, err := moderation.DecodeAnnotation(rec)
	if err == nil {
		err = moderation.CheckAnnotationTarget(a, target)
	}
	if err == nil {
		err = moderation.VerifyAnnotation(a, n.modSettings().powBits, n.now(), annotationMaxAge, moderation.DefaultMaxSkew)
	}
	if err != nil {
		n.rejected("annotation", from, err)
		return "", err
	}
	res, err := n.storeAnnotation(a, rec)
	if err != nil {
		n.rejected("annotation", from, err)
		return "", err
	}
	n.mod.annsAccepted.Add(1)
	n.reindexSearch(target)
	return res, nil
}

// storeAnnotation keeps a (verified) annotation unless the store holds a
// later one of its annotator.
func (n *Node) storeAnnotation(a moderation.Annotation, rec []byte) (string, error) {
	n.mod.aggMu.Lock()
	defer n.mod.aggMu.Unlock()
	recs, err := n.db.ModRecords(store.ModAnnotation, a.Target.Bytes())
	if err != nil {
		return "", err
	}
	res := "added"
	for _, r := range recs {
		old, err := moderation.DecodeAnnotation(r)
		if err != nil || !bytes.Equal(old.Annotator, a.Annotator) {
			continue
		}
		switch c := old.Time.Compare(a.Time); {
		case bytes.Equal(r, rec):
			return "", errDuplicate
		case c > 0 || c == 0 && bytes.Compare(r, rec) > 0:
			return "", errSuperseded
		}
		res = "replaced"
	}
	err = n.db.PutModRecord(store.ModAnnotation, a.Target.Bytes(), a.Annotator, rec, store.ModLimits{PerTarget: maxModAnns, PerAuthor: maxModPerAuthor})
	return res, err
}

// learnAnnotations keeps annotations fetched from aggregators and reindexes
// the package when they changed what the node knows.
func (n *Node) learnAnnotations(c cid.Cid, anns []moderation.Annotation) {
	changed := false
	for _, a := range anns {
		rec, err := a.Encode()
		if err != nil {
			continue
		}
		if _, err := n.storeAnnotation(a, rec); err == nil {
			changed = true
		}
	}
	if changed {
		n.reindexSearch(c)
	}
}

// signTally signs a tally of this node's poll on c.
func (n *Node) signTally(c cid.Cid) (moderation.Tally, error) {
	if !isPackageCID(c) {
		return moderation.Tally{}, fmt.Errorf("%s is not a package CID", c)
	}
	n.mod.aggMu.Lock()
	poll, err := n.loadPoll(c)
	var t moderation.Tally
	if err == nil {
		t, err = moderation.NewTally(n.id.Ed25519(), poll, n.now())
	}
	n.mod.aggMu.Unlock()
	if err != nil {
		return t, err
	}
	if h := n.mod.tallyHook.Load(); h != nil {
		(*h)(&t)
	}
	n.mod.talliesServed.Add(1)
	return t, nil
}

// votesPayload is the answer to op votes: a tally and its votes.
func (n *Node) votesPayload(c cid.Cid) ([]byte, error) {
	if !isPackageCID(c) {
		return nil, fmt.Errorf("%s is not a package CID", c)
	}
	n.mod.aggMu.Lock()
	poll, err := n.loadPoll(c)
	var t moderation.Tally
	var votes []moderation.Vote
	if err == nil {
		t, err = moderation.NewTally(n.id.Ed25519(), poll, n.now())
		votes = poll.Votes()
	}
	n.mod.aggMu.Unlock()
	if err != nil {
		return nil, err
	}
	if h := n.mod.tallyHook.Load(); h != nil {
		(*h)(&t)
	}
	tb, err := t.Encode()
	if err != nil {
		return nil, err
	}
	var recs [][]byte
	for _, v := range votes {
		if b, err := v.Encode(); err == nil {
			recs = append(recs, b)
		}
	}
	n.mod.votesServed.Add(int64(len(recs)))
	return appendRecords(tb, recs), nil
}

// modRefreshLoop keeps the decisions about the packages this node holds
// fresh, so that serving them and answering searches (withheldCached)
// follow the votes. A decision is refreshed once it is stale; a held
// package nobody has asked about gets its first look one refresh interval
// after the loop first saw it, so that a node full of packages spreads its
// lookups rather than making them all at start. At most modRefreshBatch
// lookups per pass (every refresh/4).
func (n *Node) modRefreshLoop(ctx context.Context) {
	seen := map[cid.Cid]time.Time{} // held package → when this loop first saw it
	var pruned time.Time            // when kept decisions were last pruned
	for {
		s := n.modSettings()
		t := time.NewTimer(jitter(max(s.refresh/4, 10*time.Millisecond)))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		pins, err := n.db.Pins()
		if err != nil {
			continue
		}
		now := n.now()
		held := map[cid.Cid]bool{}
		var due []cid.Cid
		n.mod.mu.Lock()
		for _, p := range pins {
			c := p.Root
			if held[c] || !isPackageCID(c) {
				continue
			}
			held[c] = true
			if _, ok := seen[c]; !ok {
				seen[c] = now
			}
			e := n.mod.cache[c]
			if e != nil && now.Sub(e.at) >= s.refresh || e == nil && now.Sub(seen[c]) >= s.refresh {
				due = append(due, c)
			}
		}
		n.mod.mu.Unlock()
		for c := range seen {
			if !held[c] {
				delete(seen, c)
			}
		}
		if now.Sub(pruned) >= 24*time.Hour {
			pruned = now
			n.pruneKeptDecisions(held)
		}
		for _, c := range due[:min(len(due), modRefreshBatch)] {
			if ctx.Err() != nil {
				return
			}
			n.modDecision(ctx, c, false, false, lookWait)
		}
	}
}
