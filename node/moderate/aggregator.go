package moderate

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/myconet/myconet/moderation"
	"github.com/myconet/myconet/node/internal/p2px"
	"github.com/myconet/myconet/store"
)

// ---- the aggregator ----

// startModeration registers the protocol and starts the loops; StartNetwork calls it.
func (m *Service) startModeration(ns *netSession) *modService {
	svc := newModService(ns.host, m.handleModeration, m.log.With("component", "moderation"))
	ns.Go(func(ctx context.Context) { m.modRefreshLoop(ctx) })
	ns.Go(func(ctx context.Context) { m.modSyncLoop(ctx, ns) })
	return svc
}

// handleModeration answers one request of the protocol.
func (m *Service) handleModeration(ctx context.Context, from peer.ID, req modRequest) (byte, []byte) {
	switch req.Op {
	case modOpVote:
		out, err := m.acceptVote(from, req.Target, req.Record)
		if err != nil {
			return modRejected, []byte(rejectReason(err) + ": " + err.Error())
		}
		return modOK, []byte(out)
	case modOpAnnotate:
		out, err := m.acceptAnnotation(from, req.Target, req.Record)
		if err != nil {
			return modRejected, []byte(rejectReason(err) + ": " + err.Error())
		}
		return modOK, []byte(out)
	case modOpTally:
		t, err := m.signTally(req.Target)
		if err == nil {
			var b []byte
			if b, err = t.Encode(); err == nil {
				return modOK, b
			}
		}
		return modRejected, []byte(err.Error())
	case modOpVotes:
		b, err := m.votesPayload(req.Target)
		if err != nil {
			return modRejected, []byte(err.Error())
		}
		return modOK, b
	case modOpRetract:
		out, err := m.acceptRetraction(from, req.Target, req.Record)
		if err != nil {
			return modRejected, []byte(rejectReason(err) + ": " + err.Error())
		}
		return modOK, []byte(out)
	case modOpRetraction:
		return modOK, m.answerRetraction(req.Target)
	case modOpAnnotations:
		recs, err := m.db.ModRecords(store.ModAnnotation, req.Target.Bytes())
		if err != nil {
			return modBusy, nil
		}
		return modOK, appendRecords(nil, recs[:min(len(recs), maxModAnns)])
	}
	return modRejected, []byte("unknown op")
}

// holdsVotes reports whether this node, as an aggregator, stored votes on c.
func (m *Service) holdsVotes(c cid.Cid) bool {
	recs, err := m.db.ModRecords(store.ModVote, c.Bytes())
	return err == nil && len(recs) > 0
}

// loadPoll returns c's poll, from memory or the store. Stored votes were
// verified when they arrived and are not verified again. Must hold aggMu.
func (m *Service) loadPoll(c cid.Cid) (*moderation.Poll, error) {
	if p := m.polls[c]; p != nil {
		return p, nil
	}
	recs, err := m.db.ModRecords(store.ModVote, c.Bytes())
	if err != nil {
		return nil, err
	}
	poll := moderation.NewPoll(c, maxModVotes)
	for _, r := range recs {
		v, err := moderation.DecodeVote(r)
		if err != nil {
			m.log.Warn("moderation: stored vote does not decode", "package", c, "err", err)
			continue
		}
		_, _ = poll.Add(v)
	}
	if m.polls == nil || len(m.polls) >= maxModPolls {
		m.polls = map[cid.Cid]*moderation.Poll{} // start over: a cache, not the truth
	}
	m.polls[c] = poll
	return poll, nil
}

// acceptVote verifies and counts a vote handed to this aggregator.
func (m *Service) acceptVote(from peer.ID, target cid.Cid, rec []byte) (string, error) {
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
		err = moderation.Verify(v, m.modSettings().powBits, m.now(), 0, moderation.DefaultMaxSkew)
	}
	if err != nil {
		m.rejected("vote", from, err)
		return "", err
	}
	res, err := m.countVote(target, v, rec)
	if err != nil {
		m.rejected("vote", from, err)
		return "", err
	}
	m.votesAccepted.Add(1)
	m.log.Info("moderation: vote counted", "package", target, "choice", v.Choice, "voter", p2px.PeerIDFromEd25519(v.Voter).String(), "result", res)
	return res.String(), nil
}

// countVote counts a verified vote in target's poll and keeps it.
func (m *Service) countVote(target cid.Cid, v moderation.Vote, rec []byte) (moderation.AddResult, error) {
	m.aggMu.Lock()
	defer m.aggMu.Unlock()
	poll, err := m.loadPoll(target)
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
		err = m.db.PutModRecord(store.ModVote, target.Bytes(), v.Voter, rec, store.ModLimits{PerTarget: maxModVotes, PerAuthor: maxModPerAuthor})
		if err != nil {
			delete(m.polls, target) // the poll in memory counted it: read it again
		}
	}
	if err == nil {
		m.forgetDecision(target)
	}
	return res, err
}

// acceptAnnotation verifies and keeps an annotation handed to this node.
func (m *Service) acceptAnnotation(from peer.ID, target cid.Cid, rec []byte) (string, error) {
	a, err := moderation.DecodeAnnotation(rec)
	if err == nil {
		err = moderation.CheckAnnotationTarget(a, target)
	}
	if err == nil {
		err = moderation.VerifyAnnotation(a, m.modSettings().powBits, m.now(), annotationMaxAge, moderation.DefaultMaxSkew)
	}
	if err != nil {
		m.rejected("annotation", from, err)
		return "", err
	}
	res, err := m.storeAnnotation(a, rec)
	if err != nil {
		m.rejected("annotation", from, err)
		return "", err
	}
	m.annsAccepted.Add(1)
	m.opt.Reindex(target)
	return res, nil
}

// storeAnnotation keeps a (verified) annotation unless the store holds a
// later one of its annotator.
func (m *Service) storeAnnotation(a moderation.Annotation, rec []byte) (string, error) {
	m.aggMu.Lock()
	defer m.aggMu.Unlock()
	recs, err := m.db.ModRecords(store.ModAnnotation, a.Target.Bytes())
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
	err = m.db.PutModRecord(store.ModAnnotation, a.Target.Bytes(), a.Annotator, rec, store.ModLimits{PerTarget: maxModAnns, PerAuthor: maxModPerAuthor})
	return res, err
}

// learnAnnotations keeps annotations fetched from aggregators and reindexes
// the package when they changed what the node knows.
func (m *Service) learnAnnotations(c cid.Cid, anns []moderation.Annotation) {
	changed := false
	for _, a := range anns {
		rec, err := a.Encode()
		if err != nil {
			continue
		}
		if _, err := m.storeAnnotation(a, rec); err == nil {
			changed = true
		}
	}
	if changed {
		m.opt.Reindex(c)
	}
}

// signTally signs a tally of this node's poll on c.
func (m *Service) signTally(c cid.Cid) (moderation.Tally, error) {
	if !isPackageCID(c) {
		return moderation.Tally{}, fmt.Errorf("%s is not a package CID", c)
	}
	m.aggMu.Lock()
	poll, err := m.loadPoll(c)
	var t moderation.Tally
	if err == nil {
		t, err = moderation.NewTally(m.key, poll, m.now())
	}
	m.aggMu.Unlock()
	if err != nil {
		return t, err
	}
	if h := m.tallyHook.Load(); h != nil {
		(*h)(&t)
	}
	m.talliesServed.Add(1)
	return t, nil
}

// votesPayload is the answer to op votes: a tally and its votes.
func (m *Service) votesPayload(c cid.Cid) ([]byte, error) {
	if !isPackageCID(c) {
		return nil, fmt.Errorf("%s is not a package CID", c)
	}
	m.aggMu.Lock()
	poll, err := m.loadPoll(c)
	var t moderation.Tally
	var votes []moderation.Vote
	if err == nil {
		t, err = moderation.NewTally(m.key, poll, m.now())
		votes = poll.Votes()
	}
	m.aggMu.Unlock()
	if err != nil {
		return nil, err
	}
	if h := m.tallyHook.Load(); h != nil {
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
	m.votesServed.Add(int64(len(recs)))
	return appendRecords(tb, recs), nil
}

// modRefreshLoop keeps the decisions about the packages this node holds
// fresh, so that serving them and answering searches (withheldCached)
// follow the votes. A decision is refreshed once it is stale; a held
// package nobody has asked about gets its first look one refresh interval
// after the loop first saw it, so that a node full of packages spreads its
// lookups rather than making them all at start. At most modRefreshBatch
// lookups per pass (every refresh/4).
func (m *Service) modRefreshLoop(ctx context.Context) {
	seen := map[cid.Cid]time.Time{} // held package → when this loop first saw it
	var pruned time.Time            // when kept decisions were last pruned
	for {
		s := m.modSettings()
		t := time.NewTimer(jitter(max(s.refresh/4, 10*time.Millisecond)))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		pins, err := m.db.Pins()
		if err != nil {
			continue
		}
		now := m.now()
		held := map[cid.Cid]bool{}
		var due []cid.Cid
		m.mu.Lock()
		for _, p := range pins {
			c := p.Root
			if held[c] || !isPackageCID(c) {
				continue
			}
			held[c] = true
			if _, ok := seen[c]; !ok {
				seen[c] = now
			}
			e := m.cache[c]
			if e != nil && now.Sub(e.at) >= s.refresh || e == nil && now.Sub(seen[c]) >= s.refresh {
				due = append(due, c)
			}
		}
		m.mu.Unlock()
		for c := range seen {
			if !held[c] {
				delete(seen, c)
			}
		}
		if now.Sub(pruned) >= 24*time.Hour {
			pruned = now
			m.pruneKeptDecisions(held)
		}
		for _, c := range due[:min(len(due), modRefreshBatch)] {
			if ctx.Err() != nil {
				return
			}
			m.modDecision(ctx, c, false, false, lookWait)
		}
	}
}
