package moderate

import (
	"errors"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/myconet/myconet/moderation"
	"github.com/myconet/myconet/node/apitype"
	"github.com/myconet/myconet/store"
)

// Decisions kept on disk.
//
// Each time a node gathers tallies about a package (one it holds, serves,
// or a user looked at), it keeps them in the store (modstate, kind
// ModDecision) as a moderation.Snapshot: the signed tallies, when they
// were gathered and how many aggregators were asked. After a restart, and
// offline, the node decides from the snapshot under its current policy
// until it can refresh it; `moderation why` then says the decision is
// stale and how old. When a refresh reaches no aggregator at all, the kept
// decision stands rather than falling back to "undecided". Snapshots of
// packages the node no longer holds are dropped after keptDecisionMaxAge.

// keptDecisionMaxAge is how long a snapshot of a package the node does not
// hold is kept.
const keptDecisionMaxAge = 30 * 24 * time.Hour

// keepDecision stores the tallies a decision about c was made from.
func (m *Service) keepDecision(c cid.Cid, checked time.Time, asked int, tallies []moderation.Tally) {
	snap := moderation.Snapshot{Target: c, Checked: checked, Asked: min(asked, 0xffff)}
	for _, t := range tallies {
		if t.Target.Equals(c) && len(snap.Tallies) < moderation.MaxSnapshotTallies {
			snap.Tallies = append(snap.Tallies, t)
		}
	}
	rec, err := snap.Encode()
	if err == nil {
		err = m.db.PutModState(store.ModDecision, c.Bytes(), rec)
	}
	if err != nil {
		m.log.Warn("moderation: cannot keep a decision", "package", c, "err", err)
	}
}

// loadKeptDecision decides about c from its kept snapshot, caches that
// decision as last refreshed when the snapshot was taken, and returns it;
// nil when there is no usable snapshot.
func (m *Service) loadKeptDecision(c cid.Cid, s modSettings) *modEntry {
	rec, err := m.db.ModState(store.ModDecision, c.Bytes())
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			m.log.Warn("moderation: cannot read a kept decision", "package", c, "err", err)
		}
		return nil
	}
	snap, err := moderation.DecodeSnapshot(rec)
	if err != nil || !snap.Target.Equals(c) {
		m.log.Warn("moderation: kept decision does not decode; ignored", "package", c, "err", err)
		return nil
	}
	r := m.decide(c, s, snap.Tallies, nil)
	r.Checked = snap.Checked
	r.Aggregators = snap.Asked
	return m.cacheDecisionAt(c, r, snap.Checked)
}

// markStale flags a decision from tallies gathered longer than the
// refresh interval ago (kept from before a restart, offline, or no
// aggregator answered since).
func (m *Service) markStale(r *apitype.TallyReport, s modSettings) {
	if r.Local != "" || r.Checked.IsZero() {
		return
	}
	if age := m.now().Sub(r.Checked); age >= s.refresh {
		r.Stale, r.Age = true, int64(age.Round(time.Second)/time.Second)
	}
}

// pruneKeptDecisions drops the snapshots of packages not in held that are
// older than keptDecisionMaxAge.
func (m *Service) pruneKeptDecisions(held map[cid.Cid]bool) {
	now := m.now()
	dropped, err := m.db.DeleteModStates(store.ModDecision, func(target, enc []byte) bool {
		c, err := cid.Cast(target)
		if err != nil {
			return true
		}
		if held[c] {
			return false
		}
		snap, err := moderation.DecodeSnapshot(enc)
		return err != nil || now.Sub(snap.Checked) > keptDecisionMaxAge
	})
	if err != nil {
		m.log.Warn("moderation: pruning kept decisions", "err", err)
	} else if dropped > 0 {
		m.log.Info("moderation: dropped old kept decisions", "count", dropped)
	}
}
